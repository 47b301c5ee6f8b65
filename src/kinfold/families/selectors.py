"""Reads of family data. Every function takes the viewer and a purpose, and asks the door about each
record through a ``RecordGate``; none filters by hand, and a denied record is invisible.

They own the ``select_related``/``prefetch_related`` so pages make the same few queries whatever the
size of a caseload or the number of records, record each read in the audit trail, and write what was
disclosed to the accounting of disclosures. Every fetch by id is an ``access_<record>`` here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, cached_property
from typing import Any, Literal, overload

from django.core.exceptions import PermissionDenied
from django.db.models import Max, Q, QuerySet

from kinfold import clock
from kinfold.access.door import Access, NotPermitted, access_record
from kinfold.access.facts import (
    PARENT_COLUMNS,
    Compiled,
    candidate_families_filter,
    compiled_rows,
    on_team_as,
    parent_facts,
    parent_reach_filter,
)
from kinfold.access.gate import RecordGate
from kinfold.access.registry import FactReader, RecordFacts
from kinfold.access.rules import REDISCLOSURE_NOTICE_TEXT, read_by_rule_1
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import Interaction, Purpose, stated_purposes
from kinfold.audit.models import Action, Outcome
from kinfold.audit.services import new_event, record_event
from kinfold.families.models import (
    CareTeamMember,
    Family,
    FamilyActivity,
    FamilyRelationship,
    Person,
    PregnancyEpisode,
    PregnancyOutcome,
    RelationshipCategory,
    Sensitivity,
)
from kinfold.families.sections import FamilySection, SectionContext, family_sections
from kinfold.organizations.models import Membership
from kinfold.prepared import prepared_list

CaseloadScope = Literal["mine", "organization"]
CASELOAD_SORTS = ("name", "-name", "activity", "-activity")
DEFAULT_CASELOAD_SORT = "name"


class FamilyNotFound(NotPermitted):
    """The family does not exist or the viewer may not see it; the two are indistinguishable on purpose."""


class PurposeRefused(PermissionDenied):
    """She stated a purpose her role may not state; the page or export is refused (and audited)."""


PURPOSE_LABELS = dict(Purpose.choices)


def purpose_for(viewer: Viewer, purpose: str | None = None, *, family_id: int | None = None) -> str:
    """The purpose a page or export is read for: her role's default, or one her role may state. Any other
    (a care coordinator asking "for treatment", a word that is no purpose) is refused with a plain reason."""
    if not purpose:
        return viewer.default_purpose
    if purpose in Purpose.values and viewer.may_state(purpose):
        return purpose
    allowed = sorted(stated_purposes(viewer.role))
    record_event(
        actor=viewer.user,
        action=Action.VIEW,
        record_type="Family" if family_id is not None else "Caseload",
        record_id=family_id if family_id is not None else "",
        family_id=family_id,
        purpose=purpose[:40],
        outcome=Outcome.DENIED,
        detail={"reason": "purpose not allowed for the role", "allowed": allowed},
    )
    words = " or ".join(f"“{PURPOSE_LABELS[p].lower()}”" for p in allowed) or "no purpose"
    asked = f"“{PURPOSE_LABELS[purpose].lower()}”" if purpose in Purpose.values else "that purpose"
    raise PurposeRefused(
        f"You cannot read her record for {asked}: your role reads for {words}. Open the page without choosing "
        "a purpose, or ask your privacy officer."
    )


def _active_members() -> QuerySet[CareTeamMember]:
    return CareTeamMember.objects.active().select_related("membership__user", "membership__organization")


@dataclass(frozen=True, slots=True)
class CaseloadFamily:
    """A family of a caseload as the list reads it (plain values): its id, its parent's record, her name."""

    pk: int
    parent: RecordFacts
    parent_name: str


