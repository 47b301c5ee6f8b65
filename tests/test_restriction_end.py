"""Ending an agreed restriction (45 CFR 164.522(a)(2)).

She may end it herself (in writing, or aloud and recorded by a staff member): from that instant her consents
share again everything it covered. The disclosing organisation may end it after telling her: then the end
reaches only what it creates or receives from that instant on, and what it made before stays restricted. A
restriction on telling a health plan about care she paid for herself is never ended by the organisation.

Maria Lopez's team: a community coordinator, a CPS caseworker and an opioid treatment programme's counsellor.
Her team-wide consent shares treatment records with the team; she asked Hope Recovery Center not to share
them with CPS, and Hope agreed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format

from kinfold import clock
from kinfold.access.registry import RecordFacts
from kinfold.access.rules import decide
from kinfold.audit.models import Action, AuditEvent, Outcome
from kinfold.consent import services
from kinfold.consent.models import Restriction, RestrictionStatus
from kinfold.families import services as family_services
from kinfold.families.models import Family, FamilyActivity, Sensitivity
from kinfold.notes import services as note_services
from kinfold.notes.models import Note, NoteKind
from kinfold.organizations.models import Membership, Organization, OrganizationType, Role
from tests.factories import OrganizationFactory, consent_team_wide, make_family, staff, viewer_of
from tests.support import client_for, text

pytestmark = pytest.mark.django_db

MICRO = timedelta(microseconds=1)
ATTENDANCE = "Attended group session and took her medication dose"
LATER_ATTENDANCE = "Attended the parenting group after the restriction ended"
PARENT = Restriction.EndRequestedBy.PARENT
ORGANIZATION = Restriction.EndRequestedBy.ORGANIZATION


@dataclass
class World:
    family: Family
    coordinator: Membership
    caseworker: Membership
    counsellor: Membership
    treatment_org: Organization
    cps_org: Organization
    attendance: Note


@pytest.fixture
def world(coordinator, caseworker, treatment_org) -> World:
    counsellor = staff(treatment_org, Role.SUD_COUNSELOR, user__first_name="Tess", user__last_name="Okafor")
    family = make_family(coordinator, given_name="Maria", family_name="Lopez")
    v = viewer_of(coordinator)
    for member, role in ((caseworker, Role.CPS_CASEWORKER), (counsellor, Role.SUD_COUNSELOR)):
        family_services.care_team_member_add(viewer=v, family=family, membership=member, role=role)
    consent_team_wide(family, by=coordinator, categories=("contact", "social_needs", "sud_treatment"))
    attendance = note_services.note_add(
        viewer=viewer_of(counsellor), family=family, kind=NoteKind.TREATMENT_ATTENDANCE, summary=ATTENDANCE
    )
    return World(
        family=family,
        coordinator=coordinator,
        caseworker=caseworker,
        counsellor=counsellor,
        treatment_org=treatment_org,
        cps_org=caseworker.organization,
        attendance=attendance,
    )


def agreed(w: World, **kwargs: Any) -> Restriction:
    """Her request that Hope not share treatment records with CPS, agreed by Hope's counsellor."""
    requested = services.restriction_request(
        viewer=viewer_of(w.coordinator),
        family=w.family,
        disclosing_org=w.treatment_org,
        recipient_org=w.cps_org,
        categories=["sud_treatment"],
        **kwargs,
    )
    return services.restriction_decide(viewer=viewer_of(w.counsellor), restriction=requested, agree=True)


def note_made_at(w: World, at: datetime, summary: str = "Attendance") -> Note:
    return Note.objects.create(
        family=w.family,
        kind=NoteKind.TREATMENT_ATTENDANCE,
        summary=summary,
        sensitivity="sud_treatment",
        created_by=w.counsellor.user,
        created_by_org=w.treatment_org,
        created_at=at,
    )


def set_instants(r: Restriction, *, decided_at: datetime, ended_at: datetime, on_request_of: str) -> None:
    """The restriction as agreed and ended at exact instants, so decisions can be asked at the edges."""
    Restriction.objects.filter(pk=r.pk).update(
        status=RestrictionStatus.ENDED,
        decided_at=decided_at,
        ended_at=ended_at,
        ended_on_request_of=on_request_of,
        end_reason="Her court case closed; the programme told her on the phone",
    )


