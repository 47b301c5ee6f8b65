"""The accounting of disclosures (42 CFR 2.24, 2.25; 45 CFR 164.528): what the parent reads about who outside an
organisation saw its records of her family, when and why. Staff who may open her family read the entries
whose records they may read; a privacy officer reads her own organisation's disclosures."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from kinfold import clock
from kinfold.audit.models import Action, AuditEvent, Outcome
from kinfold.consent import services as consent_services
from kinfold.consent.accounting import accounting_for, accounting_starts
from kinfold.consent.models import ConsentDirective, Disclosure
from kinfold.families import selectors
from kinfold.families import services as family_services
from kinfold.families.models import Family
from kinfold.families.selectors import PurposeRefused
from kinfold.notes import services as note_services
from kinfold.notes.models import Note
from kinfold.organizations.models import Membership, Organization, OrganizationType, Role
from tests.factories import OrganizationFactory, consent_team_wide, make_family, staff, viewer_of

pytestmark = pytest.mark.django_db


@dataclass
class Team:
    family: Family
    ana: Membership  # designated coordinator, Bridges (community)
    carl: Membership  # CPS caseworker
    sue: Membership  # CPS supervisor
    tess: Membership  # counsellor at Hope Recovery Center (a Part 2 programme)
    consent: ConsentDirective
    cps: Organization
    otp: Organization


@pytest.fixture
def team(coordinator, caseworker, treatment_org) -> Team:
    family = make_family(coordinator, given_name="Maria", family_name="Lopez")
    tess = staff(treatment_org, Role.SUD_COUNSELOR, user__first_name="Tess", user__last_name="Okafor")
    sue = staff(caseworker.organization, Role.CPS_SUPERVISOR, user__first_name="Sue", user__last_name="Park")
    for m in (caseworker, sue, tess):
        family_services.care_team_member_add(viewer=viewer_of(coordinator), family=family, membership=m, role=m.role)
    consent = consent_team_wide(
        family, by=coordinator, categories=("contact", "sud_treatment", "general_health", "child_welfare")
    )
    note_services.note_add(viewer=viewer_of(tess), family=family, kind="treatment_attendance", summary="Attended group")
    note_services.note_add(
        viewer=viewer_of(caseworker), family=family, kind="case_note", summary="Home visit went well"
    )
    return Team(family, coordinator, caseworker, sue, tess, consent, caseworker.organization, treatment_org)


def page(m: Membership, family: Family, purpose: str | None = None) -> Any:
    return selectors.family_detail(viewer=viewer_of(m), family_id=family.pk, purpose=purpose)


def test_only_rules_2_to_4_are_disclosures_never_a_staff_members_own_organisations_records(team):
    page(team.carl, team.family)
    page(team.tess, team.family)
    rows = list(Disclosure.objects.all())
    assert rows, "the caseworker saw the programme's attendance and Bridges' contact details"
    for row in rows:
        assert row.recipient_org_id != row.disclosing_org_id
        assert row.rule in {"2", "3a", "3b", "4"}
    carl_saw = [r for row in rows if row.recipient_user_id == team.carl.user_id for r in row.records]
    assert any(r["type"] == "Note" and r["category"] == "sud_treatment" for r in carl_saw)
    assert all(r["category"] != "child_welfare" for r in carl_saw), "his own case note is not a disclosure"
    tess_rows = [row for row in rows if row.recipient_user_id == team.tess.user_id]
    assert all(row.disclosing_org_id != team.otp.pk for row in tess_rows)
    assert all(row.consent_version_id == team.consent.versions.get().pk for row in rows)


def test_a_caseload_accounts_for_each_record_in_plain_words(team):
    """The caseload reads its rows as plain values; the accounting still names each record shown in words ("care
    team", "pregnancy"), never the values the door decided it by."""
    family_services.pregnancy_start(
        viewer=viewer_of(team.ana), family=team.family, estimated_due_on=clock.today() + timedelta(days=60)
    )
    viewer = viewer_of(team.carl)
    caseload = selectors.caseload_for(viewer=viewer)
    selectors.caseload_rows(viewer=viewer, caseload=caseload)
    listed = [r for row in Disclosure.objects.filter(channel="list") for r in row.records]
    assert {"care team", "pregnancy", "parent's name"} <= {r["label"] for r in listed}, listed
    assert not [r for r in listed if "RecordFacts" in r["label"] or "=" in r["label"]]


def test_the_accounting_groups_by_recipient_and_day(team):
    page(team.carl, team.family)
    page(team.carl, team.family)
    page(team.sue, team.family)
    entries = accounting_for(viewer=viewer_of(team.ana), family_id=team.family.pk).entries
    carl = [e for e in entries if e.recipient_name == "Carl Jensen"]
    sue = [e for e in entries if e.recipient_name == "Sue Park"]
    assert len(carl) == 1 and len(sue) == 1
    assert carl[0].times == 2 * sue[0].times
    assert carl[0].day == clock.today()
    assert carl[0].recipient_org == "Lakeview County Child Protective Services"
    assert carl[0].disclosing_orgs == ["Bridges Family Resource Center", "Hope Recovery Center"]
    assert "sud_treatment" in carl[0].categories
    assert "Team-wide coordination" in carl[0].basis
    assert carl[0].sentence.startswith("Carl Jensen at Lakeview County Child Protective Services saw")


def test_the_last_three_years_include_an_access_exactly_three_years_ago(team):
    now = datetime(2026, 6, 15, 16, 0, tzinfo=UTC)
    starts = accounting_starts(now)
    assert starts == now.replace(year=2023)
    attendance = Note.objects.get(family=team.family, kind="treatment_attendance")  # a record Ana may read
    for at, who in ((starts, "Exactly Three"), (starts - timedelta(microseconds=1), "Just Before")):
        Disclosure.objects.create(
            occurred_at=at,
            family=team.family,
            recipient_user=team.carl.user,
            recipient_name=who,
            recipient_org=team.cps,
            disclosing_org=team.otp,
            purpose="child_welfare_case",
            rule="2",
            consent_version=team.consent.versions.get(),
            categories=["sud_treatment"],
            records=[{"type": "Note", "id": attendance.pk, "category": "sud_treatment", "label": "attendance"}],
        )
    names = [
        e.recipient_name for e in accounting_for(viewer=viewer_of(team.ana), family_id=team.family.pk, now=now).entries
    ]
    assert names == ["Exactly Three"]
    assert accounting_starts(datetime(2028, 2, 29, 12, tzinfo=UTC)).date() <= datetime(2025, 2, 28).date()


def test_disclosures_of_her_childrens_records_are_included(team):
    family_services.family_member_add(
        viewer=viewer_of(team.tess), family=team.family, given_name="Luz", family_name="Lopez", category="child",
        born_on=clock.today() - timedelta(days=30),
    )  # fmt: skip
    detail = page(team.carl, team.family)
    assert [r.person.given_name for r in detail.members] == ["Luz"]
    [row] = Disclosure.objects.filter(recipient_user=team.carl.user, disclosing_org=team.otp)
    labels = {r["label"] for r in row.records}
    assert "Luz Lopez" in labels
    [entry] = [
        e for e in accounting_for(viewer=viewer_of(team.ana), family_id=team.family.pk).entries
        if e.recipient_name == "Carl Jensen"
    ]  # fmt: skip
    assert entry.records == sum(len(r.records) for r in Disclosure.objects.filter(recipient_user=team.carl.user))


def test_what_was_disclosed_before_a_revocation_stays_listed_and_is_marked(team):
    page(team.carl, team.family)
    consent_services.consent_revoke(viewer=viewer_of(team.ana), directive=team.consent, method="written")
    with pytest.raises(selectors.FamilyNotFound):
        page(team.carl, team.family)
    a = accounting_for(viewer=viewer_of(team.ana), family_id=team.family.pk)
    [carl] = [e for e in a.entries if e.recipient_name == "Carl Jensen"]
    assert carl.made_before_revocation
    assert "before you took that consent back" in carl.sentence
    [revocation] = a.revocations
    assert revocation.title == "Team-wide coordination" and revocation.method == "in writing, signed"


def test_the_recipients_a_general_designation_reached_are_listed(team, treatment_org):
    # A second consent that names the caseworker's organisation: its recipients are not a general designation.
    consent_services.consent_record(
        viewer=viewer_of(team.ana),
        family=team.family,
        title="CPS status updates",
        terms=consent_services.ConsentTerms(
            discloser_orgs=[treatment_org, team.ana.organization],
            recipient_orgs=[team.cps],
            purposes=["research"],
            categories=["contact", "sud_treatment"],
            expires_at=clock.now() + timedelta(days=90),
            signer_name="Maria Lopez",
            signature_typed="Maria Lopez",
        ),
    )
    page(team.carl, team.family)
    # A CPS analyst on her team reads for research (her role may state it; a caseworker's may not).
    analyst = staff(team.cps, Role.QUALITY, user__first_name="Ann", user__last_name="Lyst")
    family_services.care_team_member_add(
        viewer=viewer_of(team.ana), family=team.family, membership=analyst, role=Role.QUALITY
    )
    page(analyst, team.family, purpose="research")
    assert Disclosure.objects.filter(purpose="research", recipient_user=analyst.user).exists()
    with pytest.raises(PurposeRefused):
        page(team.carl, team.family, purpose="research")
    listed = dict(accounting_for(viewer=viewer_of(team.ana), family_id=team.family.pk).general_designation_recipients)
    assert list(listed) == ["Team-wide coordination — “the organisations on my care team”"]
    assert listed["Team-wide coordination — “the organisations on my care team”"] == [
        "Carl Jensen (Lakeview County Child Protective Services)"
    ]


def carl_entry(m: Membership, team: Team) -> Any:
    [entry] = [
        e for e in accounting_for(viewer=viewer_of(m), family_id=team.family.pk).entries
        if e.recipient_name == "Carl Jensen"
    ]  # fmt: skip
    return entry


def test_anyone_who_may_open_the_family_reads_it_and_sees_an_entry_only_where_she_may_read_its_records(team, outsider):
    """CONSENT-RULES, "Who sees consents and the accounting": not the coordinator's alone. Anyone who may open
    the family opens it; a staff member sees an entry only where the policy lets her read every record it
    names, so an agreed restriction hides from CPS what Hope disclosed to CPS before, not from the coordinator."""
    page(team.carl, team.family)
    for m in (team.ana, team.carl, team.sue, team.tess):
        accounting_for(viewer=viewer_of(m), family_id=team.family.pk)
        assert AuditEvent.objects.filter(
            actor_id=m.user_id, record_type="Accounting", action=Action.VIEW, outcome=Outcome.SUCCESS
        ).exists()
    assert carl_entry(team.carl, team).disclosing_orgs == ["Bridges Family Resource Center", "Hope Recovery Center"]

    requested = consent_services.restriction_request(
        viewer=viewer_of(team.ana), family=team.family, disclosing_org=team.otp, recipient_org=team.cps,
        categories=["sud_treatment"],
    )  # fmt: skip
    consent_services.restriction_decide(viewer=viewer_of(team.tess), restriction=requested, agree=True)
    # CPS may no longer read Hope's attendance note: Hope's part of the entry is no longer shown to CPS.
    for m in (team.carl, team.sue):
        assert carl_entry(m, team).disclosing_orgs == ["Bridges Family Resource Center"]
    # The coordinator still reads it under the parent's consent, and sees the whole entry.
    whole = carl_entry(team.ana, team)
    assert whole.disclosing_orgs == ["Bridges Family Resource Center", "Hope Recovery Center"]
    assert "sud_treatment" in whole.categories

    # Someone who may not open the family gets "not found", never "forbidden", and the attempt is audited.
    with pytest.raises(selectors.FamilyNotFound):
        accounting_for(viewer=viewer_of(outsider), family_id=team.family.pk)
    assert AuditEvent.objects.filter(
        actor_id=outsider.user_id, record_type="Family", outcome=Outcome.DENIED, family_id=team.family.pk
    ).exists()
    assert not AuditEvent.objects.filter(actor_id=outsider.user_id, record_type="Accounting").exists()
    url = f"/families/{team.family.pk}/accounting/?format=csv"
    assert client_of(outsider).get(url).status_code == 404
    assert client_of(team.carl).get(url).status_code == 200


def client_of(m: Membership) -> Client:
    client = Client()
    client.force_login(m.user)
    return client


def hope_privacy_officer(team: Team) -> Membership:
    """Hope's privacy officer, who may open the family: a consent lets Bridges share Maria's contact details
    with Hope for its health-care operations (as a programme's privacy officer meets her families)."""
    officer = staff(team.otp, Role.PRIVACY_OFFICER, user__first_name="Priya", user__last_name="Shah")
    consent_services.consent_record(
        viewer=viewer_of(team.ana),
        family=team.family,
        title="Hope operations",
        terms=consent_services.ConsentTerms(
            discloser_orgs=[team.ana.organization],
            recipient_orgs=[team.otp],
            purposes=["operations"],
            categories=["contact"],
            expires_at=clock.now() + timedelta(days=365),
            signer_name="Maria Lopez",
            signature_typed="Maria Lopez",
        ),
    )
    return officer


def csv_rows(m: Membership, family: Family) -> list[list[str]]:
    response = client_of(m).get(f"/families/{family.pk}/accounting/?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_csv_download_lists_each_disclosure_she_may_see_and_the_revocation_on_her_calendar_day(team):
    officer = hope_privacy_officer(team)
    page(team.carl, team.family)
    consent_services.consent_revoke(viewer=viewer_of(team.ana), directive=team.consent, method="spoken")
    # Revoked at 03:30 UTC: the evening before, in the deployment's time zone (America/New_York).
    # Before 03:30 UTC it is already the evening before in New York: a second ago serves (it must be past).
    late_evening = min(
        clock.now().replace(hour=3, minute=30, second=0, microsecond=0), clock.now() - timedelta(seconds=1)
    )
    ConsentDirective.objects.filter(pk=team.consent.pk).update(revoked_at=late_evening)

    rows = csv_rows(team.ana, team.family)
    assert rows[0] == [
        "date",
        "who received it",
        "organisation",
        "from",
        "what (kinds of information)",
        "purpose",
        "why",
        "times",
        "notes",
    ]
    [carl] = [r for r in rows if r[1] == "Carl Jensen"]
    assert carl[0] == clock.today().isoformat()
    assert carl[2] == "Lakeview County Child Protective Services"
    # With the consent revoked the coordinator may no longer read Hope's attendance note: she sees only
    # Bridges' part of what Carl saw. (Hope's privacy officer sees Hope's part, below.)
    assert carl[3] == "Bridges Family Resource Center"
    # Tess's place on the team names her programme: a Part 2 record, though Bridges made it.
    assert carl[4].split("; ") == ["care_team", "identity", "treatment_enrolment"]
    assert carl[5] == "child_welfare_case"
    assert carl[8] == "made before the consent was revoked"
    [revoked] = [r for r in rows if r[6].startswith("revoked:")]
    assert revoked[0] == clock.local_date(late_evening).isoformat()
    assert revoked[0] != late_evening.date().isoformat()
    assert revoked[6] == "revoked: Team-wide coordination (spoken to a staff member)"
    assert AuditEvent.objects.filter(actor_id=team.ana.user_id, record_type="Accounting").exists()

    # Hope's privacy officer sees her own organisation's disclosure to Carl, marked as before the revocation.
    hope_rows = csv_rows(officer, team.family)
    [from_hope] = [r for r in hope_rows if r[1] == "Carl Jensen"]
    assert from_hope[3] == "Hope Recovery Center"
    assert from_hope[4] == "treatment_attendance"
    assert from_hope[5] == "child_welfare_case"
    assert from_hope[8] == "made before the consent was revoked"


def test_court_orders_and_emergencies_are_accounted_and_the_emergency_is_flagged(team, treatment_org):
    court = OrganizationFactory(name="Lakeview Family Treatment Court", type=OrganizationType.COURT)
    cora = staff(court, Role.COURT_COORDINATOR, user__first_name="Cora", user__last_name="Vance")
    family_services.care_team_member_add(
        viewer=viewer_of(team.ana), family=team.family, membership=cora, role=cora.role
    )
    # Bridges' privacy officer records the order: it opens Bridges' records (her record and contact details).
    bridges_officer = staff(team.ana.organization, Role.PRIVACY_OFFICER)
    now = clock.now()
    consent_services.court_order_record(
        viewer=viewer_of(bridges_officer), family=team.family, court=court, order_reference="FTC-2026-0042",
        issued_on=clock.today(), categories=["contact", "child_welfare"], valid_from=now - timedelta(minutes=1),
        valid_until=now + timedelta(days=30), finding_other_means_unavailable=False,
        finding_public_interest_outweighs_harm=False,
    )  # fmt: skip
    page(cora, team.family)
    court_rows = Disclosure.objects.filter(recipient_user=cora.user)
    assert set(court_rows.values_list("rule", flat=True)) == {"3a"}
    assert set(court_rows.values_list("disclosing_org", flat=True)) == {team.ana.organization_id}

    hospital = OrganizationFactory(name="Lakeview General Hospital", type=OrganizationType.HOSPITAL)
    nina = staff(hospital, Role.NURSE, user__first_name="Nina", user__last_name="Adeyemi")
    access = consent_services.emergency_declare(
        viewer=viewer_of(nina), family=team.family, reason="Unresponsive on arrival, suspected overdose"
    )
    detail = page(nina, team.family, purpose="emergency")
    assert {n.summary for n in detail.data["notes"]["notes"]} == {"Attended group", "Home visit went well"}
    rows = Disclosure.objects.filter(recipient_user=nina.user)
    assert {r.rule for r in rows} == {"4"} and {r.emergency_id for r in rows} == {access.pk}
    assert (
        AuditEvent.objects.filter(
            actor_id=nina.user_id, action=Action.EMERGENCY, record_type="Disclosure", detail__flag="break_the_glass"
        ).count()
        == rows.count()
    )
    entries = accounting_for(viewer=viewer_of(team.ana), family_id=team.family.pk).entries
    bases = {e.recipient_name: e.basis for e in entries}
    assert bases["Cora Vance"] == "court order FTC-2026-0042"
    assert bases["Nina Adeyemi"] == "a medical emergency declared by a clinician"


def test_the_accounting_table_keeps_its_foreign_keys_and_one_index_besides_its_key() -> None:
    """Every page view writes the accounting, so its table carries only the index its reads use (the family's
    entries, newest first); each reference keeps the database's own foreign-key constraint."""
    from django.db import connection

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Disclosure._meta.db_table)
    indexes = {
        tuple(c["columns"]) for c in constraints.values() if c["index"] and not c["primary_key"] and not c["unique"]
    }
    assert indexes == {("family_id", "occurred_at")}
    references = {c["columns"][0]: c["foreign_key"][0] for c in constraints.values() if c["foreign_key"]}
    assert references == {
        "family_id": "families_family",
        "recipient_user_id": "auth_user",
        "recipient_org_id": "organizations_organization",
        "disclosing_org_id": "organizations_organization",
        "consent_version_id": "consent_consentversion",
        "court_order_id": "consent_courtorder",
        "emergency_id": "consent_emergencyaccess",
    }
