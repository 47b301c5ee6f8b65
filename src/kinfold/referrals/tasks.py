"""tasks.py — the referrals' background work (django-tasks, database backend; ``kinfold db_worker`` runs it beside
the web server in ``make run``): the daily escalation of referrals whose answer is overdue, and how that job
keeps itself scheduled. django-tasks has no clock of its own, so the job enqueues its next run (tomorrow at
``ESCALATION_TIME``, local time) each time it finishes, and ``ensure_daily_scheduled`` — called once when Kinfold
starts — enqueues a run at once when none is waiting. The escalation tells each person once, whatever runs
twice or at the same time; its notices name no family, person or need.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from django_tasks import TaskResult, task

from kinfold import clock, daily
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
    return daily.next_run_at(after, ESCALATION_TIME)


def _enqueue_unless_waiting(run_after: datetime | None) -> TaskResult[int] | None:
    return daily.enqueue_unless_waiting(escalate_overdue_referrals, run_after, lock=_SCHEDULING_LOCK)


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