class CaseloadFamilies:
    """The families of a caseload that she may see, in order: the candidates are decided as far as a page asks
    (page first, then decide), in growing batches, and ``count()`` decides them all. A Django ``Paginator``
    slices it; no query but the policy's facts of each batch (the candidates' query read what the list shows)."""

    FIRST_BATCH = 64

    def __init__(self, candidates: list[CaseloadFamily], decide: Callable[[list[CaseloadFamily]], list[int]]) -> None:
        self._candidates = candidates
        self._decide = decide
        self._next = 0  # candidates before this one are decided
        self.ids: list[int] = []  # those she may see, in order
        self._found = {f.pk: f for f in candidates}

    @property
    def complete(self) -> bool:
        """Whether every candidate is decided (then the count is known without deciding more)."""
        return self._next >= len(self._candidates)

    def decide_through(self, wanted: int | None) -> None:
        """Decide candidates until ``wanted`` families she may see are known (``None``: all of them, at once)."""
        while not self.complete and (wanted is None or len(self.ids) < wanted):
            end = len(self._candidates) if wanted is None else self._next + self._batch_size(wanted)
            batch = self._candidates[self._next : end]
            self._next += len(batch)
            self.ids.extend(self._decide(batch))

    def _batch_size(self, wanted: int) -> int:
        """Enough candidates to find the families still wanted at the share she may see so far (and a quarter
        more); twice the decided ones while she may see none of them yet."""
        missing = wanted - len(self.ids)
        if not self.ids:
            return max(self.FIRST_BATCH, 2 * missing, 2 * self._next)
        share = len(self.ids) / self._next
        return max(self.FIRST_BATCH, math.ceil(missing / share * 1.25))

    def __len__(self) -> int:
        return self.count()

    def count(self) -> int:
        self.decide_through(None)
        return len(self.ids)

    @overload
    def __getitem__(self, item: int) -> CaseloadFamily: ...

    @overload
    def __getitem__(self, item: slice) -> list[CaseloadFamily]: ...

    def __getitem__(self, item: int | slice) -> CaseloadFamily | list[CaseloadFamily]:
        if isinstance(item, slice):
            start, stop = item.start or 0, item.stop
            self.decide_through(None if stop is None or stop < 0 or start < 0 else stop)
            return [self._found[pk] for pk in self.ids[item]]
        self.decide_through(None if item < 0 else item + 1)
        return self._found[self.ids[item]]

    def __iter__(self) -> Iterator[CaseloadFamily]:
        return iter(self[:])


@dataclass
class Caseload:
    """The families a viewer may see, in order, and the gate that decided it (for the rows of one page)."""

    families: CaseloadFamilies
    gate: RecordGate
    last_activity: dict[int, datetime] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.families)

    def __getitem__(self, item: slice) -> list[CaseloadFamily]:
        return self.families[item]

    def count(self) -> int:
        return len(self.families)


def last_activity_for(gate: RecordGate, family_ids: list[int]) -> dict[int, datetime]:
    """Each family's newest timeline line that the viewer may read (CONSENT-RULES: a derived date moves
    only with what she may read). One query: the newest line per family, organisation and category; the
    newest line of such a group is never more hidden than an older one, so deciding it decides the group
    (the group is also its kind of information).
    (Lines about a consent are grouped by consent: they are seen as the consent is, whoever recorded them.)"""
    if not family_ids:
        return {}
    return last_activity_from(gate, compiled_rows("newest lines", _newest_lines_query, family_ids))


def _newest_lines_query(family_ids: Any) -> QuerySet[Any]:
    # Newest group first within each family: the first group she may read decides the family, and the older
    # groups after it are skipped without a decision (a page's 25 families have about 160 groups).
    return (
        FamilyActivity.objects.filter(family_id__in=family_ids)
        .values_list("family_id", "created_by_org_id", "sensitivity", "kind", "consent_directive_id")
        .annotate(last=Max("occurred_at"), made=Max("created_at"))
        .order_by("family_id", "-last")
    )


def last_activity_from(gate: RecordGate, groups: list[tuple[Any, ...]]) -> dict[int, datetime]:
    """``last_activity_for`` from the rows of its query (read with a page's other queries)."""
    latest: dict[int, datetime] = {}
    for family_id, org_id, category, kind, directive_id, last, made in groups:
        if family_id in latest and latest[family_id] >= last:
            continue
        facts = RecordFacts(
            family_id=family_id,
            created_by_org_id=org_id,
            category=category,
            record_type=FamilyActivity.__name__,
            created_at=made,
            directive_id=directive_id,
            kind=kind,
        )
        if gate.may_see(facts):
            latest[family_id] = last
    return latest


