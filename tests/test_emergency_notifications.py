"""Break-the-glass (CONSENT-RULES rule 4, 42 CFR 2.51): the privacy officers of the clinician's organisation
are told when she declares a medical emergency, and the privacy officers of each other organisation are told
when its records are first opened in that emergency, once, with how many were opened, so the disclosing
programme can document the disclosure (2.51(c)).

The emails go through a real SMTP server (aiosmtpd on 127.0.0.1) and the tests commit (a transactional
database), because the services send each email only once its notification row is committed. Sending is
synchronous: by the time a page has answered, its emails have reached the server.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from email.message import Message
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse

from kinfold import clock
from kinfold.access.gate import RecordGate
from kinfold.access.viewer import Viewer
from kinfold.audit.models import Action, AuditEvent, Outcome
from kinfold.audit.services import verify_chain
from kinfold.consent import services as consent_services
from kinfold.consent.models import Disclosure, EmergencyAccess, EmergencyNotification
from kinfold.families import services as family_services
from kinfold.families.models import Family
from kinfold.notes import services as note_services
from kinfold.notes.models import Note
from kinfold.organizations.models import Membership, Organization, OrganizationType, Role
from tests.factories import OrganizationFactory, consent_team_wide, make_family, staff, viewer_of
from tests.support import client_for, free_port, text, use_smtp

REASON = "Heavy bleeding at 29 weeks; need her medication history before surgery"
ATTENDANCE = "Attended group session and took her medication dose"
OTP_VISIT = "Vitals checked at the treatment programme"
OB_VISIT = "Prenatal visit at 28 weeks, all well"
HEARING = "Hearing on reunification plan set"


# --- Maria's world ----------------------------------------------------------------------------------------


@dataclass
class World:
    family: Family
    clinician: Membership  # Omar, OB clinician at Riverside: the one who declares
    clinic: Organization  # Riverside Prenatal Clinic: her own organisation
    community: Organization  # Bridges: made the family, its people and the team-wide consent
    programme: Organization  # Hope Recovery Center, an opioid treatment programme: treatment notes
    cps: Organization  # Lakeview CPS: its privacy officer recorded a court order, nothing else (no person, no note)
    court: Organization  # Lakeview Family Treatment Court: a court note; it has no privacy officer
    unrelated: Organization  # a clinic with a privacy officer and no record of Maria's
    officers: dict[str, str]  # organisation name -> its privacy officer's address


def build_world(community_org: Organization, cps_org: Organization, treatment_org: Organization) -> World:
    clinic = OrganizationFactory(name="Riverside Prenatal Clinic", type=OrganizationType.OBSTETRIC)
    court = OrganizationFactory(name="Lakeview Family Treatment Court", type=OrganizationType.COURT)
    unrelated = OrganizationFactory(name="Unrelated Clinic", type=OrganizationType.OBSTETRIC)
    coordinator = staff(community_org, Role.CARE_COORDINATOR, user__first_name="Ana", user__last_name="Rivera")
    caseworker = staff(cps_org, Role.CPS_CASEWORKER, user__first_name="Carl", user__last_name="Jensen")
    counsellor = staff(treatment_org, Role.SUD_COUNSELOR, user__first_name="Tess", user__last_name="Okafor")
    clinician = staff(clinic, Role.OB_CLINICIAN, user__first_name="Omar", user__last_name="Baptiste")
    court_coordinator = staff(court, Role.COURT_COORDINATOR, user__first_name="Cora", user__last_name="Vance")

    family = make_family(coordinator, given_name="Maria", family_name="Lopez")
    for member, role in (
        (caseworker, Role.CPS_CASEWORKER),
        (counsellor, Role.SUD_COUNSELOR),
        (clinician, Role.OB_CLINICIAN),
        (court_coordinator, Role.COURT_COORDINATOR),
    ):
        family_services.care_team_member_add(viewer=viewer_of(coordinator), family=family, membership=member, role=role)
    consent_team_wide(family, by=coordinator)
    note_services.note_add(viewer=viewer_of(counsellor), family=family, kind="treatment_attendance", summary=ATTENDANCE)
    note_services.note_add(viewer=viewer_of(counsellor), family=family, kind="prenatal_visit", summary=OTP_VISIT)
    note_services.note_add(viewer=viewer_of(clinician), family=family, kind="prenatal_visit", summary=OB_VISIT)

    officers = {
        clinic.name: "privacy@riverside.example.org",
        community_org.name: "privacy@bridges.example.org",
        treatment_org.name: "privacy@hope.example.org",
        cps_org.name: "privacy@lakeview-cps.example.org",
        unrelated.name: "privacy@unrelated.example.org",
    }
    officer = {
        org.pk: staff(org, Role.PRIVACY_OFFICER, user__email=officers[org.name])
        for org in (clinic, community_org, treatment_org, cps_org, unrelated)
    }
    # Neither a former privacy officer nor a colleague in another role is told.
    staff(treatment_org, Role.PRIVACY_OFFICER, user__email="former-privacy@hope.example.org", is_active=False)
    staff(clinic, Role.FRONT_DESK, user__email="desk@riverside.example.org")

    # CPS's privacy officer meets the family through a consent for CPS's operations (her contact details).
    consent_services.consent_record(
        viewer=viewer_of(coordinator),
        family=family,
        title="CPS operations",
        terms=consent_services.ConsentTerms(
            discloser_orgs=[community_org],
            recipient_orgs=[cps_org],
            purposes=["operations"],
            categories=["contact"],
            expires_at=clock.now() + timedelta(days=365),
            signer_name="Maria Lopez",
            signature_typed="Maria Lopez",
        ),
    )
    # The court's order names Bridges' and CPS's records: each organisation's privacy officer records it, and
    # each recording opens only that organisation's records (CONSENT-RULES ruling 3).
    now = clock.now()
    for org in (community_org, cps_org):
        consent_services.court_order_record(
            viewer=viewer_of(officer[org.pk]),
            family=family,
            court=court,
            order_reference="FTC-2026-0142",
            issued_on=clock.today(),
            categories=["contact", "legal", "child_welfare"],
            valid_from=now,
            valid_until=now + timedelta(days=90),
            finding_other_means_unavailable=False,
            finding_public_interest_outweighs_harm=False,
        )
    # Under Bridges' order the court opens her record, and writes to it.
    note_services.note_add(viewer=viewer_of(court_coordinator), family=family, kind="court_report", summary=HEARING)
    return World(
        family=family,
        clinician=clinician,
        clinic=clinic,
        community=community_org,
        programme=treatment_org,
        cps=cps_org,
        court=court,
        unrelated=unrelated,
        officers=officers,
    )


@pytest.fixture
def world(committing_db: None, community_org: Any, cps_org: Any, treatment_org: Any) -> World:
    return build_world(community_org, cps_org, treatment_org)


def declare(w: World, client: Client) -> EmergencyAccess:
    response = client.post(
        reverse("consent:emergency_declare", args=[w.family.pk]), {"reason": REASON, "confirm": "on"}
    )
    assert response.status_code == 302 and response["Location"].endswith("?purpose=emergency")
    return EmergencyAccess.objects.get(user=w.clinician.user)


def emergency_page(w: World) -> str:
    return reverse("families:detail", args=[w.family.pk]) + "?purpose=emergency"


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def records_opened(access: EmergencyAccess, org: Organization) -> int:
    """How many distinct records of ``org`` the accounting says the emergency opened."""
    rows = Disclosure.objects.filter(emergency=access, disclosing_org=org)
    return len({(r["type"], r["id"]) for row in rows for r in row.records})


def notifications(access: EmergencyAccess) -> dict[str, tuple[list[str], int]]:
    return {
        n.organization.name: (n.recipients, n.records_opened)
        for n in EmergencyNotification.objects.filter(emergency=access).select_related("organization")
    }


# --- the behaviour ---------------------------------------------------------------------------------------


def test_declaring_an_emergency_tells_only_the_privacy_officer_of_the_clinicians_own_organisation(world, smtp_server):
    w = world
    access = declare(w, client_for(w.clinician))

    assert len(smtp_server.messages) == 1
    recipients, message = smtp_server.messages[0]
    assert recipients == ["privacy@riverside.example.org"]
    assert message["Subject"] == f"Kinfold: emergency access to family {w.family.pk}"
    body = body_of(message)
    assert "Omar Baptiste (OB clinician, Riverside Prenatal Clinic) declared a medical emergency" in body
    assert REASON in body and "42 CFR 2.51" in body
    # Nobody else is told before any of their records has been opened.
    assert notifications(access) == {w.clinic.name: (["privacy@riverside.example.org"], 0)}


def test_opening_the_family_page_tells_each_organisation_whose_records_appear_once_with_the_count(world, smtp_server):
    w = world
    clinician = client_for(w.clinician)
    access = declare(w, clinician)
    smtp_server.messages.clear()

    page = text(clinician.get(emergency_page(w)))
    assert ATTENDANCE in page and HEARING in page and "FTC-2026-0142" in page

    told = (w.community, w.programme, w.cps)
    assert len(smtp_server.messages) == len(told)
    for org in told:
        count = records_opened(access, org)
        assert count > 0, f"the page opened none of {org.name}'s records"
        [message] = smtp_server.to(w.officers[org.name])
        recipients = next(r for r, m in smtp_server.messages if m is message)
        assert recipients == [w.officers[org.name]]  # each organisation hears only about its own records
        assert message["Subject"] == f"Kinfold: {org.name} records opened in a medical emergency (family {w.family.pk})"
        body = body_of(message)
        verb = "was" if count == 1 else "were"
        assert f"{count} of {org.name}'s records for family {w.family.pk} {verb} opened" in body
        assert "under a declared medical emergency" in body
        assert "Opened by: Omar Baptiste (OB clinician, Riverside Prenatal Clinic)" in body
        assert f"Reason given: {REASON}" in body
        assert "must document it" in body and "42 CFR 2.51(c)" in body
        # The officers learn who, when, why and how many; not her name nor what the records say.
        for clinical in ("Maria", "Lopez", ATTENDANCE, OTP_VISIT, OB_VISIT, HEARING):
            assert clinical not in body
    # CPS made no person and no note, only a court order: it is told because that order was opened.
    assert Disclosure.objects.filter(emergency=access, disclosing_org=w.cps).exists()

    # The clinician's own organisation was told at declaration and is not told again; an organisation
    # with no record of hers is never told.
    assert not smtp_server.to(w.officers[w.clinic.name])
    assert not smtp_server.to(w.officers[w.unrelated.name])
    assert not smtp_server.to("former-privacy@hope.example.org")
    assert not smtp_server.to("desk@riverside.example.org")


def test_a_second_page_load_in_the_same_emergency_sends_no_second_email(world, smtp_server):
    w = world
    clinician = client_for(w.clinician)
    access = declare(w, clinician)
    clinician.get(emergency_page(w))
    sent = len(smtp_server.messages)
    before = notifications(access)

    # She opens the page again, and a Hope note written since is opened too: still no new email.
    note_services.note_add(
        viewer=viewer_of(Membership.objects.get(organization=w.programme, role=Role.SUD_COUNSELOR)),
        family=w.family,
        kind="medication",
        summary="Buprenorphine dose confirmed",
    )
    assert "Buprenorphine dose confirmed" in text(clinician.get(emergency_page(w)))
    assert len(smtp_server.messages) == sent
    assert notifications(access) == before
    # The accounting lists both openings; the notification counted the first.
    assert Disclosure.objects.filter(emergency=access, disclosing_org=w.programme).count() == 2
    assert records_opened(access, w.programme) > before[w.programme.name][1]


def test_an_organisation_whose_records_were_not_opened_is_not_told(world, smtp_server):
    w = world
    viewer = Viewer.of(w.clinician.user)
    access = consent_services.emergency_declare(viewer=viewer, family=w.family, reason=REASON)
    smtp_server.messages.clear()

    # A page that shows only Hope's notes (the services and the gate, as the family page uses them).
    gate = RecordGate.open(viewer, [w.family.pk], "emergency")
    shown = gate.visible(list(Note.objects.filter(family=w.family, created_by_org=w.programme)), family_id=w.family.pk)
    assert {n.summary for n in shown} == {ATTENDANCE, OTP_VISIT}
    gate.record_disclosures(channel="page")

    assert [recipients for recipients, _ in smtp_server.messages] == [[w.officers[w.programme.name]]]
    assert f"2 of {w.programme.name}'s records for family {w.family.pk} were opened" in body_of(
        smtp_server.messages[0][1]
    )
    # Bridges made her record and CPS an order, but neither was opened: neither is told.
    assert set(notifications(access)) == {w.clinic.name, w.programme.name}

    # When the whole page is opened later, they are told, and Hope is not told again.
    client_for(w.clinician).get(emergency_page(w))
    later = [recipients for recipients, _ in smtp_server.messages[1:]]
    assert sorted(later) == sorted([[w.officers[w.community.name]], [w.officers[w.cps.name]]])


def test_an_organisation_with_no_privacy_officer_is_recorded_as_not_told(world, smtp_server):
    """Decided behaviour: its notification row is still written, with no recipients, so the record shows that
    nobody there could be told (and a privacy officer appointed later is not emailed about this emergency);
    the audit trail has the event with outcome ``error``."""
    w = world
    clinician = client_for(w.clinician)
    access = declare(w, clinician)
    clinician.get(emergency_page(w))

    count = records_opened(access, w.court)
    assert count > 0
    assert notifications(access)[w.court.name] == ([], count)
    assert all("court" not in address for recipients, _ in smtp_server.messages for address in recipients)
    row = EmergencyNotification.objects.get(emergency=access, organization=w.court)
    event = AuditEvent.objects.get(record_type="EmergencyNotification", record_id=str(row.pk))
    assert event.outcome == Outcome.ERROR
    assert event.detail["not_sent"] == "The organisation has no active privacy officer with an email address."

    # A second opening does not try again.
    clinician.get(emergency_page(w))
    assert EmergencyNotification.objects.filter(emergency=access, organization=w.court).count() == 1
    assert AuditEvent.objects.filter(record_type="EmergencyNotification", record_id=str(row.pk)).count() == 1


def test_the_audit_trail_has_one_event_for_each_notification(world, smtp_server):
    w = world
    clinician = client_for(w.clinician)
    access = declare(w, clinician)
    clinician.get(emergency_page(w))
    clinician.get(emergency_page(w))

    rows = list(EmergencyNotification.objects.filter(emergency=access).select_related("organization"))
    assert {n.organization.name for n in rows} == {
        w.clinic.name,
        w.community.name,
        w.programme.name,
        w.cps.name,
        w.court.name,
    }
    events = AuditEvent.objects.filter(action=Action.EMERGENCY, record_type="EmergencyNotification")
    assert sorted(e.record_id for e in events) == sorted(str(n.pk) for n in rows)
    for n in rows:
        event = events.get(record_id=str(n.pk))
        assert event.actor_id == w.clinician.user.pk and event.family_id == w.family.pk
        assert event.purpose == "emergency"
        assert event.detail["emergency_id"] == access.pk
        assert event.detail["organization_id"] == n.organization_id
        assert event.detail["recipients"] == n.recipients
        assert event.detail["records_opened"] == n.records_opened
        assert event.outcome == (Outcome.SUCCESS if n.recipients else Outcome.ERROR)
    assert verify_chain().ok


def test_the_records_still_open_when_the_mail_server_is_down_and_the_failure_is_audited(world, settings):
    w = world
    use_smtp(settings, free_port())  # nothing listens there
    clinician = client_for(w.clinician)
    access = declare(w, clinician)

    page = text(clinician.get(emergency_page(w)))
    assert ATTENDANCE in page and HEARING in page
    row = EmergencyNotification.objects.get(emergency=access, organization=w.programme)
    assert row.recipients == [w.officers[w.programme.name]]
    event = AuditEvent.objects.get(record_type="EmergencyNotification", record_id=str(row.pk))
    assert event.outcome == Outcome.ERROR and event.detail["not_sent"].startswith("The email could not be sent")


def test_one_notification_per_emergency_and_organisation_and_none_is_ever_changed(world, smtp_server):
    w = world
    access = declare(w, client_for(w.clinician))
    with pytest.raises(IntegrityError), transaction.atomic():
        EmergencyNotification.objects.create(
            emergency=access, organization=w.clinic, notified_at=clock.now(), recipients=[], records_opened=0
        )
    row = EmergencyNotification.objects.get(emergency=access)
    with pytest.raises(PermissionError):
        row.save()
    with pytest.raises(PermissionError):
        EmergencyNotification.objects.filter(pk=row.pk).update(recipients=[])
    with pytest.raises(PermissionError):
        EmergencyNotification.objects.filter(pk=row.pk).delete()


def _someone_waits_for_a_lock() -> bool:
    """Whether another connection to the test database is blocked on a lock (PostgreSQL)."""
    for _ in range(600):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.05)
    return False


def test_a_page_racing_another_for_the_same_notification_does_not_send_it_twice(world, smtp_server, db_vendor):
    """Two pages in the same emergency open Hope's records at once. The other page has claimed Hope's
    notification but not committed yet; this page waits on the unique (emergency, organisation) row, finds it
    taken once the other commits, and sends nothing. (The audit chain's lock usually serialises the two pages
    anyway; the unique constraint is what holds when it does not.)"""
    if db_vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: no two transactions can race for the row")
    w = world
    access = declare(w, client_for(w.clinician))
    smtp_server.messages.clear()
    claimed, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def other_page() -> None:
        try:
            with transaction.atomic():
                EmergencyNotification.objects.create(
                    emergency=access,
                    organization=w.programme,
                    notified_at=clock.now(),
                    recipients=[w.officers[w.programme.name]],
                    records_opened=2,
                )
                claimed.set()
                release.wait(timeout=60)
        except BaseException as error:  # reported in the test's own thread
            errors.append(error)
        finally:
            connection.close()

    def this_page() -> None:
        try:
            viewer = Viewer.of(w.clinician.user)
            gate = RecordGate.open(viewer, [w.family.pk], "emergency")
            gate.visible(list(Note.objects.filter(family=w.family, created_by_org=w.programme)), family_id=w.family.pk)
            gate.record_disclosures(channel="page")
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    other = threading.Thread(target=other_page)
    other.start()
    assert claimed.wait(timeout=60)
    this = threading.Thread(target=this_page)
    this.start()
    blocked = _someone_waits_for_a_lock()
    release.set()
    other.join()
    this.join()
    assert not errors
    assert blocked, "this page never waited for the other page's notification row"
    assert Disclosure.objects.filter(emergency=access, disclosing_org=w.programme).exists()
    assert EmergencyNotification.objects.filter(emergency=access, organization=w.programme).count() == 1
    assert smtp_server.messages == []
