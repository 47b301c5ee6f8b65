"""One focused test per rule and obligation of the settled access rules (shared/CONSENT-RULES.md).

Maria Lopez's team spans a community organisation (her coordinator), child protective services, an opioid
treatment programme (a Part 2 programme), an obstetric clinic, a birthing hospital and a family treatment
court. Records, consents, orders and emergencies are written with exact instants so each test can ask
``decide`` at the instant that matters: intervals are half-open, ``[from, until)``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError

from kinfold import clock
from kinfold.access.rules import REDISCLOSURE_NOTICE_TEXT, Decision, decide
from kinfold.access.viewer import Viewer
from kinfold.access.vocabulary import ROLE_TABLE_PATH, RoleTableError, load_role_table
from kinfold.audit.models import Action, AuditEvent, Outcome
from kinfold.consent import services as consent_services
from kinfold.consent.models import (
    ConsentDirective,
    ConsentVersion,
    CourtOrder,
    EmergencyAccess,
    Restriction,
    RestrictionStatus,
)
from kinfold.families import selectors
from kinfold.families.models import CareTeamMember, Family, FamilyRelationship, Person, Sensitivity
from kinfold.notes.models import NOTE_CATEGORY, Note, NoteKind
from kinfold.organizations.models import Membership, Organization, OrganizationType, Role
from tests.factories import make_family

pytestmark = pytest.mark.django_db

TPO = ("treatment", "payment", "operations")
MICRO = timedelta(microseconds=1)
_seq = itertools.count()


# --- building Maria's world -----------------------------------------------------------------------


def org(name: str, type_: str, *, part2: bool | None = None) -> Organization:
    if part2 is None:
        part2 = type_ in (OrganizationType.SUD_TREATMENT, OrganizationType.OPIOID_TREATMENT)
    return Organization.objects.create(name=name, type=type_, is_part2_program=part2)


def member(organization: Organization, role: str, first: str, last: str, **kwargs: Any) -> Membership:
    """A staff member (no password hashing: tests sign in with force_login)."""
    n = next(_seq)
    user = get_user_model().objects.create(
        username=f"rules{n}", first_name=first, last_name=last, email=f"rules{n}@example.org"
    )
    return Membership.objects.create(user=user, organization=organization, role=role, **kwargs)


def viewer(m: Membership) -> Viewer:
    m.refresh_from_db()
    m.user.refresh_from_db()
    return Viewer.of(m.user)


@dataclass
class World:
    now: datetime
    family: Family
    orgs: dict[str, Organization]
    people: dict[str, Membership]
    notes: dict[str, Note]
    places: dict[str, CareTeamMember] = field(default_factory=dict)

    def decide(self, who: str | Membership, record: Any, purpose: str, at: datetime | None = None) -> Decision:
        m = self.people[who] if isinstance(who, str) else who
        return decide(viewer(m), record, purpose, at or self.now)

    def sees(self, who: str | Membership, record: str | Any, purpose: str, at: datetime | None = None) -> bool:
        rec = self.notes[record] if isinstance(record, str) else record
        return self.decide(who, rec, purpose, at).permitted


def join(w: World, key: str, *, at: datetime | None = None) -> CareTeamMember:
    m = w.people[key]
    place = CareTeamMember.objects.create(
        care_team=w.family.care_team,
        membership=m,
        role=m.role,
        joined_at=at or w.now - timedelta(days=60),
        created_by_org=w.orgs["community"],
        sensitivity=Sensitivity.CONTACT,
    )
    w.places[key] = place
    return place


def note(w: World, by: str, kind: str, summary: str) -> Note:
    m = w.people[by]
    return Note.objects.create(
        family=w.family,
        kind=kind,
        summary=summary,
        sensitivity=NOTE_CATEGORY[NoteKind(kind)],
        created_by=m.user,
        created_by_org=m.organization,
        created_at=w.now - timedelta(days=20),
    )


def grant(
    w: World,
    *,
    discloser_orgs: tuple[str, ...] = (),
    discloser_classes: tuple[str, ...] = (),
    recipient_orgs: tuple[str, ...] = (),
    recipient_people: tuple[str, ...] = (),
    recipient_classes: tuple[str, ...] = (),
    purposes: tuple[str, ...] = ("treatment",),
    categories: tuple[str, ...] = ("contact",),
    signed_at: datetime | None = None,
    effective_at: datetime | None = None,
    expires_at: datetime | str | None = "default",
    directive: ConsentDirective | None = None,
    **fields: Any,
) -> ConsentVersion:
    """A consent version with every 2.31 element unless a test blanks one, written with exact instants.

    Ana (her coordinator at Bridges) records it with Maria: whoever recorded a consent sees it (rule C), and so
    may record its revocation or expiry event."""
    signed_at = signed_at or w.now - timedelta(days=10)
    ana = w.people["ana"]
    if directive is None:
        directive = ConsentDirective.objects.create(
            family=w.family,
            patient=w.family.parent,
            title="Maria's consent",
            created_by=ana.user,
            created_by_org=ana.organization,
            created_at=signed_at,
        )
    number = directive.versions.count() + 1
    values: dict[str, Any] = {
        "patient_name": "Maria Lopez",
        "discloser_classes": list(discloser_classes),
        "recipient_classes": list(recipient_classes),
        "purposes": list(purposes),
        "categories": list(categories),
        "right_to_revoke": "You can take back this permission at any time.",
        "expires_at": w.now + timedelta(days=365) if expires_at == "default" else expires_at,
        "signer_name": "Maria Lopez",
        "signature_method": "typed",
        "signature_typed": "Maria Lopez",
        "signed_at": signed_at,
        "effective_at": effective_at or signed_at,
        **fields,
    }
    version = ConsentVersion.objects.create(
        directive=directive, number=number, created_by=ana.user, created_by_org=ana.organization, **values
    )
    version.discloser_orgs.set([w.orgs[k] for k in discloser_orgs])
    version.recipient_orgs.set([w.orgs[k] for k in recipient_orgs])
    version.recipient_people.set([w.people[k] for k in recipient_people])
    return version


def privacy_officer(w: World, org_key: str) -> Membership:
    """The privacy officer of one of Maria's organisations (made the first time a test asks)."""
    key = f"privacy officer {org_key}"
    if key not in w.people:
        w.people[key] = member(w.orgs[org_key], Role.PRIVACY_OFFICER, "Priya", f"Officer {org_key}")
    return w.people[key]