def caseworker_sees(w: World, record: Any, at: datetime) -> bool:
    return decide(viewer_of(w.caseworker), record, "child_welfare_case", at).permitted


# --- the policy -----------------------------------------------------------------------------------------


def test_a_restriction_she_ended_denies_until_its_end_and_permits_everything_from_that_instant(world):
    w = world
    # Her consent and the caseworker's place on the team start now: the restriction is agreed and ended later.
    now = clock.now()
    decided, ended = now + timedelta(days=1), now + timedelta(days=3)
    old = note_made_at(w, decided - timedelta(days=10))
    new = note_made_at(w, ended + timedelta(hours=1))
    set_instants(agreed(w), decided_at=decided, ended_at=ended, on_request_of=PARENT)

    assert caseworker_sees(w, old, decided - MICRO)
    assert not caseworker_sees(w, old, decided)
    assert not caseworker_sees(w, old, ended - MICRO)  # an ended restriction still counts until its end
    assert caseworker_sees(w, old, ended)  # half-open: not at its end
    assert caseworker_sees(w, new, ended + timedelta(days=1))
    # A record whose creation instant is not known is shared again too: her end reaches everything.
    unknown = RecordFacts(family_id=w.family.pk, created_by_org_id=w.treatment_org.pk, category="sud_treatment")
    assert not caseworker_sees(w, unknown, ended - MICRO) and caseworker_sees(w, unknown, ended)


def test_an_organisation_ended_restriction_keeps_covering_records_made_before_its_end(world):
    w = world
    # Her consent and the caseworker's place on the team start now: the restriction is agreed and ended later.
    now = clock.now()
    decided, ended = now + timedelta(days=1), now + timedelta(days=3)
    older = note_made_at(w, decided - timedelta(days=10))
    just_before = note_made_at(w, ended - MICRO)
    at_the_end = note_made_at(w, ended)
    after = note_made_at(w, ended + timedelta(hours=1))
    set_instants(agreed(w), decided_at=decided, ended_at=ended, on_request_of=ORGANIZATION)

    for record in (older, just_before):
        assert caseworker_sees(w, record, decided - MICRO)
        assert not caseworker_sees(w, record, ended)
        assert not caseworker_sees(w, record, ended + timedelta(days=30))  # for what was made before, it never ends
    # Until its end it covers everything, even what is dated from the end on.
    assert not caseworker_sees(w, at_the_end, ended - MICRO)
    assert caseworker_sees(w, at_the_end, ended)  # made at the end's instant: made after she was told
    assert caseworker_sees(w, after, ended + timedelta(days=1))
    # Not knowing when a record was made, the policy reads it as made before.
    unknown = RecordFacts(family_id=w.family.pk, created_by_org_id=w.treatment_org.pk, category="sud_treatment")
    assert not caseworker_sees(w, unknown, ended + timedelta(days=1))
    # The programme's own staff were never limited.
    assert decide(viewer_of(w.counsellor), older, "treatment", decided).permitted


# --- the service ----------------------------------------------------------------------------------------


def test_she_ends_it_through_any_staff_member_who_may_see_the_request_and_it_is_audited(world):
    w = world
    r = agreed(w)
    # Her request names Hope, a Part 2 programme: it and its timeline lines are Part 2 records.
    assert r.sensitivity == Sensitivity.SUD_TREATMENT
    assert not caseworker_sees(w, w.attendance, clock.now())
    ended = services.restriction_end(
        viewer=viewer_of(w.coordinator), restriction=r, on_request_of=PARENT, reason="She told me at the home visit"
    )
    ended.refresh_from_db()
    assert ended.status == RestrictionStatus.ENDED
    assert ended.ended_on_request_of == PARENT and ended.ended_by == w.coordinator
    assert ended.end_reason == "She told me at the home visit"
    assert ended.ended_at is not None and ended.decided_at is not None and ended.ended_at >= ended.decided_at
    assert ended.version == r.version + 1
    assert caseworker_sees(w, w.attendance, clock.now())

    line = FamilyActivity.objects.get(family=w.family, verb="restriction_ended")
    assert line.summary == "Recorded that she ended her restriction on what Hope Recovery Center shares"
    assert line.occurred_at == ended.ended_at
    assert line.sensitivity == Sensitivity.SUD_TREATMENT
    event = AuditEvent.objects.filter(record_type="Restriction", record_id=str(r.pk)).latest("pk")
    assert (event.action, event.outcome, event.actor_id) == (Action.UPDATE, Outcome.SUCCESS, w.coordinator.user_id)
    assert event.detail == {"verb": "restriction_ended", "status": "ended", "on_request_of": "parent"}

    with pytest.raises(ValidationError, match="already ended"):
        services.restriction_end(viewer=viewer_of(w.coordinator), restriction=r, on_request_of=PARENT)


