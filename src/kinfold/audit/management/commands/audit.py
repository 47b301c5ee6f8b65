"""``kinfold audit verify``: walk the hash chain and name the first broken link."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kinfold.audit.services import verify_chain


class Command(BaseCommand):
    help = "Audit trail tools. `verify` walks the hash chain and names the first broken link."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("subcommand", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        result = verify_chain()
        if not result.ok:
            raise CommandError(
                f"Audit chain broken at event {result.first_broken_id}: {result.reason} "
                f"({result.checked} events before it are intact)."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {result.checked} events verified."))
