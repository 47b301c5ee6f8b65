"""The pages for court orders (rule 3a), break-the-glass emergency access (rule 4) and the parent's requests
to restrict sharing (42 CFR 2.26), as the people who use them meet them.

The emergency email goes through a real SMTP server (aiosmtpd on 127.0.0.1), in a transactional test,
because the service sends it only once the declaration is committed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from kinfold import clock
from kinfold.audit.models import Action, AuditEvent, Outcome
from kinfold.consent import services as consent_services
from kinfold.consent.models import CourtOrder, Disclosure, EmergencyAccess, Restriction, RestrictionStatus
from kinfold.families import services as family_services
from kinfold.families.models import Family, FamilyActivity
from kinfold.notes import services as note_services
from kinfold.organizations.models import Membership, Organization, OrganizationType, Role
from tests.factories import OrganizationFactory, consent_team_wide, make_family, staff, viewer_of
from tests.support import client_for, free_port, text

ATTENDANCE = "Attended group session and took her medication dose"
OTP_VISIT = "Vitals checked at the treatment programme"
OB_VISIT = "Prenatal visit at 28 weeks, all well"
COURT_NOTE = "Hearing on reunification plan set"


@dataclass
class World:
    family: Family
    coordinator: Membership
    caseworker: Membership
    counsellor: Membership
    ob_clinician: Membership
    court_coordinator: Membership
    court: Organization
    treatment_org: Organization
    cps_org: Organization
    ob_org: Organization
    extra: dict[str, Membership] = field(default_factory=dict)


def build_world(
    coordinator: Membership, caseworker: Membership, treatment_org: Organization, *, consent_categories: tuple = ()
) -> World:
    """Maria's team: a community coordinator, a CPS caseworker, an opioid treatment programme counsellor,
    an OB clinician and the family treatment court's coordinator; records from each provider."""
    court = OrganizationFactory(name="Lakeview Family Treatment Court", type=OrganizationType.COURT)
    ob_org = OrganizationFactory(name="Riverside Prenatal Clinic", type=OrganizationType.OBSTETRIC)
    counsellor = staff(treatment_org, Role.SUD_COUNSELOR, user__first_name="Tess", user__last_name="Okafor")
    ob_clinician = staff(ob_org, Role.OB_CLINICIAN, user__first_name="Omar", user__last_name="Baptiste")
    court_coordinator = staff(court, Role.COURT_COORDINATOR, user__first_name="Cora", user__last_name="Vance")
    family = make_family(coordinator, given_name="Maria", family_name="Lopez")
    v = viewer_of(coordinator)
    for member, role in (
        (caseworker, Role.CPS_CASEWORKER),
        (counsellor, Role.SUD_COUNSELOR),
        (ob_clinician, Role.OB_CLINICIAN),
        (court_coordinator, Role.COURT_COORDINATOR),
    ):
        family_services.care_team_member_add(viewer=v, family=family, membership=member, role=role)
    consent_team_wide(
        family,
        by=coordinator,
        categories=("contact", "social_needs", "general_health", *consent_categories),
    )
    note_services.note_add(viewer=viewer_of(counsellor), family=family, kind="treatment_attendance", summary=ATTENDANCE)
    note_services.note_add(viewer=viewer_of(counsellor), family=family, kind="prenatal_visit", summary=OTP_VISIT)
    note_services.note_add(viewer=viewer_of(ob_clinician), family=family, kind="prenatal_visit", summary=OB_VISIT)
    note_services.note_add(viewer=viewer_of(coordinator), family=family, kind="court_report", summary=COURT_NOTE)
    return World(
        family=family,
        coordinator=coordinator,
        caseworker=caseworker,
        counsellor=counsellor,
        ob_clinician=ob_clinician,
        court_coordinator=court_coordinator,
        court=court,
        treatment_org=treatment_org,
        cps_org=caseworker.organization,
        ob_org=ob_org,
    )


@pytest.fixture
def world(coordinator, caseworker, treatment_org) -> World:
    return build_world(coordinator, caseworker, treatment_org)


