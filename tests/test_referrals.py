"""Closed-loop referrals (issue 12): what a referral carries under each consent, every legal and illegal change of
status, who reaches the family while it is open, a Part 2 programme's answer, retries and concurrent changes,
the accounting of what was sent, and answering from a one-time link. Real database, the real door."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from kinfold import clock
from kinfold.access.gate import RecordGate
from kinfold.access.rules import may_open_family
from kinfold.audit.services import Refused
from kinfold.consent import services as consent_services
from kinfold.consent.models import Disclosure
from kinfold.directory.models import DirectoryOrganization, Need, Service
from kinfold.families.services import ConcurrentEditError
from kinfold.organizations.models import OrganizationType, Role
from kinfold.referrals import links, selectors, services
from kinfold.referrals.models import Referral, ReferralEvent, ReferralStatus
from tests.factories import OrganizationFactory, make_family, staff, viewer_of

S = ReferralStatus
pytestmark = pytest.mark.django_db


def listing(org, *, name="Housing help", needs=("housing",), email="intake@example.org", contact="Rosa Intake"):
    directory_org = DirectoryOrganization.objects.create(
        hsds_id=f"org-{org.pk if org else name}",
        name=org.name if org else name,
        organization=org,
        intake_contact_name=contact,
        intake_email=email,
    )
    service = Service.objects.create(
        hsds_id=f"svc-{directory_org.pk}", organization=directory_org, name=name, needs=list(needs)
    )
    return service


def consent_to(
    family,
    *,
    by,
    recipients,
    kinds=None,
    categories=("contact", "social_needs", "general_health"),
    purposes=("care_coordination", "treatment"),
    disclosers=None,
):
    return consent_services.consent_record(
        viewer=viewer_of(by),
        family=family,
        title="Sharing for referrals",
        terms=consent_services.ConsentTerms(
            discloser_orgs=list(disclosers or [by.organization]),
            recipient_orgs=list(recipients),
            purposes=list(purposes),
            categories=list(categories) if kinds is None else [],
            kinds=list(kinds or []),
            expires_at=clock.now() + timedelta(days=365),
            signer_name=family.parent.display_name,
            signature_typed=family.parent.display_name,
        ),
    )


@pytest.fixture
def housing_org():
    return OrganizationFactory(name="Riverside Housing Alliance", type=OrganizationType.COMMUNITY)


@pytest.fixture
def housing_intake(housing_org):
    return staff(housing_org, Role.CARE_COORDINATOR, user__first_name="Hal", user__last_name="Intake")


@pytest.fixture
def family(coordinator):
    return make_family(coordinator)


def refer(coordinator, family, service, need=Need.HOUSING, **kwargs):
    return services.create_referral(viewer=viewer_of(coordinator), family=family, need=need, service=service, **kwargs)


# --- what a referral carries -------------------------------------------------------------------------------


def test_without_any_consent_nothing_is_sent_and_the_sender_is_told_why(coordinator, family, housing_org):
    service = listing(housing_org)
    with pytest.raises(services.NotSent) as raised:
        refer(coordinator, family, service)
    referral = raised.value.referral
    referral.refresh_from_db()
    assert referral.status == S.DRAFT and referral.sent_at is None and referral.sent_items == []
    labels = {item["label"]: item["why"] for item in referral.left_out}
    assert any("referral" in label.lower() for label in labels)
    assert any("contact" in label.lower() for label in labels)
    assert all("no consent in force" in why for why in labels.values())
    assert not Disclosure.objects.filter(channel="referral").exists()


def test_consent_covering_the_referral_and_contact_sends_them_and_leaves_out_the_rest(
    coordinator, family, housing_org, housing_intake
):
    consent_to(family, by=coordinator, recipients=[housing_org], kinds=["identity", "social_needs"])
    referral = refer(coordinator, family, listing(housing_org))
    referral.refresh_from_db()
    assert referral.status == S.REQUESTED and referral.sent_at is not None and referral.due_at > referral.sent_at
    assert {i["key"] for i in referral.sent_items} == {"referral", "contact"}
    # Her pregnancy is her coordinator's record but the consent does not list it: left out, with why.
    if family.pregnancies.exists():
        assert any("pregnancy" in i["label"].lower() for i in referral.left_out)
    # The send is in the accounting: one disclosure to the receiving organisation, under that consent.
    disclosure = Disclosure.objects.get(channel="referral")
    assert disclosure.recipient_org_id == housing_org.pk and disclosure.rule == "2"
    assert {r["kind"] for r in disclosure.records} == {"identity", "social_needs"}


def test_a_consent_for_another_organisation_does_not_reach_this_one(coordinator, family, housing_org):
    other = OrganizationFactory(name="Another Agency", type=OrganizationType.COMMUNITY)
    consent_to(family, by=coordinator, recipients=[other], kinds=["identity", "social_needs"])
    with pytest.raises(services.NotSent):
        refer(coordinator, family, listing(housing_org))


def test_a_referral_to_a_part2_programme_needs_her_consent_to_name_her_treatment(coordinator, family, treatment_org):
    service = listing(treatment_org, name="Buprenorphine clinic", needs=("moud",))
    consent_to(family, by=coordinator, recipients=[treatment_org], kinds=["identity", "social_needs"])
    with pytest.raises(services.NotSent):
        refer(coordinator, family, service, need=Need.MOUD)
    consent_to(family, by=coordinator, recipients=[treatment_org], kinds=["identity", "medication"])
    referral = refer(coordinator, family, service, need=Need.MOUD)
    assert referral.status == S.REQUESTED and referral.sensitivity == "sud_treatment"


def test_a_retried_submit_makes_one_referral(coordinator, family, housing_org):
    consent_to(family, by=coordinator, recipients=[housing_org], kinds=["identity", "social_needs"])
    service = listing(housing_org)
    first = refer(coordinator, family, service, request_key="abc123")
    again = refer(coordinator, family, service, request_key="abc123")
    assert first.pk == again.pk and Referral.objects.count() == 1


def test_bad_input_is_refused_with_a_message_and_leaves_nothing(coordinator, family, housing_org):
    service = listing(housing_org)
    with pytest.raises(ValidationError) as raised:
        refer(coordinator, family, service, need="spaceship")
    assert "need" in raised.value.message_dict
    with pytest.raises(ValidationError):
        refer(coordinator, family, service, priority="yesterday")
    assert not Referral.objects.exists()


def test_someone_who_may_not_open_the_family_cannot_refer_her(outsider, family, housing_org):
    with pytest.raises(Refused):
        services.create_referral(
            viewer=viewer_of(outsider), family=family, need=Need.HOUSING, service=listing(housing_org)
        )
    assert not Referral.objects.exists()


# --- who reaches the family while it is open --------------------------------------------------------------------


def test_intake_staff_reach_her_while_the_referral_is_open_and_not_after(
    coordinator, family, housing_org, housing_intake
):
    billing = staff(housing_org, Role.BILLING)
    assert not may_open_family(viewer_of(housing_intake), family.pk)
    consent_to(family, by=coordinator, recipients=[housing_org], kinds=["identity", "social_needs"])
    assert not may_open_family(viewer_of(housing_intake), family.pk)  # a consent alone: she is not on the team
    referral = refer(coordinator, family, listing(housing_org))
    assert may_open_family(viewer_of(housing_intake), family.pk)
    assert not may_open_family(viewer_of(billing), family.pk)  # not an intake role
    page = selectors.referral_page(viewer=viewer_of(housing_intake), family_id=family.pk, referral_id=referral.pk)
    assert page.view.side == services.RECEIVER and S.ACCEPTED in [c[0] for c in page.changes]
    services.change_status(
        viewer=viewer_of(housing_intake),
        referral_id=referral.pk,
        family_id=family.pk,
        to_status=S.REJECTED,
        expected_version=page.referral.version,
        reason_code="no_capacity",
        words="Our family units are full until March.",
    )
    assert not may_open_family(viewer_of(housing_intake), family.pk)


def test_once_assigned_only_the_assigned_person_reaches_her(coordinator, family, housing_org, housing_intake):
    colleague = staff(housing_org, Role.CARE_COORDINATOR)
    consent_to(family, by=coordinator, recipients=[housing_org], kinds=["identity", "social_needs"])
    referral = refer(coordinator, family, listing(housing_org))
    referral.refresh_from_db()
    services.change_status(
        viewer=viewer_of(housing_intake),
        referral_id=referral.pk,
        family_id=family.pk,
        to_status=S.ACCEPTED,
        expected_version=referral.version,
    )
    assert may_open_family(viewer_of(housing_intake), family.pk)
    assert not may_open_family(viewer_of(colleague), family.pk)


# --- every change of status ----------------------------------------------------------------------------------


def _referral_in(status, *, coordinator, family, receiving_org):
    referral = Referral.objects.create(
        family=family,
        need=Need.HOUSING,
        kind="social_needs",
        purpose="care_coordination",
        receiving_org=receiving_org,
        status=status,
        sensitivity="social_needs",
        created_by=coordinator.user,
        created_by_org=coordinator.organization,
        sent_at=None if status == S.DRAFT else clock.now(),
        closed_at=clock.now() if status in (S.COMPLETED, S.FAILED, S.REJECTED, S.CANCELLED) else None,
    )
    return referral


ALL = [s.value for s in S]


@pytest.mark.parametrize("frm", ALL)
def test_every_change_is_allowed_only_to_its_side(frm, coordinator, family, housing_org, housing_intake):
    """From each status, every other status, tried by each side: only the allowed side's change is made."""
    consent_to(family, by=coordinator, recipients=[housing_org], kinds=["identity", "social_needs"])
    for to in [t for t in ALL if t != frm]:
        who = services.TRANSITIONS.get((frm, to))
        for side, member in ((services.REFERRER, coordinator), (services.RECEIVER, housing_intake)):
            referral = _referral_in(frm, coordinator=coordinator, family=family, receiving_org=housing_org)
            reason = next(iter(services.REASONS.get(to, {"": ""})))
            attempt = dict(
                viewer=viewer_of(member),
                referral_id=referral.pk,
                family_id=family.pk,
                to_status=to,
                expected_version=referral.version,
                reason_code=reason,
                words="Because.",
            )
            if who == side:
                services.change_status(**attempt)
                referral.refresh_from_db()
                assert referral.status == to, (frm, to, side)
                event = referral.events.last()
                assert event is not None and event.to_status == to
                assert event.created_by_org_id == member.organization_id
                closed = to in (S.COMPLETED, S.FAILED, S.REJECTED, S.CANCELLED)
                assert (referral.closed_at is not None) == closed, (frm, to, side)
            else:
                with pytest.raises((services.IllegalChange, Refused, ValidationError)) as raised:
                    services.change_status(**attempt)
                referral.refresh_from_db()
                assert referral.status == frm, (frm, to, side)
                assert str(raised.value)  # a clear message


