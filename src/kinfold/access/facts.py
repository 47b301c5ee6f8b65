"""facts.py — what the door needs to know about some families, loaded once per page in a constant number of
queries: their parents, care teams, consent versions (as half-open windows), court orders, agreed
restrictions and the viewer's own emergencies. ``rules.decide`` then answers in memory.

They are kept as plain values, in slotted dataclasses treated as read-only (a whole organisation's caseload
builds tens of thousands of them, and frozen dataclasses cost twice as much to build). It reads the facts
models (organisations, families, consent) and never writes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache, partial
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet, TextField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Substr

from kinfold import clock
from kinfold.access.registry import RecordFacts
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import Purpose, default_kind, own_consent_kinds, role_access, version_kinds
from kinfold.consent.models import (
    ConsentVersion,
    CourtOrder,
    EmergencyAccess,
    Restriction,
    RestrictionStatus,
    missing_consent_elements,
    superseding_version,
    version_ends_at,
)
from kinfold.families.models import CareTeamMember, Family, Person
from kinfold.organizations.models import Membership, Organization
from kinfold.prepared import prepared_cursor
from kinfold.referrals.models import CLOSED_STATUSES, Referral


@dataclass(frozen=True, slots=True)
class VersionWindow:
    """A consent version's terms and the half-open interval [starts, ends) in which it is in force (frozen: one
    window serves every request that reads the same values, ``_version_window``)."""

    version_id: int
    directive_id: int
    number: int
    starts: datetime
    ends: datetime | None
    missing: tuple[str, ...]  # the 2.31 elements it lacks: a version missing any covers nothing
    is_complete: bool
    discloser_org_ids: frozenset[int]
    discloser_classes: frozenset[str]
    recipient_org_ids: frozenset[int]
    recipient_membership_ids: frozenset[int]
    recipient_classes: frozenset[str]
    purposes: frozenset[str]
    categories: frozenset[str]
    kinds: frozenset[str]  # what it covers (CONSENT-RULES, "Kinds of information")
    recorded_by: tuple[int | None, int | None] = (None, None)  # who recorded the directive, and this version
    revoked_at: datetime | None = None
    expires_at: datetime | None = None
    expiry_event_recorded_at: datetime | None = None

    def names_organization(self, organization_id: int | None, classes: frozenset[str]) -> bool:
        """Whether the version names the organisation as discloser or recipient, by name or class."""
        if organization_id is None:
            return False
        return (
            organization_id in self.discloser_org_ids
            or organization_id in self.recipient_org_ids
            or bool((self.discloser_classes | self.recipient_classes) & classes)
        )

    def in_force(self, at: datetime) -> bool:
        return self.is_complete and self.starts <= at and (self.ends is None or at < self.ends)

    @property
    def is_standalone_court_consent(self) -> bool:
        # 42 CFR 2.31(d): a consent for use in proceedings may not be combined with other purposes.
        return self.purposes == {Purpose.COURT_PROCEEDING}


@dataclass(slots=True)
class TeamPlace:
    membership_id: int
    organization_id: int
    joined_at: datetime
    left_at: datetime | None
    is_coordinator: bool = False

    def active(self, at: datetime) -> bool:
        return self.joined_at <= at and (self.left_at is None or at < self.left_at)


@dataclass(slots=True)
class OrderWindow:
    """What rule 3(a) reads of a court order: the court, the person it names, what and when it covers."""

    order_id: int
    court_id: int
    recorded_by_org_id: int  # the organisation whose records it opens (CONSENT-RULES ruling 3)
    named_person_id: int | None
    categories: frozenset[str]
    valid_from: datetime
    valid_until: datetime
    has_part2_findings: bool  # both findings of 42 CFR 2.64(d)
    kinds: frozenset[str] = frozenset()  # kinds it names explicitly (how it reaches SUD counselling notes)
    records: frozenset[tuple[str, int]] = frozenset()  # records it names, as (type, id)

    def names(self, facts: RecordFacts) -> bool:
        """Whether the order names this record: itself, or its category (its kind too, for a kind that needs
        a consent of its own, such as SUD counselling notes)."""
        if (facts.record_type, facts.record_id) in self.records:
            return True
        if facts.category not in self.categories:
            return False
        return facts.kind not in own_consent_kinds() or facts.kind in self.kinds


@dataclass(slots=True)
class AgreedRestriction:
    """What rules 2 and 3(b) read of an agreed 2.26 restriction, and of its end (45 CFR 164.522(a)(2)).

    It denies over ``[decided_at, ended_at)``. Ended by the organisation (``ended_by_organization``), it
    keeps denying after ``ended_at`` for the records made before that instant."""

    decided_at: datetime | None
    disclosing_org_id: int
    recipient_org_id: int | None
    recipient_person_id: int | None
    categories: frozenset[str]
    purposes: frozenset[str]
    ended_at: datetime | None = None
    ended_by_organization: bool = False

    def covers(self, facts: RecordFacts, at: datetime) -> bool:
        """Whether the restriction applies, at ``at``, to a record with these facts (half-open intervals)."""
        if self.decided_at is None or at < self.decided_at:
            return False
        if self.ended_at is None or at < self.ended_at:
            return True
        # 45 CFR 164.522(a)(2)(iii): the organisation's end reaches only what it creates or receives after
        # it told her; a record whose instant is not known is read as made before.
        made_before = facts.created_at is None or facts.created_at < self.ended_at
        return self.ended_by_organization and made_before


@dataclass(slots=True)
class HandlingWindow:
    """An open referral's reach (CONSENT-RULES, "Referrals"): from sending until it closes, the person assigned
    at the receiving organisation (before assignment, its intake staff) handles it, for its purpose."""

    receiving_org_id: int
    assigned_membership_id: int | None
    purpose: str
    opened_at: datetime
    closed_at: datetime | None

    def reaches(self, organization_id: int | None, membership_id: int | None, intake: bool, at: datetime) -> bool:
        if organization_id != self.receiving_org_id or at < self.opened_at:
            return False
        if self.closed_at is not None and at >= self.closed_at:
            return False
        if self.assigned_membership_id is not None:
            return membership_id == self.assigned_membership_id
        return intake


@dataclass(slots=True)
class EmergencyWindow:
    """The viewer's own declared emergency for a family, in force over [declared_at, expires_at)."""

    emergency_id: int
    declared_at: datetime
    expires_at: datetime


