"""``kinfold schedule_jobs``: make sure Kinfold's daily background jobs are queued (the overdue-referral
escalation). ``make run`` and ``make serve`` run it before starting the worker; running it again changes
nothing while a run is waiting."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kinfold.referrals.tasks import ensure_daily_scheduled


class Command(BaseCommand):
    help = "Queue Kinfold's daily background jobs (the overdue-referral escalation) unless already queued."

    def handle(self, *args: Any, **options: Any) -> None:
        queued = ensure_daily_scheduled()
        self.stdout.write(
            "Daily referral escalation queued." if queued else "Daily referral escalation already queued."
        )
