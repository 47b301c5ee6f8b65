"""tasks.py — the pathways' daily background job: tell each responsible person, once, of her steps that became
overdue, and, after a grace period (``KINFOLD_PATHWAY_GRACE_DAYS``), the supervisors of the organisation that
enrolled the family (its CPS supervisors and programme leads), once. One email per person per run, however many
steps; it names no family, person, programme or step (an email leaves Kinfold) and links to "My steps", whose
page asks the door. Each step's notice is claimed by a conditional update under a row lock that a second run
skips, so running the job twice, or twice at once, tells each person once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django_tasks import TaskResult, task

from kinfold import clock, daily
from kinfold.audit.models import Action
from kinfold.audit.services import record_event
from kinfold.organizations.models import Membership, Role
from kinfold.pathways.models import EnrolmentStatus, PathwayStep, StepStatus

logger = logging.getLogger(__name__)

REMINDER_TIME = time(6, 30)
_SCHEDULING_LOCK = 0x4B46_5041_5431  # "KFPAT1"
_CHUNK = 2000
SUPERVISING_ROLES = (Role.CPS_SUPERVISOR, Role.PROGRAMME_LEAD)


@dataclass
class Reminders:
    told: dict[int, list[int]] = field(default_factory=dict)  # membership id -> step ids (overdue notices)
    escalated: dict[int, list[int]] = field(default_factory=dict)  # supervisor membership id -> step ids

    @property
    def people(self) -> int:
        return len(self.told) + len(self.escalated)


def grace_days() -> int:
    return int(getattr(settings, "KINFOLD_PATHWAY_GRACE_DAYS", 3))


Row = tuple[int, int | None, int]  # step id, assignee (membership) id, enrolling organisation id


def _claim(rows: Sequence[Row], field_name: str, today: date) -> list[Row]:
    """Mark ``field_name`` = today on the rows still unmarked; those this run marked."""
    claimed: list[Row] = []
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        ids = [r[0] for r in chunk]
        locked = set(
            PathwayStep.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids, **{f"{field_name}__isnull": True})
            .values_list("pk", flat=True)
        )
        if not locked:
            continue
        PathwayStep.objects.filter(pk__in=locked, **{f"{field_name}__isnull": True}).update(**{field_name: today})
        claimed.extend(r for r in chunk if r[0] in locked)
    return claimed


def remind_due_steps(*, today: date | None = None) -> Reminders:
    """The daily reminders (see the module's docstring). Who was told of what."""
    today = today or clock.today()
    out = Reminders()
    open_steps = PathwayStep.objects.filter(status=StepStatus.OPEN, enrolment__status=EnrolmentStatus.ACTIVE)
    with transaction.atomic():
        overdue = list(
            open_steps.filter(due_on__lt=today, overdue_notice_on__isnull=True, assignee__isnull=False)
            .order_by("pk")
            .values_list("pk", "assignee_id", "created_by_org_id")
        )
        by_person: dict[int, list[int]] = defaultdict(list)
        for step_id, assignee_id, _org in _claim(overdue, "overdue_notice_on", today):
            assert assignee_id is not None
            by_person[assignee_id].append(step_id)
        late = list(
            open_steps.filter(due_on__lt=today - timedelta(days=grace_days()), escalated_on__isnull=True)
            .order_by("pk")
            .values_list("pk", "assignee_id", "created_by_org_id")
        )
        by_org: dict[int, list[int]] = defaultdict(list)
        for step_id, _assignee, org_id in _claim(late, "escalated_on", today):
            by_org[org_id].append(step_id)
        supervisors: dict[int, list[int]] = defaultdict(list)
        if by_org:
            for membership_id, org_id in Membership.objects.filter(
                organization_id__in=list(by_org), role__in=SUPERVISING_ROLES, is_active=True, user__is_active=True
            ).values_list("pk", "organization_id"):
                supervisors[membership_id].extend(by_org[org_id])
        out.told = dict(by_person)
        out.escalated = dict(supervisors)
        for membership_id, step_ids in [*by_person.items(), *supervisors.items()]:
            record_event(
                actor=None,
                action=Action.UPDATE,
                record_type="PathwayStep",
                detail={
                    "reminder": "overdue" if membership_id in by_person else "escalated",
                    "membership_id": membership_id,
                    "step_ids": step_ids[:1000],
                    "steps": len(step_ids),
                },
            )
        emails = _emails(by_person, supervisors)
        transaction.on_commit(lambda: _send(emails))
    return out


def _emails(by_person: dict[int, list[int]], supervisors: dict[int, list[int]]) -> list[tuple[str, str, str]]:
    addresses = dict(Membership.objects.filter(pk__in=[*by_person, *supervisors]).values_list("pk", "user__email"))
    url = f"{settings.KINFOLD_SITE_URL}/pathways/steps/"
    out = []
    for membership_id, step_ids in by_person.items():
        n = len(step_ids)
        subject = f"Kinfold: {n} step{'s' if n != 1 else ''} on your caseload {'are' if n != 1 else 'is'} overdue"
        body = (
            f"{n} pathway step{'s' if n != 1 else ''} you are responsible for passed {'their' if n != 1 else 'its'} "
            f"due date.\n\nSee them in Kinfold: {url}\n\nThis email names no family on purpose."
        )
        if addresses.get(membership_id):
            out.append((addresses[membership_id], subject, body))
    for membership_id, step_ids in supervisors.items():
        n = len(step_ids)
        subject = f"Kinfold: {n} step{'s' if n != 1 else ''} overdue for more than {grace_days()} days"
        body = (
            f"{n} pathway step{'s' if n != 1 else ''} of your organisation {'have' if n != 1 else 'has'} been overdue "
            f"for more than {grace_days()} days.\n\nSee your organisation's steps in Kinfold: {url}?scope=organization"
            "\n\nThis email names no family on purpose."
        )
        if addresses.get(membership_id):
            out.append((addresses[membership_id], subject, body))
    return out


def _send(emails: list[tuple[str, str, str]]) -> None:
    for address, subject, body in emails:
        try:
            send_mail(subject, body, None, [address])
        except Exception:  # a failed email is logged; the step's notice stays claimed (told in Kinfold's page)
            logger.exception("pathway reminder email to a staff member failed")


# --- the daily schedule ---------------------------------------------------------------------------------------


def enqueue_daily(*, after: datetime | None = None) -> TaskResult[int] | None:
    return daily.enqueue_unless_waiting(
        remind_due_pathway_steps, daily.next_run_at(after or clock.now(), REMINDER_TIME), lock=_SCHEDULING_LOCK
    )


def ensure_daily_scheduled() -> TaskResult[int] | None:
    return daily.enqueue_unless_waiting(remind_due_pathway_steps, None, lock=_SCHEDULING_LOCK)


@task()
def remind_due_pathway_steps() -> int:
    """The daily job: the reminders, then tomorrow's run (even if this one failed). How many people were told."""
    at = clock.now()
    try:
        return remind_due_steps(today=clock.local_date(at)).people
    finally:
        enqueue_daily(after=at)