def order(w: World, *, recorded_by: str, court: str = "court", categories: tuple[str, ...],
          findings: tuple[bool, bool] = (False, False), valid_from: datetime | None = None,
          valid_until: datetime | None = None, named_person: str | None = None) -> CourtOrder:  # fmt: skip
    """A court order as the settled rules have it recorded: by a privacy officer of ``recorded_by``, the
    organisation whose records it opens (never by the court it authorises). It opens only that
    organisation's records; an order naming several organisations' records is recorded by each."""
    assert recorded_by != court, "nobody records her own grant"
    officer = privacy_officer(w, recorded_by)
    return CourtOrder.objects.create(
        family=w.family,
        court=w.orgs[court],
        named_person=w.people[named_person] if named_person else None,
        order_reference="FTC-2026-0042",
        issued_on=clock.local_date(w.now) - timedelta(days=5),
        categories=list(categories),
        valid_from=valid_from or w.now - timedelta(days=5),
        valid_until=valid_until or w.now + timedelta(days=85),
        finding_other_means_unavailable=findings[0],
        finding_public_interest_outweighs_harm=findings[1],
        created_by=officer.user,
        created_by_org=officer.organization,
        sensitivity=Sensitivity.LEGAL,
    )


def restrict(w: World, *, disclosing: str, recipient_org: str | None = None, recipient_person: str | None = None,
             categories: tuple[str, ...] = (), purposes: tuple[str, ...] = (),
             status: str = RestrictionStatus.AGREED, decided_at: datetime | None = None) -> Restriction:  # fmt: skip
    return Restriction.objects.create(
        family=w.family,
        disclosing_org=w.orgs[disclosing],
        recipient_org=w.orgs[recipient_org] if recipient_org else None,
        recipient_person=w.people[recipient_person] if recipient_person else None,
        categories=list(categories),
        purposes=list(purposes),
        status=status,
        requested_at=w.now - timedelta(days=3),
        decided_at=(decided_at or w.now - timedelta(days=2)) if status != RestrictionStatus.REQUESTED else None,
        created_by_org=w.orgs["community"],
    )


def emergency(w: World, who: str, *, declared_at: datetime | None = None, hours: float = 4) -> EmergencyAccess:
    m = w.people[who]
    declared_at = declared_at or w.now - timedelta(hours=1)
    return EmergencyAccess.objects.create(
        family=w.family,
        user=m.user,
        membership=m,
        reason="Unresponsive on arrival at the emergency department",
        declared_at=declared_at,
        expires_at=declared_at + timedelta(hours=hours),
    )


@pytest.fixture
def w() -> World:
    now = clock.now()
    orgs = {
        "community": org("Bridges Family Resource Center", OrganizationType.COMMUNITY),
        "cps": org("Lakeview County Child Protective Services", OrganizationType.CHILD_WELFARE),
        "otp": org("Hope Recovery Center", OrganizationType.OPIOID_TREATMENT),
        "ob": org("Riverside Prenatal Clinic", OrganizationType.OBSTETRIC),
        "hospital": org("Lakeview General Hospital", OrganizationType.HOSPITAL),
        "court": org("Lakeview Family Treatment Court", OrganizationType.COURT),
        "other_court": org("Harbor County Dependency Court", OrganizationType.COURT),
        "peer": org("Steady Steps Peer Recovery", OrganizationType.PEER_RECOVERY),
    }
    people = {
        "ana": member(orgs["community"], Role.CARE_COORDINATOR, "Ana", "Rivera"),
        "carl": member(orgs["cps"], Role.CPS_CASEWORKER, "Carl", "Jensen"),
        "sue": member(orgs["cps"], Role.CPS_SUPERVISOR, "Sue", "Park"),
        "tess": member(orgs["otp"], Role.SUD_COUNSELOR, "Tess", "Okafor"),
        "fran": member(orgs["otp"], Role.FRONT_DESK, "Fran", "Doyle"),
        "omar": member(orgs["ob"], Role.OB_CLINICIAN, "Omar", "Baptiste"),
        "nina": member(orgs["hospital"], Role.NURSE, "Nina", "Adeyemi"),
        "bill": member(orgs["hospital"], Role.BILLING, "Bill", "Marsh"),
        "quinn": member(orgs["hospital"], Role.QUALITY, "Quinn", "Tran"),
        "desk": member(orgs["hospital"], Role.FRONT_DESK, "Dee", "Sloan"),
        "hsw": member(orgs["hospital"], Role.SOCIAL_WORKER, "Hal", "Weber"),
        "cora": member(orgs["court"], Role.COURT_COORDINATOR, "Cora", "Vance"),
        "jude": member(orgs["court"], Role.JUDGE, "Jude", "Ellison"),
        "otto": member(orgs["other_court"], Role.COURT_COORDINATOR, "Otto", "Reyes"),
        "pia": member(orgs["peer"], Role.PEER_RECOVERY_COACH, "Pia", "Santos"),
    }
    family = make_family(people["ana"], given_name="Maria", family_name="Lopez")
    CareTeamMember.objects.filter(care_team__family=family).update(joined_at=now - timedelta(days=60))
    w = World(now=now, family=family, orgs=orgs, people=people, notes={})
    for key in ("carl", "tess", "omar", "nina", "cora"):
        join(w, key)
    w.notes = {
        "attendance": note(w, "tess", "treatment_attendance", "Attended group session"),
        "otp_visit": note(w, "tess", "prenatal_visit", "Vitals checked at the programme"),
        "therapy": note(w, "tess", "therapy_note", "Talked about her fears for the baby"),
        "ob_medication": note(w, "omar", "medication", "Buprenorphine 16 mg daily continued"),
        "ob_visit": note(w, "omar", "prenatal_visit", "Prenatal visit at 28 weeks, all well"),
        "case_note": note(w, "carl", "case_note", "Home visit; the baby's room is ready"),
        "court_note": note(w, "ana", "court_report", "Hearing on reunification plan set"),
        "social": note(w, "ana", "social_needs", "Needs a ride to her appointments"),
        "hospital_case": note(w, "hsw", "case_note", "Discharge planning with the family"),
    }
    return w


# --- rule 0 -------------------------------------------------------------------------------------------


def test_rule0_denies_a_superuser_even_in_the_creating_organisation(w):
    get_user_model().objects.filter(pk=w.people["ana"].user_id).update(is_superuser=True, is_staff=True)
    d = w.decide("ana", w.notes["social"], "care_coordination")
    assert (d.permitted, d.rule) == (False, "0")


