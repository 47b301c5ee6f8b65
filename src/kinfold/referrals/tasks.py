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
from django.utils import dateformat, translation
from django_tasks import TaskResult, TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from kinfold import clock
from kinfold.audit.models import Action
from kinfold.audit.services import record_event
from kinfold.organizations.models import Membership
from kinfold.referrals.models import AWAITING_ANSWER, Referral
from kinfold.referrals.notify import email_unsent, intake_leads, notify, referral_url

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


def _long_date(at: datetime, *, with_time: bool = False) -> str:
    with translation.override("en"):  # staff emails are in English for now
        return dateformat.format(at.astimezone(clock.zone()), "j F Y, P" if with_time else "j F Y")


def escalation_message(referral: Referral) -> tuple[str, str]:
    """The subject and words of an overdue referral's notice: the receiving organisation, the dates and a
    link. Never the family, the person or the need: the email leaves Kinfold."""
    sent_at = referral.sent_at or referral.created_at
    subject = "Kinfold: a referral is waiting for an answer"
    lines = [f"A referral sent to {referral.receiving_org.name} on {_long_date(sent_at)} is waiting for an answer."]
    if referral.due_at is not None:
        lines.append(f"The answer was due by {_long_date(referral.due_at, with_time=True)}.")
    lines += [
        "",
        f"See it in Kinfold: {referral_url(referral.pk)}",
        "",
        "This email names no one on purpose: sign in to Kinfold to see the referral.",
    ]
    return subject, "\n".join(lines) + "\n"


def _referrer(referral: Referral) -> list[Any]:
    """The person who made the referral, while she still works there (an active account and membership)."""
    referrer = referral.created_by
    if referrer is None or not referrer.is_active:
        return []
    if not Membership.objects.filter(user_id=referrer.pk, is_active=True).exists():
        return []
    return [referrer]


def _escalate_one(referral_id: int, at: datetime) -> bool:
    overdue = {"status__in": AWAITING_ANSWER, "due_at__lt": at, "escalated_at__isnull": True}
    with transaction.atomic():
        # Another run holding this referral is escalating it: skip it rather than wait.
        referral = (
            Referral.objects.select_for_update(skip_locked=True, of=("self",)).filter(pk=referral_id, **overdue).first()
        )
        # The conditional update is what holds where rows are not locked (SQLite serialises writers instead).
        if referral is None or not Referral.objects.filter(pk=referral_id, **overdue).update(escalated_at=at):
            return False
        referral.escalated_at = at
        recipients = _referrer(referral) + intake_leads(referral.receiving_org_id)
        subject, body = escalation_message(referral)
        told = notify(referral, recipients, key=f"escalation:{referral.pk}", subject=subject, body=body)
        record_event(
            actor=None,
            action=Action.UPDATE,
            record_type="Referral",
            record_id=referral.pk,
            family_id=referral.family_id,
            detail={
                "escalated": "the answer is overdue",
                "due_at": referral.due_at,
                "notified_user_ids": sorted({u.pk for u in recipients}),
                "new_notices": told,
            },
            at=at,
        )
    return True


def escalate_overdue(*, at: datetime | None = None) -> int:
    """Escalate every referral still waiting for its first answer (requested or received) whose deadline has
    passed and which was not escalated before: one notice to its referrer and to the receiving organisation's
    intake leads, in Kinfold and by email, and ``escalated_at`` set. How many were escalated.

    Safe to run twice and at once: each referral is taken under a row lock that the other run skips, and only
    if ``escalated_at`` is still empty; each notice's key is unique per person."""
    at = at or clock.now()
    waiting = (
        Referral.objects.filter(status__in=AWAITING_ANSWER, due_at__lt=at, escalated_at__isnull=True)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)
    )
    return sum(_escalate_one(pk, at) for pk in list(waiting))


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