def family_url(world: World, purpose: str | None = None) -> str:
    url = reverse("families:detail", args=[world.family.pk])
    return f"{url}?purpose={purpose}" if purpose else url


def order_form(world: World, **overrides: Any) -> dict[str, Any]:
    today = clock.today()
    data: dict[str, Any] = {
        "court": world.court.pk,
        "named_person": "",
        "order_reference": "FTC-2026-0142",
        "issued_on": today.isoformat(),
        "judge_name": "Judge Ellen Park",
        "categories": ["contact", "legal", "general_health"],
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=90)).isoformat(),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- court orders ------------------------------------------------------------------------------------


def privacy_officer(world: World, org: Organization, first_name: str, last_name: str) -> Membership:
    """A privacy officer of ``org`` who may open Maria's family. Bridges made her record, so its officer opens
    it by rule 1; any other organisation's officer meets her through a consent that lets Bridges share her
    contact details with that organisation for its health-care operations."""
    officer = staff(org, Role.PRIVACY_OFFICER, user__first_name=first_name, user__last_name=last_name)
    if org != world.coordinator.organization:
        consent_services.consent_record(
            viewer=viewer_of(world.coordinator),
            family=world.family,
            title=f"{org.name} operations",
            terms=consent_services.ConsentTerms(
                discloser_orgs=[world.coordinator.organization],
                recipient_orgs=[org],
                purposes=["operations"],
                categories=["contact"],
                expires_at=clock.now() + timedelta(days=365),
                signer_name="Maria Lopez",
                signature_typed="Maria Lopez",
            ),
        )
    return officer


def bridges_officer(world: World) -> Membership:
    return privacy_officer(world, world.coordinator.organization, "Bea", "Marsh")


def hope_officer(world: World) -> Membership:
    return privacy_officer(world, world.treatment_org, "Priya", "Shah")


def record_order(officer: Membership, world: World, **overrides: Any) -> Any:
    return client_for(officer).post(
        reverse("consent:court_order_add", args=[world.family.pk]), order_form(world, **overrides)
    )


@pytest.mark.django_db
def test_an_order_opens_only_the_records_of_the_organisation_that_recorded_it_and_never_part2_ones_without_findings(
    world,
):
    court = client_for(world.court_coordinator)
    # Before any order, a court on her team cannot use her record in the proceeding at all.
    assert court.get(family_url(world, "court_proceeding")).status_code == 404

    response = record_order(bridges_officer(world), world)
    assert response.status_code == 302
    order = CourtOrder.objects.get()
    assert order.court == world.court and not order.has_part2_findings
    assert order.created_by_org == world.coordinator.organization
    # The last day named on the order is included: [from, the day after the last day).
    assert clock.local_date(order.valid_until - timedelta(seconds=1)) == clock.today() + timedelta(days=90)

    page = text(court.get(family_url(world, "court_proceeding")))
    assert "You are viewing for: <strong>use in a court or other proceeding</strong>" in page
    assert COURT_NOTE in page
    # Ruling 3: Bridges' order opens Bridges' records only; the clinic's general-health note is not Bridges'.
    assert OB_VISIT not in page
    # The treatment programme's records are Part 2 records whatever their kind, and not Bridges' either.
    assert OTP_VISIT not in page and ATTENDANCE not in page
    assert "FTC-2026-0142" in page and "Not covered: the order has not both findings" in page
    disclosures = Disclosure.objects.filter(recipient_user=world.court_coordinator.user)
    assert disclosures.exists()
    assert {(d.rule, d.court_order_id, d.disclosing_org_id) for d in disclosures} == {
        ("3a", order.pk, world.coordinator.organization_id)
    }

    # Hope's privacy officer records the same order for Hope's records, without the findings: it is recorded,
    # and Hope's records, all Part 2 records, stay closed.
    response = record_order(
        hope_officer(world), world, categories=["contact", "legal", "general_health", "sud_treatment"]
    )
    assert response.status_code == 302
    hope_order = CourtOrder.objects.get(created_by_org=world.treatment_org)
    assert not hope_order.has_part2_findings
    page = text(court.get(family_url(world, "court_proceeding")))
    assert COURT_NOTE in page and OTP_VISIT not in page and ATTENDANCE not in page