_CASELOAD_COLUMNS = (*PARENT_COLUMNS, "parent__given_name", "parent__preferred_name", "parent__family_name")


def _candidates(viewer: Viewer, scope: CaseloadScope, search: str, purpose: str) -> QuerySet[Family]:
    families = Family.objects.filter(candidate_families_filter(viewer, scope=scope))
    if scope == "organization":
        # Only the families whose parent the door might let her read (her organisation's place on a team opens
        # nothing by itself): a whole organisation's caseload is mostly its other staff's families.
        families = families.filter(parent_reach_filter(viewer, purpose))
    for term in search.split()[:5]:
        families = families.filter(
            Q(parent__given_name__icontains=term)
            | Q(parent__family_name__icontains=term)
            | Q(parent__preferred_name__icontains=term)
        )
    return families


def _my_candidates(*order: str) -> Callable[[Any, Any], QuerySet[Any]]:
    """Her own caseload's candidates in one order (``candidate_families_filter``'s "mine": the families whose care
    team she is on now), to be compiled once (one statement per order). Her membership is one value, not ids: so
    PostgreSQL plans the statement once, where for an array it planned it again on every request (0.7 ms)."""
    return lambda _no_ids, membership_id: (
        Family.objects.filter(on_team_as(membership_id)).order_by(*order).values_list(*_CASELOAD_COLUMNS)
    )


_MY_CANDIDATES = {order: _my_candidates(*order) for order in (("sort_name", "pk"), ("-sort_name", "-pk"))}


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

    One query reads every candidate's parent as plain values (a whole organisation's caseload has thousands),
    keeping only the families whose parent the door might let her read (``parent_reach_filter``, a superset);
    the door decides each. A parent her own organisation recorded is decided by rule 1, which reads no fact
    of the family, so only the other families' facts are loaded; the shown page's are loaded with its rows.
    Her own caseload is decided whole (it is counted); her organisation's is decided as far as the page shown
    (page first, then decide), unless sorted by last activity: each family's is the newest line she may read."""
    purpose = purpose_for(viewer, purpose)
    by_name = ("-sort_name", "-pk") if sort == "-name" else ("sort_name", "pk")
    candidates: Iterable[tuple[Any, ...]]
    if scope == "mine" and not search.split() and viewer.may_see_family_data and viewer.membership_id is not None:
        # Her own caseload, unsearched (the page she opens most): one statement compiled once per process.
        key = "caseload, hers, by " + by_name[0]
        candidates = compiled_rows(key, _MY_CANDIDATES[by_name], [], viewer.membership_id)
    else:
        candidates = _candidates(viewer, scope, search, purpose).order_by(*by_name).values_list(*_CASELOAD_COLUMNS)
    found: dict[int, CaseloadFamily] = {}
    for pk, parent_id, org_id, category, created_at, given, preferred, family_name in candidates:
        parent = parent_facts(pk, parent_id, org_id, category, created_at)
        if parent is not None:
            found[pk] = CaseloadFamily(pk, parent, Person.name_from(given, preferred, family_name))
    gate = RecordGate.open(viewer, [], purpose)

    def decide(batch: list[CaseloadFamily]) -> list[int]:
        # Rule 1 decides a parent her own organisation recorded without any fact of the family.
        gate.ctx.include(
            [f.pk for f in batch if not read_by_rule_1(viewer, f.parent, purpose)],
            parents={f.pk: f.parent for f in batch},
        )
        return [f.pk for f in batch if gate.may_see(f.parent)]

    families_ = CaseloadFamilies(list(found.values()), decide)
    caseload = Caseload(families_, gate)
    if scope == "mine" or sort in ("activity", "-activity"):
        families_.decide_through(None)  # her own caseload is counted; a sort by activity reads every family's
    if sort in ("activity", "-activity"):
        visible = families_.ids
        gate.ctx.include(visible, parents={pk: found[pk].parent for pk in visible})
        caseload.last_activity = last_activity_for(gate, visible)
        newest_first = sort == "-activity"
        never = datetime.min.replace(tzinfo=clock.zone())
        visible.sort(key=lambda fid: caseload.last_activity.get(fid, never), reverse=newest_first)
    return caseload


