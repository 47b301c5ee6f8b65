"""Reads through the door: a ``RecordGate`` asks the policy about each record on a page, and remembers
which permitted records were disclosures so the accounting can record them once the page is built."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from kinfold import clock
from kinfold.consent.policy import Decision, PolicyContext, RecordFacts, Viewer, decide, facts_of

T = TypeVar("T")


@dataclass
class Shown:
    facts: RecordFacts
    decision: Decision
    label: str


@dataclass
class RecordGate:
    """One page's (or export's) view of the records of some families, for one purpose, at one instant."""

    viewer: Viewer
    purpose: str
    ctx: PolicyContext
    at: datetime = field(default_factory=clock.now)
    shown: list[Shown] = field(default_factory=list)
    notices: set[tuple[str, int | None]] = field(default_factory=set)

    @classmethod
    def open(cls, viewer: Viewer, family_ids: Iterable[int], purpose: str, at: datetime | None = None) -> RecordGate:
        return cls(viewer=viewer, purpose=purpose, ctx=PolicyContext.load(viewer, family_ids), at=at or clock.now())

    def decision(self, record: Any, *, family_id: int | None = None) -> Decision:
        return decide(self.viewer, facts_of(record, family_id=family_id), self.purpose, self.at, self.ctx)

    def may_see(self, record: Any, *, family_id: int | None = None) -> bool:
        """Ask without showing (e.g. to decide whether a family appears at all)."""
        return self.decision(record, family_id=family_id).permitted

    def show(self, record: Any, *, family_id: int | None = None, label: str = "") -> bool:
        """Ask, and if permitted, remember that the record's content is about to be shown."""
        facts = facts_of(record, family_id=family_id)
        decision = decide(self.viewer, facts, self.purpose, self.at, self.ctx)
        if not decision.permitted:
            return False
        if decision.is_disclosure:
            self.shown.append(Shown(facts, decision, label or str(record)))
        if decision.shows_redisclosure_notice:
            self.notices.add((facts.record_type, facts.record_id))
        return True

    def visible(self, records: Sequence[T], *, family_id: int | None = None) -> list[T]:
        return [r for r in records if self.show(r, family_id=family_id)]

    def needs_notice(self, record: Any) -> bool:
        return (type(record).__name__, record.pk) in self.notices

    @property
    def any_notice(self) -> bool:
        return bool(self.notices)

    def record_disclosures(self, *, channel: str) -> int:
        """Write what this gate disclosed to the accounting; returns the number of disclosure rows."""
        from kinfold.consent.services import disclosures_record

        count = disclosures_record(
            viewer=self.viewer, purpose=self.purpose, shown=self.shown, at=self.at, channel=channel
        )
        self.shown = []
        return count


def family_consents(*, gate: RecordGate, family_id: int) -> list[Any]:
    """The family's consent directives the viewer may see, newest first, with their versions loaded."""
    from django.db.models import Prefetch

    from kinfold.consent.models import ConsentDirective, ConsentVersion

    directives = (
        ConsentDirective.objects.filter(family_id=family_id)
        .select_related("revocation_received_by__user", "created_by_org")
        .prefetch_related(
            Prefetch(
                "versions",
                queryset=ConsentVersion.objects.order_by("-number")
                .select_related("signer_person")
                .prefetch_related("discloser_orgs", "recipient_orgs", "recipient_people__user"),
            )
        )
        .order_by("-created_at", "-pk")
    )
    return gate.visible(list(directives), family_id=family_id)


def family_court_orders(*, gate: RecordGate, family_id: int) -> list[Any]:
    from kinfold.consent.models import CourtOrder

    return gate.visible(
        list(CourtOrder.objects.filter(family_id=family_id).select_related("court")), family_id=family_id
    )


def family_restrictions(*, gate: RecordGate, family_id: int) -> list[Any]:
    from kinfold.consent.models import Restriction

    rows = Restriction.objects.filter(family_id=family_id).select_related(
        "disclosing_org", "recipient_org", "recipient_person__user", "decided_by__user", "ended_by__user"
    )
    return gate.visible(list(rows), family_id=family_id)


def active_emergency(*, viewer: Viewer, family_id: int) -> Any:
    """The viewer's own break-the-glass window on this family, if one is open now."""
    from kinfold.consent.models import EmergencyAccess

    if viewer.user is None or getattr(viewer.user, "pk", None) is None:
        return None
    return (
        EmergencyAccess.objects.filter(family_id=family_id, user_id=viewer.user.pk, expires_at__gt=clock.now())
        .order_by("-expires_at")
        .first()
    )
