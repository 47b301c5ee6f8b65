"""tasks.py — the pathways' daily background job (django-tasks, database backend; ``kinfold db_worker`` runs it
beside the web server): the reminders of overdue steps (``services.remind_due_steps``), and how the job keeps
itself scheduled (``kinfold.daily``).
"""

from __future__ import annotations

from datetime import datetime, time

from django_tasks import TaskResult, task

from kinfold import clock, daily
from kinfold.pathways.services import remind_due_steps

REMINDER_TIME = time(6, 30)
_SCHEDULING_LOCK = 0x4B46_5041_5431  # "KFPAT1"


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