@dataclass(frozen=True, slots=True)
class TeamPerson:
    """A care-team member as a list shows her (plain values)."""

    place_id: int
    name: str
    organization_id: int
    organization_name: str
    organization_type: str
    role: str
    is_coordinator: bool


@dataclass(frozen=True, slots=True)
class OrganizationRef:
    pk: int
    name: str


@dataclass(frozen=True)
class CaseloadRow:
    family_id: int
    parent_name: str
    stage: str
    coordinator: TeamPerson | None
    organizations: list[OrganizationRef]
    last_activity_at: datetime | None
    notice: bool = False  # a name on the row was made by a Part 2 programme and shown outside it (42 CFR 2.32)
    extras: dict[str, Any] = field(default_factory=dict)  # what apps above add (``register_caseload_extra``)


# Apps above ``families`` add a column's data to the caseload (the referrals app: each loop's state), so that
# ``families`` never imports them: ``query(viewer, family_ids)`` gives one compiled query (or None: nothing to read),
# sent with the page's others, and ``summarise(viewer, rows)`` turns its rows into ``{family_id: value}``.
CASELOAD_EXTRAS: dict[
    str,
    tuple[Callable[[Viewer, list[int]], Compiled | None], Callable[[Viewer, list[Any]], dict[int, Any]]],
] = {}


def register_caseload_extra(
    name: str,
    query: Callable[[Viewer, list[int]], Compiled | None],
    summarise: Callable[[Viewer, list[Any]], dict[int, Any]],
) -> None:
    CASELOAD_EXTRAS[name] = (query, summarise)


def perinatal_stage_from(
    on: date, pregnancies: list[tuple[date, date | None, str]], children_born_on: list[date | None]
) -> str:
    """The family's perinatal stage in words, from the pregnancies ``(estimated due, delivered, outcome)``,
    newest due date first, and the children's birth dates the viewer may see."""
    ongoing = next((edd for edd, delivered_on, _ in pregnancies if delivered_on is None), None)
    if ongoing is not None:
        return clock.perinatal_stage(on=on, edd=ongoing)
    born = [b for b in children_born_on if b and b <= on]
    # A pregnancy that ended without a live birth gives a postpartum year, never "parenting".
    delivered = [
        delivered_on
        for _, delivered_on, outcome in pregnancies
        if delivered_on
        and delivered_on <= on
        and (outcome == PregnancyOutcome.LIVE_BIRTH or (on - delivered_on).days <= clock.POSTPARTUM_YEAR_DAYS)
    ]
    return clock.perinatal_stage(
        on=on,
        delivered_on=max(delivered) if delivered else None,
        youngest_child_born_on=max(born) if born else None,
    )


def perinatal_stage_of(on: date, pregnancies: list[PregnancyEpisode], children: list[FamilyRelationship]) -> str:
    """The family's perinatal stage in words, from the pregnancies and children the viewer may see."""
    return perinatal_stage_from(
        on,
        [(p.estimated_due_on, p.delivered_on, p.outcome) for p in pregnancies],
        [r.person.born_on for r in children],
    )


@cache
def _readers() -> tuple[FactReader, FactReader, FactReader, FactReader]:
    """The door's columns of a team place, a pregnancy, a relationship and its person (the types register
    when the apps are ready, after this module is imported)."""
    return (
        FactReader(CareTeamMember),
        FactReader(PregnancyEpisode),
        FactReader(FamilyRelationship),
        FactReader(Person, via="person__"),
    )


_TEAM_COLUMNS = (
    "role",
    "is_coordinator",
    "membership__organization_id",
    "membership__organization__name",
    "membership__organization__type",
    "membership__user__first_name",
    "membership__user__last_name",
    "membership__user__username",
)