@pytest.mark.django_db
def test_an_order_without_the_findings_is_recorded_and_opens_part2_records_once_its_privacy_officer_records_them(
    world,
):
    assert record_order(bridges_officer(world), world, categories=["contact", "legal"]).status_code == 302
    hope = hope_officer(world)
    form = order_form(world, categories=["contact", "legal", "sud_treatment"], finding_other_means_unavailable="on")
    response = client_for(hope).post(reverse("consent:court_order_add", args=[world.family.pk]), form)
    assert response.status_code == 302
    order = CourtOrder.objects.get(created_by_org=world.treatment_org)
    assert not order.has_part2_findings  # one finding of two is not the findings
    court = client_for(world.court_coordinator)
    assert ATTENDANCE not in text(court.get(family_url(world, "court_proceeding")))

    findings_url = reverse("consent:court_order_findings", args=[world.family.pk, order.pk])
    # Only a privacy officer of the organisation that recorded it records the findings: not Bridges' officer,
    # not the court; to them the order is not there.
    for other in (bridges_officer(world), world.court_coordinator, world.counsellor):
        assert client_for(other).post(findings_url, {"confirm": "on"}).status_code == 404
    order.refresh_from_db()
    assert not order.has_part2_findings

    # The family page offers it to Hope's privacy officer, with a box to tick.
    officer = client_for(hope)
    family_page = text(officer.get(family_url(world)))
    assert findings_url in family_page and "Record both findings" in family_page
    not_ticked = officer.post(findings_url, {}, follow=True)
    assert "Tick the box to confirm that the order records both findings." in text(not_ticked)
    order.refresh_from_db()
    assert not order.has_part2_findings
    done = officer.post(findings_url, {"confirm": "on"}, follow=True)
    assert "now opens the Part 2 records it names" in text(done)
    order.refresh_from_db()
    assert order.has_part2_findings
    assert AuditEvent.objects.filter(
        actor_id=hope.user_id, record_type="CourtOrder", record_id=str(order.pk), action=Action.UPDATE
    ).exists()

    page = text(court.get(family_url(world, "court_proceeding")))
    assert ATTENDANCE in page
    assert OTP_VISIT not in page  # general health is not what the order names
    assert "Records protected by 42 CFR Part 2 are shown on this page" in page
    assert "Both findings recorded" in page


@pytest.mark.django_db
def test_a_coordinator_cannot_record_a_court_order_only_a_privacy_officer_can(world):
    coordinator = client_for(world.coordinator)
    assert "Record a court order" not in text(coordinator.get(family_url(world)))
    url = reverse("consent:court_order_add", args=[world.family.pk])
    assert coordinator.get(url).status_code == 403
    refused = coordinator.post(url, order_form(world))
    assert refused.status_code == 403
    assert not CourtOrder.objects.exists()
    assert "Record a court order" in text(client_for(bridges_officer(world)).get(family_url(world)))
    # The service refuses her too, and the refusal is audited under the record she asked to make.
    with pytest.raises(PermissionDenied, match="recorded by a privacy officer"):
        consent_services.court_order_record(
            viewer=viewer_of(world.coordinator),
            family=world.family,
            court=world.court,
            order_reference="FTC-2026-0142",
            issued_on=clock.today(),
            categories=["contact", "legal"],
            valid_from=clock.now(),
            valid_until=clock.now() + timedelta(days=30),
            finding_other_means_unavailable=False,
            finding_public_interest_outweighs_harm=False,
        )
    assert not CourtOrder.objects.exists()
    denied = AuditEvent.objects.filter(actor_id=world.coordinator.user_id, record_type="CourtOrder").latest("pk")
    assert (denied.outcome, denied.action, denied.family_id) == (Outcome.DENIED, Action.CREATE, world.family.pk)
    assert denied.detail["interaction"] == "create"