def test_only_an_agreed_restriction_can_end(world):
    w = world
    requested = services.restriction_request(
        viewer=viewer_of(w.coordinator), family=w.family, disclosing_org=w.treatment_org, recipient_org=w.cps_org
    )
    with pytest.raises(ValidationError, match="Only an agreed restriction can be ended"):
        services.restriction_end(viewer=viewer_of(w.coordinator), restriction=requested, on_request_of=PARENT)
    refused = services.restriction_decide(
        viewer=viewer_of(w.counsellor), restriction=requested, agree=False, reason="Required by her safety plan"
    )
    with pytest.raises(ValidationError, match="Only an agreed restriction can be ended"):
        services.restriction_end(
            viewer=viewer_of(w.counsellor), restriction=refused, on_request_of=ORGANIZATION, reason="No longer"
        )
    refused.refresh_from_db()
    assert refused.status == RestrictionStatus.REFUSED and refused.ended_at is None
    assert not FamilyActivity.objects.filter(family=w.family, verb="restriction_ended").exists()


def test_the_organisation_ends_it_only_with_a_reason_and_only_from_its_own_staff(world):
    w = world
    r = agreed(w)
    with pytest.raises(ValidationError) as missing:
        services.restriction_end(viewer=viewer_of(w.counsellor), restriction=r, on_request_of=ORGANIZATION)
    assert missing.value.message_dict == {
        "reason": ["Give the reason the organisation is ending it: she will be told."]
    }

    # CPS, the recipient, cannot end it on the programme's behalf; the refusal is audited.
    with pytest.raises(PermissionDenied, match="Only staff of Hope Recovery Center"):
        services.restriction_end(
            viewer=viewer_of(w.caseworker), restriction=r, on_request_of=ORGANIZATION, reason="We need the reports"
        )
    denied = AuditEvent.objects.filter(record_type="Restriction", record_id=str(r.pk), outcome=Outcome.DENIED)
    assert denied.filter(actor_id=w.caseworker.user_id).count() == 1
    r.refresh_from_db()
    assert r.status == RestrictionStatus.AGREED and r.ended_at is None

    ended = services.restriction_end(
        viewer=viewer_of(w.counsellor), restriction=r, on_request_of=ORGANIZATION, reason="  Court order requires it  "
    )
    assert ended.status == RestrictionStatus.ENDED and ended.end_reason == "Court order requires it"
    assert ended.ended_by == w.counsellor
    line = FamilyActivity.objects.get(family=w.family, verb="restriction_ended")
    assert line.summary == (
        "Hope Recovery Center ended the restriction on what it shares; records it made before stay restricted"
    )
    # Her attendance note was made before: still kept from CPS.
    assert not caseworker_sees(w, w.attendance, clock.now())


def test_staff_who_cannot_open_the_family_cannot_record_her_end(world, outsider):
    w = world
    r = agreed(w)
    with pytest.raises(PermissionDenied):
        services.restriction_end(viewer=viewer_of(outsider), restriction=r, on_request_of=PARENT)
    assert AuditEvent.objects.filter(actor_id=outsider.user_id, outcome=Outcome.DENIED, family_id=w.family.pk).exists()
    r.refresh_from_db()
    assert r.status == RestrictionStatus.AGREED