def test_rule0_denies_a_user_with_no_role(w):
    user = get_user_model().objects.create(username="no-role", first_name="Nadia", last_name="Role")
    d = decide(Viewer.of(user), w.notes["social"], "care_coordination", w.now)
    assert (d.permitted, d.rule) == (False, "0")


def test_rule0_denies_an_inactive_account_and_an_ended_membership(w):
    get_user_model().objects.filter(pk=w.people["ana"].user_id).update(is_active=False)
    d = w.decide("ana", w.notes["social"], "care_coordination")
    assert (d.permitted, d.rule) == (False, "0")

    Membership.objects.filter(pk=w.people["tess"].pk).update(is_active=False)
    d = w.decide("tess", w.notes["attendance"], "treatment")
    assert (d.permitted, d.rule) == (False, "0")


def test_the_admin_site_registers_no_family_data():
    family_apps = {"families", "notes", "consent"}
    exposed = [m._meta.label for m in admin.site._registry if m._meta.app_label in family_apps]
    assert exposed == []


# --- rule 1 -------------------------------------------------------------------------------------------


def test_rule1_front_desk_sees_contact_details_only(w):
    parent = w.family.parent
    assert w.decide("fran", w.notes["attendance"], "operations").permitted is False
    assert w.decide("fran", w.notes["otp_visit"], "operations").permitted is False
    # The programme's own contact-category record: front desk of the same programme sees it.
    contact_note = note(w, "tess", "contact_log", "Called to confirm Tuesday's dose time")
    d = w.decide("fran", contact_note, "operations")
    assert (d.permitted, d.rule) == (True, "1")
    # ...but not Maria's identity, which Bridges recorded: rule 1 is about the creating organisation.
    assert w.decide("fran", parent, "operations").permitted is False


def test_rule1_the_role_table_decides_each_category_of_own_records(w):
    assert w.decide("tess", w.notes["attendance"], "treatment").rule == "1"
    assert w.decide("tess", w.notes["therapy"], "treatment").rule == "1"
    # A hospital nurse does not read the hospital social worker's child-welfare case note by role...
    assert w.decide("nina", w.notes["hospital_case"], "treatment").permitted is False
    # ...and the hospital's billing staff see contact details only.
    assert w.decide("bill", w.notes["hospital_case"], "payment").permitted is False
    assert w.decide("hsw", w.notes["hospital_case"], "treatment").rule == "1"


def test_rule1_permits_any_purpose_and_carries_no_notice(w):
    """A programme's counsellor may open her own records to write a court report."""
    d = w.decide("tess", w.notes["attendance"], "court_proceeding")
    assert (d.permitted, d.rule) == (True, "1")
    assert not d.shows_redisclosure_notice
    assert not d.is_disclosure


def test_embedded_staff_keep_their_employers_access_only(w):
    """A CPS caseworker placed at the treatment programme reads nothing of the programme by placement."""
    Membership.objects.filter(pk=w.people["carl"].pk).update(placed_at=w.orgs["otp"])
    assert w.decide("carl", w.notes["attendance"], "child_welfare_case").permitted is False
    assert w.decide("carl", w.notes["otp_visit"], "treatment").permitted is False
    assert w.decide("carl", w.notes["case_note"], "child_welfare_case").rule == "1"


# --- rule 2 -------------------------------------------------------------------------------------------


def test_rule2_discloser_named_by_name_covers_only_that_organisation(w):
    v = grant(
        w,
        discloser_orgs=("otp",),
        recipient_orgs=("cps",),
        purposes=("child_welfare_case",),
        categories=("sud_treatment",),
    )
    d = w.decide("carl", w.notes["attendance"], "child_welfare_case")
    assert (d.permitted, d.rule, d.consent_version_id) == (True, "2", v.pk)
    assert d.is_disclosure
    # The OB's buprenorphine prescription is SUD treatment too, but the OB clinic is not the discloser.
    assert w.sees("carl", "ob_medication", "child_welfare_case") is False


def test_rule2_discloser_by_general_designation_includes_only_its_members(w):
    grant(
        w,
        discloser_classes=("part2_programs",),
        recipient_orgs=("cps",),
        purposes=("child_welfare_case",),
        categories=("sud_treatment", "general_health"),
    )
    assert w.sees("carl", "attendance", "child_welfare_case")
    assert w.sees("carl", "otp_visit", "child_welfare_case")
    assert w.sees("carl", "ob_visit", "child_welfare_case") is False
    assert w.sees("carl", "ob_medication", "child_welfare_case") is False


def test_rule2_care_team_designation_follows_who_is_on_the_team_at_the_instant(w):
    grant(
        w,
        discloser_classes=("care_team",),
        recipient_classes=("care_team",),
        purposes=("child_welfare_case",),
        categories=("general_health",),
    )
    assert w.sees("carl", "ob_visit", "child_welfare_case")
    left = w.now - timedelta(days=1)
    CareTeamMember.objects.filter(pk=w.places["omar"].pk).update(left_at=left)
    # Once nobody from the OB clinic is on the team, the clinic is no longer "my care team".
    assert w.sees("carl", "ob_visit", "child_welfare_case", at=left) is False
    assert w.sees("carl", "ob_visit", "child_welfare_case", at=left - MICRO)


def test_rule2_recipient_named_person_reaches_her_not_her_colleagues(w):
    grant(
        w,
        discloser_orgs=("otp",),
        recipient_people=("carl",),
        purposes=("child_welfare_case",),
        categories=("sud_treatment",),
    )
    join(w, "sue")
    assert w.sees("carl", "attendance", "child_welfare_case")
    assert w.sees("sue", "attendance", "child_welfare_case") is False


def test_rule2_recipient_named_person_needs_no_team_place(w):
    grant(
        w,
        discloser_orgs=("otp",),
        recipient_people=("sue",),
        purposes=("child_welfare_case",),
        categories=("sud_treatment",),
    )
    assert w.sees("sue", "attendance", "child_welfare_case")


def test_rule2_recipient_organisation_reaches_only_its_staff_on_the_team(w):
    grant(
        w,
        discloser_orgs=("otp",),
        recipient_orgs=("cps",),
        purposes=("child_welfare_case",),
        categories=("sud_treatment",),
    )
    assert w.sees("carl", "attendance", "child_welfare_case")
    assert w.sees("sue", "attendance", "child_welfare_case") is False, "the supervisor does not work with Maria"
    place = join(w, "sue", at=w.now - timedelta(hours=2))
    assert w.sees("sue", "attendance", "child_welfare_case")
    assert w.sees("sue", "attendance", "child_welfare_case", at=place.joined_at - MICRO) is False
    CareTeamMember.objects.filter(pk=place.pk).update(left_at=w.now - timedelta(hours=1))
    assert w.sees("sue", "attendance", "child_welfare_case") is False