@pytest.mark.django_db
def test_a_refused_post_of_a_court_order_is_audited(world):
    """CONSENT-RULES, "Who may change what": the same decision answers the page, the form and the POST, and
    every refusal is audited. A coordinator's POST of the order form is a refused write."""
    refused = client_for(world.coordinator).post(
        reverse("consent:court_order_add", args=[world.family.pk]), order_form(world)
    )
    assert refused.status_code == 403
    assert not CourtOrder.objects.exists()
    denied = AuditEvent.objects.filter(
        actor_id=world.coordinator.user_id, family_id=world.family.pk, record_type="CourtOrder"
    )
    assert [(e.outcome, e.action) for e in denied] == [(Outcome.DENIED, Action.CREATE)]


@pytest.mark.django_db
def test_court_order_form_explains_each_problem_in_plain_words(world):
    other_court = OrganizationFactory(name="Lakeview Juvenile Court", type=OrganizationType.COURT)
    clerk = staff(other_court, Role.COURT_COORDINATOR, user__first_name="Ivy", user__last_name="Clerk")
    today = clock.today()
    response = record_order(
        bridges_officer(world),
        world,
        named_person=clerk.pk,
        order_reference="",
        categories=[],
        issued_on=(today + timedelta(days=3)).isoformat(),
        valid_until=(today - timedelta(days=1)).isoformat(),
    )
    page = text(response)
    assert response.status_code == 400
    assert "Enter the order&#x27;s reference number, as printed on the order." in page
    assert "Choose what the order covers: kinds of records, particular records, or both." in page
    assert "Ivy Clerk does not work at Lakeview Family Treatment Court: choose the court&#x27;s staff." in page
    assert "The order cannot be issued in the future: check the date." in page
    assert "The last day cannot be before the first day." in page
    assert not CourtOrder.objects.exists()


@pytest.mark.django_db
def test_court_order_form_offers_uswds_checkboxes_with_contact_and_legal_ticked(world):
    page = text(client_for(bridges_officer(world)).get(reverse("consent:court_order_add", args=[world.family.pk])))
    boxes = re.findall(
        r'<input type="checkbox" class="usa-checkbox__input" name="categories" value="(\w+)"[^>]*>', page
    )
    assert set(boxes) == {
        "sud_treatment",
        "mental_health",
        "general_health",
        "child_welfare",
        "legal",
        "social_needs",
        "contact",
    }
    ticked = re.findall(r'name="categories" value="(\w+)" id="[^"]+" checked', page)
    assert sorted(ticked) == ["contact", "legal"]
    assert "A court may open them only if its order records both findings below (42 CFR 2.64(d))" in page
    bridges = "Bridges Family Resource Center"
    assert f"You are recording it for <strong>{bridges}</strong>: it opens only {bridges}'s records" in page
    assert '<option value="' + str(world.court.pk) + '">Lakeview Family Treatment Court</option>' in page


@pytest.mark.django_db
def test_a_named_person_at_the_court_may_use_the_order_without_being_on_the_team(world):
    judge = staff(world.court, Role.JUDGE, user__first_name="Ellen", user__last_name="Park")
    assert client_for(judge).get(family_url(world, "court_proceeding")).status_code == 404
    assert record_order(bridges_officer(world), world, named_person=judge.pk).status_code == 302
    page = text(client_for(judge).get(family_url(world, "court_proceeding")))
    assert COURT_NOTE in page and OTP_VISIT not in page


@pytest.mark.django_db
def test_someone_who_cannot_open_the_family_cannot_record_an_order(world, outsider):
    response = client_for(outsider).post(reverse("consent:court_order_add", args=[world.family.pk]), order_form(world))
    assert response.status_code == 404
    assert not CourtOrder.objects.exists()
    assert AuditEvent.objects.filter(
        actor_id=outsider.user.pk, family_id=world.family.pk, outcome=Outcome.DENIED
    ).exists()