@dataclass
class FamilyFacts:
    parent: RecordFacts | None = None
    team: list[TeamPlace] = field(default_factory=list)
    versions: list[VersionWindow] = field(default_factory=list)
    court_orders: list[OrderWindow] = field(default_factory=list)
    restrictions: list[AgreedRestriction] = field(default_factory=list)
    emergencies: list[EmergencyWindow] = field(default_factory=list)
    handling: list[HandlingWindow] = field(default_factory=list)

    def handles_referral(
        self, organization_id: int | None, membership_id: int | None, *, intake: bool, purpose: str, at: datetime
    ) -> bool:
        """Whether she handles an open referral for this family, for ``purpose``, at ``at``."""
        return any(
            h.purpose == purpose and h.reaches(organization_id, membership_id, intake, at) for h in self.handling
        )

    def on_team(self, membership_id: int | None, at: datetime) -> bool:
        return membership_id is not None and any(p.membership_id == membership_id and p.active(at) for p in self.team)

    def org_on_team(self, organization_id: int, at: datetime) -> bool:
        return any(p.organization_id == organization_id and p.active(at) for p in self.team)

    def coordinates(self, membership_id: int | None, at: datetime) -> bool:
        """Whether this person is the family's designated coordinator at ``at``."""
        return membership_id is not None and any(
            p.membership_id == membership_id and p.is_coordinator and p.active(at) for p in self.team
        )

    def directive_windows(self, directive_id: int | None) -> list[VersionWindow]:
        return [w for w in self.versions if w.directive_id == directive_id]


class OrganizationFacts:
    """The type and Part 2 flag of the organisations a page's decisions name: never the whole table (a region has
    thousands). Those the loaded facts name are read in one query when the page's facts are loaded; a record's
    maker outside them is read when first asked (``RecordGate.visible`` asks for a whole list in one query)."""

    __slots__ = ("_known",)

    def __init__(self) -> None:
        self._known: dict[int, tuple[str, bool]] = {}

    @classmethod
    def knowing(cls, viewer: Viewer) -> OrganizationFacts:
        """Facts that know the viewer's own organisation already: her membership was read with it."""
        facts = cls()
        membership = viewer.membership
        if membership is not None and Membership.organization.is_cached(membership):  # never a query of its own
            organization = membership.organization
            facts._known[organization.pk] = (organization.type, organization.is_part2_program)
        return facts

    def ensure(self, ids: Iterable[int | None]) -> None:
        missing = sorted({i for i in ids if i is not None and i not in self._known})
        if not missing:
            return
        rows = compiled_rows(
            "organisations named",
            lambda ids: (
                Organization.objects.filter(pk__in=ids).order_by().values_list("pk", "type", "is_part2_program")
            ),
            missing,
        )
        for pk, type_, part2 in rows:
            self._known[pk] = (type_, part2)
        for pk in missing:
            self._known.setdefault(pk, ("", False))  # gone: no type, not Part 2

    def get(self, organization_id: int) -> tuple[str, bool]:
        if organization_id not in self._known:
            self.ensure([organization_id])
        return self._known[organization_id]

    def __len__(self) -> int:
        return len(self._known)