def test_rule2_recipient_class_reaches_organisations_in_that_class(w):
    grant(
        w,
        discloser_orgs=("otp",),
        recipient_classes=("child_welfare",),
        purposes=("child_welfare_case", "care_coordination"),
        categories=("sud_treatment",),
    )
    assert w.sees("carl", "attendance", "child_welfare_case")
    assert w.sees("ana", "attendance", "care_coordination") is False, "a community organisation is not child welfare"


def test_rule2_covers_only_the_categories_it_names(w):
    grant(
        w,
        discloser_orgs=("otp",),
        recipient_orgs=("cps",),
        purposes=("child_welfare_case",),
        categories=("sud_treatment",),
    )
    assert w.sees("carl", "attendance", "child_welfare_case")
    assert w.sees("carl", "therapy", "child_welfare_case") is False
    assert w.sees("carl", "otp_visit", "child_welfare_case") is False


def test_rule2_a_specific_purpose_covers_only_that_purpose(w):
    grant(
        w,
        discloser_orgs=("otp",),
        recipient_orgs=("cps",),
        purposes=("child_welfare_case",),
        categories=("sud_treatment",),
    )
    assert w.sees("carl", "attendance", "child_welfare_case")
    for purpose in ("treatment", "payment", "operations", "care_coordination", "research"):
        assert w.sees("carl", "attendance", purpose) is False, purpose


def test_rule2_a_tpo_consent_covers_treatment_payment_and_operations_only(w):
    grant(w, discloser_orgs=("otp",), recipient_orgs=("ob",), purposes=TPO, categories=("sud_treatment",))
    for purpose in TPO:
        assert w.sees("omar", "attendance", purpose), purpose
    for purpose in ("care_coordination", "child_welfare_case", "research", "court_proceeding"):
        assert w.sees("omar", "attendance", purpose) is False, purpose


def test_rule2_payment_and_operations_reach_billing_and_quality_staff_of_a_named_organisation(w):
    grant(w, discloser_orgs=("otp",), recipient_orgs=("hospital",), purposes=TPO, categories=("sud_treatment",))
    # Billing and quality are not on Maria's team.
    assert w.sees("bill", "attendance", "payment")
    assert w.sees("bill", "attendance", "operations") is False
    assert w.sees("bill", "attendance", "treatment") is False
    assert w.sees("quinn", "attendance", "operations")
    assert w.sees("quinn", "attendance", "payment") is False
    assert w.sees("desk", "attendance", "payment") is False, "front desk is not marked for payment"
    assert w.sees("nina", "attendance", "treatment"), "the nurse on the team is reached for treatment"


def test_rule2_a_class_recipient_does_not_reach_billing_staff_off_the_team(w):
    """Protective reading: only a consent naming the organisation reaches its billing or quality staff."""
    grant(
        w,
        discloser_orgs=("otp",),
        recipient_classes=("treating_providers",),
        purposes=TPO,
        categories=("sud_treatment",),
    )
    assert w.sees("nina", "attendance", "payment")
    assert w.sees("bill", "attendance", "payment") is False
    assert w.sees("quinn", "attendance", "operations") is False


def test_rule2_role_tables_do_not_cap_what_the_parent_consents_to(w):
    """A CPS caseworker never sees treatment records by role, but Maria's consent lets him."""
    grant(
        w,
        discloser_orgs=("otp",),
        recipient_orgs=("cps",),
        purposes=("child_welfare_case",),
        categories=("sud_treatment",),
    )
    assert "sud_treatment" not in load_role_table().roles["cps_caseworker"].categories
    assert w.sees("carl", "attendance", "child_welfare_case")


def test_rule2_never_permits_court_proceeding(w):
    # Even a consent that lists every purpose, to the court's own organisation and to courts as a class.
    grant(
        w,
        discloser_orgs=("otp",),
        recipient_orgs=("court", "cps"),
        recipient_classes=("courts", "care_team"),
        purposes=("treatment", "child_welfare_case", "care_coordination", "court_proceeding"),
        categories=("sud_treatment", "child_welfare"),
    )
    for who in ("cora", "carl"):
        d = w.decide(who, w.notes["attendance"], "court_proceeding")
        assert (d.permitted, d.rule) == (False, "5"), who
    assert w.sees("carl", "attendance", "child_welfare_case"), "the bundle stays valid for its other purposes"


# --- rule 3 -------------------------------------------------------------------------------------------


def test_rule3a_court_order_names_the_court_the_categories_and_the_period(w):
    # CPS's privacy officer records the order for CPS's records, Bridges' for Bridges' (ruling 3).
    o = order(w, recorded_by="cps", categories=("child_welfare", "legal"))
    d = w.decide("cora", w.notes["case_note"], "court_proceeding")
    assert (d.permitted, d.rule, d.court_order_id) == (True, "3a", o.pk)
    assert d.is_disclosure and not d.shows_redisclosure_notice
    bridges = order(w, recorded_by="community", categories=("child_welfare", "legal"))
    d = w.decide("cora", w.notes["court_note"], "court_proceeding")
    assert (d.permitted, d.rule, d.court_order_id) == (True, "3a", bridges.pk)
    assert w.sees("cora", "social", "court_proceeding") is False, "social needs are not in the order"
    assert w.sees("cora", "case_note", "court_proceeding", at=o.valid_from)
    assert w.sees("cora", "case_note", "court_proceeding", at=o.valid_from - MICRO) is False
    assert w.sees("cora", "case_note", "court_proceeding", at=o.valid_until - MICRO)
    assert w.sees("cora", "case_note", "court_proceeding", at=o.valid_until) is False
    assert w.sees("otto", "case_note", "court_proceeding") is False, "another court is not named"
    assert w.sees("cora", "case_note", "child_welfare_case") is False, "an order is for the proceeding only"