def test_a_rejection_must_say_why(coordinator, family, housing_org, housing_intake):
    consent_to(family, by=coordinator, recipients=[housing_org], kinds=["identity", "social_needs"])
    referral = refer(coordinator, family, listing(housing_org))
    referral.refresh_from_db()
    for code, words in (("", "Full."), ("no_capacity", "  ")):
        with pytest.raises(ValidationError):
            services.change_status(
                viewer=viewer_of(housing_intake),
                referral_id=referral.pk,
                family_id=family.pk,
                to_status=S.REJECTED,
                expected_version=referral.version,
                reason_code=code,
                words=words,
            )
    referral.refresh_from_db()
    assert referral.status == S.REQUESTED


def test_a_change_on_a_stale_version_is_refused_and_nothing_is_lost(coordinator, family, housing_org, housing_intake):
    consent_to(family, by=coordinator, recipients=[housing_org], kinds=["identity", "social_needs"])
    referral = refer(coordinator, family, listing(housing_org))
    referral.refresh_from_db()
    seen = referral.version
    services.change_status(
        viewer=viewer_of(housing_intake),
        referral_id=referral.pk,
        family_id=family.pk,
        to_status=S.ACCEPTED,
        expected_version=seen,
    )
    with pytest.raises(ConcurrentEditError):
        services.change_status(
            viewer=viewer_of(coordinator),
            referral_id=referral.pk,
            family_id=family.pk,
            to_status=S.CANCELLED,
            expected_version=seen,
            reason_code="no_longer_needed",
            words="She moved.",
        )
    referral.refresh_from_db()
    assert referral.status == S.ACCEPTED