@dataclass
class PolicyContext:
    """Everything ``decide`` needs about a set of families, loaded with a constant number of queries."""

    viewer: Viewer
    organizations: OrganizationFacts
    families: dict[int, FamilyFacts]

    @classmethod
    def load(
        cls, viewer: Viewer, family_ids: Iterable[int], *, parents: dict[int, RecordFacts | None] | None = None
    ) -> PolicyContext:
        """``parents``: the families' parent records, when the caller has read them already."""
        ctx = cls(viewer, OrganizationFacts.knowing(viewer), {})
        ctx.include(family_ids, parents=parents)
        return ctx

    def include(
        self,
        family_ids: Iterable[int],
        *,
        parents: dict[int, RecordFacts | None] | None = None,
        also: Sequence[Compiled] = (),
    ) -> list[list[Any]]:
        """Load the facts of these families too, unless they are loaded already (in the same constant number of
        queries). A page decides what it can without them first (rule 1 reads none of a family's facts), then
        includes the families whose records it is about to show. ``also``: the page's own compiled queries, sent
        to the database together with the facts' (one round trip on PostgreSQL); their rows are returned."""
        # Plain values, never model instances: a whole organisation's caseload loads thousands of
        # versions, and building instances was most of its time.
        ids = sorted(set(family_ids) - self.families.keys())
        viewer, organizations = self.viewer, self.organizations
        if not ids:
            organizations.ensure([viewer.organization_id])
            return compiled_batch(also)
        facts = [
            Compiled("team places", _team_places_query, ids),
            Compiled("consent versions", _versions_query, ids),
            Compiled("consent links", _links_query, ids),
            Compiled("court orders", _orders_query, ids),
            Compiled("agreed restrictions", _restrictions_query, ids),
            Compiled("handling windows", _handling_query, ids),
        ]
        # Only a clinician's own declared emergency opens anything (rule 4): nobody else's is read.
        own_emergencies = viewer.is_clinician and viewer.user_id is not None
        if own_emergencies:
            facts.append(Compiled("own emergencies", _emergencies_query, ids, (viewer.user_id,)))
        if parents is None:
            facts.append(Compiled("parents", _parents_query, ids))
        found = compiled_batch([*facts, *also])
        places, versions, links, orders, restrictions, handling = found[:6]
        rest = found[6 : len(facts)]
        emergencies = rest.pop(0) if own_emergencies else []
        if parents is None:
            parents = {row[0]: parent_facts(*row) for row in rest.pop(0)}
        families: dict[int, FamilyFacts] = {fid: FamilyFacts() for fid in ids}
        for family_id, parent in parents.items():
            if family_id in families:
                families[family_id].parent = parent
        for family_id, place in _team_places_from(places):
            families[family_id].team.append(place)
        for family_id, window in _version_windows_from(versions, links):
            families[family_id].versions.append(window)
        for family_id, order in _order_windows_from(orders):
            families[family_id].court_orders.append(order)
        for family_id, restriction in _agreed_restrictions_from(restrictions):
            families[family_id].restrictions.append(restriction)
        for family_id, handling_window in _handling_windows_from(handling):
            families[family_id].handling.append(handling_window)
        for family_id, emergency in _emergency_windows_from(emergencies):
            families[family_id].emergencies.append(emergency)
        organizations.ensure(_organizations_named(viewer, families.values()))
        self.families.update(families)
        return found[len(facts) :]

    def family(self, family_id: int) -> FamilyFacts:
        return self.families.get(family_id) or FamilyFacts()

    def org(self, organization_id: int | None) -> tuple[str, bool]:
        if organization_id is None:
            return ("", False)
        return self.organizations.get(organization_id)


def _organizations_named(viewer: Viewer, families: Iterable[FamilyFacts]) -> set[int | None]:
    """Every organisation the loaded facts name: the viewer's, the parents' makers, the teams', the consents'
    disclosers and recipients, the courts and the organisations their orders open, restrictions, referrals."""
    ids: set[int | None] = {viewer.organization_id}
    for fam in families:
        if fam.parent is not None:
            ids.add(fam.parent.created_by_org_id)
        ids.update(p.organization_id for p in fam.team)
        for w in fam.versions:
            ids.update(w.discloser_org_ids)
            ids.update(w.recipient_org_ids)
        for o in fam.court_orders:
            ids.update((o.court_id, o.recorded_by_org_id))
        for r in fam.restrictions:
            ids.update((r.disclosing_org_id, r.recipient_org_id))
        ids.update(h.receiving_org_id for h in fam.handling)
    return ids


