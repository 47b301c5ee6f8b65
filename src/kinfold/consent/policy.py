"""policy.py — the only place that decides who may see a family's data; it reads, never writes.

``decide(viewer, record, purpose, at)`` answers every read, by the rules of ``shared/CONSENT-RULES.md``
(see ``docs/consent.md``), first permit wins:

0. superusers (in the normal UI), people with no role and inactive accounts: denied;
1. staff of the creating organisation, limited by their role (the role table);
2. the parent's consent in force at ``at`` (never for court proceedings), unless a restriction was agreed;
3. court proceedings: (a) a court order (with the 2.64(d) findings for Part 2 records) or (b) a
   stand-alone written consent naming the court;
4. break-the-glass: a clinician's declared medical emergency, for purpose ``emergency``;
5. everything else: denied.

Selectors load a ``PolicyContext`` once for the families on a page (a constant number of queries) and
call ``decide`` per record in memory. Nothing else in Kinfold filters family data by hand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Substr

from kinfold import clock
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
from kinfold.consent.vocabulary import (
    Purpose,
    is_part2_record,
    organization_classes,
    role_access,
)
from kinfold.families.models import CareTeamMember, Family
from kinfold.organizations.models import Membership, Organization, OrganizationType

REDISCLOSURE_NOTICE = "redisclosure_notice"
# 42 CFR 2.32(a)(1), as amended in 2024: the notice that accompanies each disclosure of a Part 2 record.
REDISCLOSURE_NOTICE_TEXT = (
    "This record which has been disclosed to you is protected by Federal confidentiality rules "
    "(42 CFR part 2). These rules prohibit you from using or disclosing this record, or testimony that "
    "describes the information contained in this record, in any civil, criminal, administrative, or "
    "legislative proceedings by any Federal, State, or local authority, against the patient, unless "
    "authorized by the consent of the patient, except as provided at 42 CFR 2.12(c)(5) or as authorized "
    "by a court in accordance with 42 CFR 2.64 or 2.65. In addition, the Federal rules prohibit you from "
    "making any other use or disclosure of this record unless at least one of the following applies: "
    "(i) Further use or disclosure is expressly permitted by the written consent of the individual whose "
    "information is being disclosed in this record or as otherwise permitted by 42 CFR part 2. (ii) You "
    "are a covered entity or business associate and have received the record for treatment, payment, or "
    "health care operations, or (iii) You have received the record from a covered entity or business "
    "associate as permitted by 45 CFR part 164, subparts A and E. A general authorization for the "
    "release of medical or other information is NOT sufficient to meet the required elements of written "
    "consent to further use or redisclose the record (see 42 CFR 2.31)."
)
DISCLOSURE_RULES = frozenset({"2", "3a", "3b", "4"})
PURPOSES = frozenset(Purpose.values)  # ``Purpose.values`` builds a new list on every call


@dataclass(frozen=True)
class Viewer:
    """Who is asking: a signed-in person, with their one employer and role."""

    user: Any
    membership: Membership | None

    @classmethod
    def of(cls, user: Any) -> Viewer:
        membership = None
        if user is not None and getattr(user, "is_authenticated", False):
            membership = getattr(user, "membership", None)
        return cls(user=user, membership=membership)

    @property
    def organization_id(self) -> int | None:
        return self.membership.organization_id if self.membership else None

    @property
    def membership_id(self) -> int | None:
        return self.membership.pk if self.membership else None

    @property
    def role(self) -> str | None:
        return self.membership.role if self.membership else None

    @property
    def may_see_family_data(self) -> bool:
        """Rule 0: superusers (in the normal UI), people with no role and inactive accounts see nothing."""
        user = self.user
        return bool(
            user is not None
            and getattr(user, "is_active", False)
            and not getattr(user, "is_superuser", False)
            and self.membership is not None
            and self.membership.is_active
            and role_access(self.membership.role) is not None
        )

    @property
    def is_clinician(self) -> bool:
        access = role_access(self.role)
        return bool(access and access.clinician)


@dataclass(frozen=True)
class Decision:
    permitted: bool
    rule: str
    reason: str
    obligations: frozenset[str] = frozenset()
    consent_version_id: int | None = None
    court_order_id: int | None = None
    emergency_id: int | None = None

    @property
    def is_disclosure(self) -> bool:
        """Rules 2 to 4 are permitted accesses from outside the creating organisation: disclosures."""
        return self.permitted and self.rule in DISCLOSURE_RULES

    @property
    def shows_redisclosure_notice(self) -> bool:
        return REDISCLOSURE_NOTICE in self.obligations


@dataclass(frozen=True)
class RecordFacts:
    """What the policy needs to know of a record: whose family, who made it, what kind of information,
    and when it was made (``None``: not known, read as made before any instant that asks)."""

    family_id: int
    created_by_org_id: int
    category: str
    record_type: str = ""
    record_id: int | None = None
    created_at: datetime | None = None


def facts_of(record: Any, *, family_id: int | None = None) -> RecordFacts:
    if isinstance(record, RecordFacts):
        return record
    if family_id is None:
        family_id = record.pk if isinstance(record, Family) else getattr(record, "family_id", None)
    if family_id is None and isinstance(record, CareTeamMember):
        family_id = record.care_team.family_id
    if family_id is None:
        raise ValueError(f"cannot tell which family {record!r} belongs to")
    return RecordFacts(
        family_id=family_id,
        created_by_org_id=record.created_by_org_id,
        category=record.sensitivity,
        record_type=type(record).__name__,
        record_id=record.pk,
        created_at=getattr(record, "created_at", None),
    )


@dataclass(frozen=True)
class VersionWindow:
    """A consent version's terms and the half-open interval [starts, ends) in which it is in force."""

    version_id: int
    directive_id: int
    starts: datetime
    ends: datetime | None
    is_complete: bool
    discloser_org_ids: frozenset[int]
    discloser_classes: frozenset[str]
    recipient_org_ids: frozenset[int]
    recipient_membership_ids: frozenset[int]
    recipient_classes: frozenset[str]
    purposes: frozenset[str]
    categories: frozenset[str]

    def in_force(self, at: datetime) -> bool:
        return self.is_complete and self.starts <= at and (self.ends is None or at < self.ends)

    @property
    def is_standalone_court_consent(self) -> bool:
        # 42 CFR 2.31(d): a consent for use in proceedings may not be combined with other purposes.
        return self.purposes == {Purpose.COURT_PROCEEDING}


