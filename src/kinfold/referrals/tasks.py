"""tasks.py — the referrals' background work (django-tasks, database backend; ``kinfold db_worker`` runs it beside
the web server in ``make run``): the daily escalation of referrals whose answer is overdue, and how that job
keeps itself scheduled. django-tasks has no clock of its own, so the job enqueues its next run (tomorrow at
``ESCALATION_TIME``, local time) each time it finishes, and ``ensure_daily_scheduled`` — called once when Kinfold
starts — enqueues a run at once when none is waiting. The escalation tells each person once, whatever runs
twice or at the same time; its notices name no family, person or need.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django_tasks import TaskResult, TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from kinfold import clock
from kinfold.referrals.notify import email_unsent
from kinfold.referrals.services import escalate_overdue, escalation_message

__all__ = [
    "ESCALATION_TIME",
    "enqueue_daily",
    "ensure_daily_scheduled",
    "escalate_overdue",
    "escalate_overdue_referrals",
    "escalation_message",
    "next_run_at",
]

logger = logging.getLogger(__name__)

# The daily run, local time: before the business day, so the morning starts with yesterday's overdue answers.
ESCALATION_TIME = time(7, 0)
# A notice whose email failed is tried again by each daily run for this long.
RETRY_EMAILS_FOR = timedelta(days=7)
# Serialises "is a run waiting? if not, enqueue one" between processes (PostgreSQL; SQLite's IMMEDIATE
# transactions already take the one write lock at BEGIN). Any constant unique to this job.
_SCHEDULING_LOCK = 0x4B46_5245_4631  # "KFREF1"


# --- the escalation ----------------------------------------------------------------------------------------


# --- the daily schedule ------------------------------------------------------------------------------------


def next_run_at(after: datetime) -> datetime:
    """The first ``ESCALATION_TIME`` (local time) strictly after ``after``, in UTC."""
    zone = clock.zone()
    day = clock.local_date(after, zone)
    run = datetime.combine(day, ESCALATION_TIME, tzinfo=zone)
    if run <= after:
        run = datetime.combine(day + timedelta(days=1), ESCALATION_TIME, tzinfo=zone)
    return run.astimezone(UTC)


@contextmanager
def _scheduling_lock() -> Iterator[None]:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SCHEDULING_LOCK])
        yield


def _waiting_runs() -> Any:
    return DBTaskResult.objects.filter(task_path=escalate_overdue_referrals.module_path, status=TaskResultStatus.READY)


def _enqueue_unless_waiting(run_after: datetime | None) -> TaskResult[int] | None:
    with _scheduling_lock():
        if _waiting_runs().exists():
            return None
        job = escalate_overdue_referrals.using(run_after=run_after) if run_after else escalate_overdue_referrals
        return job.enqueue()


def enqueue_daily(*, after: datetime | None = None) -> TaskResult[int] | None:
    """Enqueue the escalation's next daily run (the first ``ESCALATION_TIME`` after ``after``, default now),
    unless a run is already waiting; the run enqueued, or None."""
    return _enqueue_unless_waiting(next_run_at(after or clock.now()))


def ensure_daily_scheduled() -> TaskResult[int] | None:
    """At start-up: if no escalation run is waiting (a fresh database, or a worker that was down), enqueue one
    to run at once; it schedules the next day's itself. The run enqueued, or None."""
    return _enqueue_unless_waiting(None)


@task()
def escalate_overdue_referrals() -> int:
    """The daily job: escalate overdue referrals, retry emails that failed, and enqueue tomorrow's run (even
    if this one failed, so one bad day never stops the schedule). How many referrals were escalated."""
    at = clock.now()
    try:
        escalated = escalate_overdue(at=at)
        email_unsent(since=at - RETRY_EMAILS_FOR)
        return escalated
    finally:
        enqueue_daily(after=at)