def one_of(ids: list[int]) -> Any:
    """The right-hand side of ``__in`` for a long list of ids. On PostgreSQL, one array parameter: a
    whole organisation's caseload has thousands of ids, and binding each as its own parameter (in
    Django and in psycopg) cost more than the queries themselves."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (id_array(ids),))
    return ids


# The policy's loaders run the same few queries on every page with other ids. On PostgreSQL the ids are one array
# parameter, so each query's SQL never changes: it is compiled once per process (building and compiling a query
# in Django cost as much as running it) and run with the page's ids. Only queries whose columns need no
# conversion from the database's values are run so (no JSON column: those are read as text).
_COMPILED: dict[str, tuple[str, tuple[Any, ...], tuple[tuple[int, int], ...]]] = {}


def id_array(ids: Iterable[int]) -> str:
    """Ids as the text of a PostgreSQL array (``{1,2,3}``), for a ``%s::bigint[]`` parameter: psycopg sends a text
    as it is, where it converts a Python list through a new array dumper on every cursor (the caseload's twelve
    statements took 1.5 ms of CPU to send; 0.75 ms as texts)."""
    return "{" + ",".join(str(int(pk)) for pk in ids) + "}"


def _bound_value(value: Any) -> Any:
    """A value as a compiled query binds it: a collection as a sorted list (a text array), anything else as is."""
    return sorted(value) if isinstance(value, (list, tuple, set, frozenset)) else value


def _marked(marker: list[Any], value: Any) -> RawSQL:
    """Where a value goes in a query compiled once: one parameter (a collection of texts: the rows of a text
    array; ids go in the ids' place)."""
    if isinstance(value, (list, tuple, set, frozenset)):
        if not all(isinstance(v, str) for v in value):
            raise TypeError("a compiled query's collections are texts (ids go in its ids)")
        return RawSQL("SELECT unnest(%s::text[])", (marker,))
    return RawSQL("%s", (marker,))


def compiled_rows(key: str, build: Callable[..., QuerySet[Any]], ids: list[int], *values: Any) -> list[tuple[Any, ...]]:
    """The rows of ``build(one_of(ids), *values)`` (a ``values_list`` query), as tuples. ``key`` names the query.

    ``values`` are the query's other parameters (a viewer's organisation, a date, a collection of texts for an
    ``__in``): on PostgreSQL ``build`` gets each as an expression holding one parameter, and every later call binds
    its own. ``build`` must take nothing else from the request: its SQL and every other parameter are compiled in on
    first use and reused for every later call."""
    return compiled_batch([Compiled(key, build, ids, values)])[0]


@dataclass(frozen=True, slots=True)
class Compiled:
    """One query of ``compiled_batch``: ``compiled_rows(key, build, ids, *values)``, or with ``dicts`` as
    ``compiled_dicts`` reads it (each row as ``{column: value}``)."""

    key: str
    build: Callable[..., QuerySet[Any]]
    ids: list[int]
    values: tuple[Any, ...] = ()
    dicts: bool = False

    def by_orm(self) -> list[Any]:
        return list(self.build(one_of(self.ids), *(_bound_value(v) for v in self.values)))


def _compiled_entry(query: Compiled) -> tuple[str, tuple[Any, ...], tuple[tuple[int, int], ...]] | None:
    """The query's SQL, its parameters and where the ids and values go, compiled on first use (``None``: nothing to
    bind the ids to, so it runs through the ORM)."""
    if query.key in _COMPILED:
        return _COMPILED[query.key]
    markers: list[list[Any]] = [[] for _ in range(len(query.values) + 1)]
    queryset = query.build(
        RawSQL("SELECT unnest(%s::bigint[])", (markers[0],)),
        *(_marked(m, v) for m, v in zip(markers[1:], query.values, strict=True)),
    )
    sql, params = queryset.query.get_compiler(queryset.db).as_sql()
    at = tuple((i, n) for i, param in enumerate(params) for n, marker in enumerate(markers) if param is marker)
    # Every value must be a parameter (one the SQL took in as a literal: the ORM's), and the ids unless none were
    # given: a query about one value (her membership) takes it as a scalar, which PostgreSQL plans once, where for
    # an array of ids it planned the statement again on every request.
    needed = set(range(1, len(markers))) | ({0} if query.ids else set())
    if not needed <= {n for _, n in at}:
        return None
    entry = _COMPILED[query.key] = (sql, tuple(params), at)
    return entry


def _column_names(query: Compiled) -> list[str] | None:
    """The names of a ``values()`` query's columns (``None``: it has columns besides the fields)."""
    if query.key not in _NAMES:
        compiled = query.build(one_of([]), *(_bound_value(v) for v in query.values)).query
        plain = not compiled.annotation_select and not compiled.extra_select
        _NAMES[query.key] = list(compiled.values_select) if plain else None
    return _NAMES[query.key]


def compiled_batch(queries: Sequence[Compiled]) -> list[list[Any]]:
    """The rows of each query, as ``compiled_rows`` (or, with ``dicts``, ``compiled_dicts``) reads them. On
    PostgreSQL the compiled ones are sent together in one pipeline: one round trip to the server for all of them
    instead of one each (the caseload's ten facts and rows, timed alone: 4.6 ms -> 2.7). Elsewhere, one by one through
    the ORM."""
    if connection.vendor != "postgresql":
        return [query.by_orm() for query in queries]
    results: list[list[Any] | None] = [None] * len(queries)
    names: list[list[str] | None] = [None] * len(queries)
    statements: list[tuple[int, str, list[Any]]] = []
    for n, query in enumerate(queries):
        entry = _compiled_entry(query)
        columns = _column_names(query) if query.dicts else None
        if entry is None or (query.dicts and columns is None):
            results[n] = query.by_orm()
            continue
        sql, params, at = entry
        if query.ids and all(slot != 0 for _, slot in at):
            raise ValueError(f"{query.key!r} takes no ids: it was compiled from a query that ignores them")
        given = (id_array(query.ids), *(_bound_value(v) for v in query.values))
        bound = list(params)
        for i, slot in at:
            bound[i] = given[slot]
        statements.append((n, sql, bound))
        names[n] = columns
    found = _run_together([(sql, bound) for _, sql, bound in statements])
    for (n, _, _), rows in zip(statements, found, strict=True):
        columns = names[n]
        if columns is None:
            results[n] = list(rows)
        else:
            results[n] = [dict(zip(columns, row, strict=True)) for row in rows]
    return [rows if rows is not None else [] for rows in results]


def _run_together(statements: list[tuple[str, list[Any]]]) -> list[list[tuple[Any, ...]]]:
    """Each statement's rows, its statements prepared on the server and sent in one psycopg pipeline (one by one
    when prepared statements are off, or for a single statement)."""
    if len(statements) < 2 or not getattr(settings, "DB_PREPARED_STATEMENTS", True):
        out = []
        for sql, bound in statements:
            with prepared_cursor(connection) as cursor:  # planned once per connection, too
                cursor.execute(sql, bound)
                out.append(cursor.fetchall())
        return out
    connection.ensure_connection()
    with ExitStack() as stack:
        cursors = [stack.enter_context(prepared_cursor(connection)) for _ in statements]
        with connection.wrap_database_errors, connection.connection.pipeline() as pipeline:
            for cursor, (sql, bound) in zip(cursors, statements, strict=True):
                cursor.execute(sql, bound)
            pipeline.sync()
            return [cursor.fetchall() for cursor in cursors]


def compiled_dicts(key: str, build: Callable[..., QuerySet[Any]], ids: list[int], *values: Any) -> list[dict[str, Any]]:
    """As ``compiled_rows``, for a ``values()`` query: each row as ``{column: value}``."""
    return compiled_batch([Compiled(key, build, ids, values, dicts=True)])[0]


_NAMES: dict[str, list[str] | None] = {}


def parent_facts(
    family_id: int, parent_id: int | None, org_id: int | None, category: str | None, created_at: datetime | None
) -> RecordFacts | None:
    """The facts of a family's parent record (the contact sheet that opens the family), from plain values."""
    if parent_id is None or org_id is None or category is None:
        return None
    return RecordFacts(
        family_id=family_id,
        created_by_org_id=org_id,
        category=category,
        record_type=Person.__name__,
        record_id=parent_id,
        created_at=created_at,
        kind=default_kind(category),
    )


PARENT_COLUMNS = ("pk", "parent_id", "parent__created_by_org_id", "parent__sensitivity", "parent__created_at")


def _parents_query(family_ids: Any) -> QuerySet[Any]:
    return Family.objects.filter(pk__in=family_ids).order_by().values_list(*PARENT_COLUMNS)


def _team_places_query(family_ids: Any) -> QuerySet[Any]:
    return (
        CareTeamMember.objects.filter(care_team__family_id__in=family_ids)
        .order_by()  # any order: ``on_team`` and ``org_on_team`` ask whether there is a place
        .values_list(
            "care_team__family_id",
            "membership_id",
            "membership__organization_id",
            "joined_at",
            "left_at",
            "is_coordinator",
        )
    )


def _team_places_from(places: list[tuple[Any, ...]]) -> list[tuple[int, TeamPlace]]:
    return [
        (family_id, TeamPlace(membership_id, org_id, joined_at, left_at, is_coordinator))
        for family_id, membership_id, org_id, joined_at, left_at, is_coordinator in places
    ]


_ORDER_COLUMNS = (
    "family_id",
    "pk",
    "court_id",
    "created_by_org_id",
    "named_person_id",
    "categories_text",
    "valid_from",
    "valid_until",
    "finding_other_means_unavailable",
    "finding_public_interest_outweighs_harm",
    "kinds_text",
    "records_text",
)
_RESTRICTION_COLUMNS = (
    "family_id",
    "decided_at",
    "disclosing_org_id",
    "recipient_org_id",
    "recipient_person_id",
    "categories_text",
    "purposes_text",
    "ended_at",
    "ended_on_request_of",
)


def _orders_query(family_ids: Any) -> QuerySet[Any]:
    """The families' court orders, in the model's order (newest period first), its JSON columns read as text."""
    return (
        CourtOrder.objects.filter(family_id__in=family_ids)
        .annotate(**_as_text(("categories", "kinds", "records")))
        .values_list(*_ORDER_COLUMNS)
    )


def _order_windows(family_ids: list[int]) -> list[tuple[int, OrderWindow]]:
    """The families' court orders as rule 3(a) reads them."""
    return _order_windows_from(compiled_rows("court orders", _orders_query, family_ids))


def _order_windows_from(orders: list[tuple[Any, ...]]) -> list[tuple[int, OrderWindow]]:
    return [
        (
            family_id,
            OrderWindow(
                order_id=order_id,
                court_id=court_id,
                recorded_by_org_id=recorded_by_org_id,
                named_person_id=named_person_id,
                categories=_json_set(categories),
                valid_from=valid_from,
                valid_until=valid_until,
                has_part2_findings=other_means_unavailable and public_interest_outweighs_harm,
                kinds=_json_set(kinds),
                records=_record_refs(records),
            ),
        )
        for (
            family_id,
            order_id,
            court_id,
            recorded_by_org_id,
            named_person_id,
            categories,
            valid_from,
            valid_until,
            other_means_unavailable,
            public_interest_outweighs_harm,
            kinds,
            records,
        ) in orders
    ]


def _record_refs(text: str | None) -> frozenset[tuple[str, Any]]:
    """A court order's named records, ``[{"type": …, "id": …}, …]`` as text: the set of ``(type, id)``."""
    return frozenset((str(r.get("type")), r.get("id")) for r in _json_values(text) if isinstance(r, dict))


def _restrictions_query(family_ids: Any) -> QuerySet[Any]:
    """The families' agreed restrictions, and the ended ones (which may still cover older records)."""
    return (
        Restriction.objects.filter(
            family_id__in=family_ids, status__in=(RestrictionStatus.AGREED, RestrictionStatus.ENDED)
        )
        .annotate(**_as_text(("categories", "purposes")))
        .values_list(*_RESTRICTION_COLUMNS)
    )


def _agreed_restrictions(family_ids: list[int]) -> list[tuple[int, AgreedRestriction]]:
    return _agreed_restrictions_from(compiled_rows("agreed restrictions", _restrictions_query, family_ids))


def _agreed_restrictions_from(restrictions: list[tuple[Any, ...]]) -> list[tuple[int, AgreedRestriction]]:
    return [
        (
            family_id,
            AgreedRestriction(
                decided_at=decided_at,
                disclosing_org_id=disclosing_org_id,
                recipient_org_id=recipient_org_id,
                recipient_person_id=recipient_person_id,
                categories=_json_set(categories),
                purposes=_json_set(purposes),
                ended_at=ended_at,
                ended_by_organization=ended_on_request_of == Restriction.EndRequestedBy.ORGANIZATION,
            ),
        )
        for (
            family_id,
            decided_at,
            disclosing_org_id,
            recipient_org_id,
            recipient_person_id,
            categories,
            purposes,
            ended_at,
            ended_on_request_of,
        ) in restrictions
    ]


def _handling_query(family_ids: Any) -> QuerySet[Any]:
    """The families' sent referrals, as the reach of whoever handles them."""
    return (
        Referral.objects.filter(family_id__in=family_ids, sent_at__isnull=False)
        .order_by()
        .values_list("family_id", "receiving_org_id", "assigned_to_id", "purpose", "sent_at", "closed_at")
    )


def _handling_windows_from(rows: list[tuple[Any, ...]]) -> list[tuple[int, HandlingWindow]]:
    return [
        (family_id, HandlingWindow(org_id, assigned_id, purpose, sent_at, closed_at))
        for family_id, org_id, assigned_id, purpose, sent_at, closed_at in rows
        if sent_at is not None
    ]


def _emergencies_query(family_ids: Any, user_id: Any) -> QuerySet[Any]:
    """The viewer's own declared emergencies for the families, in the model's order (newest first)."""
    return EmergencyAccess.objects.filter(family_id__in=family_ids, user_id=user_id).values_list(
        "family_id", "pk", "declared_at", "expires_at"
    )


def _emergency_windows_from(rows: list[tuple[Any, ...]]) -> list[tuple[int, EmergencyWindow]]:
    return [
        (family_id, EmergencyWindow(emergency_id, declared_at, expires_at))
        for family_id, emergency_id, declared_at, expires_at in rows
    ]


# Long texts are read by their first characters: whether they are blank is all the 2.31 check asks of
# them, and a drawn signature is a whole PNG. A head this long that is all whitespace is read in full.
_HEAD = 64
_VERSION_COLUMNS = (
    "pk",
    "directive_id",
    "number",
    "directive__family_id",
    "directive__revoked_at",
    "directive__patient__born_on",
    "patient_name",
    "discloser_classes_text",
    "recipient_classes_text",
    "purposes_text",
    "categories_text",
    "kinds_text",
    "right_to_revoke_head",
    "expires_at",
    "expiry_event",
    "expiry_event_recorded_at",
    "signer_name",
    "signature_typed",
    "signature_drawn_head",
    "guardian_signature_typed",
    "signed_at",
    "effective_at",
    "signer_kind",
    "signer_person_id",
    "created_by_id",
    "directive__created_by_id",
)


class _VersionRow(NamedTuple):
    """One consent version as the policy reads it (the columns of ``_VERSION_COLUMNS``)."""

    pk: int
    directive_id: int
    number: int
    family_id: int
    revoked_at: datetime | None
    patient_born_on: date | None
    patient_name: str
    discloser_classes: Any
    recipient_classes: Any
    purposes: Any
    categories: Any
    kinds: Any
    right_to_revoke: str
    expires_at: datetime | None
    expiry_event: str
    expiry_event_recorded_at: datetime | None
    signer_name: str
    signature_typed: str
    signature_drawn: str
    guardian_signature_typed: str
    signed_at: datetime
    effective_at: datetime
    signer_kind: str
    signer_person_id: int | None
    created_by_id: int | None
    directive_created_by_id: int | None


def _versions_query(family_ids: Any) -> QuerySet[Any]:
    return (
        ConsentVersion.objects.filter(directive__family_id__in=family_ids)
        .annotate(
            right_to_revoke_head=Substr("right_to_revoke", 1, _HEAD),
            signature_drawn_head=Substr("signature_drawn", 1, _HEAD),
            **_as_text(_VERSION_JSON),
        )
        .order_by("directive_id", "number")
        .values_list(*_VERSION_COLUMNS)
    )


def _version_windows(family_ids: list[int]) -> list[tuple[int, VersionWindow]]:
    """``(family id, window)`` for every consent version of the families, each directive's versions in
    order of number: rule 2 and rule 3(b) take the first window that permits."""
    versions, links = compiled_batch(
        [Compiled("consent versions", _versions_query, family_ids), Compiled("consent links", _links_query, family_ids)]
    )
    return _version_windows_from(versions, links)


def _version_windows_from(
    versions: list[tuple[Any, ...]], link_rows: list[tuple[Any, ...]]
) -> list[tuple[int, VersionWindow]]:
    rows = _with_long_blank_texts([_VersionRow._make(values) for values in versions])
    # The named organisations and people of every version, read straight from the link tables (one query, plain
    # ids instead of model instances).
    discloser_orgs, recipient_orgs, recipient_people = _links_from(link_rows)
    chains: dict[int, list[_VersionRow]] = defaultdict(list)
    for row in rows:
        chains[row.directive_id].append(row)
    minor_signs_alone = getattr(settings, "KINFOLD_MINOR_MAY_CONSENT_ALONE", True)
    windows = []
    for chain in chains.values():
        for i, row in enumerate(chain):
            superseding = superseding_version(chain[i + 1 :])
            window = _version_window(
                row,
                discloser_orgs.get(row.pk, frozenset()),
                recipient_orgs.get(row.pk, frozenset()),
                recipient_people.get(row.pk, frozenset()),
                superseding.effective_at if superseding else None,
                minor_signs_alone,
                str(settings.TIME_ZONE),
            )
            windows.append((row.family_id, window))
    return windows


@lru_cache(maxsize=4096)
def _version_window(
    row: _VersionRow,
    disclosers: frozenset[int],
    recipients: frozenset[int],
    people: frozenset[int],
    superseded_at: datetime | None,
    minor_signs_alone: bool,
    zone: str,
) -> VersionWindow:
    """A version's window, from its own values, the ids it names, when a later version supersedes it, the setting
    and the site's time zone (her age on the day she signed): nothing else. So it is kept for the next request that
    reads the same values (a page's versions are read again and again; working each out took about 16 µs, a third
    of the caseload's facts in Python)."""
    # Her age when she signed (2.14): a minor signs with her guardian, or, where she may consent alone, signs
    # herself (her guardian alone covers nothing).
    is_minor = (
        row.patient_born_on is not None
        and clock.age(born_on=row.patient_born_on, on=clock.local_date(row.signed_at, zone)).years < 18
    )
    missing = missing_consent_elements(
        _Terms(row),
        names_discloser_orgs=partial(bool, disclosers),
        names_recipient_orgs=partial(bool, recipients),
        names_recipient_people=partial(bool, people),
        parent_is_minor=is_minor,
        minor_signs_alone=minor_signs_alone,
    )
    return VersionWindow(
        version_id=row.pk,
        directive_id=row.directive_id,
        number=row.number,
        starts=row.effective_at,
        ends=version_ends_at(row, superseded_at=superseded_at, revoked_at=row.revoked_at),
        missing=tuple(missing),
        is_complete=not missing,
        discloser_org_ids=disclosers,
        discloser_classes=_json_set(row.discloser_classes),
        recipient_org_ids=recipients,
        recipient_membership_ids=people,
        recipient_classes=_json_set(row.recipient_classes),
        purposes=_json_set(row.purposes),
        categories=_json_set(row.categories),
        kinds=_kinds(row.kinds, row.categories),
        recorded_by=(row.directive_created_by_id, row.created_by_id),
        revoked_at=row.revoked_at,
        expires_at=row.expires_at,
        expiry_event_recorded_at=row.expiry_event_recorded_at,
    )


# A version's JSON columns are read as their text and decoded once per distinct text: a page's versions repeat a
# few dozen texts ('["care_team"]'), and decoding each value was most of the time of reading thousands of them.
_VERSION_JSON = ("discloser_classes", "recipient_classes", "purposes", "categories", "kinds")


def _as_text(columns: Iterable[str]) -> dict[str, Cast]:
    return {f"{column}_text": Cast(column, output_field=TextField()) for column in columns}


@lru_cache(maxsize=4096)
def _json_values(text: str | None) -> tuple[Any, ...]:
    """A JSON array column's values, from its text (``None`` and anything not an array: none)."""
    if not text:
        return ()
    value = json.loads(text)
    return tuple(value) if isinstance(value, list) else ()


@lru_cache(maxsize=4096)
def _json_set(text: str | None) -> frozenset[Any]:
    return frozenset(_json_values(text))


@lru_cache(maxsize=4096)
def _kinds(kinds_text: str | None, categories_text: str | None) -> frozenset[str]:
    return frozenset(version_kinds(_json_values(kinds_text), _json_values(categories_text)))


class _Terms:
    """A version row as ``missing_consent_elements`` reads it, its JSON columns decoded."""

    __slots__ = ("_row",)

    def __init__(self, row: _VersionRow) -> None:
        self._row = row

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._row, name)
        return _json_values(value) if name in _VERSION_JSON else value