# --- a Part 2 programme's answer -------------------------------------------------------------------------------


def test_a_part2_answer_reaches_the_referrer_only_under_her_consent(coordinator, family, treatment_org):
    nurse = staff(treatment_org, Role.NURSE)
    service = listing(treatment_org, name="Buprenorphine clinic", needs=("moud",))
    consent_to(family, by=coordinator, recipients=[treatment_org], kinds=["identity", "medication"])
    referral = refer(coordinator, family, service, need=Need.MOUD)
    referral.refresh_from_db()
    services.change_status(
        viewer=viewer_of(nurse),
        referral_id=referral.pk,
        family_id=family.pk,
        to_status=S.REJECTED,
        expected_version=referral.version,
        reason_code="not_eligible",
        words="Outside our area.",
    )
    page = selectors.referral_page(viewer=viewer_of(coordinator), family_id=family.pk, referral_id=referral.pk)
    assert page.view.status == selectors.WITHHELD and "42 CFR Part 2" in page.view.withheld_why
    assert all(e.created_by_org_id != treatment_org.pk for e in page.view.events)
    # Her consent for the programme to tell the coordinator's organisation what happened.
    consent_to(
        family,
        by=coordinator,
        recipients=[coordinator.organization],
        kinds=["medication"],
        disclosers=[treatment_org],
        purposes=("care_coordination",),
    )
    page = selectors.referral_page(viewer=viewer_of(coordinator), family_id=family.pk, referral_id=referral.pk)
    assert page.view.status == S.REJECTED
    assert any(e.words == "Outside our area." for e in page.view.events)