def test_someone_who_may_open_the_family_but_not_see_the_request_cannot_record_her_end(world, community_org):
    """A peer coach named in a consent that covers only Maria's contact details opens her family, but not
    a request that names her treatment programme: she cannot record its end (CONSENT-RULES: nobody changes
    what she may not read), and the refusal is audited under the restriction."""
    w = world
    r = agreed(w)
    peers = OrganizationFactory(name="Second Wind Peer Recovery", type=OrganizationType.PEER_RECOVERY)
    coach = staff(peers, Role.PEER_RECOVERY_COACH, user__first_name="Pat", user__last_name="Rowe")
    services.consent_record(
        viewer=viewer_of(w.coordinator),
        family=w.family,
        title="Peer coach",
        terms=services.ConsentTerms(
            discloser_orgs=[community_org],
            recipient_people=[coach],
            purposes=["care_coordination"],
            categories=["contact"],
            expires_at=clock.now() + timedelta(days=30),
            signer_name="Maria Lopez",
            signature_typed="Maria Lopez",
        ),
    )
    assert client_for(coach).get(family_url(w)).status_code == 200
    with pytest.raises(PermissionDenied):
        services.restriction_end(viewer=viewer_of(coach), restriction=r, on_request_of=PARENT)
    denied = AuditEvent.objects.get(actor_id=coach.user_id, outcome=Outcome.DENIED, record_type="Restriction")
    assert denied.record_id == str(r.pk) and denied.detail["interaction"] == "retire"
    r.refresh_from_db()
    assert r.status == RestrictionStatus.AGREED
    # Nor does the page let her at it: not permitted reads as not there.
    assert client_for(coach).get(end_url(w, r)).status_code == 404


def test_a_self_pay_restriction_toward_a_health_plan_is_never_ended_by_the_organisation(world):
    w = world
    plan = OrganizationFactory(name="Lakeview Health Plan", type=OrganizationType.HEALTH_DEPARTMENT)
    requested = services.restriction_request(
        viewer=viewer_of(w.coordinator), family=w.family, disclosing_org=w.treatment_org, recipient_org=plan,
        purposes=["payment"], is_self_pay_to_health_plan=True,
    )  # fmt: skip
    r = services.restriction_decide(viewer=viewer_of(w.counsellor), restriction=requested, agree=True)
    with pytest.raises(ValidationError, match="cannot be ended by the organisation"):
        services.restriction_end(
            viewer=viewer_of(w.counsellor), restriction=r, on_request_of=ORGANIZATION, reason="Plan audit"
        )
    r.refresh_from_db()
    assert r.status == RestrictionStatus.AGREED
    # The database refuses it too, whatever writes the row.
    with pytest.raises(IntegrityError), transaction.atomic():
        Restriction.objects.filter(pk=r.pk).update(
            status=RestrictionStatus.ENDED, ended_at=clock.now(), ended_on_request_of=ORGANIZATION, end_reason="x"
        )
    # She can end it herself.
    ended = services.restriction_end(viewer=viewer_of(w.counsellor), restriction=r, on_request_of=PARENT)
    assert ended.status == RestrictionStatus.ENDED and ended.ended_on_request_of == PARENT


def test_who_asked_must_be_her_or_the_organisation(world):
    w = world
    r = agreed(w)
    with pytest.raises(ValidationError, match="Say who asked to end it"):
        services.restriction_end(viewer=viewer_of(w.counsellor), restriction=r, on_request_of="court")
    r.refresh_from_db()
    assert r.status == RestrictionStatus.AGREED


# --- the pages ------------------------------------------------------------------------------------------


def family_url(w: World) -> str:
    return reverse("families:detail", args=[w.family.pk])


def end_url(w: World, r: Restriction) -> str:
    return reverse("consent:restriction_end", args=[w.family.pk, r.pk])


def local(at: datetime | None, fmt: str) -> str:
    assert at is not None
    return date_format(timezone.localtime(at), fmt)