def _columns(*groups: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(c for group in groups for c in group))


def _caseload_places_query(family_ids: Any) -> QuerySet[Any]:
    team_reader = _readers()[0]
    return (
        CareTeamMember.objects.active()
        .filter(care_team__family_id__in=family_ids)
        .order_by("-is_coordinator", "joined_at")
        .values(*_columns(team_reader.columns, _TEAM_COLUMNS))
    )


def _caseload_pregnancies_query(family_ids: Any) -> QuerySet[Any]:
    pregnancy_reader = _readers()[1]
    return (
        PregnancyEpisode.objects.filter(family_id__in=family_ids)
        .order_by("-estimated_due_on")
        .values(*_columns(pregnancy_reader.columns, ("estimated_due_on", "delivered_on", "outcome")))
    )


def _caseload_children_query(family_ids: Any) -> QuerySet[Any]:
    _, _, relationship_reader, person_reader = _readers()
    return FamilyRelationship.objects.filter(family_id__in=family_ids, category=RelationshipCategory.CHILD).values(
        *_columns(relationship_reader.columns, person_reader.columns, ("person__born_on",))
    )


def caseload_rows(
    *, viewer: Viewer, caseload: Caseload, families: list[CaseloadFamily] | None = None, on: date | None = None
) -> list[CaseloadRow]:
    """Turn one page of the caseload into rows, showing only what the policy permits; audit the listing
    and account for what it disclosed. Each kind of record the row shows is read in one flat ``values()``
    query with the facts the door decides it by: no model instance is built."""
    on = on or clock.today()
    gate = caseload.gate
    families = caseload.families[:] if families is None else families
    ids = [f.pk for f in families]
    team_reader, pregnancy_reader, relationship_reader, person_reader = _readers()
    team: dict[int, list[TeamPerson]] = {pk: [] for pk in ids}
    pregnancies: dict[int, list[tuple[date, date | None, str]]] = {pk: [] for pk in ids}
    children: dict[int, list[date | None]] = {pk: [] for pk in ids}
    notices: set[int] = set()
    missing = [pk for pk in ids if pk not in caseload.last_activity]
    # What the rows show is read with the page's facts, in one round trip on PostgreSQL (compiled_batch).
    shown = [
        Compiled("caseload team places", _caseload_places_query, ids, dicts=True),
        Compiled("caseload pregnancies", _caseload_pregnancies_query, ids, dicts=True),
        Compiled("caseload children", _caseload_children_query, ids, dicts=True),
        Compiled("newest lines", _newest_lines_query, missing),
    ]
    extras = {name: (query(viewer, ids), summarise) for name, (query, summarise) in CASELOAD_EXTRAS.items()}
    shown += [query for query, _ in extras.values() if query is not None]
    read = gate.ctx.include(ids, parents={f.pk: f.parent for f in families}, also=shown if ids else [])
    places, found, relationships, newest = read[:4] if ids else ([], [], [], [])
    extra_rows = iter(read[4:])
    extra_values = {
        name: summarise(viewer, next(extra_rows)) if query is not None and ids else {}
        for name, (query, summarise) in extras.items()
    }
    if ids:
        # The makers of everything the rows may show, read at once (the page's facts named most of them).
        gate.ctx.organizations.ensure(
            row[column]
            for rows_, column in (
                (places, "created_by_org_id"),
                (found, "created_by_org_id"),
                (relationships, "created_by_org_id"),
                (relationships, "person__created_by_org_id"),
            )
            for row in rows_
        )
        for row in places:
            facts = team_reader(row)
            if gate.show(facts, label="care team"):
                full_name = f"{row['membership__user__first_name']} {row['membership__user__last_name']}".strip()
                team[facts.family_id].append(
                    TeamPerson(
                        place_id=row["id"],
                        name=full_name or row["membership__user__username"],
                        organization_id=row["membership__organization_id"],
                        organization_name=row["membership__organization__name"],
                        organization_type=row["membership__organization__type"],
                        role=row["role"],
                        is_coordinator=row["is_coordinator"],
                    )
                )
                if gate.needs_notice(facts):
                    notices.add(facts.family_id)
        for row in found:
            facts = pregnancy_reader(row)
            if gate.show(facts):
                pregnancies[facts.family_id].append((row["estimated_due_on"], row["delivered_on"], row["outcome"]))
        for row in relationships:
            facts = relationship_reader(row)
            if gate.show(facts) and gate.show(person_reader(row)):
                children[facts.family_id].append(row["person__born_on"])
    last_activity = {**caseload.last_activity, **last_activity_from(gate, newest)}
    rows = []
    for family in families:
        gate.show(family.parent, label="parent's name")
        members = team[family.pk]
        organizations = sorted(
            {m.organization_id: OrganizationRef(m.organization_id, m.organization_name) for m in members}.values(),
            key=lambda o: o.name,
        )
        rows.append(
            CaseloadRow(
                family_id=family.pk,
                parent_name=family.parent_name,
                stage=perinatal_stage_from(on, pregnancies[family.pk], children[family.pk]),
                coordinator=next((m for m in members if m.is_coordinator), None),
                organizations=organizations,
                last_activity_at=last_activity.get(family.pk),
                notice=gate.needs_notice(family.parent) or family.pk in notices,
            )
        )
    for name, values in extra_values.items():
        for r in rows:
            r.extras[name] = values.get(r.family_id)
    if families:
        # The listing's event and its accounting: one statement on PostgreSQL, committed together.
        event = new_event(
            actor=viewer.user,
            action=Action.LIST,
            record_type="Family",
            purpose=gate.purpose,
            detail={"family_ids": ids},
        )
        gate.record_disclosures(channel="list", events=[event])
    return rows