def test_a_community_organisations_answer_reaches_the_referrer(coordinator, family, housing_org, housing_intake):
    consent_to(family, by=coordinator, recipients=[housing_org], kinds=["identity", "social_needs"])
    referral = refer(coordinator, family, listing(housing_org))
    referral.refresh_from_db()
    services.change_status(
        viewer=viewer_of(housing_intake),
        referral_id=referral.pk,
        family_id=family.pk,
        to_status=S.REJECTED,
        expected_version=referral.version,
        reason_code="no_capacity",
        words="Full until March.",
    )
    gate = RecordGate.open(viewer_of(coordinator), [family.pk])
    event = ReferralEvent.objects.get(to_status=S.REJECTED)
    assert gate.may_see(event)
    page = selectors.referral_page(viewer=viewer_of(coordinator), family_id=family.pk, referral_id=referral.pk)
    assert page.view.status == S.REJECTED and page.view.is_closed


# --- answering from a one-time link ---------------------------------------------------------------------------


def test_an_organisation_without_accounts_answers_once_from_its_link(coordinator, family, housing_org, settings):
    settings.EMAIL_PORT = 1  # nothing listens: the referral stands even when the email cannot go
    consent_to(family, by=coordinator, recipients=[housing_org], kinds=["identity", "social_needs"])
    referral = refer(coordinator, family, listing(housing_org, contact="Rosa Intake"))
    link = referral.links.get()
    token = links.issue_link(referral, "intake@example.org").rsplit("/", 2)[-2]
    answered = services.answer_from_link(
        token=token, action="reject", reason_code="no_capacity", words="No family units."
    )
    assert answered is not None and answered.status == S.REJECTED
    event = answered.events.last()
    assert event.via_link and event.actor_name == "Rosa Intake" and event.created_by_org_id == housing_org.pk
    assert services.answer_from_link(token=token, action="reject", reason_code="no_capacity", words="Again") is None
    assert services.answer_from_link(token=token[:-1] + ("A" if token[-1] != "A" else "B"), action="accept") is None
    assert link.pk  # the first link, issued at sending, is kept hashed


