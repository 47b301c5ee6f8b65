"""``kinfold schedule_jobs``: make sure Kinfold's daily background jobs are queued (the overdue-referral
escalation and the pathway reminders). ``make run`` and ``make serve`` run it before starting the worker; running
it again changes nothing while a run is waiting."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kinfold.pathways.tasks import ensure_daily_scheduled as ensure_pathway_reminders
from kinfold.referrals.tasks import ensure_daily_scheduled


class Command(BaseCommand):
    help = "Queue Kinfold's daily background jobs (referral escalation, pathway reminders) unless already queued."

    def handle(self, *args: Any, **options: Any) -> None:
        queued = ensure_daily_scheduled()
        self.stdout.write(
            "Daily referral escalation queued." if queued else "Daily referral escalation already queued."
        )
        queued = ensure_pathway_reminders()
        self.stdout.write("Daily pathway reminders queued." if queued else "Daily pathway reminders already queued.")