# --- one family --------------------------------------------------------------------------------------


def open_family(
    *, viewer: Viewer, family_id: int, purpose: str | None = None, action: str = Action.VIEW
) -> tuple[Family, RecordGate]:
    """The family, if the viewer may open it for ``purpose`` (she may read its parent's record); else
    ``FamilyNotFound`` (a 404), audited. The gate it returns decides the rest of the page."""
    purpose = purpose_for(viewer, purpose, family_id=family_id)
    family = (
        next(iter(prepared_list("families.open", _family_query, family_id)), None)
        if viewer.may_see_family_data
        else None
    )
    parents = {family_id: parent_facts(family_id, *_parent_values(family))} if family is not None else {}
    gate = RecordGate.open(viewer, [family_id], purpose, parents=parents)
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
        raise FamilyNotFound("No family found.")
    return family, gate


def _family_query(family_id: Any) -> QuerySet[Family]:
    return Family.objects.filter(pk=family_id).select_related("parent", "care_team").order_by("pk")[:1]


def _parent_values(family: Family) -> tuple[Any, ...]:
    parent = family.parent
    if parent is None:
        return (None, None, None, None)
    return (parent.pk, parent.created_by_org_id, parent.sensitivity, parent.created_at)


def access_family(*, viewer: Viewer, family_id: int) -> tuple[Family, RecordGate]:
    """The family a form or a write is about, if she may open it (for her role's purpose)."""
    return open_family(viewer=viewer, family_id=family_id, action=Action.UPDATE)


def access_pregnancy(
    *, viewer: Viewer, family_id: int, pregnancy_id: int, interaction: str = Interaction.READ
) -> Access[PregnancyEpisode]:
    return access_record(
        viewer,
        PregnancyEpisode.objects.select_related("family__parent"),
        pregnancy_id,
        family_id=family_id,
        interaction=interaction,
    )


def access_team_place(
    *, viewer: Viewer, family_id: int, place_id: int, interaction: str = Interaction.READ
) -> Access[CareTeamMember]:
    return access_record(
        viewer,
        CareTeamMember.objects.select_related(
            "membership__user", "membership__organization", "care_team__family__parent"
        ),
        place_id,
        family_id=family_id,
        interaction=interaction,
    )


def access_relationship(
    *, viewer: Viewer, family_id: int, relationship_id: int, interaction: str = Interaction.READ
) -> Access[FamilyRelationship]:
    return access_record(
        viewer,
        FamilyRelationship.objects.select_related("person", "family__parent"),
        relationship_id,
        family_id=family_id,
        interaction=interaction,
    )