@dataclass(frozen=True)
class TeamPlace:
    membership_id: int
    organization_id: int
    joined_at: datetime
    left_at: datetime | None

    def active(self, at: datetime) -> bool:
        return self.joined_at <= at and (self.left_at is None or at < self.left_at)


@dataclass(frozen=True)
class OrderWindow:
    """What rule 3(a) reads of a court order: the court, the person it names, what and when it covers."""

    order_id: int
    court_id: int
    named_person_id: int | None
    categories: frozenset[str]
    valid_from: datetime
    valid_until: datetime
    has_part2_findings: bool  # both findings of 42 CFR 2.64(d)


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class EmergencyWindow:
    """The viewer's own declared emergency for a family, in force over [declared_at, expires_at)."""

    emergency_id: int
    declared_at: datetime
    expires_at: datetime


@dataclass
class FamilyFacts:
    team: list[TeamPlace] = field(default_factory=list)
    versions: list[VersionWindow] = field(default_factory=list)
    court_orders: list[OrderWindow] = field(default_factory=list)
    restrictions: list[AgreedRestriction] = field(default_factory=list)
    emergencies: list[EmergencyWindow] = field(default_factory=list)

    def on_team(self, membership_id: int | None, at: datetime) -> bool:
        return membership_id is not None and any(p.membership_id == membership_id and p.active(at) for p in self.team)

    def org_on_team(self, organization_id: int, at: datetime) -> bool:
        return any(p.organization_id == organization_id and p.active(at) for p in self.team)