def test_rule3a_part2_records_need_both_findings_of_2_64d(w):
    """An order without both findings is recorded and opens the non-Part 2 records it names; its Part 2
    records stay closed until both findings are recorded on it."""
    otp = order(w, recorded_by="otp", categories=("sud_treatment", "general_health"), findings=(True, False))
    ob = order(w, recorded_by="ob", categories=("sud_treatment", "general_health"))
    assert w.sees("cora", "attendance", "court_proceeding") is False
    assert w.sees("cora", "otp_visit", "court_proceeding") is False, "every record of a Part 2 programme"
    assert w.sees("cora", "ob_visit", "court_proceeding"), "an OB's general-health record is not Part 2"
    assert w.sees("cora", "ob_medication", "court_proceeding") is False, "an OB's SUD-treatment record is Part 2"
    # The court made both findings; each organisation's privacy officer records them on its own order.
    CourtOrder.objects.filter(pk__in=[otp.pk, ob.pk]).update(
        finding_other_means_unavailable=True, finding_public_interest_outweighs_harm=True
    )
    d = w.decide("cora", w.notes["attendance"], "court_proceeding")
    assert (d.permitted, d.rule, d.court_order_id) == (True, "3a", otp.pk)
    assert d.shows_redisclosure_notice
    assert w.sees("cora", "otp_visit", "court_proceeding")
    d = w.decide("cora", w.notes["ob_medication"], "court_proceeding")
    assert (d.permitted, d.court_order_id) == (True, ob.pk), "an OB's SUD-treatment record is Part 2 too"
    assert d.shows_redisclosure_notice


def test_rule3a_an_order_opens_only_the_records_of_the_organisation_that_recorded_it(w):
    """Ruling 3: the order CPS's privacy officer recorded opens CPS's case note to the court, never the
    hospital's, though both are child-welfare records; the hospital records its own order for its own."""
    cps = order(w, recorded_by="cps", categories=("child_welfare",))
    d = w.decide("cora", w.notes["case_note"], "court_proceeding")
    assert (d.permitted, d.rule, d.court_order_id) == (True, "3a", cps.pk)
    assert w.sees("cora", "hospital_case", "court_proceeding") is False
    # Even an order CPS recorded for every category, with both findings, opens nothing another organisation made.
    order(w, recorded_by="cps", categories=tuple(Sensitivity.values), findings=(True, True))
    for key in ("hospital_case", "attendance", "otp_visit", "ob_medication", "ob_visit", "court_note", "social"):
        assert w.sees("cora", key, "court_proceeding") is False, key
    hospital = order(w, recorded_by="hospital", categories=("child_welfare",))
    d = w.decide("cora", w.notes["hospital_case"], "court_proceeding")
    assert (d.permitted, d.rule, d.court_order_id) == (True, "3a", hospital.pk)
    assert w.decide("cora", w.notes["case_note"], "court_proceeding").court_order_id != hospital.pk


def test_rule3a_viewer_must_be_on_the_team_or_named(w):
    order(w, recorded_by="cps", categories=("child_welfare",))
    assert w.sees("jude", "case_note", "court_proceeding") is False
    order(w, recorded_by="cps", categories=("child_welfare",), named_person="jude")
    assert w.sees("jude", "case_note", "court_proceeding")


def test_rule3b_stand_alone_consent_naming_the_court_by_name(w):
    v = grant(
        w,
        discloser_orgs=("otp",),
        recipient_orgs=("court",),
        purposes=("court_proceeding",),
        categories=("sud_treatment",),
    )
    d = w.decide("cora", w.notes["attendance"], "court_proceeding")
    assert (d.permitted, d.rule, d.consent_version_id) == (True, "3b", v.pk)
    assert d.shows_redisclosure_notice
    assert w.sees("jude", "attendance", "court_proceeding") is False, "the judge is neither on the team nor named"
    assert w.sees("otto", "attendance", "court_proceeding") is False
    assert w.sees("cora", "therapy", "court_proceeding") is False


def test_rule3b_a_court_named_by_class_is_not_enough(w):
    grant(
        w,
        discloser_orgs=("otp",),
        recipient_classes=("courts",),
        purposes=("court_proceeding",),
        categories=("sud_treatment",),
    )
    assert w.sees("cora", "attendance", "court_proceeding") is False


def test_rule3b_named_person_at_the_court(w):
    grant(
        w,
        discloser_orgs=("otp",),
        recipient_people=("jude",),
        purposes=("court_proceeding",),
        categories=("sud_treatment",),
    )
    assert w.sees("jude", "attendance", "court_proceeding")
    assert w.sees("cora", "attendance", "court_proceeding") is False, "only the named judge"


def test_rule3b_a_bundled_consent_is_void_for_the_court_and_valid_for_its_other_purposes(w):
    grant(
        w,
        discloser_orgs=("otp",),
        recipient_orgs=("court", "cps"),
        purposes=("court_proceeding", "child_welfare_case"),
        categories=("sud_treatment",),
    )
    assert w.sees("cora", "attendance", "court_proceeding") is False
    assert w.sees("carl", "attendance", "child_welfare_case")


# --- rule 4 -------------------------------------------------------------------------------------------


def test_rule4_a_clinician_declares_an_emergency_with_a_reason(w):
    access = consent_services.emergency_declare(
        viewer=viewer(w.people["nina"]), family=w.family, reason="Unresponsive on arrival, suspected overdose"
    )
    assert access.expires_at - access.declared_at == timedelta(hours=4)
    for key in w.notes:
        d = w.decide("nina", w.notes[key], "emergency", at=access.declared_at)
        assert (d.permitted, d.rule, d.emergency_id) == (True, "4", access.pk), key
    assert w.decide("nina", w.notes["attendance"], "emergency", at=access.declared_at).shows_redisclosure_notice
    assert w.sees("nina", "attendance", "emergency", at=access.expires_at - MICRO)
    assert w.sees("nina", "attendance", "emergency", at=access.expires_at) is False
    assert w.sees("nina", "attendance", "emergency", at=access.declared_at - MICRO) is False
    assert w.sees("nina", "attendance", "treatment", at=access.declared_at) is False, "purpose emergency only"
    assert w.sees("omar", "attendance", "emergency", at=access.declared_at) is False, "it is the nurse's access"
    assert AuditEvent.objects.filter(
        action=Action.EMERGENCY, actor_id=w.people["nina"].user_id, outcome=Outcome.SUCCESS
    ).exists()


def test_rule4_window_is_a_deployment_setting(w, settings):
    settings.KINFOLD_EMERGENCY_ACCESS_HOURS = 1
    access = consent_services.emergency_declare(
        viewer=viewer(w.people["nina"]), family=w.family, reason="Heavy bleeding after delivery"
    )
    assert access.expires_at - access.declared_at == timedelta(hours=1)


