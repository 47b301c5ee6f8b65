"""Reads of family data. Every function takes the viewer and a purpose, and asks the access policy
about each record through a ``RecordGate``; none filters by hand, and a denied record is invisible.

They own the ``select_related``/``prefetch_related`` so pages make the same few queries whatever the
size of a caseload or the number of records, record each read in the audit trail, and write what was
disclosed to the accounting of disclosures.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, overload

from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects

from kinfold import clock
from kinfold.audit.models import Action, Outcome
from kinfold.audit.services import record_event
from kinfold.consent import selectors as consent_selectors
from kinfold.consent.policy import RecordFacts, Viewer, candidate_families_filter
from kinfold.consent.selectors import RecordGate
from kinfold.consent.vocabulary import default_purpose
from kinfold.families.models import (
    CareTeamMember,
    Family,
    FamilyActivity,
    FamilyRelationship,
    Person,
    PregnancyEpisode,
    PregnancyOutcome,
    RelationshipCategory,
)
from kinfold.organizations.models import Membership, Organization

CaseloadScope = Literal["mine", "organization"]
CASELOAD_SORTS = {
    "name": ("sort_name", "pk"),
    "-name": ("-sort_name", "-pk"),
    "activity": ("last_activity_at", "pk"),
    "-activity": ("-last_activity_at", "-pk"),
}
DEFAULT_CASELOAD_SORT = "name"


class FamilyNotFound(Exception):
    """The family does not exist or the viewer may not see it; the two are indistinguishable on purpose."""


def purpose_for(viewer: Viewer, purpose: str | None = None) -> str:
    return purpose or default_purpose(viewer.role)


def _active_members() -> QuerySet[CareTeamMember]:
    return CareTeamMember.objects.active().select_related("membership__user", "membership__organization")


class CaseloadFamilies:
    """The families of a caseload, in order: their ids are known once the policy has decided, and their
    rows (with the parent) are read only for the slice a page shows (a Django ``Paginator`` slices it)."""

    def __init__(self, family_ids: list[int]) -> None:
        self.ids = family_ids

    def __len__(self) -> int:
        return len(self.ids)

    def count(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, item: int) -> Family: ...

    @overload
    def __getitem__(self, item: slice) -> list[Family]: ...

    def __getitem__(self, item: int | slice) -> Family | list[Family]:
        if isinstance(item, slice):
            return _families_in_order(self.ids[item])
        return _families_in_order([self.ids[item]])[0]

    def __iter__(self) -> Iterator[Family]:
        return iter(self[:])


def _families_in_order(family_ids: list[int]) -> list[Family]:
    if not family_ids:
        return []
    found = Family.objects.select_related("parent").in_bulk(family_ids)
    return [found[pk] for pk in family_ids if pk in found]


@dataclass
class Caseload:
    """The families a viewer may see, in order, and the gate that decided it (for the rows of one page)."""

    families: CaseloadFamilies
    gate: RecordGate

    def __len__(self) -> int:
        return len(self.families)

    def __getitem__(self, item: slice) -> list[Family]:
        return self.families[item]

    def count(self) -> int:
        return len(self.families)


def caseload_for(
    *,
    viewer: Viewer,
    scope: CaseloadScope = "mine",
    search: str = "",
    sort: str = DEFAULT_CASELOAD_SORT,
    purpose: str | None = None,
) -> Caseload:
    """The viewer's caseload ("mine": she is on the team; "organization": her organisation is), keeping
    only families whose parent the policy lets her see: a hidden family is not counted or found.

    Every candidate is decided, from plain values (a whole organisation's caseload has thousands); only
    the rows of the page shown are read as families."""
    purpose = purpose_for(viewer, purpose)
    families = Family.objects.filter(candidate_families_filter(viewer, scope=scope))
    for term in search.split()[:5]:
        families = families.filter(
            Q(parent__given_name__icontains=term)
            | Q(parent__family_name__icontains=term)
            | Q(parent__preferred_name__icontains=term)
        )
    candidates = list(
        families.order_by(*CASELOAD_SORTS.get(sort, CASELOAD_SORTS[DEFAULT_CASELOAD_SORT])).values_list(
            "pk", "parent_id", "parent__created_by_org_id", "parent__sensitivity", "parent__created_at"
        )
    )
    gate = RecordGate.open(viewer, [family_id for family_id, *_ in candidates], purpose)
    visible = [
        family_id
        for family_id, parent_id, parent_org_id, parent_category, parent_created_at in candidates
        if parent_id is not None
        and gate.may_see(
            RecordFacts(
                family_id=family_id,
                created_by_org_id=parent_org_id,
                category=parent_category,
                record_type=Person.__name__,
                record_id=parent_id,
                created_at=parent_created_at,
            )
        )
    ]
    return Caseload(CaseloadFamilies(visible), gate)


@dataclass(frozen=True)
class CaseloadRow:
    family: Family
    parent_name: str
    stage: str
    coordinator: CareTeamMember | None
    organizations: list[Organization]
    last_activity_at: datetime | None


def perinatal_stage_of(
    family: Family,
    on: date,
    pregnancies: list[PregnancyEpisode] | None = None,
    children: list[FamilyRelationship] | None = None,
) -> str:
    """The family's perinatal stage in words, from the pregnancies and children the viewer may see."""
    if pregnancies is None:
        pregnancies = list(family.pregnancies.all())
    if children is None:
        children = [r for r in family.relationships.all() if r.category == RelationshipCategory.CHILD]
    ongoing = next((p for p in pregnancies if p.delivered_on is None), None)
    if ongoing is not None:
        return clock.perinatal_stage(on=on, edd=ongoing.estimated_due_on)
    born = [r.person.born_on for r in children if r.person.born_on and r.person.born_on <= on]
    # A pregnancy that ended without a live birth gives a postpartum year, never "parenting".
    delivered = [
        p.delivered_on
        for p in pregnancies
        if p.delivered_on
        and p.delivered_on <= on
        and (p.outcome == PregnancyOutcome.LIVE_BIRTH or (on - p.delivered_on).days <= clock.POSTPARTUM_YEAR_DAYS)
    ]
    return clock.perinatal_stage(
        on=on,
        delivered_on=max(delivered) if delivered else None,
        youngest_child_born_on=max(born) if born else None,
    )


def caseload_rows(
    *, viewer: Viewer, caseload: Caseload, families: list[Family] | None = None, on: date | None = None
) -> list[CaseloadRow]:
    """Turn one page of the caseload into rows, showing only what the policy permits; audit the listing
    and account for what it disclosed."""
    on = on or clock.today()
    gate = caseload.gate
    families = list(caseload.families) if families is None else families
    prefetch_related_objects(
        families,
        Prefetch("care_team__members", queryset=_active_members(), to_attr="active_members"),
        Prefetch("pregnancies", queryset=PregnancyEpisode.objects.order_by("-estimated_due_on")),
        Prefetch(
            "relationships",
            queryset=FamilyRelationship.objects.filter(category=RelationshipCategory.CHILD).select_related("person"),
            to_attr="child_relationships",
        ),
    )
    rows = []
    for family in families:
        assert family.parent is not None
        gate.show(family.parent, family_id=family.pk, label="parent's name")
        team = getattr(family, "care_team", None)
        members = [
            m for m in getattr(team, "active_members", []) if gate.show(m, family_id=family.pk, label="care team")
        ]
        pregnancies = gate.visible(list(family.pregnancies.all()), family_id=family.pk)
        children = [
            r
            for r in getattr(family, "child_relationships", [])
            if gate.show(r, family_id=family.pk) and gate.show(r.person, family_id=family.pk)
        ]
        coordinator = next((m for m in members if m.is_coordinator), None)
        organizations = sorted(
            {m.membership.organization_id: m.membership.organization for m in members}.values(),
            key=lambda o: o.name,
        )
        rows.append(
            CaseloadRow(
                family=family,
                parent_name=family.parent.display_name,
                stage=perinatal_stage_of(family, on, pregnancies, children),
                coordinator=coordinator,
                organizations=organizations,
                last_activity_at=family.last_activity_at if gate.may_see(family) else None,
            )
        )
    if families:
        record_event(
            actor=viewer.user,
            action=Action.LIST,
            record_type="Family",
            purpose=gate.purpose,
            detail={"family_ids": [f.pk for f in families]},
        )
        gate.record_disclosures(channel="list")
    return rows


@dataclass
class FamilyDetail:
    family: Family
    gate: RecordGate
    stage: str
    members: list[FamilyRelationship]
    pregnancies: list[PregnancyEpisode]
    current_pregnancy: PregnancyEpisode | None
    team: list[CareTeamMember]
    coordinator: CareTeamMember | None
    timeline: list[FamilyActivity]
    notes: list[Any]
    consents: list[Any]
    court_orders: list[Any]
    restrictions: list[Any]
    emergency: Any
    viewer_is_on_team: bool
    today: date = field(default_factory=clock.today)

    @property
    def purpose(self) -> str:
        return self.gate.purpose

    @property
    def gestational_age(self) -> clock.GestationalAge | None:
        return self.current_pregnancy.gestational_age_on(self.today) if self.current_pregnancy else None

    @property
    def trimester(self) -> int | None:
        ga = self.gestational_age
        return clock.trimester(ga) if ga else None

    @property
    def latest_delivery(self) -> PregnancyEpisode | None:
        return next((p for p in self.pregnancies if p.delivered_on is not None), None)

    @property
    def postpartum_day(self) -> int | None:
        latest = self.latest_delivery
        return latest.postpartum_day_on(self.today) if latest else None

    @property
    def shows_redisclosure_notice(self) -> bool:
        return self.gate.any_notice

    @property
    def notice_note_ids(self) -> set[int | None]:
        return {record_id for record_type, record_id in self.gate.notices if record_type == "Note"}

    @property
    def purpose_label(self) -> str:
        from kinfold.consent.vocabulary import Purpose

        return str(Purpose(self.gate.purpose).label).lower()


def _open_family(*, viewer: Viewer, family_id: int, purpose: str, action: str) -> tuple[Family, RecordGate]:
    family = Family.objects.filter(pk=family_id).select_related("parent", "care_team").first()
    gate = RecordGate.open(viewer, [family_id], purpose)
    if family is None or family.parent is None or not gate.may_see(family.parent, family_id=family_id):
        record_event(
            actor=viewer.user,
            action=action,
            record_type="Family",
            record_id=family_id,
            family_id=family_id,
            purpose=purpose,
            outcome=Outcome.DENIED,
        )
        raise FamilyNotFound(family_id)
    return family, gate


def family_for_change(*, viewer: Viewer, family_id: int) -> Family:
    """The family a write is about, if the viewer may work on it (else FamilyNotFound, audited)."""
    family, _ = _open_family(viewer=viewer, family_id=family_id, purpose=purpose_for(viewer), action=Action.UPDATE)
    return family


TIMELINE_LENGTH = 50
NOTES_LENGTH = 100


def family_detail(*, viewer: Viewer, family_id: int, purpose: str | None = None, channel: str = "page") -> FamilyDetail:
    """Everything on a family's page that the viewer may see for the purpose; the rest is invisible."""
    from kinfold.notes.models import Note

    purpose = purpose_for(viewer, purpose)
    family, gate = _open_family(viewer=viewer, family_id=family_id, purpose=purpose, action=Action.VIEW)
    gate.show(family.parent, family_id=family.pk, label="parent's name and details")
    members = [
        r
        for r in family.relationships.select_related("person").order_by("category", "person__born_on", "pk")
        if gate.show(r, label="family member") and gate.show(r.person, family_id=family.pk, label=r.person.display_name)
    ]
    pregnancies = gate.visible(
        list(family.pregnancies.prefetch_related("infants").order_by("-estimated_due_on")),
        family_id=family.pk,
    )
    team = [
        m
        for m in _active_members().filter(care_team__family=family).order_by("-is_coordinator", "joined_at")
        if gate.show(m, family_id=family.pk, label="care team member")
    ]
    timeline = gate.visible(
        list(family.activities.select_related("created_by", "created_by_org")[:TIMELINE_LENGTH]),
        family_id=family.pk,
    )
    notes = gate.visible(
        list(Note.objects.filter(family=family).select_related("created_by", "created_by_org")[:NOTES_LENGTH]),
        family_id=family.pk,
    )
    consents = consent_selectors.family_consents(gate=gate, family_id=family.pk)
    court_orders = consent_selectors.family_court_orders(gate=gate, family_id=family.pk)
    restrictions = consent_selectors.family_restrictions(gate=gate, family_id=family.pk)
    today = clock.today()
    children = [m for m in members if m.category == RelationshipCategory.CHILD]
    record_event(
        actor=viewer.user,
        action=Action.VIEW if channel != "export" else Action.EXPORT,
        record_type="Family",
        record_id=family.pk,
        family_id=family.pk,
        purpose=purpose,
        detail={"channel": channel, "disclosed_records": len(gate.shown)},
    )
    gate.record_disclosures(channel=channel)
    return FamilyDetail(
        family=family,
        gate=gate,
        stage=perinatal_stage_of(family, today, pregnancies, children),
        members=members,
        pregnancies=pregnancies,
        current_pregnancy=next((p for p in pregnancies if p.is_ongoing), None),
        team=team,
        coordinator=next((m for m in team if m.is_coordinator), None),
        timeline=timeline,
        notes=notes,
        consents=consents,
        court_orders=court_orders,
        restrictions=restrictions,
        emergency=consent_selectors.active_emergency(viewer=viewer, family_id=family.pk),
        viewer_is_on_team=any(m.membership_id == viewer.membership_id for m in team),
        today=today,
    )


def staff_to_add(*, viewer: Viewer, family: Family, search: str = "") -> QuerySet[Membership]:
    """Active staff of any organisation who are not yet on the family's team, for the add-member picker."""
    on_team = CareTeamMember.objects.active().filter(care_team__family=family).values("membership_id")
    staff = Membership.objects.filter(is_active=True, user__is_active=True).exclude(pk__in=on_team)
    for term in search.split()[:5]:
        staff = staff.filter(
            Q(user__first_name__icontains=term)
            | Q(user__last_name__icontains=term)
            | Q(organization__name__icontains=term)
        )
    return staff.select_related("user", "organization").order_by("organization__name", "user__last_name")


def family_export(*, viewer: Viewer, family_id: int, purpose: str | None = None) -> dict[str, Any]:
    """A download of everything on the family page the viewer may see. Every Part 2 record disclosed
    outside its programme carries the redisclosure notice (42 CFR 2.32)."""
    from kinfold.consent.policy import REDISCLOSURE_NOTICE_TEXT

    d = family_detail(viewer=viewer, family_id=family_id, purpose=purpose, channel="export")
    family = d.family
    assert family.parent is not None

    def notice(record: Any) -> dict[str, str]:
        return {"redisclosure_notice": REDISCLOSURE_NOTICE_TEXT} if d.gate.needs_notice(record) else {}

    return {
        "family_id": family.pk,
        "exported_at": d.gate.at.isoformat(),
        "purpose": d.purpose,
        "parent": {"name": family.parent.display_name, "born_on": family.parent.born_on, **notice(family.parent)},
        "stage": d.stage,
        "members": [
            {"name": r.person.display_name, "category": r.category, "description": r.description, **notice(r)}
            for r in d.members
        ],
        "pregnancies": [
            {"estimated_due_on": p.estimated_due_on, "delivered_on": p.delivered_on, "outcome": p.outcome, **notice(p)}
            for p in d.pregnancies
        ],
        "care_team": [
            {
                "name": m.membership.display_name,
                "organization": m.membership.organization.name,
                "role": m.role,
                "is_coordinator": m.is_coordinator,
                **notice(m),
            }
            for m in d.team
        ],
        "records": [
            {
                "id": n.pk,
                "kind": n.kind,
                "category": n.sensitivity,
                "occurred_on": n.occurred_on,
                "summary": n.summary,
                "body": n.body,
                "from": n.created_by_org.name,
                **notice(n),
            }
            for n in d.notes
        ],
        "timeline": [{"at": a.occurred_at, "summary": a.summary, **notice(a)} for a in d.timeline],
        "redisclosure_notice": REDISCLOSURE_NOTICE_TEXT if d.shows_redisclosure_notice else None,
    }