def _with_long_blank_texts(rows: list[_VersionRow]) -> list[_VersionRow]:
    """Read in full the long texts whose head is all whitespace (never, for versions the services wrote)."""
    unsure = [
        row.pk
        for row in rows
        for head in (row.right_to_revoke, row.signature_drawn)
        if len(head) >= _HEAD and not head.strip()
    ]
    if not unsure:
        return rows
    full = {
        pk: (right_to_revoke, signature_drawn)
        for pk, right_to_revoke, signature_drawn in ConsentVersion.objects.filter(pk__in=unsure).values_list(
            "pk", "right_to_revoke", "signature_drawn"
        )
    }
    return [
        row._replace(right_to_revoke=full[row.pk][0], signature_drawn=full[row.pk][1]) if row.pk in full else row
        for row in rows
    ]


_LINKS = (
    ("discloser_orgs", "organization_id"),
    ("recipient_orgs", "organization_id"),
    ("recipient_people", "membership_id"),
)


def _links_query(family_ids: Any) -> QuerySet[Any]:
    """The three many-to-many links of the families' consent versions (the organisations that may share, the
    organisations and the people who may receive), read straight from the link tables in one query
    (``UNION ALL``): ``(link, version id, named id)``."""
    queries = [
        getattr(ConsentVersion, relation)
        .through.objects.filter(consentversion__directive__family_id__in=family_ids)
        .annotate(link=Value(n))
        .values_list("link", "consentversion_id", column)
        for n, (relation, column) in enumerate(_LINKS)
    ]
    return queries[0].union(*queries[1:], all=True)