# --- break-the-glass -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_non_clinician_sees_no_emergency_button_and_the_page_refuses_and_is_audited(world):
    caseworker = client_for(world.caseworker)
    page = text(caseworker.get(family_url(world)))
    assert "Maria Lopez" in page and "Medical emergency access" not in page

    url = reverse("consent:emergency_declare", args=[world.family.pk])
    for response in (
        caseworker.get(url),
        caseworker.post(url, {"reason": "She collapsed at the visit", "confirm": "on"}),
    ):
        assert response.status_code == 403
        assert "Only clinicians can declare a medical emergency." in text(response)
    assert not EmergencyAccess.objects.exists()
    # The refusal is audited under the family asked about; the page does not read the family to refuse.
    refusals = AuditEvent.objects.filter(
        actor_id=world.caseworker.user.pk, action=Action.EMERGENCY, outcome=Outcome.DENIED
    )
    assert refusals.count() == 2
    assert {(e.record_type, e.record_id) for e in refusals} == {("Family", str(world.family.pk))}
    assert all(e.detail["refused"] == "Only clinicians can declare a medical emergency." for e in refusals)

    # A family that does not exist is refused in exactly the same way: the page reveals nothing.
    missing_id = world.family.pk + 1000
    missing = caseworker.get(reverse("consent:emergency_declare", args=[missing_id]))
    assert missing.status_code == 403
    assert "Only clinicians can declare a medical emergency." in text(missing)
    *_, existing_event, missing_event = refusals.order_by("pk")
    assert (existing_event.record_id, missing_event.record_id) == (str(world.family.pk), str(missing_id))
    assert (missing_event.record_type, missing_event.family_id, missing_event.detail) == (
        existing_event.record_type,
        existing_event.family_id,
        existing_event.detail,
    )


@pytest.mark.django_db
def test_clinician_without_a_reason_is_refused_with_a_plain_message_and_audited(world):
    ob = client_for(world.ob_clinician)
    assert "Medical emergency access" in text(ob.get(family_url(world)))
    url = reverse("consent:emergency_declare", args=[world.family.pk])
    form_page = text(ob.get(url))
    assert "For the next <strong>4 hours</strong>" in form_page
    assert "Every record you open is flagged" in form_page and "privacy officers" in form_page
    response = ob.post(url, {"reason": "  ", "confirm": ""})
    page = text(response)
    assert response.status_code == 400
    assert "Describe the medical emergency: a reason is required." in page
    assert "Tick the box to confirm this is a medical emergency." in page
    assert not EmergencyAccess.objects.exists()
    assert AuditEvent.objects.filter(
        actor_id=world.ob_clinician.user.pk, action=Action.EMERGENCY, outcome=Outcome.DENIED
    ).exists()


