"""``kinfold hsds_export --format json|tabular <out>``: write the service directory as Open Referral HSDS 3.0.

``json`` writes a list of service objects (shaped like the specification's ``service_full.json``; with
``--organizations``, organization objects with their services); ``tabular`` writes the CSV data package with
``datapackage.json`` into a directory, or a zip file when ``<out>`` ends in ``.zip``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kinfold.directory.hsds import export_json, export_organizations_json, export_tabular, export_zip


class Command(BaseCommand):
    help = "Export the service directory as Open Referral HSDS 3.0 (JSON, or the tabular CSV data package)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", type=Path, help="The file (json, or tabular .zip) or directory (tabular).")
        parser.add_argument("--format", choices=["json", "tabular"], default="json")
        parser.add_argument(
            "--organizations", action="store_true", help="JSON: organization objects with their services."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        out: Path = options["out"]
        if options["format"] == "json":
            objects = export_organizations_json() if options["organizations"] else export_json()
            out.write_text(json.dumps(objects, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            self.stdout.write(self.style.SUCCESS(f"Wrote {len(objects)} objects to {out}."))
            return
        if out.suffix.lower() == ".zip":
            out.write_bytes(export_zip())
            self.stdout.write(self.style.SUCCESS(f"Wrote the HSDS data package to {out}."))
            return
        if out.exists() and not out.is_dir():
            raise CommandError(f"{out} is a file; give a directory (or a path ending in .zip).")
        names = export_tabular(out)
        self.stdout.write(self.style.SUCCESS(f"Wrote {len(names)} files to {out}: {', '.join(names)}."))