def test_rule4_is_refused_to_a_non_clinician_and_without_a_reason_and_each_refusal_is_audited(w):
    with pytest.raises(PermissionDenied):
        consent_services.emergency_declare(viewer=viewer(w.people["carl"]), family=w.family, reason="She is unwell")
    with pytest.raises(ValidationError):
        consent_services.emergency_declare(viewer=viewer(w.people["nina"]), family=w.family, reason="   ")
    assert EmergencyAccess.objects.count() == 0
    refusals = AuditEvent.objects.filter(action=Action.EMERGENCY, outcome=Outcome.DENIED)
    assert {e.actor_id for e in refusals} == {w.people["carl"].user_id, w.people["nina"].user_id}
    # A row written by hand for a non-clinician still opens nothing.
    emergency(w, "carl")
    assert w.sees("carl", "attendance", "emergency") is False


def test_rule4_overrides_an_agreed_restriction(w):
    grant(w, discloser_orgs=("otp",), recipient_orgs=("hospital",), purposes=TPO, categories=("sud_treatment",))
    restrict(w, disclosing="otp", recipient_org="hospital")
    assert w.sees("nina", "attendance", "treatment") is False
    emergency(w, "nina")
    d = w.decide("nina", w.notes["attendance"], "emergency")
    assert (d.permitted, d.rule) == (True, "4")


# --- restrictions (2.26) -------------------------------------------------------------------------------


def test_an_agreed_restriction_denies_rule2_from_the_instant_it_is_agreed(w):
    grant(
        w,
        discloser_orgs=("otp",),
        recipient_orgs=("cps",),
        purposes=("child_welfare_case",),
        categories=("sud_treatment",),
    )
    r = restrict(w, disclosing="otp", recipient_org="cps", categories=("sud_treatment",))
    assert r.decided_at is not None
    assert w.sees("carl", "attendance", "child_welfare_case", at=r.decided_at - MICRO)
    assert w.sees("carl", "attendance", "child_welfare_case", at=r.decided_at) is False


def test_requested_or_refused_restrictions_change_nothing(w):
    grant(
        w,
        discloser_orgs=("otp",),
        recipient_orgs=("cps",),
        purposes=("child_welfare_case",),
        categories=("sud_treatment",),
    )
    restrict(w, disclosing="otp", recipient_org="cps", status=RestrictionStatus.REQUESTED)
    restrict(w, disclosing="otp", recipient_org="cps", status=RestrictionStatus.REFUSED)
    assert w.sees("carl", "attendance", "child_welfare_case")


def test_a_restriction_matches_by_recipient_person_category_purpose_and_disclosing_organisation(w):
    grant(
        w,
        discloser_classes=("care_team",),
        recipient_orgs=("cps",),
        purposes=("child_welfare_case", "care_coordination"),
        categories=("sud_treatment", "general_health"),
    )
    join(w, "sue")
    restrict(
        w, disclosing="otp", recipient_person="carl", categories=("sud_treatment",), purposes=("child_welfare_case",)
    )
    assert w.sees("carl", "attendance", "child_welfare_case") is False
    assert w.sees("sue", "attendance", "child_welfare_case"), "her colleague is not named"
    assert w.sees("carl", "otp_visit", "child_welfare_case"), "general health is not restricted"
    assert w.sees("carl", "attendance", "care_coordination"), "that purpose is not restricted"
    assert w.sees("carl", "ob_medication", "child_welfare_case"), "the OB clinic agreed to no restriction"


def test_a_restriction_denies_rule3b_but_not_a_court_order_or_own_staff(w):
    grant(
        w,
        discloser_orgs=("otp",),
        recipient_orgs=("court",),
        purposes=("court_proceeding",),
        categories=("sud_treatment",),
    )
    restrict(w, disclosing="otp", recipient_org="court")
    assert w.sees("cora", "attendance", "court_proceeding") is False
    order(w, recorded_by="otp", categories=("sud_treatment",), findings=(True, True))
    assert w.decide("cora", w.notes["attendance"], "court_proceeding").rule == "3a"
    # A restriction naming the programme's own counsellor does not limit rule 1.
    restrict(w, disclosing="otp", recipient_person="tess")
    assert w.decide("tess", w.notes["attendance"], "treatment").rule == "1"


def test_rule_a_a_request_is_seen_by_the_organisation_it_asks_with_the_notice_only_outside_its_maker(w):
    """Rule A: a restriction request is also seen by staff of the organisation it asks who may open the family.
    One naming a Part 2 programme is a Part 2 record, so it carries the 42 CFR 2.32 notice when shown outside
    the organisation that recorded it, and never inside it (CONSENT-RULES, "Obligations")."""
    family = make_family(w.people["tess"], given_name="Rosa", family_name="Diaz")  # the programme's own family

    def request(recorded_by: str) -> Restriction:
        m = w.people[recorded_by]
        return Restriction.objects.create(
            family=family,
            disclosing_org=w.orgs["otp"],
            recipient_org=w.orgs["cps"],
            categories=["sud_treatment"],
            requested_at=w.now - timedelta(days=1),
            created_by=m.user,
            created_by_org=m.organization,
            sensitivity=Sensitivity.SUD_TREATMENT,  # it names a Part 2 programme
        )

    # Front desk sees contact details only (rule 1 does not show it), but the request asks her programme.
    own = w.decide("fran", request("tess"), "operations")
    assert (own.permitted, own.rule) == (True, "A")
    assert not own.shows_redisclosure_notice, "recorded by her own programme: it never left it"
    outside = w.decide("fran", request("ana"), "operations")
    assert (outside.permitted, outside.rule) == (True, "A")
    assert outside.shows_redisclosure_notice, "recorded by Bridges: a Part 2 record from outside her programme"


# --- consent lifecycle ------------------------------------------------------------------------------------


def _cps_attendance(w: World, **kwargs: Any) -> ConsentVersion:
    return grant(
        w,
        discloser_orgs=("otp",),
        recipient_orgs=("cps",),
        purposes=("child_welfare_case",),
        categories=("sud_treatment",),
        **kwargs,
    )


def test_intervals_are_half_open_effective_covered_expiry_not(w):
    starts, ends = w.now - timedelta(days=3), w.now + timedelta(days=3)
    _cps_attendance(w, signed_at=starts, expires_at=ends)
    assert w.sees("carl", "attendance", "child_welfare_case", at=starts - MICRO) is False
    assert w.sees("carl", "attendance", "child_welfare_case", at=starts)
    assert w.sees("carl", "attendance", "child_welfare_case", at=ends - MICRO)
    assert w.sees("carl", "attendance", "child_welfare_case", at=ends) is False


