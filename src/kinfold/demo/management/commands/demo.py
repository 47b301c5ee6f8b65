"""``kinfold demo``: load the demo region once and print the demo logins."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kinfold.demo import region


class Command(BaseCommand):
    help = "Load the synthetic demo region (once) and print the demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset-passwords", action="store_true", help="Give every demo login a new random password."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not region.demo_loaded():
            self.stdout.write("Loading the demo region (synthetic people only)…")
            summary = region.load_demo()
            for line in summary.lines():
                self.stdout.write(line)
        elif options["reset_passwords"] or not region.read_logins():
            region.reset_passwords()
        else:
            self.stdout.write("The demo region is already loaded.")
        logins = region.read_logins()
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo logins (also in var/demo-logins.txt):"))
        width = max(len(x.username) for x in logins)
        for x in logins:
            self.stdout.write(f"  {x.username:<{width}}  {x.password}  {x.who}")
        self.stdout.write("")
        self.stdout.write("Open http://127.0.0.1:8000 and sign in as ana.rivera to see her caseload.")