# --- where loops are seen: the inbox, the caseload, the network ------------------------------------------------


def test_the_inbox_caseload_and_network_show_each_loops_state(coordinator, family, housing_org, housing_intake):
    consent_to(family, by=coordinator, recipients=[housing_org], kinds=["identity", "social_needs"])
    referral = refer(coordinator, family, listing(housing_org))
    rows = selectors.waiting_on_us(viewer_of(housing_intake))
    assert [r.referral.pk for r in rows] == [referral.pk] and rows[0].family_name == "Maria Lopez"
    assert not rows[0].overdue
    assert selectors.sent_by_us_counts(viewer_of(coordinator), [family.pk]) == {family.pk: {"open": 1, "overdue": 0}}
    # Past its deadline: overdue in both places.
    Referral.objects.filter(pk=referral.pk).update(due_at=clock.now() - timedelta(hours=1))
    assert selectors.waiting_on_us(viewer_of(housing_intake))[0].overdue
    assert selectors.sent_by_us_counts(viewer_of(coordinator), [family.pk])[family.pk]["overdue"] == 1
    # A role that may not see the referral's category counts nothing (rule 1).
    assert selectors.sent_by_us_counts(viewer_of(staff(coordinator.organization, Role.FRONT_DESK)), [family.pk]) == {}
    # Another organisation's staff count only what their organisation sent (the same query, its own values).
    assert selectors.sent_by_us_counts(viewer_of(housing_intake), [family.pk]) == {}
    assert selectors.sent_by_us_counts(viewer_of(coordinator), [family.pk])[family.pk]["open"] == 1
    referral.refresh_from_db()
    services.change_status(
        viewer=viewer_of(housing_intake),
        referral_id=referral.pk,
        family_id=family.pk,
        to_status=S.ACCEPTED,
        expected_version=referral.version,
    )
    referral.refresh_from_db()
    services.change_status(
        viewer=viewer_of(housing_intake),
        referral_id=referral.pk,
        family_id=family.pk,
        to_status=S.COMPLETED,
        expected_version=referral.version,
        reason_code="service_started",
        words="She moved into a family unit.",
    )
    assert selectors.waiting_on_us(viewer_of(housing_intake)) == []
    [pair] = selectors.network_health()
    assert (pair.referring, pair.receiving, pair.sent, pair.accepted, pair.answered) == (
        coordinator.organization.name,
        housing_org.name,
        1,
        1,
        1,
    )
    assert pair.acceptance_rate == 1.0 and pair.closed_share == 1.0 and pair.median_hours_to_first_response >= 0
    # The referrer was told of each answer, in Kinfold.
    assert coordinator.user.referral_notices.count() == 2


def test_cancelling_tells_the_receiving_side_and_ends_its_reach(coordinator, family, housing_org, housing_intake):
    consent_to(family, by=coordinator, recipients=[housing_org], kinds=["identity", "social_needs"])
    referral = refer(coordinator, family, listing(housing_org))
    referral.refresh_from_db()
    services.change_status(
        viewer=viewer_of(coordinator),
        referral_id=referral.pk,
        family_id=family.pk,
        to_status=S.CANCELLED,
        expected_version=referral.version,
        reason_code="no_longer_needed",
        words="She found a place with family.",
    )
    assert housing_intake.user.referral_notices.filter(subject__contains="cancelled").count() == 1
    assert not may_open_family(viewer_of(housing_intake), family.pk)


def test_the_menu_counts_unread_notices_until_she_opens_the_referral(coordinator, family, housing_org, housing_intake):
    from django.test import Client

    consent_to(family, by=coordinator, recipients=[housing_org], kinds=["identity", "social_needs"])
    referral = refer(coordinator, family, listing(housing_org))
    client = Client()
    client.force_login(housing_intake.user)
    page = client.get("/families/").content.decode()
    assert 'data-testid="referral-notice-count"' in page and ">1<" in page
    opened = client.get(f"/referrals/{referral.pk}/")
    assert opened.status_code == 200 and "Maria Lopez" in opened.content.decode()
    assert 'data-testid="referral-notice-count"' not in client.get("/families/").content.decode()


