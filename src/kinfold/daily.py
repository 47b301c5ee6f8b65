"""daily.py — keeping a daily background job scheduled (django-tasks, database backend). django-tasks has no clock
of its own, so each daily job enqueues its next run (tomorrow at its time of day, local time) when it finishes, and
``ensure_scheduled`` — called once when Kinfold starts (``kinfold schedule_jobs``) — enqueues a run at once when
none is waiting. "Is a run waiting? If not, enqueue one" is serialised between processes (PostgreSQL: an advisory
lock; SQLite's IMMEDIATE transactions already take the one write lock at BEGIN)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django_tasks import TaskResult, TaskResultStatus
from django_tasks_db.models import DBTaskResult

from kinfold import clock


def next_run_at(after: datetime, at: time) -> datetime:
    """The first ``at`` (local time) strictly after ``after``, in UTC."""
    zone = clock.zone()
    day = clock.local_date(after, zone)
    run = datetime.combine(day, at, tzinfo=zone)
    if run <= after:
        run = datetime.combine(day + timedelta(days=1), at, tzinfo=zone)
    return run.astimezone(UTC)


@contextmanager
def _lock(key: int) -> Iterator[None]:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
        yield


def enqueue_unless_waiting(job: Any, run_after: datetime | None, *, lock: int) -> TaskResult[Any] | None:
    """Enqueue ``job`` (a django-tasks task) to run after ``run_after`` (None: at once) unless a run of it is
    already waiting; the run enqueued, or None. ``lock``: any constant unique to the job."""
    with _lock(lock):
        waiting = DBTaskResult.objects.filter(task_path=job.module_path, status=TaskResultStatus.READY)
        if waiting.exists():
            return None
        return (job.using(run_after=run_after) if run_after else job).enqueue()