def test_a_consent_takes_effect_at_its_effective_instant_not_at_signing(w):
    signed, effective = w.now - timedelta(days=3), w.now - timedelta(days=1)
    _cps_attendance(w, signed_at=signed, effective_at=effective)
    assert w.sees("carl", "attendance", "child_welfare_case", at=signed) is False
    assert w.sees("carl", "attendance", "child_welfare_case", at=effective - MICRO) is False
    assert w.sees("carl", "attendance", "child_welfare_case", at=effective)


def test_revocation_ends_every_version_at_its_instant_and_never_reaches_back(w):
    v1 = _cps_attendance(w, signed_at=w.now - timedelta(days=5))
    v2 = _cps_attendance(w, directive=v1.directive, signed_at=w.now - timedelta(days=2))
    revoked = consent_services.consent_revoke(viewer=viewer(w.people["ana"]), directive=v1.directive, method="spoken")
    at = revoked.revoked_at
    assert at is not None
    before = w.decide("carl", w.notes["attendance"], "child_welfare_case", at=at - MICRO)
    assert (before.permitted, before.consent_version_id) == (True, v2.pk)
    assert w.sees("carl", "attendance", "child_welfare_case", at=at) is False
    assert w.sees("carl", "attendance", "child_welfare_case", at=w.now - timedelta(days=4)), "never reaches back"
    assert w.sees("carl", "attendance", "child_welfare_case", at=at + timedelta(days=30)) is False


def test_a_new_version_supersedes_the_previous_one_at_its_effective_instant(w):
    v1 = grant(
        w,
        discloser_orgs=("otp",),
        recipient_orgs=("cps",),
        purposes=("child_welfare_case",),
        categories=("sud_treatment", "general_health"),
        signed_at=w.now - timedelta(days=5),
    )
    v2_effective = w.now - timedelta(days=1)
    v2 = grant(
        w,
        directive=v1.directive,
        discloser_orgs=("otp",),
        recipient_orgs=("cps",),
        purposes=("child_welfare_case",),
        categories=("general_health",),
        signed_at=w.now - timedelta(days=2),
        effective_at=v2_effective,
    )
    before = w.decide("carl", w.notes["attendance"], "child_welfare_case", at=v2_effective - MICRO)
    assert (before.permitted, before.consent_version_id) == (True, v1.pk), "v2 signed but not yet in effect"
    assert w.sees("carl", "attendance", "child_welfare_case", at=v2_effective) is False
    after = w.decide("carl", w.notes["otp_visit"], "child_welfare_case", at=v2_effective)
    assert (after.permitted, after.consent_version_id) == (True, v2.pk)


def test_a_version_signed_later_but_effective_sooner_ends_every_earlier_version_so_none_overlap(w):
    # v2 is signed to start in ten days; before then she signs v3, effective at once and narrower.
    v1 = _cps_attendance(w, signed_at=w.now - timedelta(days=5))
    v2 = _cps_attendance(
        w, directive=v1.directive, signed_at=w.now - timedelta(days=3), effective_at=w.now + timedelta(days=10)
    )
    v3_effective = w.now - timedelta(days=1)
    v3 = grant(
        w,
        directive=v1.directive,
        discloser_orgs=("otp",),
        recipient_orgs=("cps",),
        purposes=("child_welfare_case",),
        categories=("general_health",),
        signed_at=v3_effective,
    )
    before = w.decide("carl", w.notes["attendance"], "child_welfare_case", at=v3_effective - MICRO)
    assert (before.permitted, before.consent_version_id) == (True, v1.pk)
    # From v3's instant, v1 no longer covers attendance, and v2 (superseded before it began) never does.
    for at in (v3_effective, w.now, w.now + timedelta(days=10), w.now + timedelta(days=20)):
        assert w.sees("carl", "attendance", "child_welfare_case", at=at) is False, at
        assert w.decide("carl", w.notes["otp_visit"], "child_welfare_case", at=at).consent_version_id == v3.pk
    assert v2.pk not in {
        w.decide("carl", w.notes["otp_visit"], "child_welfare_case", at=at).consent_version_id
        for at in (w.now + timedelta(days=10), w.now + timedelta(days=11))
    }


MISSING_ELEMENTS = {
    "patient's name": {"patient_name": " "},
    "who may share": {"_disclosers": True},
    "who may receive": {"_recipients": True},
    "purpose": {"purposes": ()},
    "what information": {"categories": ()},
    "the right to revoke": {"right_to_revoke": ""},
    "expiry": {"expires_at": None, "expiry_event": ""},
    "signer's name": {"signer_name": ""},
    "signature": {"signature_typed": "", "signature_drawn": ""},
}


@pytest.mark.parametrize("element", list(MISSING_ELEMENTS))
def test_a_version_missing_any_required_element_covers_nothing(w, element):
    overrides = dict(MISSING_ELEMENTS[element])
    terms: dict[str, Any] = {
        "discloser_orgs": ("otp",),
        "recipient_orgs": ("cps",),
        "purposes": ("child_welfare_case",),
        "categories": ("sud_treatment",),
    }
    if overrides.pop("_disclosers", False):
        terms["discloser_orgs"] = ()
    if overrides.pop("_recipients", False):
        terms["recipient_orgs"] = ()
    terms.update(overrides)
    version = grant(w, **terms)
    assert element in version.missing_elements()
    for purpose in ("child_welfare_case", "treatment", "care_coordination"):
        for key in w.notes:
            if w.notes[key].created_by_org_id != w.orgs["cps"].pk:
                assert w.sees("carl", key, purpose) is False, (element, key, purpose)


def test_an_expiry_event_ends_the_consent_at_the_instant_it_is_recorded(w):
    version = _cps_attendance(w, expires_at=None, expiry_event="when my CPS case closes")
    assert w.sees("carl", "attendance", "child_welfare_case")
    version = consent_services.consent_expiry_event_record(viewer=viewer(w.people["ana"]), version=version)
    ended = version.expiry_event_recorded_at
    assert ended is not None
    assert w.sees("carl", "attendance", "child_welfare_case", at=ended - MICRO)
    assert w.sees("carl", "attendance", "child_welfare_case", at=ended) is False


@pytest.mark.parametrize(
    ("minor_signs_alone", "guardian_signed", "covers"),
    [(True, False, True), (False, False, False), (False, True, True)],
)
def test_a_minor_parent_signs_as_the_deployment_setting_says(w, settings, minor_signs_alone, guardian_signed, covers):
    settings.KINFOLD_MINOR_MAY_CONSENT_ALONE = minor_signs_alone
    today = clock.local_date(w.now - timedelta(days=10))
    Person.objects.filter(pk=w.family.parent_id).update(born_on=date(today.year - 16, 1, 1))
    _cps_attendance(w, guardian_name="Rosa Lopez" if guardian_signed else "",
                    guardian_signature_typed="Rosa Lopez" if guardian_signed else "")  # fmt: skip
    assert w.sees("carl", "attendance", "child_welfare_case") is covers