def _links_from(rows: list[tuple[Any, ...]]) -> tuple[dict[int, frozenset[int]], ...]:
    """``{version id: ids it names}`` for each of the three links, as plain ids."""
    found: tuple[dict[int, set[int]], ...] = tuple(defaultdict(set) for _ in _LINKS)
    for link, version_id, other_id in rows:
        found[link][version_id].add(other_id)
    return tuple({version_id: frozenset(others) for version_id, others in links.items()} for links in found)


def candidate_families_filter(viewer: Viewer, *, scope: str = "any") -> Q:
    """A superset, in SQL, of the families where ``decide`` might permit anything to this viewer.

    ``scope="mine"``: families whose care team she is on now; ``"organization"``: where her organisation
    is; ``"any"``: also families her organisation made, that name her in a consent or court order, or
    that she declared an emergency for. Selectors then ask ``decide`` of each family's records.
    """
    if not viewer.may_see_family_data:
        return Q(pk__in=[])
    assert viewer.membership is not None
    org_id = viewer.membership.organization_id
    mine = _on_team(viewer)
    if scope == "mine":
        return mine
    ours = Q(Exists(_active_places().filter(membership__organization_id=org_id)))
    if scope == "organization":
        return ours
    return mine | ours | Q(created_by_org_id=org_id) | _named_referred_or_emergency(viewer)


