"""rules.py — the only place that decides who may do what with a family's records; it reads, never writes.

``decide(viewer, record, purpose, at, ctx, interaction=...)`` answers every question the site asks, by the
rules of ``shared/CONSENT-RULES.md`` (see ``docs/consent.md``).

**read**, first permit wins:

0. superusers (in the normal UI), people with no role and inactive accounts: denied;
1. staff of the creating organisation, limited by their role (the role table);
2. the parent's consent in force at ``at`` (never for court proceedings), unless a restriction was agreed;
3. court proceedings: (a) a court order recorded by the organisation whose records it opens (with the
   2.64(d) findings for Part 2 records) or (b) a stand-alone written consent naming the court;
4. break-the-glass: a clinician's declared medical emergency, for purpose ``emergency``;
5. everything else: denied.

Some record types declare another read rule in the registry: a consent is seen by the parties it names and
by whoever recorded it (rule C); a request is also seen by the organisation it asks (rule A).

**create**, **change**, **retire**: judged for the viewer's role's default purpose, never for more than she may
read (CONSENT-RULES, "Who may change what"); each record type declares which rule answers. **disclose_to**:
may these records go to organisation X for purpose P (a referral, an export, a FHIR client).

Selectors load a ``PolicyContext`` once for the families on a page (a constant number of queries) and call
``decide`` per record in memory, through a ``RecordGate``. Nothing else in Kinfold filters family data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from kinfold import clock
from kinfold.access.facts import FamilyFacts, PolicyContext, VersionWindow
from kinfold.access.registry import ChangeRule, CreateRule, ReadRule, RecordFacts, RecordType, declared, facts_of
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import (
    Interaction,
    Purpose,
    default_kind,
    is_part2_record,
    organization_classes,
    role_access,
)
from kinfold.families.models import Sensitivity
from kinfold.organizations.models import HEALTH_CARE_PROVIDER_TYPES, OrganizationType, Role

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
WRITES = frozenset({Interaction.CREATE, Interaction.CHANGE, Interaction.RETIRE})
# Plain strings for the hot path: an enum member looked up on its class costs more than the comparison.
READ, CREATE, DISCLOSE_TO = (
    str(Interaction.READ.value),
    str(Interaction.CREATE.value),
    str(Interaction.DISCLOSE_TO.value),
)
CONSENT_RULE, FOLLOWS_CONSENT, ADDRESSED, ANSWERS = (
    str(ReadRule.CONSENT.value),
    str(ReadRule.FOLLOWS_CONSENT.value),
    str(ReadRule.ADDRESSED.value),
    str(ReadRule.ANSWERS.value),
)
COURT, EMERGENCY = str(Purpose.COURT_PROCEEDING.value), str(Purpose.EMERGENCY.value)


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


def _permit(rule: str, reason: str, part2_outside: bool = False, **basis: int | None) -> Decision:
    obligations = frozenset({REDISCLOSURE_NOTICE}) if part2_outside else frozenset()
    return Decision(True, rule, reason, obligations, **basis)


def _deny(rule: str, reason: str) -> Decision:
    return Decision(False, rule, reason)


# Decisions are values: the commonest two are made once.
OWN_ORGANISATION = _permit("1", "made by the viewer's own organisation")
NO_RULE = _deny("5", "no rule permits this")


def _classes(ctx: PolicyContext, fam: FamilyFacts, org_id: int | None, at: datetime) -> frozenset[str]:
    if org_id is None:
        return frozenset()
    org_type, is_part2 = ctx.org(org_id)
    return organization_classes(org_type, is_part2, on_care_team=fam.org_on_team(org_id, at))


def _restricted(
    fam: FamilyFacts,
    facts: RecordFacts,
    purpose: str,
    at: datetime,
    *,
    organization_id: int | None,
    membership_id: int | None = None,
) -> bool:
    """An agreed 2.26 restriction that matches denies consent-based access (rules 2 and 3b), from the
    instant it is agreed until it ends (and after, for older records, when the organisation ended it)."""
    for r in fam.restrictions:
        if r.disclosing_org_id != facts.created_by_org_id or not r.covers(facts, at):
            continue
        names_recipient = (r.recipient_org_id is not None and r.recipient_org_id == organization_id) or (
            r.recipient_person_id is not None and r.recipient_person_id == membership_id
        )
        if not names_recipient:
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


def _covering_versions(
    ctx: PolicyContext, fam: FamilyFacts, facts: RecordFacts, purpose: str, at: datetime
) -> Iterator[VersionWindow]:
    """The versions in force at ``at`` that let the record's maker share its kind for ``purpose``, one at a
    time (the first that permits ends the search)."""
    kind = facts.kind
    for w in fam.versions:
        if purpose in w.purposes and kind in w.kinds and w.in_force(at) and _discloser_matches(ctx, fam, w, facts, at):
            yield w


def _by_consent(ctx: PolicyContext, facts: RecordFacts, purpose: str, at: datetime, part2: bool) -> Decision | None:
    """Rule 2."""
    viewer = ctx.viewer
    fam = ctx.family(facts.family_id)
    viewer_classes = _classes(ctx, fam, viewer.organization_id, at)
    access = role_access(viewer.role)
    # Handling an open referral for this purpose counts as a team place (CONSENT-RULES, "Referrals").
    on_team = fam.on_team(viewer.membership_id, at) or fam.handles_referral(
        viewer.organization_id,
        viewer.membership_id,
        intake=access is not None and access.intake,
        purpose=purpose,
        at=at,
    )
    for w in _covering_versions(ctx, fam, facts, purpose, at):
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
        if _restricted(
            fam, facts, purpose, at, organization_id=viewer.organization_id, membership_id=viewer.membership_id
        ):
            continue
        return _permit("2", "the parent's consent covers this", part2, consent_version_id=w.version_id)
    return None


def _for_proceedings(ctx: PolicyContext, facts: RecordFacts, at: datetime, part2: bool) -> Decision | None:
    """Rule 3: court use only under a court order (3a) or a stand-alone consent naming the court (3b)."""
    viewer = ctx.viewer
    fam = ctx.family(facts.family_id)
    on_team = fam.on_team(viewer.membership_id, at)
    for order in fam.court_orders:
        if order.court_id != viewer.organization_id or not order.names(facts):
            continue
        # Ruling 3: an order is recorded by one organisation and opens only that organisation's records.
        if order.recorded_by_org_id != facts.created_by_org_id:
            continue
        if not (order.valid_from <= at < order.valid_until):
            continue
        if part2 and not order.has_part2_findings:
            continue
        if on_team or (order.named_person_id is not None and order.named_person_id == viewer.membership_id):
            return _permit("3a", "a court order authorises this", part2, court_order_id=order.order_id)
    viewer_type, _ = ctx.org(viewer.organization_id)
    for w in fam.versions:
        if not w.in_force(at) or not w.is_standalone_court_consent or facts.kind not in w.kinds:
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
        if _restricted(
            fam,
            facts,
            Purpose.COURT_PROCEEDING,
            at,
            organization_id=viewer.organization_id,
            membership_id=viewer.membership_id,
        ):
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


def _part2(ctx: PolicyContext, facts: RecordFacts) -> bool:
    _, made_by_part2 = ctx.org(facts.created_by_org_id)
    return is_part2_record(made_by_part2_program=made_by_part2, category=facts.category)


def _own_organisation_reads(viewer: Viewer, facts: RecordFacts) -> bool:
    """Rule 1: her own organisation's record, of a category her role may see. It reads none of the family's facts."""
    if viewer.organization_id != facts.created_by_org_id:
        return False
    access = role_access(viewer.role)
    return access is not None and facts.category in access.categories


def read_by_rule_1(viewer: Viewer, record: RecordFacts, purpose: str) -> bool:
    """Whether ``decide`` permits reading this record of the ordinary rules (a parent's contact sheet, a
    note) by rule 1 alone, for ``purpose``: then no fact of the family is needed to decide it, and a page
    decides it before loading any (the caseload's families made by her own organisation)."""
    rt = declared(record.record_type)
    return (
        viewer.may_see_family_data
        and purpose in PURPOSES
        and (rt is None or (READ in rt.interactions and rt.read_rule == ReadRule.RECORD))
        and _own_organisation_reads(viewer, record)
    )


def _read_record(ctx: PolicyContext, facts: RecordFacts, purpose: str, at: datetime) -> Decision:
    """Rules 1 to 5."""
    viewer = ctx.viewer
    outside = viewer.organization_id != facts.created_by_org_id
    if not outside and _own_organisation_reads(viewer, facts):
        return OWN_ORGANISATION
    part2 = _part2(ctx, facts)
    if outside and purpose == COURT:
        decision = _for_proceedings(ctx, facts, at, part2)
        if decision is not None:
            return decision
    elif outside and purpose != EMERGENCY:
        decision = _by_consent(ctx, facts, purpose, at, part2)
        if decision is not None:
            return decision
    if purpose == EMERGENCY:
        decision = _in_emergency(ctx, facts, at, part2, outside)
        if decision is not None:
            return decision
    return NO_RULE


def opens_family(ctx: PolicyContext, family_id: int, at: datetime) -> bool:
    """Ruling 1: a family is open to her when the policy lets her read its parent's contact record for her
    role's default purpose (her own organisation's contact sheet, a team place with a consent covering
    contact, a consent or court order naming her, an emergency window)."""
    parent = ctx.family(family_id).parent
    if parent is None or not ctx.viewer.may_see_family_data:
        return False
    if _read_record(ctx, parent, ctx.viewer.default_purpose, at).permitted:
        return True
    # Her own declared emergency opens the family for purpose ``emergency`` (rule 4).
    return _read_record(ctx, parent, Purpose.EMERGENCY, at).permitted


def _read_consent(ctx: PolicyContext, facts: RecordFacts, at: datetime) -> Decision:
    """Rule C (CONSENT-RULES, "Who sees consents"): a directive and its versions are seen by staff who may
    open the family and belong to an organisation it names (discloser or recipient, by name or class) or
    are named in it, and by whoever recorded it. Not a disclosure; a Part 2 one carries the notice."""
    viewer = ctx.viewer
    if not opens_family(ctx, facts.family_id, at):
        return _deny("5", "she may not open this family")
    outside = viewer.organization_id != facts.created_by_org_id
    notice = outside and _part2(ctx, facts)
    if facts.created_by_id is not None and facts.created_by_id == viewer.user_id:
        return _permit("C", "she recorded this consent", notice)
    fam = ctx.family(facts.family_id)
    classes = _classes(ctx, fam, viewer.organization_id, at)
    for w in fam.directive_windows(facts.directive_id):
        if viewer.user_id is not None and viewer.user_id in w.recorded_by:
            return _permit("C", "she recorded this consent", notice)
        if viewer.membership_id in w.recipient_membership_ids or w.names_organization(viewer.organization_id, classes):
            return _permit("C", "the consent names her or her organisation", notice)
    return _deny("5", "the consent does not name her or her organisation")


def _read(ctx: PolicyContext, facts: RecordFacts, purpose: str, at: datetime, rt: RecordType | None = None) -> Decision:
    if rt is None:
        rt = declared(facts.record_type)
    read_rule = rt.read_rule if rt is not None else ReadRule.RECORD
    if read_rule == CONSENT_RULE or (read_rule == FOLLOWS_CONSENT and facts.directive_id is not None):
        return _read_consent(ctx, facts, at)
    decision = _read_record(ctx, facts, purpose, at)
    if decision.permitted or read_rule not in (ADDRESSED, ANSWERS):
        return decision
    viewer = ctx.viewer
    if read_rule == ANSWERS:
        # A receiving organisation's answer to a referral is seen by the organisation that referred, unless a
        # Part 2 programme made it: then only as her consent allows (CONSENT-RULES, "Referrals").
        # As her own organisation's records are (rule 1): only roles that may see its category.
        access = role_access(viewer.role)
        answers_her = (
            facts.subject_org_id is not None
            and facts.subject_org_id == viewer.organization_id
            and access is not None
            and facts.category in access.categories
        )
        if answers_her and not _part2(ctx, facts) and opens_family(ctx, facts.family_id, at):
            return _permit("A", "an answer to her organisation's referral")
        return decision
    about_her = (facts.subject_org_id is not None and facts.subject_org_id == viewer.organization_id) or (
        facts.holder_membership_id is not None and facts.holder_membership_id == viewer.membership_id
    )
    if about_her and opens_family(ctx, facts.family_id, at):
        # Rule A: a record is seen by the party it is about: a restriction request by the organisation it
        # asks, a care-team place by the person who holds it. It tells her nothing she does not know.
        outside = viewer.organization_id != facts.created_by_org_id
        return _permit("A", "the record is about her or her organisation", outside and _part2(ctx, facts))
    return decision


def _create(ctx: PolicyContext, facts: RecordFacts, at: datetime) -> Decision:
    """CONSENT-RULES "Create": in her own organisation's name, for a family she may open, of a kind her
    organisation may make, and nothing she could not read once made."""
    viewer = ctx.viewer
    rt = declared(facts.record_type)
    create_rule = rt.create_rule if rt is not None else CreateRule.MEMBER
    fam = ctx.family(facts.family_id)
    if create_rule == CreateRule.NEVER:
        return _deny("W0", "only Kinfold itself writes these")
    if facts.created_by_org_id != viewer.organization_id:
        return _deny("W5", "a record is made only in her own organisation's name")
    org_type, _ = ctx.org(viewer.organization_id)
    authored = facts.authored_category or facts.category
    if authored == Sensitivity.SUD_TREATMENT and org_type not in HEALTH_CARE_PROVIDER_TYPES:
        return _deny("W5", "only health-care providers make SUD-treatment records")
    if create_rule == CreateRule.COORDINATOR and not fam.coordinates(viewer.membership_id, at):
        return _deny("W5", "only her designated coordinator changes her care team")
    if create_rule == CreateRule.PRIVACY_OFFICER:
        if viewer.role != Role.PRIVACY_OFFICER:
            return _deny("W5", "only a privacy officer records this")
        if facts.subject_org_id is not None and facts.subject_org_id == viewer.organization_id:
            return _deny("W5", "nobody records her own organisation's grant")
    if not _read(ctx, facts, viewer.default_purpose, at).permitted:
        return _deny("W5", "she could not read it once made")
    return _permit("W1", "she may make this record")


CHANGE_REFUSALS: dict[str, str] = {
    ChangeRule.CREATOR: "only staff of the organisation that made it may change it",
    ChangeRule.TEAM_KEPT: "only her care team, or the organisation that made it, may change it",
    ChangeRule.COORDINATOR: "only her designated coordinator manages her care team",
    ChangeRule.COORDINATOR_OR_HOLDER: "only her designated coordinator manages her care team (anyone may leave it)",
    ChangeRule.SUBJECT_ORG: "only the organisation it asks may decide",
    ChangeRule.CREATOR_OR_SUBJECT: "only the organisation that made it, or the organisation it asks, may change it",
    ChangeRule.PRIVACY_OFFICER: "only a privacy officer of the organisation that recorded it may change it",
    ChangeRule.NEVER: "it is never changed",
}


def _change(ctx: PolicyContext, facts: RecordFacts, interaction: str, at: datetime) -> Decision:
    """CONSENT-RULES "Change" (retiring included): never what she may not read; then the record type's rule."""
    viewer = ctx.viewer
    if not _read(ctx, facts, viewer.default_purpose, at).permitted:
        return _deny("W5", "she may not read it")
    rt = declared(facts.record_type)
    if interaction == Interaction.RETIRE:
        rule = (rt.retire_rule or rt.change_rule) if rt is not None else ChangeRule.CREATOR
    else:
        rule = rt.change_rule if rt is not None else ChangeRule.CREATOR
    fam = ctx.family(facts.family_id)
    access = role_access(viewer.role)
    own = (
        facts.created_by_org_id == viewer.organization_id and access is not None and facts.category in access.categories
    )
    if rule == ChangeRule.READERS:
        return _permit("W4", "anyone who may see it may record this")
    if rule == ChangeRule.CREATOR and own:
        return _permit("W1", "made by her own organisation")
    if rule == ChangeRule.TEAM_KEPT and own:
        return _permit("W1", "made by her own organisation")
    if rule == ChangeRule.TEAM_KEPT and fam.on_team(viewer.membership_id, at):
        return _permit("W2", "the care team keeps this record together")
    if rule in (ChangeRule.COORDINATOR, ChangeRule.COORDINATOR_OR_HOLDER) and fam.coordinates(viewer.membership_id, at):
        return _permit("W3", "the coordinator manages the care team")
    if (
        rule == ChangeRule.COORDINATOR_OR_HOLDER
        and facts.holder_membership_id is not None
        and facts.holder_membership_id == viewer.membership_id
    ):
        return _permit("W3", "anyone may remove herself from the team")
    if rule == ChangeRule.PRIVACY_OFFICER and own and viewer.role == Role.PRIVACY_OFFICER:
        return _permit("W1", "a privacy officer of the organisation that recorded it")
    if rule == ChangeRule.SUBJECT_ORG and facts.subject_org_id == viewer.organization_id:
        return _permit("W1", "the request is addressed to her organisation")
    if rule == ChangeRule.CREATOR_OR_SUBJECT and own:
        return _permit("W1", "made by her own organisation")
    if rule == ChangeRule.CREATOR_OR_SUBJECT and facts.subject_org_id == viewer.organization_id:
        return _permit("W1", "it is addressed to her organisation")
    return _deny("W5", CHANGE_REFUSALS.get(rule, "no rule lets her change it"))


def _disclose_to(
    ctx: PolicyContext, facts: RecordFacts, purpose: str, at: datetime, organization_id: int | None
) -> Decision:
    """May this record go to ``organization_id`` for ``purpose``? The sender must read it; then a consent in
    force names the maker as discloser and the organisation (by name or a class it is in) as recipient, for
    the purpose and the category, and no agreed restriction toward that organisation matches. A court
    receives only under a stand-alone consent naming it (3b)."""
    if organization_id is None:
        return _deny("5", "no receiving organisation")
    if not _read(ctx, facts, ctx.viewer.default_purpose, at).permitted:
        return _deny("5", "she may not read it")
    fam = ctx.family(facts.family_id)
    part2 = _part2(ctx, facts)
    if purpose in (Purpose.EMERGENCY,):
        return _deny("5", "nothing is sent under an emergency")
    recipient_classes = _classes(ctx, fam, organization_id, at)
    for w in _covering_versions(ctx, fam, facts, purpose, at):
        named = organization_id in w.recipient_org_ids
        if purpose == Purpose.COURT_PROCEEDING and not (named and w.is_standalone_court_consent):
            continue
        if not (named or w.recipient_classes & recipient_classes):
            continue
        if _restricted(fam, facts, purpose, at, organization_id=organization_id):
            continue
        return _permit("2", "the parent's consent covers sending this", part2, consent_version_id=w.version_id)
    return _deny("5", "no consent in force covers sending this there")


def decide(
    viewer: Viewer,
    record: Any,
    purpose: str | None = None,
    at: datetime | None = None,
    ctx: PolicyContext | None = None,
    *,
    interaction: str = READ,
    to_organization_id: int | None = None,
) -> Decision:
    """May ``viewer`` do ``interaction`` with ``record`` for ``purpose`` at instant ``at``? The one answer.

    Writes are judged for her role's default purpose, whatever ``purpose`` says."""
    at = at or clock.now()
    if not viewer.may_see_family_data:
        return _deny("0", "this account has no active role in an organisation")
    facts = facts_of(record)
    if not facts.kind:  # a record of no known kind is its category's default kind
        facts = replace(facts, kind=default_kind(facts.category))
    if ctx is None:
        ctx = PolicyContext.load(viewer, [facts.family_id])
    purpose = purpose or viewer.default_purpose
    if purpose not in PURPOSES:
        return _deny("5", f"unknown purpose {purpose!r}")
    rt = declared(facts.record_type)
    if rt is not None and interaction not in rt.interactions:
        return _deny("W0", f"a {rt.label} cannot be {Interaction(interaction).label.lower()}")
    if interaction == READ:
        return _read(ctx, facts, purpose, at, rt)
    if interaction == DISCLOSE_TO:
        return _disclose_to(ctx, facts, purpose, at, to_organization_id)
    if interaction == Interaction.HAND_OVER:
        return _hand_over(ctx, facts, at)
    if not opens_family(ctx, facts.family_id, at):
        return _deny("W5", "she may not open this family")
    if interaction == CREATE:
        return _create(ctx, facts, at)
    if interaction in WRITES:
        return _change(ctx, facts, interaction, at)
    return _deny("5", f"unknown interaction {interaction!r}")


def _hand_over(ctx: PolicyContext, facts: RecordFacts, at: datetime) -> Decision:
    """Rule H: a lead of the organisation a team place's holder works for hands that place to a colleague
    (staff who leave or change role). A staffing decision: it reads none of the family's records, so it asks
    neither consent nor whether she may open the family; the successor reaches the family only as the
    consent and rules reach her."""
    viewer = ctx.viewer
    access = role_access(viewer.role)
    if access is None or not access.staff_lead:
        return _deny("H", "only a lead of her organisation hands over a colleague's families")
    holder = facts.holder_membership_id
    place = next((p for p in ctx.family(facts.family_id).team if p.membership_id == holder and p.active(at)), None)
    if place is None or place.organization_id != viewer.organization_id:
        return _deny("H", "only a lead of the holder's own organisation hands her place over")
    return _permit("H", "a lead of her organisation hands over a colleague's place")


def may_open_family(viewer: Viewer, family_id: int, at: datetime | None = None) -> bool:
    """Whether she may open the family at all (ruling 1), reading its facts."""
    if not viewer.may_see_family_data:
        return False
    return opens_family(PolicyContext.load(viewer, [family_id]), family_id, at or clock.now())


def reads_disclosure(ctx: PolicyContext, *, disclosing_org_id: int, records: list[RecordFacts], at: datetime) -> bool:
    """CONSENT-RULES, "Who sees ... the accounting": the accounting is hers; a privacy officer sees the entries
    of her own organisation's disclosures; any other staff member sees an entry only where the policy lets her
    read every record it names (for her role's purpose)."""
    viewer = ctx.viewer
    if not viewer.may_see_family_data:
        return False
    if viewer.role == Role.PRIVACY_OFFICER and viewer.organization_id == disclosing_org_id:
        return True
    return bool(records) and all(_read(ctx, f, viewer.default_purpose, at).permitted for f in records)


@dataclass(frozen=True)
class DirectiveStatus:
    """A consent's status at an instant, from the same windows the policy decides with."""

    key: str  # in_force, pending, incomplete, expired, ended, revoked
    version_number: int | None = None  # the version the key is about
    since: datetime | None = None  # in force since, revoked or ended at
    until: datetime | None = None  # in force until (when known), or pending from
    missing: tuple[str, ...] = ()  # for "incomplete": the 2.31 elements the latest version lacks
    next_version_number: int | None = None  # a signed later version that takes effect later
    next_starts: datetime | None = None

    @property
    def is_in_force(self) -> bool:
        return self.key == "in_force"


def directive_status(ctx: PolicyContext, *, family_id: int, directive_id: int, at: datetime) -> DirectiveStatus:
    windows = sorted(ctx.family(family_id).directive_windows(directive_id), key=lambda w: w.number)
    if not windows:
        return DirectiveStatus("incomplete", missing=("every element",))
    latest = windows[-1]
    revoked_at = latest.revoked_at
    if revoked_at is not None and revoked_at <= at:
        return DirectiveStatus("revoked", latest.number, since=revoked_at)
    later = [w for w in windows if w.is_complete and w.starts > at]
    upcoming = min(later, key=lambda w: w.starts, default=None)
    in_force = [w for w in windows if w.in_force(at)]
    if in_force:
        w = in_force[-1]
        return DirectiveStatus(
            "in_force",
            w.number,
            since=w.starts,
            until=w.ends,
            next_version_number=upcoming.number if upcoming else None,
            next_starts=upcoming.starts if upcoming else None,
        )
    if latest.missing and latest.starts <= at:
        return DirectiveStatus("incomplete", latest.number, missing=latest.missing)
    if upcoming is not None:
        return DirectiveStatus("pending", upcoming.number, until=upcoming.starts)
    if latest.missing:
        return DirectiveStatus("incomplete", latest.number, missing=latest.missing)
    if latest.expiry_event_recorded_at is not None and latest.expiry_event_recorded_at <= at:
        return DirectiveStatus("ended", latest.number, since=latest.expiry_event_recorded_at)
    return DirectiveStatus("expired", latest.number, since=latest.ends)