def legal_representatives(*, gate: RecordGate, family_id: int) -> list[Person]:
    """Her recorded legal representatives whom the viewer may see: the only people offered as signers."""
    relationships = FamilyRelationship.objects.filter(family_id=family_id, is_legal_representative=True).select_related(
        "person"
    )
    people = [
        r.person
        for r in relationships.order_by("person__family_name", "person__given_name", "person__pk")
        if gate.show(r, label="legal representative") and gate.show(r.person, label=r.person.display_name)
    ]
    return people


def visible_team(*, gate: RecordGate, family_id: int) -> list[CareTeamMember]:
    """Her care team as the viewer may see it, coordinator first."""
    members = prepared_list("families.team", _team_query, family_id)
    return [m for m in members if gate.show(m, family_id=family_id, label="care team member")]


def _team_query(family_id: Any) -> QuerySet[CareTeamMember]:
    return _active_members().filter(care_team__family_id=family_id).order_by("-is_coordinator", "joined_at")


def _members_query(family_id: Any) -> QuerySet[FamilyRelationship]:
    return (
        FamilyRelationship.objects.filter(family_id=family_id)
        .select_related("person")
        .order_by("category", "person__born_on", "pk")
    )


def _pregnancies_query(family_id: Any) -> QuerySet[PregnancyEpisode]:
    return (
        PregnancyEpisode.objects.filter(family_id=family_id).prefetch_related("infants").order_by("-estimated_due_on")
    )


def _timeline_query(family_id: Any) -> QuerySet[FamilyActivity]:
    return FamilyActivity.objects.filter(family_id=family_id).select_related("created_by", "created_by_org")[
        :TIMELINE_LENGTH
    ]


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
    viewer_is_on_team: bool
    sections: list[FamilySection] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    today: date = field(default_factory=clock.today)

    @cached_property
    def last_activity_at(self) -> datetime | None:
        """The newest timeline line she may read: the first of the page's timeline, when it shows any (read
        only when asked: the page itself does not show it)."""
        if self.timeline:
            return self.timeline[0].occurred_at
        return last_activity_for(self.gate, [self.family.pk]).get(self.family.pk)

    @property
    def viewer(self) -> Viewer:
        return self.gate.viewer

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
    def purpose_label(self) -> str:
        return str(Purpose(self.gate.purpose).label).lower()

    @property
    def may_change_pregnancy(self) -> bool:
        return self.current_pregnancy is not None and self.gate.may(Interaction.CHANGE, self.current_pregnancy)

    @property
    def may_add_member(self) -> bool:
        return self.gate.may_create(FamilyRelationship, family_id=self.family.pk, category=Sensitivity.CONTACT)

    @property
    def may_add_pregnancy(self) -> bool:
        return self.current_pregnancy is None and self.gate.may_create(
            PregnancyEpisode, family_id=self.family.pk, category=Sensitivity.GENERAL_HEALTH
        )

    @property
    def may_manage_team(self) -> bool:
        """Only her designated coordinator adds members, removes others and hands the role over."""
        return self.gate.ctx.family(self.family.pk).coordinates(self.gate.viewer.membership_id, self.gate.at)


TIMELINE_LENGTH = 50