def parent_reach_filter(viewer: Viewer, purpose: str) -> Q:
    """A superset, in SQL, of the families whose parent's contact record ``decide`` might let her read for
    ``purpose``: the families a caseload lists. Narrower than ``candidate_families_filter``: her organisation's
    place on a team opens nothing by itself. Rule 1 reads her own organisation's contact records; a consent
    reaches her (rule 2) only with a place on the team, an open referral she handles or her own name, or, for
    payment and operations staff, her organisation's name; a court order or court consent (rule 3) only with a
    place or her name; an emergency (rule 4) only her own. A whole organisation's caseload decides only these:
    most of its families are open to the staff on their teams, not to each of its members.

    The families she reaches are one list of ids, each part read by its own index (a condition per family
    would be evaluated over the whole region)."""
    if not viewer.may_see_family_data:
        return Q(pk__in=[])
    assert viewer.membership is not None
    membership_id, org_id = viewer.membership.pk, viewer.membership.organization_id
    reached: list[QuerySet[Any]] = [
        # Rule 1: her own organisation's contact records (any person of the family it recorded: a superset).
        Person.objects.filter(created_by_org_id=org_id).values("family_id"),
        CareTeamMember.objects.active().filter(membership_id=membership_id).values("care_team__family_id"),
        ConsentVersion.objects.filter(recipient_people=membership_id).values("directive__family_id"),
        CourtOrder.objects.filter(named_person_id=membership_id).values("family_id"),
        # An open referral to her organisation (CONSENT-RULES, "Referrals": its handler reaches the family).
        Referral.objects.filter(receiving_org_id=org_id, sent_at__isnull=False)
        .exclude(status__in=CLOSED_STATUSES)
        .values("family_id"),
    ]
    if viewer.is_clinician:  # only a clinician's own declared emergency opens a family (rule 4)
        reached.append(
            EmergencyAccess.objects.filter(user_id=viewer.user.pk, expires_at__gt=clock.now()).values("family_id")
        )
    access = role_access(viewer.role)
    if access is not None and (
        (purpose == Purpose.PAYMENT and access.payment) or (purpose == Purpose.OPERATIONS and access.operations)
    ):
        reached.append(ConsentVersion.objects.filter(recipient_orgs=org_id).values("directive__family_id"))
    first, *rest = (qs.order_by() for qs in reached)
    return Q(pk__in=first.union(*rest, all=True))


