"""gate.py — one page's (or export's) view of some families' records, for one purpose, at one instant.

Selectors open a gate, ask it about each record (``show`` when the content is about to be shown, ``may`` to
ask without showing), and finally ``record_disclosures``: every permitted access from outside the creating
organisation is written to the accounting once the page is built. It never writes anything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from kinfold import clock
from kinfold.access.accounting import Shown, disclosures_record
from kinfold.access.facts import EmergencyWindow, PolicyContext
from kinfold.access.registry import RecordFacts, declared, facts_of, new_facts
from kinfold.access.rules import (
    Decision,
    DirectiveStatus,
    decide,
    directive_status,
    opens_family,
    reads_disclosure,
)
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import Interaction, is_part2_record
from kinfold.audit.models import AuditEvent

T = TypeVar("T")


@dataclass
class RecordGate:
    viewer: Viewer
    purpose: str
    ctx: PolicyContext
    at: datetime = field(default_factory=clock.now)
    shown: list[Shown] = field(default_factory=list)
    notices: set[tuple[str, int | None]] = field(default_factory=set)

    @classmethod
    def open(
        cls,
        viewer: Viewer,
        family_ids: Iterable[int],
        purpose: str | None = None,
        at: datetime | None = None,
        *,
        parents: dict[int, RecordFacts | None] | None = None,
    ) -> RecordGate:
        """A gate over these families, for ``purpose`` (default: the viewer's role's)."""
        return cls(
            viewer=viewer,
            purpose=purpose or viewer.default_purpose,
            ctx=PolicyContext.load(viewer, family_ids, parents=parents),
            at=at or clock.now(),
        )

    def decision(
        self,
        record: Any,
        *,
        family_id: int | None = None,
        interaction: str = Interaction.READ,
        to_organization_id: int | None = None,
    ) -> Decision:
        return decide(
            self.viewer,
            facts_of(record, family_id=family_id),
            self.purpose,
            self.at,
            self.ctx,
            interaction=interaction,
            to_organization_id=to_organization_id,
        )

    def may(self, interaction: str, record: Any, *, family_id: int | None = None) -> bool:
        """Ask without showing (may she change it? may she see it at all?)."""
        return self.decision(record, family_id=family_id, interaction=interaction).permitted

    def may_create(self, model: Any, *, family_id: int, category: str, **facts: Any) -> bool:
        """May she make a record of ``model`` (in her organisation's name) for this family?"""
        if self.viewer.organization_id is None:
            return False
        return self.may(
            Interaction.CREATE,
            new_facts(
                model,
                family_id=family_id,
                organization_id=self.viewer.organization_id,
                category=category,
                created_by_id=self.viewer.user_id,
                **facts,
            ),
        )

    def may_see(self, record: Any, *, family_id: int | None = None) -> bool:
        return self.may(Interaction.READ, record, family_id=family_id)

    def opens_family(self, family_id: int) -> bool:
        """May she open the family at all (for her role's purpose, or in her emergency window)?"""
        return opens_family(self.ctx, family_id, self.at)

    def shows_family(self, family_id: int) -> bool:
        """May this page, for its purpose, show the family (its parent's name): and remember that it does."""
        parent = self.ctx.family(family_id).parent
        return parent is not None and self.show(parent, label="parent's name")

    def show(self, record: Any, *, family_id: int | None = None, label: str = "") -> bool:
        """Ask, and if permitted, remember that the record's content is about to be shown."""
        facts = facts_of(record, family_id=family_id)
        decision = decide(self.viewer, facts, self.purpose, self.at, self.ctx)
        if not decision.permitted:
            return False
        if decision.is_disclosure:
            self.shown.append(Shown(facts, decision, label or _label_of(record, facts)))
        if decision.shows_redisclosure_notice:
            self.notices.add((facts.record_type, facts.record_id))
        return True

    def visible(self, records: Sequence[T], *, family_id: int | None = None) -> list[T]:
        # The makers of a whole list, read at once (the page's facts named most of them already).
        self.ctx.organizations.ensure(getattr(r, "created_by_org_id", None) for r in records)
        return [r for r in records if self.show(r, family_id=family_id)]

    def viewer_on_team(self, family_id: int) -> bool:
        """Whether the viewer holds a place on the family's care team now (from the page's facts: no query)."""
        return self.ctx.family(family_id).on_team(self.viewer.membership_id, self.at)

    def is_part2(self, record: Any) -> bool:
        """Whether a record is a Part 2 record (made by a Part 2 programme, or SUD-treatment information)."""
        facts = facts_of(record)
        _, made_by_part2 = self.ctx.org(facts.created_by_org_id)
        return is_part2_record(made_by_part2_program=made_by_part2, category=facts.category)

    def needs_notice(self, record: Any) -> bool:
        """Whether the record (a row, or its facts) was shown here and carries the 42 CFR 2.32 notice."""
        if type(record) is RecordFacts:
            return (record.record_type, record.record_id) in self.notices
        return (type(record).__name__, record.pk) in self.notices

    @property
    def any_notice(self) -> bool:
        return bool(self.notices)

    def reads_disclosure(self, *, disclosing_org_id: int, records: list[RecordFacts]) -> bool:
        return reads_disclosure(self.ctx, disclosing_org_id=disclosing_org_id, records=records, at=self.at)

    def open_emergency(self, family_id: int) -> EmergencyWindow | None:
        """The viewer's own declared emergency for the family, if its window is open at the gate's instant."""
        windows = [e for e in self.ctx.family(family_id).emergencies if e.declared_at <= self.at < e.expires_at]
        return max(windows, key=lambda e: e.expires_at, default=None)

    def directive_status(self, *, family_id: int, directive_id: int) -> DirectiveStatus:
        return directive_status(self.ctx, family_id=family_id, directive_id=directive_id, at=self.at)

    def record_disclosures(self, *, channel: str, events: Sequence[AuditEvent] = ()) -> int:
        """Write what this gate disclosed to the accounting, with ``events`` (the page's own audit event, from
        ``new_event``) all or none; returns the number of disclosure rows."""
        count = disclosures_record(
            viewer=self.viewer, purpose=self.purpose, shown=self.shown, at=self.at, channel=channel, events=events
        )
        self.shown = []
        return count


def _label_of(record: Any, facts: RecordFacts) -> str:
    """What the accounting calls a record shown without a label: the row's own words, or for the plain values of a
    flat read its type's words ("pregnancy"), never the values themselves."""
    if record is not facts:
        return str(record)
    declared_type = declared(facts.record_type)
    return declared_type.label if declared_type is not None else facts.record_type