@dataclass
class PolicyContext:
    """Everything ``decide`` needs about a set of families, loaded with a constant number of queries."""

    viewer: Viewer
    organizations: dict[int, tuple[str, bool]]
    families: dict[int, FamilyFacts]

    @classmethod
    def load(cls, viewer: Viewer, family_ids: Iterable[int]) -> PolicyContext:
        # Plain values, never model instances: a whole organisation's caseload loads thousands of
        # versions, and building instances was most of its time.
        ids = sorted(set(family_ids))
        families: dict[int, FamilyFacts] = {fid: FamilyFacts() for fid in ids}
        organizations = {
            pk: (type_, part2)
            for pk, type_, part2 in Organization.objects.values_list("pk", "type", "is_part2_program")
        }
        if not ids:
            return cls(viewer, organizations, families)
        for family_id, place in _team_places(ids):
            families[family_id].team.append(place)
        for family_id, window in _version_windows(ids):
            families[family_id].versions.append(window)
        for family_id, order in _order_windows(ids):
            families[family_id].court_orders.append(order)
        for family_id, restriction in _agreed_restrictions(ids):
            families[family_id].restrictions.append(restriction)
        if viewer.user is not None and getattr(viewer.user, "pk", None) is not None:
            for family_id, emergency in _emergency_windows(ids, viewer.user.pk):
                families[family_id].emergencies.append(emergency)
        return cls(viewer, organizations, families)

    def family(self, family_id: int) -> FamilyFacts:
        return self.families.get(family_id) or FamilyFacts()

    def org(self, organization_id: int | None) -> tuple[str, bool]:
        if organization_id is None:
            return ("", False)
        return self.organizations.get(organization_id, ("", False))