def test_clinician_declares_an_emergency_sees_every_record_and_privacy_officers_are_emailed(
    committing_db, smtp_server, community_org, cps_org, treatment_org
):
    coordinator = staff(community_org, Role.CARE_COORDINATOR, user__first_name="Ana", user__last_name="Rivera")
    caseworker = staff(cps_org, Role.CPS_CASEWORKER, user__first_name="Carl", user__last_name="Jensen")
    w = build_world(coordinator, caseworker, treatment_org)
    officers = {
        "clinician's org": staff(w.ob_org, Role.PRIVACY_OFFICER, user__email="privacy@riverside.example.org"),
        "records' programme": staff(treatment_org, Role.PRIVACY_OFFICER, user__email="privacy@hope.example.org"),
        "parent's record": staff(community_org, Role.PRIVACY_OFFICER, user__email="privacy@bridges.example.org"),
    }
    unrelated = OrganizationFactory(name="Unrelated Clinic", type=OrganizationType.OBSTETRIC)
    staff(unrelated, Role.PRIVACY_OFFICER, user__email="privacy@unrelated.example.org")
    staff(w.ob_org, Role.FRONT_DESK, user__email="desk@riverside.example.org")

    ob = client_for(w.ob_clinician)
    before = text(ob.get(family_url(w)))
    assert OB_VISIT in before and ATTENDANCE not in before  # her consent does not share treatment records
    reason = "Heavy bleeding at 29 weeks; need her medication history before surgery"
    response = ob.post(reverse("consent:emergency_declare", args=[w.family.pk]), {"reason": reason, "confirm": "on"})
    assert response.status_code == 302 and response["Location"].endswith("?purpose=emergency")
    access = EmergencyAccess.objects.get()
    assert access.expires_at - access.declared_at == timedelta(hours=4)

    assert smtp_server.received.wait(5), "no email reached the SMTP server"
    assert len(smtp_server.messages) == 1
    recipients, message = smtp_server.messages[0]
    # At declaration only the clinician's own organisation is told; the others when their records are opened.
    assert recipients == [officers["clinician's org"].user.email]
    assert message["Subject"] == f"Kinfold: emergency access to family {w.family.pk}"
    body = message.get_payload(decode=True).decode()
    assert "Omar Baptiste (OB clinician, Riverside Prenatal Clinic)" in body
    assert reason in body and "42 CFR 2.51" in body
    # The officers learn who, when, why and for which family record; nothing of her records themselves.
    for clinical in ("Maria", "Lopez", ATTENDANCE, OTP_VISIT, OB_VISIT, COURT_NOTE):
        assert clinical not in body

    until = access.expires_at.astimezone(clock.zone()).strftime("%H:%M")
    page = text(ob.get(response["Location"]))
    assert f"Emergency access until {until}" in page
    assert ATTENDANCE in page and OTP_VISIT in page and COURT_NOTE in page
    assert "Medical emergency access</a>" not in page
    flagged = AuditEvent.objects.filter(
        actor_id=w.ob_clinician.user.pk, action=Action.EMERGENCY, detail__flag="break_the_glass"
    )
    assert flagged.exists()
    assert Disclosure.objects.filter(emergency=access, disclosing_org=treatment_org).exists()

    # Her ordinary page (purpose treatment) shows the banner and the way in, but not the records.
    ordinary = text(ob.get(family_url(w)))
    assert f"Emergency access until {until}" in ordinary and ATTENDANCE not in ordinary
    assert "Open every record under emergency access" in ordinary