def test_a_service_that_is_closed_takes_no_referrals(coordinator, family, housing_org):
    consent_to(family, by=coordinator, recipients=[housing_org], kinds=["identity", "social_needs"])
    service = listing(housing_org)
    service.status = "temporarily closed"
    service.save()
    with pytest.raises(ValidationError) as raised:
        refer(coordinator, family, service)
    assert "temporarily closed" in str(raised.value) and not Referral.objects.exists()


# --- what making one costs -------------------------------------------------------------------------------------


def _post_referral(client, family, service, key, notes=(), need="housing"):
    """POST the form as a browser does; the statements it made, its on-commit emails included."""
    from django.db import connection
    from django.test import TestCase
    from django.test.utils import CaptureQueriesContext

    form = {
        "family": family.pk,
        "service": service.pk,
        "need": need,
        "priority": "routine",
        "reason": "Stable housing before the baby arrives.",
        "handoff_note": "Best reached by text.",
        "request_key": key,
        "notes": [str(n.pk) for n in notes],
    }
    with CaptureQueriesContext(connection) as captured, TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post("/referrals/new/", form)
    return response, len(captured.captured_queries)


def test_making_a_referral_takes_as_many_statements_whatever_its_items_and_the_intake_staff(
    coordinator, family, housing_org, housing_intake, mailoutbox
):
    from kinfold.notes.services import note_add
    from kinfold.referrals.models import ReferralNotice
    from tests.support import client_for

    consent_to(family, by=coordinator, recipients=[housing_org], kinds=["identity", "social_needs"])
    service = listing(housing_org)
    notes = [
        note_add(viewer=viewer_of(coordinator), family=family, kind=kind, summary=f"Visit {i}")
        for i, kind in enumerate(["social_needs", "contact_log", "social_needs"])
    ]
    client = client_for(coordinator)
    _post_referral(client, family, service, "warm-up", notes[:1])  # a first request fills the process's caches
    response, few = _post_referral(client, family, service, "few", notes[:1])
    assert response.status_code == 302
    more = [staff(housing_org, Role.CARE_COORDINATOR, user__email=f"intake{i}@example.org") for i in range(3)]
    response, many = _post_referral(client, family, service, "many", notes)
    assert response.status_code == 302
    assert many == few  # nothing per intake worker, per email or per item sent
    referral = Referral.objects.get(request_key="many")
    assert {i["key"] for i in referral.sent_items} == {
        "referral",
        "contact",
        f"note:{notes[0].pk}",
        f"note:{notes[2].pk}",
    }
    told = ReferralNotice.objects.filter(referral=referral)
    assert sorted(n.recipient_id for n in told) == sorted(m.user_id for m in [housing_intake, *more])
    assert all(n.emailed_at is not None for n in told)
    emailed = [m.to for m in mailoutbox if m.subject == f"A new referral for {housing_org.name}"]
    # One email per notice: one for each of the first two referrals, then one for each of the four intake staff.
    assert len(emailed) == 2 + 4 and sorted(emailed[2:]) == sorted([m.user.email] for m in [housing_intake, *more])


def test_a_form_sent_without_notes_and_shown_again_still_offers_her_notes(coordinator, family, housing_org):
    from kinfold.notes.services import note_add
    from tests.support import client_for

    note = note_add(viewer=viewer_of(coordinator), family=family, kind="social_needs", summary="Home visit")
    client, service = client_for(coordinator), listing(housing_org)
    # Refused by the form, then by the service (the listing is closed): each time her notes are offered again.
    response, _ = _post_referral(client, family, service, "bad", need="")
    page = response.content.decode()
    assert response.status_code == 400 and "Choose" in page
    assert f'value="{note.pk}"' in page and "Home visit" in page
    service.status = "temporarily closed"
    service.save()
    response, _ = _post_referral(client, family, service, "closed")
    page = response.content.decode()
    assert response.status_code == 400 and "temporarily closed" in page
    assert f'value="{note.pk}"' in page and "Home visit" in page
    assert not Referral.objects.exists()