def _one_of(ids: list[int]) -> Any:
    """The right-hand side of ``__in`` for a long list of ids. On PostgreSQL, one array parameter: a
    whole organisation's caseload has thousands of ids, and binding each as its own parameter (in
    Django and in psycopg) cost more than the queries themselves."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (list(ids),))
    return ids


def _team_places(family_ids: list[int]) -> list[tuple[int, TeamPlace]]:
    places = (
        CareTeamMember.objects.filter(care_team__family_id__in=_one_of(family_ids))
        .order_by()  # any order: ``on_team`` and ``org_on_team`` ask whether there is a place
        .values_list("care_team__family_id", "membership_id", "membership__organization_id", "joined_at", "left_at")
    )
    return [
        (family_id, TeamPlace(membership_id, org_id, joined_at, left_at))
        for family_id, membership_id, org_id, joined_at, left_at in places
    ]


def _order_windows(family_ids: list[int]) -> list[tuple[int, OrderWindow]]:
    """The families' court orders, in the model's order (newest period first), as rule 3(a) reads them."""
    orders = CourtOrder.objects.filter(family_id__in=_one_of(family_ids)).values_list(
        "family_id",
        "pk",
        "court_id",
        "named_person_id",
        "categories",
        "valid_from",
        "valid_until",
        "finding_other_means_unavailable",
        "finding_public_interest_outweighs_harm",
    )
    return [
        (
            family_id,
            OrderWindow(
                order_id=order_id,
                court_id=court_id,
                named_person_id=named_person_id,
                categories=frozenset(categories),
                valid_from=valid_from,
                valid_until=valid_until,
                has_part2_findings=other_means_unavailable and public_interest_outweighs_harm,
            ),
        )
        for (
            family_id,
            order_id,
            court_id,
            named_person_id,
            categories,
            valid_from,
            valid_until,
            other_means_unavailable,
            public_interest_outweighs_harm,
        ) in orders
    ]


def _agreed_restrictions(family_ids: list[int]) -> list[tuple[int, AgreedRestriction]]:
    """The families' agreed restrictions, and the ended ones (which may still cover older records)."""
    restrictions = Restriction.objects.filter(
        family_id__in=_one_of(family_ids), status__in=(RestrictionStatus.AGREED, RestrictionStatus.ENDED)
    ).values_list(
        "family_id",
        "decided_at",
        "disclosing_org_id",
        "recipient_org_id",
        "recipient_person_id",
        "categories",
        "purposes",
        "ended_at",
        "ended_on_request_of",
    )
    return [
        (
            family_id,
            AgreedRestriction(
                decided_at=decided_at,
                disclosing_org_id=disclosing_org_id,
                recipient_org_id=recipient_org_id,
                recipient_person_id=recipient_person_id,
                categories=frozenset(categories),
                purposes=frozenset(purposes),
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


def _emergency_windows(family_ids: list[int], user_id: int) -> list[tuple[int, EmergencyWindow]]:
    """The viewer's own declared emergencies for the families, in the model's order (newest first)."""
    emergencies = EmergencyAccess.objects.filter(family_id__in=_one_of(family_ids), user_id=user_id).values_list(
        "family_id", "pk", "declared_at", "expires_at"
    )
    return [
        (family_id, EmergencyWindow(emergency_id, declared_at, expires_at))
        for family_id, emergency_id, declared_at, expires_at in emergencies
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
    "discloser_classes",
    "recipient_classes",
    "purposes",
    "categories",
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


def _version_windows(family_ids: list[int]) -> list[tuple[int, VersionWindow]]:
    """``(family id, window)`` for every consent version of the families, each directive's versions in
    order of number: rule 2 and rule 3(b) take the first window that permits."""
    rows = [
        _VersionRow._make(values)
        for values in ConsentVersion.objects.filter(directive__family_id__in=_one_of(family_ids))
        .annotate(
            right_to_revoke_head=Substr("right_to_revoke", 1, _HEAD),
            signature_drawn_head=Substr("signature_drawn", 1, _HEAD),
        )
        .order_by("directive_id", "number")
        .values_list(*_VERSION_COLUMNS)
    ]
    rows = _with_long_blank_texts(rows)
    # The named organisations and people of every version, read straight from the link tables: one
    # query each, and plain ids instead of model instances.
    version_ids = [row.pk for row in rows]
    discloser_orgs = _links("discloser_orgs", "organization_id", version_ids)
    recipient_orgs = _links("recipient_orgs", "organization_id", version_ids)
    recipient_people = _links("recipient_people", "membership_id", version_ids)
    chains: dict[int, list[_VersionRow]] = defaultdict(list)
    for row in rows:
        chains[row.directive_id].append(row)
    minor_signs_alone = getattr(settings, "KINFOLD_MINOR_MAY_CONSENT_ALONE", True)
    windows = []
    for chain in chains.values():
        for i, row in enumerate(chain):
            superseding = superseding_version(chain[i + 1 :])
            # Her age when she signed matters only where a minor signs with her guardian (2.14).
            is_minor = (
                not minor_signs_alone
                and row.patient_born_on is not None
                and clock.age(born_on=row.patient_born_on, on=clock.local_date(row.signed_at)).years < 18
            )
            disclosers = discloser_orgs.get(row.pk, frozenset())
            recipients = recipient_orgs.get(row.pk, frozenset())
            people = recipient_people.get(row.pk, frozenset())
            missing = missing_consent_elements(
                row,
                names_discloser_orgs=partial(bool, disclosers),
                names_recipient_orgs=partial(bool, recipients),
                names_recipient_people=partial(bool, people),
                parent_is_minor=is_minor,
                minor_signs_alone=minor_signs_alone,
            )
            ends = version_ends_at(
                row, superseded_at=superseding.effective_at if superseding else None, revoked_at=row.revoked_at
            )
            windows.append(
                (
                    row.family_id,
                    VersionWindow(
                        version_id=row.pk,
                        directive_id=row.directive_id,
                        starts=row.effective_at,
                        ends=ends,
                        is_complete=not missing,
                        discloser_org_ids=disclosers,
                        discloser_classes=frozenset(row.discloser_classes),
                        recipient_org_ids=recipients,
                        recipient_membership_ids=people,
                        recipient_classes=frozenset(row.recipient_classes),
                        purposes=frozenset(row.purposes),
                        categories=frozenset(row.categories),
                    ),
                )
            )
    return windows


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


def _links(relation: str, column: str, version_ids: list[int]) -> dict[int, frozenset[int]]:
    """``{version id: ids of the organisations or people it names}`` for one many-to-many relation."""
    if not version_ids:
        return {}
    through = getattr(ConsentVersion, relation).through
    found: dict[int, set[int]] = defaultdict(set)
    for version_id, other_id in through.objects.filter(consentversion_id__in=_one_of(version_ids)).values_list(
        "consentversion_id", column
    ):
        found[version_id].add(other_id)
    return {version_id: frozenset(others) for version_id, others in found.items()}


def _permit(rule: str, reason: str, part2_outside: bool, **basis: int | None) -> Decision:
    obligations = frozenset({REDISCLOSURE_NOTICE}) if part2_outside else frozenset()
    return Decision(True, rule, reason, obligations, **basis)


def _deny(rule: str, reason: str) -> Decision:
    return Decision(False, rule, reason)


def _classes(ctx: PolicyContext, fam: FamilyFacts, org_id: int | None, at: datetime) -> frozenset[str]:
    if org_id is None:
        return frozenset()
    org_type, is_part2 = ctx.org(org_id)
    return organization_classes(org_type, is_part2, on_care_team=fam.org_on_team(org_id, at))


def _restricted(fam: FamilyFacts, viewer: Viewer, facts: RecordFacts, purpose: str, at: datetime) -> bool:
    """An agreed 2.26 restriction that matches denies consent-based access (rules 2 and 3b), from the
    instant it is agreed until it ends (and after, for older records, when the organisation ended it)."""
    for r in fam.restrictions:
        if r.disclosing_org_id != facts.created_by_org_id or not r.covers(facts, at):
            continue
        names_viewer = (r.recipient_org_id is not None and r.recipient_org_id == viewer.organization_id) or (
            r.recipient_person_id is not None and r.recipient_person_id == viewer.membership_id
        )
        if not names_viewer:
            continue
        if r.categories and facts.category not in r.categories:
            continue
        if r.purposes and purpose not in r.purposes:
            continue
        return True
    return False


def _discloser_matches(
    ctx: PolicyContext, fam: FamilyFacts, w: VersionWindow, facts: RecordFacts, at: datetime
) -> bool:
    if facts.created_by_org_id in w.discloser_org_ids:
        return True
    return bool(w.discloser_classes & _classes(ctx, fam, facts.created_by_org_id, at))


def _by_consent(ctx: PolicyContext, facts: RecordFacts, purpose: str, at: datetime, part2: bool) -> Decision | None:
    """Rule 2."""
    viewer = ctx.viewer
    fam = ctx.family(facts.family_id)
    viewer_classes = _classes(ctx, fam, viewer.organization_id, at)
    on_team = fam.on_team(viewer.membership_id, at)
    access = role_access(viewer.role)
    for w in fam.versions:
        if not w.in_force(at) or purpose not in w.purposes or facts.category not in w.categories:
            continue
        if not _discloser_matches(ctx, fam, w, facts, at):
            continue
        named_person = viewer.membership_id in w.recipient_membership_ids
        named_org = viewer.organization_id in w.recipient_org_ids
        if not (named_person or named_org or w.recipient_classes & viewer_classes):
            continue
        if not (named_person or on_team):
            # A payment or operations consent to an organisation reaches its billing or quality staff.
            reaches_staff = (
                named_org
                and access is not None
                and (
                    (purpose == Purpose.PAYMENT and access.payment)
                    or (purpose == Purpose.OPERATIONS and access.operations)
                )
            )
            if not reaches_staff:
                continue
        if _restricted(fam, viewer, facts, purpose, at):
            continue
        return _permit("2", "the parent's consent covers this", part2, consent_version_id=w.version_id)
    return None


def _for_proceedings(ctx: PolicyContext, facts: RecordFacts, at: datetime, part2: bool) -> Decision | None:
    """Rule 3: court use only under a court order (3a) or a stand-alone consent naming the court (3b)."""
    viewer = ctx.viewer
    fam = ctx.family(facts.family_id)
    on_team = fam.on_team(viewer.membership_id, at)
    for order in fam.court_orders:
        if order.court_id != viewer.organization_id or facts.category not in order.categories:
            continue
        if not (order.valid_from <= at < order.valid_until):
            continue
        if part2 and not order.has_part2_findings:
            continue
        if on_team or (order.named_person_id is not None and order.named_person_id == viewer.membership_id):
            return _permit("3a", "a court order authorises this", part2, court_order_id=order.order_id)
    viewer_type, _ = ctx.org(viewer.organization_id)
    for w in fam.versions:
        if not w.in_force(at) or not w.is_standalone_court_consent or facts.category not in w.categories:
            continue
        if viewer_type != OrganizationType.COURT:
            continue  # 3(b) names a court: the consent reaches the court's staff, nobody else
        named_person = viewer.membership_id in w.recipient_membership_ids
        if not (named_person or viewer.organization_id in w.recipient_org_ids):
            continue  # a class is not enough: the court must be named
        if not _discloser_matches(ctx, fam, w, facts, at):
            continue
        if not (named_person or on_team):
            continue
        if _restricted(fam, viewer, facts, Purpose.COURT_PROCEEDING, at):
            continue
        return _permit(
            "3b",
            "the parent's consent for this proceeding covers this",
            part2,
            consent_version_id=w.version_id,
        )
    return None


def _in_emergency(ctx: PolicyContext, facts: RecordFacts, at: datetime, part2: bool, outside: bool) -> Decision | None:
    """Rule 4: a clinician's declared emergency opens every record of the family for its window."""
    viewer = ctx.viewer
    if not viewer.is_clinician:
        return None
    for emergency in ctx.family(facts.family_id).emergencies:
        if emergency.declared_at <= at < emergency.expires_at:
            return _permit("4", "a declared medical emergency", part2 and outside, emergency_id=emergency.emergency_id)
    return None


def decide(
    viewer: Viewer,
    record: Any,
    purpose: str,
    at: datetime | None = None,
    ctx: PolicyContext | None = None,
) -> Decision:
    """May ``viewer`` see ``record`` for ``purpose`` at instant ``at``? The one answer to every read."""
    at = at or clock.now()
    if not viewer.may_see_family_data:
        return _deny("0", "this account has no active role in an organisation")
    facts = facts_of(record)
    if ctx is None:
        ctx = PolicyContext.load(viewer, [facts.family_id])
    if purpose not in PURPOSES:
        return _deny("5", f"unknown purpose {purpose!r}")
    _, made_by_part2 = ctx.org(facts.created_by_org_id)
    part2 = is_part2_record(made_by_part2_program=made_by_part2, category=facts.category)
    outside = viewer.organization_id != facts.created_by_org_id

    if not outside:
        access = role_access(viewer.role)
        if access is not None and facts.category in access.categories:
            return _permit("1", "made by the viewer's own organisation", False)
    elif purpose == Purpose.COURT_PROCEEDING:
        decision = _for_proceedings(ctx, facts, at, part2)
        if decision is not None:
            return decision
    elif purpose != Purpose.EMERGENCY:
        decision = _by_consent(ctx, facts, purpose, at, part2)
        if decision is not None:
            return decision
    if purpose == Purpose.EMERGENCY:
        decision = _in_emergency(ctx, facts, at, part2, outside)
        if decision is not None:
            return decision
    return _deny("5", "no rule permits this")


def candidate_families_filter(viewer: Viewer, *, scope: str = "any") -> Q:
    """A superset, in SQL, of the families where ``decide`` might permit anything to this viewer.

    ``scope="mine"``: families whose care team she is on now; ``"organization"``: where her organisation
    is; ``"any"``: also families her organisation made, that name her in a consent or court order, or
    that she declared an emergency for. Selectors then ask ``decide`` of each family's records.
    """
    if not viewer.may_see_family_data:
        return Q(pk__in=[])
    assert viewer.membership is not None
    membership_id, org_id = viewer.membership.pk, viewer.membership.organization_id
    active = CareTeamMember.objects.active().filter(care_team__family=OuterRef("pk"))
    mine = Q(Exists(active.filter(membership_id=membership_id)))
    if scope == "mine":
        return mine
    ours = Q(Exists(active.filter(membership__organization_id=org_id)))
    if scope == "organization":
        return ours
    named = Q(
        Exists(ConsentVersion.objects.filter(directive__family=OuterRef("pk"), recipient_people=membership_id))
    ) | Q(Exists(CourtOrder.objects.filter(family=OuterRef("pk"), named_person_id=membership_id)))
    emergency = Q(
        Exists(
            EmergencyAccess.objects.filter(family=OuterRef("pk"), user_id=viewer.user.pk, expires_at__gt=clock.now())
        )
    )
    return mine | ours | Q(created_by_org_id=org_id) | named | emergency


def may_open_family(viewer: Viewer, family: Family | int, purpose: str | None = None) -> bool:
    """A family is open to a viewer who may see its parent's identity for the purpose (default: her role's)."""
    from kinfold.consent.vocabulary import default_purpose

    family_id = family.pk if isinstance(family, Family) else family
    row = Family.objects.filter(pk=family_id).select_related("parent").first()
    if row is None or row.parent is None or not viewer.may_see_family_data:
        return False
    ctx = PolicyContext.load(viewer, [family_id])
    return decide(viewer, row.parent, purpose or default_purpose(viewer.role), ctx=ctx).permitted