def test_emergency_access_still_opens_when_the_privacy_officer_email_cannot_be_sent(
    committing_db, settings, community_org, cps_org, treatment_org
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    settings.EMAIL_TIMEOUT = 5
    coordinator = staff(community_org, Role.CARE_COORDINATOR)
    w = build_world(coordinator, staff(cps_org, Role.CPS_CASEWORKER), treatment_org)
    staff(w.ob_org, Role.PRIVACY_OFFICER, user__email="privacy@riverside.example.org")
    staff(treatment_org, Role.PRIVACY_OFFICER, user__email="privacy@hope.example.org")
    ob = client_for(w.ob_clinician)
    response = ob.post(
        reverse("consent:emergency_declare", args=[w.family.pk]),
        {"reason": "Seizure in the waiting room, need her medication list", "confirm": "on"},
    )
    assert response.status_code == 302
    assert EmergencyAccess.objects.filter(user=w.ob_clinician.user).exists()
    page = text(ob.get(response["Location"]))
    assert "The email to the privacy officers could not be sent. Tell your privacy officer" in page
    assert ATTENDANCE in page


# --- restrictions (2.26) -----------------------------------------------------------------------------


@pytest.fixture
def shared_world(coordinator, caseworker, treatment_org) -> World:
    """As ``world``, but her consent also shares SUD-treatment records with the team (for her CPS case)."""
    return build_world(coordinator, caseworker, treatment_org, consent_categories=("sud_treatment",))


def request_restriction(world: World, **overrides: Any) -> Any:
    data: dict[str, Any] = {
        "disclosing_org": world.treatment_org.pk,
        "recipient_org": world.cps_org.pk,
        "categories": ["sud_treatment"],
        "description": "Please do not send my treatment attendance to CPS",
    }
    data.update(overrides)
    return client_for(world.coordinator).post(reverse("consent:restriction_add", args=[world.family.pk]), data)


@pytest.mark.django_db
def test_agreed_restriction_hides_matching_records_from_the_recipient_not_from_the_creating_org(shared_world):
    w = shared_world
    caseworker, counsellor = client_for(w.caseworker), client_for(w.counsellor)
    assert ATTENDANCE in text(caseworker.get(family_url(w)))

    assert request_restriction(w).status_code == 302
    restriction = Restriction.objects.get()
    assert restriction.status == RestrictionStatus.REQUESTED
    coordinator_page = text(client_for(w.coordinator).get(family_url(w)))
    assert (
        "Requested" in coordinator_page and "Waiting for Hope Recovery Center to agree or refuse." in coordinator_page
    )
    assert (
        "Hope Recovery Center should not share SUD treatment records with Lakeview County Child Protective Services."
        in coordinator_page
    )
    # Pending: nothing changes yet.
    caseworker_page = text(caseworker.get(family_url(w)))
    assert ATTENDANCE in caseworker_page and "Agree or refuse" not in caseworker_page

    decide_url = reverse("consent:restriction_decide", args=[w.family.pk, restriction.pk])
    refused = caseworker.post(decide_url, {"decision": "agree"})
    assert refused.status_code == 403
    assert "Only staff of Hope Recovery Center, the organisation she asked to share less, can decide." in text(refused)

    assert "Agree or refuse" in text(counsellor.get(family_url(w)))
    assert counsellor.post(decide_url, {"decision": "agree"}).status_code == 302
    restriction.refresh_from_db()
    assert restriction.status == RestrictionStatus.AGREED and restriction.decided_by == w.counsellor

    caseworker_page = text(caseworker.get(family_url(w)))
    assert ATTENDANCE not in caseworker_page
    assert OTP_VISIT in caseworker_page  # general health is not what she asked to restrict
    assert "Agreed" in caseworker_page
    assert ATTENDANCE in text(counsellor.get(family_url(w)))  # the programme's own staff still see it
    # Others her consent reaches are not named by the restriction and still see it.
    assert ATTENDANCE in text(client_for(w.ob_clinician).get(family_url(w)))


@pytest.mark.django_db
def test_refused_restriction_needs_a_reason_and_changes_nothing(shared_world):
    w = shared_world
    request_restriction(w)
    restriction = Restriction.objects.get()
    counsellor = client_for(w.counsellor)
    decide_url = reverse("consent:restriction_decide", args=[w.family.pk, restriction.pk])
    without_reason = counsellor.post(decide_url, {"decision": "refuse", "reason": ""})
    assert without_reason.status_code == 400
    assert "Give the reason for refusing." in text(without_reason)
    restriction.refresh_from_db()
    assert restriction.status == RestrictionStatus.REQUESTED

    reason = "CPS attendance reports are required by her court-ordered safety plan"
    assert counsellor.post(decide_url, {"decision": "refuse", "reason": reason}).status_code == 302
    restriction.refresh_from_db()
    assert restriction.status == RestrictionStatus.REFUSED
    page = text(client_for(w.caseworker).get(family_url(w)))
    assert ATTENDANCE in page
    assert "Refused by Tess Okafor" in page and reason in page
    # Decided once: the page now says so and offers no form.
    again = text(counsellor.get(decide_url))
    assert "This request was already decided: refused" in again and "Record the decision" not in again


@pytest.mark.django_db
def test_self_pay_request_must_be_agreed_and_the_page_says_why(shared_world):
    w = shared_world
    request_restriction(w, recipient_org=w.cps_org.pk, categories=[], is_self_pay_to_health_plan="on")
    restriction = Restriction.objects.get()
    assert restriction.is_self_pay_to_health_plan and restriction.categories == []
    counsellor = client_for(w.counsellor)
    decide_url = reverse("consent:restriction_decide", args=[w.family.pk, restriction.pk])
    assert "She paid for this care herself." in text(counsellor.get(decide_url))
    response = counsellor.post(decide_url, {"decision": "refuse", "reason": "We always report"})
    assert response.status_code == 400
    assert "must be agreed (45 CFR 164.522(a)(1)(vi))" in text(response)
    restriction.refresh_from_db()
    assert restriction.status == RestrictionStatus.REQUESTED


@pytest.mark.django_db
def test_restriction_request_form_needs_a_recipient_and_saves_nothing_without_one(shared_world):
    w = shared_world
    response = request_restriction(w, recipient_org="", recipient_person="")
    assert response.status_code == 400
    assert "Choose whom she does not want it shared with: an organisation or a person." in text(response)
    same = request_restriction(w, recipient_org=w.treatment_org.pk)
    assert "An organisation always sees its own records; choose another recipient." in text(same)
    assert not Restriction.objects.exists()


@pytest.mark.django_db
def test_restriction_naming_a_person_hides_records_from_that_person_only(shared_world, cps_org):
    w = shared_world
    supervisor = staff(cps_org, Role.CPS_SUPERVISOR, user__first_name="Sam", user__last_name="Lee")
    family_services.care_team_member_add(
        viewer=viewer_of(w.coordinator), family=w.family, membership=supervisor, role=Role.CPS_SUPERVISOR
    )
    request_restriction(w, recipient_org="", recipient_person=w.caseworker.pk)
    restriction = Restriction.objects.get()
    client_for(w.counsellor).post(
        reverse("consent:restriction_decide", args=[w.family.pk, restriction.pk]), {"decision": "agree"}
    )
    assert ATTENDANCE not in text(client_for(w.caseworker).get(family_url(w)))
    assert ATTENDANCE in text(client_for(supervisor).get(family_url(w)))


@pytest.mark.django_db
def test_a_request_naming_a_part2_programme_is_a_part2_record_seen_and_decided_by_that_programme(world):
    """Her consent here shares nothing of her treatment. A request that names Hope says she is treated there:
    it is filed as SUD treatment, hidden from CPS and the clinic, and seen by Hope's own staff because it is
    addressed to Hope (rule A), who alone decide it."""
    w = world
    assert request_restriction(w).status_code == 302
    restriction = Restriction.objects.get()
    assert restriction.sensitivity == "sud_treatment"
    line = FamilyActivity.objects.get(family=w.family, verb="restriction_requested")
    assert line.sensitivity == "sud_treatment"
    wording = "Hope Recovery Center should not share SUD treatment records"
    assert wording in text(client_for(w.coordinator).get(family_url(w)))
    for other in (w.caseworker, w.ob_clinician):
        page = text(client_for(other).get(family_url(w)))
        assert "Maria Lopez" in page and wording not in page
        assert "Recorded her request to restrict what Hope Recovery Center shares" not in page  # nor its line
    decide_url = reverse("consent:restriction_decide", args=[w.family.pk, restriction.pk])
    assert client_for(w.caseworker).get(decide_url).status_code == 404

    counsellor = client_for(w.counsellor)
    page = text(counsellor.get(family_url(w)))
    assert wording in page and "Agree or refuse" in page
    assert counsellor.post(decide_url, {"decision": "agree"}).status_code == 302
    restriction.refresh_from_db()
    assert restriction.status == RestrictionStatus.AGREED and restriction.decided_by == w.counsellor


@pytest.mark.django_db
def test_a_caseworker_cannot_record_a_request_her_role_could_not_read_once_made(world):
    """Recording a request naming a Part 2 programme makes a SUD-treatment record in her organisation's name,
    which a CPS caseworker's role may never see: she is refused, plainly, and the refusal is audited."""
    w = world
    response = client_for(w.caseworker).post(
        reverse("consent:restriction_add", args=[w.family.pk]),
        {"disclosing_org": w.ob_org.pk, "recipient_org": w.treatment_org.pk, "categories": ["general_health"]},
    )
    assert response.status_code == 400
    assert "could not read it once made" in text(response)
    assert not Restriction.objects.exists()
    denied = AuditEvent.objects.get(actor_id=w.caseworker.user_id, record_type="Restriction")
    assert (denied.outcome, denied.family_id, denied.detail["interaction"]) == (
        Outcome.DENIED,
        w.family.pk,
        "create",
    )
    # Naming no Part 2 programme, the same request is hers to record.
    allowed = client_for(w.caseworker).post(
        reverse("consent:restriction_add", args=[w.family.pk]),
        {"disclosing_org": w.ob_org.pk, "recipient_org": w.court.pk, "categories": ["general_health"]},
    )
    assert allowed.status_code == 302
    assert Restriction.objects.get().sensitivity == "contact"