def test_an_adult_parent_needs_no_guardian_whatever_the_setting(w, settings):
    settings.KINFOLD_MINOR_MAY_CONSENT_ALONE = False
    Person.objects.filter(pk=w.family.parent_id).update(born_on=date(1995, 5, 5))
    _cps_attendance(w)
    assert w.sees("carl", "attendance", "child_welfare_case")


def test_a_childs_records_follow_the_parents_consent(w):
    child = Person.objects.create(
        family=w.family,
        given_name="Luz",
        family_name="Lopez",
        born_on=clock.local_date(w.now) - timedelta(days=40),
        created_by_org=w.orgs["hospital"],
    )
    rel = FamilyRelationship.objects.create(
        family=w.family, person=child, category="child", created_by_org=w.orgs["hospital"]
    )
    assert w.sees("carl", child, "child_welfare_case") is False
    grant(
        w,
        discloser_orgs=("hospital",),
        recipient_orgs=("cps",),
        purposes=("child_welfare_case",),
        categories=("contact",),
    )
    assert w.sees("carl", child, "child_welfare_case")
    assert w.sees("carl", rel, "child_welfare_case")


# --- obligations -----------------------------------------------------------------------------------------


def test_the_redisclosure_notice_goes_with_part2_records_outside_the_creating_organisation_only(w):
    grant(
        w,
        discloser_classes=("care_team",),
        recipient_classes=("care_team",),
        purposes=("child_welfare_case",),
        categories=("contact", "sud_treatment", "general_health", "mental_health", "social_needs"),
    )
    part2 = {"attendance", "otp_visit", "therapy", "ob_medication"}
    not_part2 = {"ob_visit", "social"}
    for key in part2:
        d = w.decide("carl", w.notes[key], "child_welfare_case")
        assert d.permitted and d.shows_redisclosure_notice, key
    for key in not_part2:
        d = w.decide("carl", w.notes[key], "child_welfare_case")
        assert d.permitted and not d.shows_redisclosure_notice, key
    assert not w.decide("tess", w.notes["attendance"], "treatment").shows_redisclosure_notice

    exported = selectors.family_export(viewer=viewer(w.people["carl"]), family_id=w.family.pk)
    by_summary = {r["summary"]: r for r in exported["records"]}
    for key in part2:
        assert by_summary[w.notes[key].summary].get("redisclosure_notice") == REDISCLOSURE_NOTICE_TEXT, key
    for key in not_part2:
        assert "redisclosure_notice" not in by_summary[w.notes[key].summary], key
    assert exported["redisclosure_notice"] == REDISCLOSURE_NOTICE_TEXT

    own = selectors.family_export(viewer=viewer(w.people["ana"]), family_id=w.family.pk)
    assert own["redisclosure_notice"] is None, "nothing Part 2 left its creating organisation"
    assert all("redisclosure_notice" not in r for r in own["records"])


def test_child_welfare_and_court_roles_never_get_sud_treatment_by_role(w, tmp_path: Path):
    for role in ("cps_caseworker", "cps_supervisor", "court_coordinator", "judge"):
        assert "sud_treatment" not in load_role_table().roles[role].categories
        raw = yaml.safe_load(ROLE_TABLE_PATH.read_text(encoding="utf-8"))
        raw["roles"][role]["categories"].append("sud_treatment")
        bad = tmp_path / f"{role}.yaml"
        bad.write_text(yaml.safe_dump(raw), encoding="utf-8")
        with pytest.raises(RoleTableError, match=f"{role} may not be granted sud_treatment"):
            load_role_table(bad)
    # Even a SUD-treatment record that (wrongly) came from their own organisation stays closed to them.
    from kinfold.access.registry import RecordFacts

    for who, org_key in (("carl", "cps"), ("sue", "cps"), ("cora", "court"), ("jude", "court")):
        facts = RecordFacts(family_id=w.family.pk, created_by_org_id=w.orgs[org_key].pk, category="sud_treatment")
        assert w.decide(who, facts, "court_proceeding").permitted is False, who
        assert w.decide(who, facts, "child_welfare_case").permitted is False, who


def test_the_api_carries_the_redisclosure_notice_when_a_part2_record_leaves_its_programme(w):
    """A family the treatment programme created: its parent's identity is itself a Part 2 record."""
    from django.test import Client

    family = make_family(w.people["tess"], given_name="Rosa", family_name="Diaz")
    CareTeamMember.objects.create(
        care_team=family.care_team, membership=w.people["carl"], role=Role.CPS_CASEWORKER,
        joined_at=w.now - timedelta(days=1), created_by_org=w.orgs["otp"],
    )  # fmt: skip
    directive = ConsentDirective.objects.create(
        family=family, patient=family.parent, title="CPS updates", created_by_org=w.orgs["otp"]
    )
    version = ConsentVersion.objects.create(
        directive=directive, number=1, patient_name="Rosa Diaz", purposes=["child_welfare_case"],
        categories=["contact"], right_to_revoke="You can take it back.", expires_at=w.now + timedelta(days=30),
        signer_name="Rosa Diaz", signature_method="typed", signature_typed="Rosa Diaz",
        signed_at=w.now - timedelta(days=1), effective_at=w.now - timedelta(days=1), created_by_org=w.orgs["otp"],
    )  # fmt: skip
    version.discloser_orgs.set([w.orgs["otp"]])
    version.recipient_orgs.set([w.orgs["cps"]])

    carl, tess = Client(), Client()
    carl.force_login(w.people["carl"].user)
    tess.force_login(w.people["tess"].user)
    [item] = carl.get("/api/families").json()["items"]
    assert item["id"] == family.pk and item["redisclosure_notice"] == REDISCLOSURE_NOTICE_TEXT
    assert carl.get(f"/api/families/{family.pk}").json()["redisclosure_notice"] == REDISCLOSURE_NOTICE_TEXT
    [own] = tess.get("/api/families").json()["items"]
    assert own["redisclosure_notice"] is None
    assert tess.get(f"/api/families/{family.pk}").json()["redisclosure_notice"] is None
    # Maria's family (made by Bridges, not a Part 2 programme) carries no notice to Ana.
    ana = Client()
    ana.force_login(w.people["ana"].user)
    assert ana.get(f"/api/families/{w.family.pk}").json()["redisclosure_notice"] is None