def test_she_ends_it_on_the_page_after_a_confirm_step_and_the_family_page_says_so(world):
    w = world
    r = agreed(w)
    coordinator, caseworker = client_for(w.coordinator), client_for(w.caseworker)
    page = text(coordinator.get(family_url(w)))
    assert "End this restriction" in page and end_url(w, r) in page
    assert ATTENDANCE not in text(caseworker.get(family_url(w)))

    form = text(coordinator.get(end_url(w, r)))
    assert "She asked to end it" in form
    # Only Hope's own staff may end it on Hope's side.
    assert "Hope Recovery Center is ending it" not in form

    data = {"on_request_of": "parent", "reason": "She called on Monday and said she no longer needs it"}
    confirm = coordinator.post(end_url(w, r), {**data, "action": "confirm"})
    assert confirm.status_code == 200
    assert "This takes effect now" in text(confirm) and "Yes, end the restriction now" in text(confirm)
    r.refresh_from_db()
    assert r.status == RestrictionStatus.AGREED  # nothing ends before she confirms

    back = coordinator.post(end_url(w, r), {**data, "action": "edit"})
    assert "This takes effect now" not in text(back) and "She called on Monday" in text(back)

    done = coordinator.post(end_url(w, r), {**data, "action": "end"})
    assert done.status_code == 302 and done["Location"] == family_url(w)
    r.refresh_from_db()
    assert r.status == RestrictionStatus.ENDED and r.ended_by == w.coordinator
    page = text(coordinator.get(family_url(w)))
    assert f"Ended on {local(r.ended_at, 'j M Y')} at {local(r.ended_at, 'H:i')} at her request" in page
    assert "End this restriction" not in page
    assert ATTENDANCE in text(caseworker.get(family_url(w)))  # her consent shares it again

    again = text(coordinator.get(end_url(w, r)))
    assert "This restriction already ended" in again and "Continue" not in again


def test_the_organisation_ends_it_on_the_page_with_a_reason_and_older_records_stay_restricted(world):
    w = world
    r = agreed(w)
    counsellor, caseworker = client_for(w.counsellor), client_for(w.caseworker)
    assert "Hope Recovery Center is ending it, and has told her" in text(counsellor.get(end_url(w, r)))

    no_reason = counsellor.post(end_url(w, r), {"on_request_of": "organization", "reason": "", "action": "confirm"})
    assert no_reason.status_code == 400
    assert "Give the reason the organisation is ending it: she will be told." in text(no_reason)

    reason = "Her court case closed; we told her by phone"
    data = {"on_request_of": "organization", "reason": reason}
    confirm = text(counsellor.post(end_url(w, r), {**data, "action": "confirm"}))
    assert "This takes effect now" in confirm and "Records it made before now stay restricted" in confirm
    assert counsellor.post(end_url(w, r), {**data, "action": "end"}).status_code == 302
    r.refresh_from_db()
    assert r.status == RestrictionStatus.ENDED and r.ended_on_request_of == ORGANIZATION

    note_services.note_add(
        viewer=viewer_of(w.counsellor), family=w.family, kind=NoteKind.TREATMENT_ATTENDANCE, summary=LATER_ATTENDANCE
    )
    page = text(caseworker.get(family_url(w)))
    assert f"Ended by Hope Recovery Center on {local(r.ended_at, 'j M Y')}" in page
    assert reason in page and "Records it made before then stay restricted." in page
    assert ATTENDANCE not in page  # made before the end
    assert LATER_ATTENDANCE in page  # made after it


def test_the_recipient_cannot_end_it_on_the_organisations_side_through_the_page(world):
    w = world
    r = agreed(w)
    response = client_for(w.caseworker).post(
        end_url(w, r), {"on_request_of": "organization", "reason": "We need the reports", "action": "end"}
    )
    assert response.status_code == 400
    assert "Say who asked to end it" in text(response)
    r.refresh_from_db()
    assert r.status == RestrictionStatus.AGREED


def test_a_self_pay_restriction_offers_only_her_end_on_the_page(world):
    w = world
    r = agreed(w, is_self_pay_to_health_plan=True)
    counsellor = client_for(w.counsellor)
    form = text(counsellor.get(end_url(w, r)))
    assert "Only she can end a restriction on telling her health plan" in form
    assert "Hope Recovery Center is ending it" not in form
    response = counsellor.post(end_url(w, r), {"on_request_of": "organization", "reason": "Audit", "action": "end"})
    assert response.status_code == 400
    r.refresh_from_db()
    assert r.status == RestrictionStatus.AGREED


def test_a_request_not_yet_agreed_offers_no_end(world):
    w = world
    requested = services.restriction_request(
        viewer=viewer_of(w.coordinator), family=w.family, disclosing_org=w.treatment_org, recipient_org=w.cps_org
    )
    coordinator = client_for(w.coordinator)
    assert "End this restriction" not in text(coordinator.get(family_url(w)))
    page = coordinator.post(end_url(w, requested), {"on_request_of": "parent", "action": "end"})
    assert page.status_code == 200 and "Only an agreed restriction can be ended" in text(page)
    requested.refresh_from_db()
    assert requested.status == RestrictionStatus.REQUESTED