def family_detail(*, viewer: Viewer, family_id: int, purpose: str | None = None, channel: str = "page") -> FamilyDetail:
    """Everything on a family's page that the viewer may see for the purpose; the rest is invisible."""
    family, gate = open_family(viewer=viewer, family_id=family_id, purpose=purpose)
    gate.show(family.parent, family_id=family.pk, label="parent's name and details")
    members = [
        r
        for r in prepared_list("families.members", _members_query, family.pk)
        if gate.show(r, family_id=family.pk, label="family member")
        and gate.show(r.person, family_id=family.pk, label=r.person.display_name)
    ]
    pregnancies = gate.visible(
        prepared_list("families.pregnancies", _pregnancies_query, family.pk), family_id=family.pk
    )
    for pregnancy in pregnancies:
        # The infants linked to a birth are people of the family like any other: each asks the door.
        pregnancy.visible_infants = [  # type: ignore[attr-defined]
            infant for infant in pregnancy.infants.all() if gate.show(infant, family_id=family.pk, label="infant")
        ]
    team = visible_team(gate=gate, family_id=family.pk)
    timeline = gate.visible(prepared_list("families.timeline", _timeline_query, family.pk), family_id=family.pk)
    today = clock.today()
    on_team = gate.ctx.family(family.pk).on_team(viewer.membership_id, gate.at)
    context = SectionContext(
        viewer=viewer, family=family, gate=gate, on_team=on_team, today=today, pregnancies=pregnancies
    )
    sections = family_sections()
    data = {s.name: s.load(context) for s in sections if s.load is not None}
    children = [m for m in members if m.category == RelationshipCategory.CHILD]
    event = new_event(  # the view's event and its accounting: one statement on PostgreSQL, committed together
        actor=viewer.user,
        action=Action.VIEW if channel != "export" else Action.EXPORT,
        record_type="Family",
        record_id=family.pk,
        family_id=family.pk,
        purpose=gate.purpose,
        detail={"channel": channel, "disclosed_records": len(gate.shown)},
    )
    gate.record_disclosures(channel=channel, events=[event])
    return FamilyDetail(
        family=family,
        gate=gate,
        stage=perinatal_stage_of(today, pregnancies, children),
        members=members,
        pregnancies=pregnancies,
        current_pregnancy=next((p for p in pregnancies if p.is_ongoing), None),
        team=team,
        coordinator=next((m for m in team if m.is_coordinator), None),
        timeline=timeline,
        viewer_is_on_team=on_team,
        sections=sections,
        data=data,
        today=today,
    )


def staff_to_add(*, gate: RecordGate, family_id: int, search: str = "") -> QuerySet[Membership]:
    """Active staff of any organisation who are not on the family's team as the viewer sees it, for the
    add-member picker (staff are not family data; a team place she may not see stays unsaid)."""
    on_team = [m.membership_id for m in visible_team(gate=gate, family_id=family_id)]
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
    d = family_detail(viewer=viewer, family_id=family_id, purpose=purpose, channel="export")
    family = d.family
    assert family.parent is not None

    def notice(record: Any) -> dict[str, str]:
        return {"redisclosure_notice": REDISCLOSURE_NOTICE_TEXT} if d.gate.needs_notice(record) else {}

    exported: dict[str, Any] = {
        "family_id": family.pk,
        "exported_at": d.gate.at.isoformat(),
        "purpose": d.purpose,
        "parent": {"name": family.parent.display_name, "born_on": family.parent.born_on, **notice(family.parent)},
        "stage": d.stage,
        "last_activity_at": d.last_activity_at,
        "members": [
            {
                "name": r.person.display_name,
                "category": r.category,
                "description": r.description,
                "born_on": r.person.born_on,
                **notice(r),
            }
            for r in d.members
        ],
        "pregnancies": [
            {
                "estimated_due_on": p.estimated_due_on,
                "delivered_on": p.delivered_on,
                "outcome": p.outcome,
                "infants": [i.display_name for i in p.visible_infants],  # type: ignore[attr-defined]
                **notice(p),
            }
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
        "timeline": [{"at": a.occurred_at, "summary": a.summary, **notice(a)} for a in d.timeline],
    }
    for section in d.sections:
        if section.export is not None and section.name in d.data:
            exported |= section.export(d.data[section.name], notice)
    exported["redisclosure_notice"] = REDISCLOSURE_NOTICE_TEXT if d.shows_redisclosure_notice else None
    return exported


def team_places_held(membership: Membership) -> list[CareTeamMember]:
    """Every family where this staff member holds a team place now, coordinator places first. For her own
    organisation's lead, who hands them over (rule H); it tells the places, not the families' records."""
    return list(
        CareTeamMember.objects.active()
        .filter(membership=membership)
        .select_related("care_team", "membership__organization", "membership__user")
        .order_by("-is_coordinator", "care_team__family_id")
    )
