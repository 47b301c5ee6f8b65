"""sections.py — the family page (and its export) is composed of sections each app provides, so that
``families`` never imports the apps above it. An app registers its sections from its ``AppConfig.ready``;
each section loads what it shows through the page's gate (so the door decides every record) and may add
keys to the JSON export. The page's layout (the order of the sections and their "On this page" links) is
decided here, by the page's owner. It never writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from kinfold.access.gate import RecordGate
from kinfold.access.viewer import Viewer
from kinfold.families.models import Family, PregnancyEpisode

Notice = Callable[[Any], dict[str, str]]  # a record's redisclosure notice, for the export ({} if none)


@dataclass(frozen=True)
class SectionContext:
    """What a section's loader gets: who is looking, at which family, through which gate."""

    viewer: Viewer
    family: Family
    gate: RecordGate
    on_team: bool
    today: date
    # Her pregnancies the page already read and showed through the gate (newest due date first): a section that
    # needs them reads them here, not again.
    pregnancies: list[PregnancyEpisode] = field(default_factory=list)


@dataclass(frozen=True)
class JumpLink:
    """One entry of the page's "On this page" list: the id of a heading the section renders, and its words."""

    target: str
    label: str


@dataclass(frozen=True)
class FamilySection:
    name: str
    order: int  # position in the page's main column, smallest first, when the page's layout does not name it
    template: str
    load: Callable[[SectionContext], Any] | None = None  # its data, as ``d.data.<name>`` in templates
    export: Callable[[Any, Notice], dict[str, Any]] | None = None  # keys it adds to the JSON export

    @property
    def links(self) -> tuple[JumpLink, ...]:
        return FAMILY_PAGE_LAYOUT.get(self.name, ())


# The family page, in the order a care coordinator needs it (issue 11): her team, what is due and the latest
# records first; then the rest, each reachable from "On this page". A section named here takes its place
# from this list; one that is not goes after these, by its own ``order`` — and has no jump link until it is
# added here (tests/test_family_page_layout.py fails on a heading without one). Each link targets a heading
# id its section's template renders; the page's timeline, not a section, comes last (family_detail.html).
FAMILY_PAGE_LAYOUT: dict[str, tuple[JumpLink, ...]] = {
    "care_team": (JumpLink("team-heading", "Care team"),),
    "due": (JumpLink("due-heading", "What is due"),),
    "recent_records": (JumpLink("recent-records-heading", "Recent records"),),
    "referrals": (JumpLink("referrals-heading", "Referrals"),),
    "pathways": (JumpLink("pathways-heading", "Pathways"),),
    "screening": (JumpLink("screening-heading", "Screening"),),
    "members": (JumpLink("members-heading", "Family members"),),
    "pregnancy": (JumpLink("pregnancy-heading", "Pregnancy"),),
    "notes": (JumpLink("records-heading", "All records"),),
    "consents": (JumpLink("consents-heading", "Her consents"),),
    "access": (
        JumpLink("court-orders-heading", "Court orders"),
        JumpLink("restrictions-heading", "Requests to restrict sharing"),
    ),
}

_SECTIONS: dict[str, FamilySection] = {}


def register_section(section: FamilySection) -> None:
    _SECTIONS[section.name] = section


def _place(section: FamilySection) -> tuple[int, int, str]:
    layout = list(FAMILY_PAGE_LAYOUT)
    if section.name in FAMILY_PAGE_LAYOUT:
        return (0, layout.index(section.name), section.name)
    return (1, section.order, section.name)


def family_sections() -> list[FamilySection]:
    return sorted(_SECTIONS.values(), key=_place)


def declare() -> None:
    """The families app's own sections; their data are the page's core (team, members, pregnancies). "What
    is due" and "Recent records" summarise, from data the page has already read, what a coordinator needs
    first; they load nothing of their own."""
    register_section(FamilySection("care_team", 20, "families/_team_section.html"))
    register_section(FamilySection("due", 22, "families/_due_section.html"))
    register_section(FamilySection("recent_records", 24, "families/_recent_records_section.html"))
    register_section(FamilySection("members", 50, "families/_members_section.html"))
    register_section(FamilySection("pregnancy", 60, "families/_pregnancy_section.html"))
