"""sections.py — the family page (and its export) is composed of sections each app provides, so that
``families`` never imports the apps above it. An app registers its sections from its ``AppConfig.ready``;
each section loads what it shows through the page's gate (so the door decides every record) and may add
keys to the JSON export. It never writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from kinfold.access.gate import RecordGate
from kinfold.access.viewer import Viewer
from kinfold.families.models import Family

Notice = Callable[[Any], dict[str, str]]  # a record's redisclosure notice, for the export ({} if none)


@dataclass(frozen=True)
class SectionContext:
    """What a section's loader gets: who is looking, at which family, through which gate."""

    viewer: Viewer
    family: Family
    gate: RecordGate
    on_team: bool
    today: date


@dataclass(frozen=True)
class FamilySection:
    name: str
    order: int  # position in the page's main column, smallest first
    template: str
    load: Callable[[SectionContext], Any] | None = None  # its data, as ``d.data.<name>`` in templates
    export: Callable[[Any, Notice], dict[str, Any]] | None = None  # keys it adds to the JSON export


_SECTIONS: dict[str, FamilySection] = {}


def register_section(section: FamilySection) -> None:
    _SECTIONS[section.name] = section


def family_sections() -> list[FamilySection]:
    return sorted(_SECTIONS.values(), key=lambda s: (s.order, s.name))


def declare() -> None:
    """The families app's own sections; their data are the page's core (team, members, pregnancies)."""
    register_section(FamilySection("care_team", 20, "families/_team_section.html"))
    register_section(FamilySection("members", 50, "families/_members_section.html"))
    register_section(FamilySection("pregnancy", 60, "families/_pregnancy_section.html"))
