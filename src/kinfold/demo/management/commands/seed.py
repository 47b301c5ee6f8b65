"""``kinfold seed --families N --seed S``: add a synthetic region (invented people only) to the database."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kinfold.demo.synthetic import generate_region


class Command(BaseCommand):
    help = "Generate a deterministic synthetic region: organisations, staff, families and their care teams."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--families", type=int, default=1000, help="How many families (default 1000).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument(
            "--on",
            type=date.fromisoformat,
            default=None,
            help="Reference date YYYY-MM-DD the ages and stages are relative to (default: today).",
        )
        parser.add_argument("--region", default="Lakeview County", help="Region name.")

    def handle(self, *args: Any, **options: Any) -> None:
        families = options["families"]
        if families < 1:
            raise CommandError("--families must be at least 1.")
        verbose = options["verbosity"] >= 2
        summary = generate_region(
            families=families,
            seed=options["seed"],
            on=options["on"],
            region=options["region"],
            progress=(lambda message: self.stdout.write(f"  … {message}")) if verbose else None,
        )
        for line in summary.lines():
            self.stdout.write(line)
        self.stdout.write(
            self.style.SUCCESS(f"Seeded {summary.families:,} families in {summary.elapsed_seconds:.1f} s.")
        )
