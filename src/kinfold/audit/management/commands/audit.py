"""``kinfold audit verify``: walk the hash chain, name the first broken link and say how long the unsealed tail is.
``kinfold audit seal``: seal the unsealed events into the chain (``--follow``: keep sealing every few seconds, the
process ``make run`` and ``make serve`` start beside the web server)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from kinfold.audit.services import seal_pending, verify_chain


class Command(BaseCommand):
    help = "Audit trail tools. `verify` walks the hash chain and names the first broken link; `seal` chains new events."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("subcommand", choices=["verify", "seal"])
        parser.add_argument("--follow", action="store_true", help="seal: keep sealing until stopped")
        parser.add_argument("--batch-size", type=int, default=2000, help="seal: events sealed per transaction")
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            help="seal --follow: seconds between runs (KINFOLD_AUDIT_SEAL_SECONDS, 2 by default)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "seal":
            self._seal(
                follow=options["follow"],
                interval=options["interval"] or settings.KINFOLD_AUDIT_SEAL_SECONDS,
                batch_size=max(1, options["batch_size"]),
            )
            return
        result = verify_chain()
        if not result.ok:
            raise CommandError(
                f"Audit chain broken at event {result.first_broken_id}: {result.reason} "
                f"({result.checked} events before it are intact)."
            )
        tail = ""
        if result.unsealed and result.oldest_unsealed_at is not None:
            tail = (
                f" {result.unsealed} newer {'event is' if result.unsealed == 1 else 'events are'} not sealed yet "
                "(the oldest from "
                f"{result.oldest_unsealed_at:%Y-%m-%d %H:%M:%S %Z}); the sealer chains them within seconds, "
                "or run `kinfold audit seal`."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {result.checked} events verified.") + tail)

    def _seal(self, *, follow: bool, interval: float, batch_size: int) -> None:
        while True:
            sealed = seal_pending(batch_size=batch_size)
            if sealed or not follow:
                self.stdout.write(f"Sealed {sealed} audit events into the chain.")
            if not follow:
                return
            close_old_connections()
            time.sleep(interval)
