"""``kinfold hsds_import <path>``: import an Open Referral HSDS export into the service directory.

The path is a ``.json`` file (HSDS 3.0), a ``.zip`` or a directory of CSV files (a 3.0 data package or the
1.x/2.0 layout). It prints what was created and updated and any warnings; with any error it imports nothing,
lists every problem (file, row, field, reason) and exits with status 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kinfold.directory.hsds import import_path


class Command(BaseCommand):
    help = "Import an Open Referral HSDS export (3.0 JSON, 3.0 CSV data package or 1.x/2.0 CSV files)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="A .json file, a .zip, or a directory of CSV files.")
        parser.add_argument("--source", default="", help="Name of the export, kept on each organisation.")

    def handle(self, *args: Any, **options: Any) -> None:
        report = import_path(options["path"], source=options["source"])
        for warning in report.warnings:
            self.stdout.write(f"warning: {warning}")
        if not report.ok:
            for error in report.errors:
                self.stderr.write(f"error: {error}")
            raise CommandError(report.summary())
        self.stdout.write(self.style.SUCCESS(report.summary()))