def _active_places() -> QuerySet[CareTeamMember]:
    return CareTeamMember.objects.active().filter(care_team__family=OuterRef("pk"))


def _on_team(viewer: Viewer) -> Q:
    assert viewer.membership is not None
    return on_team_as(viewer.membership.pk)


def on_team_as(membership_id: Any) -> Q:
    """The families on whose care team this one membership holds a place now."""
    return Q(Exists(_active_places().filter(membership_id=membership_id)))


def _named_referred_or_emergency(viewer: Viewer) -> Q:
    """Families that name her in a consent or court order, have an open referral to her organisation, or (a
    clinician's) her own emergency in force."""
    assert viewer.membership is not None
    membership_id, org_id = viewer.membership.pk, viewer.membership.organization_id
    named = Q(
        Exists(ConsentVersion.objects.filter(directive__family=OuterRef("pk"), recipient_people=membership_id))
    ) | Q(Exists(CourtOrder.objects.filter(family=OuterRef("pk"), named_person_id=membership_id)))
    # An open referral to her organisation (CONSENT-RULES, "Referrals": its handler reaches the family).
    referred = Q(
        Exists(
            Referral.objects.filter(family=OuterRef("pk"), receiving_org_id=org_id, sent_at__isnull=False).exclude(
                status__in=CLOSED_STATUSES
            )
        )
    )
    if not viewer.is_clinician:
        return named | referred  # only a clinician's declared emergency opens a family (rule 4)
    emergency = Q(
        Exists(
            EmergencyAccess.objects.filter(family=OuterRef("pk"), user_id=viewer.user.pk, expires_at__gt=clock.now())
        )
    )
    return named | referred | emergency
