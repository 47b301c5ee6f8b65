"""One door: a regression test for each path issue 10 found deciding on its own. Each is named for what a user
relies on; each goes through the pages (or the API) a person would use, and asserts nothing changed where the
door refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from kinfold import clock
from kinfold.access.gate import RecordGate
from kinfold.audit.models import AuditEvent
from kinfold.consent import services as consent_services
from kinfold.consent.models import ConsentDirective, ConsentVersion, CourtOrder
from kinfold.families import services
from kinfold.families.models import (
    CareTeamMember,
    FamilyActivity,
    PregnancyEpisode,
    PregnancyOutcome,
    RelationshipCategory,
    Sensitivity,
)
from kinfold.families.selectors import family_detail
from kinfold.notes.services import note_add
from kinfold.organizations.models import OrganizationType, Role
from tests.factories import OrganizationFactory, make_family, staff, viewer_of
from tests.support import client_for, text

pytestmark = pytest.mark.django_db


def _consent(family: Any, *, by: Any, disclosers: list[Any], recipients: list[Any], categories: list[str], **kw: Any):
    """A consent naming organisations (not classes), signed today for a year."""
    terms = consent_services.ConsentTerms(
        discloser_orgs=disclosers,
        recipient_orgs=recipients,
        purposes=kw.pop("purposes", ["child_welfare_case", "care_coordination", "treatment"]),
        categories=categories,
        expires_at=clock.now() + timedelta(days=365),
        signer_name="Maria Lopez",
        signature_typed="Maria Lopez",
        **kw,
    )
    return consent_services.consent_record(viewer=viewer_of(by), family=family, terms=terms, title=kw.get("title", ""))


def _join(family: Any, coordinator: Any, member: Any) -> CareTeamMember:
    return services.care_team_member_add(
        viewer=viewer_of(coordinator), family=family, membership=member, role=member.role
    )


def _treatment_joins(family: Any, coordinator: Any, treatment_org: Any) -> Any:
    """A counsellor of the Part 2 programme joins her team; her contact sheet is shared with the programme."""
    counsellor = staff(treatment_org, Role.SUD_COUNSELOR)
    _join(family, coordinator, counsellor)
    _consent(
        family,
        by=coordinator,
        disclosers=[coordinator.organization],
        recipients=[treatment_org],
        categories=["contact"],
    )
    return counsellor


@pytest.fixture
def world(coordinator, caseworker, community_org, cps_org) -> dict[str, Any]:
    """Bright Futures coordinates; CPS is on the team and sees her contact sheet and what Bright Futures
    records about the pregnancy; an obstetric clinic is on the team too."""
    clinic = OrganizationFactory(name="Lakeview Women's Health", type=OrganizationType.OBSTETRIC)
    midwife = staff(clinic, Role.OB_CLINICIAN, user__first_name="Grace", user__last_name="Okafor")
    family = make_family(coordinator, estimated_due_on=clock.today() + timedelta(days=60))
    _join(family, coordinator, caseworker)
    _join(family, coordinator, midwife)
    _consent(
        family,
        by=coordinator,
        disclosers=[community_org],
        recipients=[cps_org, clinic],
        categories=[Sensitivity.CONTACT, Sensitivity.GENERAL_HEALTH],
    )
    return {"family": family, "clinic": clinic, "midwife": midwife}


def test_an_infant_the_policy_hides_is_not_named_on_the_family_page_or_in_the_api(world, caseworker):
    """The midwife records the birth: the baby is her clinic's record, which no consent shares with CPS. CPS
    sees the pregnancy (Bright Futures shares it) but never the baby's name."""
    family = world["family"]
    episode = PregnancyEpisode.objects.get(family=family)
    services.delivery_record(
        viewer=viewer_of(world["midwife"]),
        episode=episode,
        delivered_on=clock.today(),
        outcome=PregnancyOutcome.LIVE_BIRTH,
        infants=[{"given_name": "Zephyrine"}],
        expected_version=episode.version,
    )
    client = client_for(caseworker)
    page = text(client.get(reverse("families:detail", args=[family.pk])))
    assert "Delivered" in page, "the caseworker sees the pregnancy Bright Futures shares"
    assert "Zephyrine" not in page
    api = client.get(f"/api/families/{family.pk}")
    assert api.status_code == 200
    assert "Zephyrine" not in api.content.decode()
    assert api.json()["pregnancies"][0]["infants"] == []
    export = client.get(reverse("families:export", args=[family.pk]))
    assert "Zephyrine" not in export.content.decode()
    # Her coordinator's team may see it under the clinic's own rule: the midwife sees the name.
    assert "Zephyrine" in text(client_for(world["midwife"]).get(reverse("families:detail", args=[family.pk])))


def test_a_caseworker_denied_the_pregnancy_can_neither_see_nor_change_the_due_date(coordinator, caseworker, cps_org):
    """With a consent covering only her contact sheet, the due date is not the caseworker's to see: both
    forms answer 404 (as if there were no pregnancy), a POST changes nothing, and each attempt is audited."""
    family = make_family(coordinator, estimated_due_on=clock.today() + timedelta(days=60))
    _join(family, coordinator, caseworker)
    _consent(
        family, by=coordinator, disclosers=[coordinator.organization], recipients=[cps_org], categories=["contact"]
    )
    episode = PregnancyEpisode.objects.get(family=family)
    client = client_for(caseworker)
    assert client.get(reverse("families:detail", args=[family.pk])).status_code == 200, "she may open the family"
    for name in ("families:due_date", "families:delivery"):
        url = reverse(name, args=[family.pk, episode.pk])
        get = client.get(url)
        assert get.status_code == 404
        assert episode.estimated_due_on.strftime("%Y-%m-%d") not in get.content.decode()
    later = episode.estimated_due_on + timedelta(days=7)
    post = client.post(
        reverse("families:due_date", args=[family.pk, episode.pk]),
        {"estimated_due_on": later.isoformat(), "version": episode.version},
    )
    assert post.status_code == 404
    episode.refresh_from_db()
    assert episode.estimated_due_on == later - timedelta(days=7)
    denied = AuditEvent.objects.filter(actor_id=caseworker.user_id, record_type="PregnancyEpisode", outcome="denied")
    assert denied.count() == 3


def test_a_pregnancy_of_another_family_is_not_reached_through_this_familys_address(coordinator):
    mine = make_family(coordinator, estimated_due_on=clock.today() + timedelta(days=60))
    other = make_family(coordinator, given_name="Other", estimated_due_on=clock.today() + timedelta(days=90))
    theirs = PregnancyEpisode.objects.get(family=other)
    response = client_for(coordinator).get(reverse("families:due_date", args=[mine.pk, theirs.pk]))
    assert response.status_code == 404


def test_a_legal_representative_hidden_from_the_coordinator_is_not_offered_as_a_signer(
    coordinator, caseworker, cps_org
):
    """CPS records her guardian; nothing shares CPS's records with Bright Futures, so the coordinator is not
    offered that name to sign with, and a forged choice is refused with nothing saved."""
    family = make_family(coordinator)
    _join(family, coordinator, caseworker)
    _consent(
        family, by=coordinator, disclosers=[coordinator.organization], recipients=[cps_org], categories=["contact"]
    )
    guardian = services.family_member_add(
        viewer=viewer_of(caseworker),
        family=family,
        given_name="Quintessa",
        family_name="Lopez",
        category=RelationshipCategory.OTHER_RELATIVE,
        is_legal_representative=True,
    )
    client = client_for(coordinator)
    terms = {
        "title": "Team-wide",
        "language": "en",
        "discloser_classes": ["care_team"],
        "recipient_classes": ["care_team"],
        "purposes": ["care_coordination"],
        "categories": ["contact"],
        "ends": "date",
        "expires_on": (clock.today() + timedelta(days=365)).isoformat(),
    }
    url = reverse("consent:new", args=[family.pk]) + "?template=blank"
    sign_step = text(client.post(url, {**terms, "action": "preview"}))
    assert "Read it and sign" in sign_step
    assert "Quintessa" not in sign_step
    before = ConsentDirective.objects.count()
    forged = client.post(
        url,
        {
            **terms,
            "action": "sign",
            "signer_kind": "legal_representative",
            "signer_person": guardian.person.pk,
            "signer_name": "Quintessa Lopez",
            "signature_method": "typed",
            "signature_typed": "Quintessa Lopez",
        },
    )
    assert forged.status_code == 400
    assert ConsentDirective.objects.count() == before
    # The caseworker, whose organisation recorded her, is offered her name.
    gate = RecordGate.open(viewer_of(caseworker), [family.pk])
    from kinfold.families.selectors import legal_representatives

    assert [p.given_name for p in legal_representatives(gate=gate, family_id=family.pk)] == ["Quintessa"]


def test_only_the_coordinator_removes_or_promotes_a_team_member_and_anyone_may_leave(world, coordinator, caseworker):
    family = world["family"]
    midwife_place = CareTeamMember.objects.get(membership=world["midwife"], left_at__isnull=True)
    own_place = CareTeamMember.objects.get(membership=caseworker, left_at__isnull=True)
    client = client_for(caseworker)
    page = text(client.get(reverse("families:detail", args=[family.pk])))
    assert "Make coordinator" not in page and "Leave the team" in page
    for name in ("families:team_remove", "families:coordinator"):
        response = client.post(reverse(name, args=[family.pk, midwife_place.pk]), follow=True)
        assert "only her designated coordinator manages her care team" in text(response)
    midwife_place.refresh_from_db()
    assert midwife_place.left_at is None and not midwife_place.is_coordinator
    assert client.get(reverse("families:team_add", args=[family.pk])).status_code == 403
    refused = AuditEvent.objects.filter(actor_id=caseworker.user_id, record_type="CareTeamMember", outcome="denied")
    assert sorted(refused.values_list("action", flat=True)) == ["create", "delete", "update"]
    response = client.post(reverse("families:team_remove", args=[family.pk, own_place.pk]), follow=True)
    assert "You left her care team." in text(response)
    assert response.redirect_chain[-1][0] == reverse("families:caseload"), "her family page is no longer hers"


def test_a_team_place_she_cannot_see_cannot_be_removed_or_promoted(coordinator, caseworker):
    """With no consent, the coordinator's team is invisible to the caseworker: its places answer 404."""
    family = make_family(coordinator)
    _join(family, coordinator, caseworker)
    coordinator_place = CareTeamMember.objects.get(membership=coordinator, left_at__isnull=True)
    client = client_for(caseworker)
    for name in ("families:team_remove", "families:coordinator"):
        assert client.post(reverse(name, args=[family.pk, coordinator_place.pk])).status_code == 404
    coordinator_place.refresh_from_db()
    assert coordinator_place.is_coordinator and coordinator_place.left_at is None


def test_the_consent_status_is_the_policys_in_force_while_a_later_version_waits(world, coordinator):
    family = world["family"]
    directive = ConsentDirective.objects.get(family=family)
    latest = directive.versions.get()
    terms = consent_services.ConsentTerms(
        discloser_orgs=list(latest.discloser_orgs.all()),
        recipient_orgs=list(latest.recipient_orgs.all()),
        purposes=list(latest.purposes),
        categories=list(latest.categories),
        expires_at=latest.expires_at,
        signer_name="Maria Lopez",
        signature_typed="Maria Lopez",
        effective_at=clock.now() + timedelta(days=10),
    )
    consent_services.consent_new_version(viewer=viewer_of(coordinator), directive=directive, terms=terms)
    client = client_for(coordinator)
    page = text(client.get(reverse("consent:detail", args=[family.pk, directive.pk])))
    assert "In force (version 1); version 2 from" in page
    assert "pending" not in page.lower()
    listed = text(client.get(reverse("families:detail", args=[family.pk])))
    assert 'data-status="in_force"' in listed


def test_a_version_missing_a_required_element_is_shown_as_covering_nothing(world, coordinator):
    """Kinfold's capture never saves such a version; one imported or altered elsewhere must not read as in force."""
    family = world["family"]
    directive = ConsentDirective.objects.get(family=family)
    ConsentVersion.objects.filter(directive=directive).update(right_to_revoke="   ")  # as an import might leave it
    page = text(client_for(coordinator).get(reverse("consent:detail", args=[family.pk, directive.pk])))
    assert "Covers nothing: version 1 lacks the right to revoke" in page
    assert "In force" not in page


def test_the_accounting_opens_for_whoever_may_open_the_family_and_shows_only_what_she_may_read(
    world, coordinator, caseworker, outsider
):
    family = world["family"]
    client_for(caseworker).get(reverse("families:detail", args=[family.pk]))  # CPS reads under her consent
    client_for(world["midwife"]).get(reverse("families:detail", args=[family.pk]))  # so does the clinic
    assert client_for(outsider).get(reverse("consent:accounting", args=[family.pk])).status_code == 404
    as_cps = text(client_for(caseworker).get(reverse("consent:accounting", args=[family.pk])))
    assert "Carl Jensen at Lakeview County Child Protective Services" in as_cps
    assert "Grace Okafor" in as_cps, "she may read every record the clinic's entry names (Bright Futures' own)"
    # A privacy officer of Bright Futures sees her organisation's disclosures, without being on the team.
    officer = staff(coordinator.organization, Role.PRIVACY_OFFICER)
    as_officer = text(client_for(officer).get(reverse("consent:accounting", args=[family.pk])))
    assert "Carl Jensen" in as_officer and "Grace Okafor" in as_officer


def _court_world(coordinator: Any) -> dict[str, Any]:
    """A treatment court on her team, with her stand-alone consent (3b) naming it for her contact sheet."""
    court = OrganizationFactory(name="Lakeview Family Treatment Court", type=OrganizationType.COURT)
    court_coordinator = staff(court, Role.COURT_COORDINATOR)
    family = make_family(coordinator)
    _join(family, coordinator, court_coordinator)
    _consent(
        family,
        by=coordinator,
        disclosers=[coordinator.organization],
        recipients=[court],
        categories=["contact"],
        purposes=["court_proceeding"],
    )
    return {"court": court, "court_coordinator": court_coordinator, "family": family}


def _order_form(court: Any, **extra: str) -> dict[str, Any]:
    today = clock.today()
    return {
        "court": court.pk,
        "order_reference": "FTC-1",
        "issued_on": today.isoformat(),
        "categories": ["contact", "legal"],
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=30)).isoformat(),
        **extra,
    }


def test_a_court_coordinator_cannot_record_the_court_order_that_grants_her_own_court_access(coordinator):
    w = _court_world(coordinator)
    family, court = w["family"], w["court"]
    client = client_for(w["court_coordinator"])
    assert client.get(reverse("families:detail", args=[family.pk])).status_code == 200, "her consent opens it"
    page = text(client.get(reverse("families:detail", args=[family.pk])))
    assert "Record a court order" not in page
    assert client.get(reverse("consent:court_order_add", args=[family.pk])).status_code == 403
    assert client.post(reverse("consent:court_order_add", args=[family.pk]), _order_form(court)).status_code == 403
    assert not CourtOrder.objects.exists()


def test_nobody_records_her_own_organisations_grant_not_even_its_privacy_officer(coordinator):
    w = _court_world(coordinator)
    family, court = w["family"], w["court"]
    court_officer = staff(court, Role.PRIVACY_OFFICER)
    # She may open the family: Bright Futures shares her contact sheet with the court for its operations.
    _consent(
        family,
        by=coordinator,
        disclosers=[coordinator.organization],
        recipients=[court],
        categories=["contact"],
        purposes=["operations"],
    )
    assert client_for(court_officer).get(reverse("families:detail", args=[family.pk])).status_code == 200
    with pytest.raises(PermissionDenied):
        consent_services.court_order_record(
            viewer=viewer_of(court_officer),
            family=family,
            court=court,
            order_reference="FTC-2",
            issued_on=clock.today(),
            categories=["contact"],
            valid_from=clock.now(),
            valid_until=clock.now() + timedelta(days=30),
            finding_other_means_unavailable=False,
            finding_public_interest_outweighs_harm=False,
        )
    assert not CourtOrder.objects.exists()
    refused = AuditEvent.objects.get(actor_id=court_officer.user_id, record_type="CourtOrder", outcome="denied")
    assert refused.detail["reason"] == "nobody records her own organisation's grant"


def test_the_privacy_officer_records_an_order_that_opens_only_her_organisations_records(coordinator, treatment_org):
    w = _court_world(coordinator)
    family, court = w["family"], w["court"]
    counsellor = _treatment_joins(family, coordinator, treatment_org)
    note_add(viewer=viewer_of(coordinator), family=family, kind="social_needs", summary="Housing form Xyloquant")
    note_add(viewer=viewer_of(counsellor), family=family, kind="treatment_attendance", summary="Came Vermilion")
    officer = staff(treatment_org, Role.PRIVACY_OFFICER)
    _consent(
        family,
        by=coordinator,
        disclosers=[coordinator.organization],
        recipients=[treatment_org],
        categories=["contact"],
        purposes=["operations"],
    )
    client = client_for(officer)
    form = text(client.get(reverse("consent:court_order_add", args=[family.pk])))
    assert "it opens only Hope Recovery Center's records" in form
    assert f'value="{court.pk}"' in form
    response = client.post(
        reverse("consent:court_order_add", args=[family.pk]),
        _order_form(
            court,
            categories=["contact", "legal", "social_needs", "sud_treatment"],
            finding_other_means_unavailable="on",
            finding_public_interest_outweighs_harm="on",
        ),
    )
    assert response.status_code == 302
    order = CourtOrder.objects.get()
    assert order.created_by_org == treatment_org
    d = family_detail(viewer=viewer_of(w["court_coordinator"]), family_id=family.pk, purpose="court_proceeding")
    summaries = [n.summary for n in d.data["notes"]["notes"]]
    assert summaries == ["Came Vermilion"], "the order opens Hope's records, never Bright Futures'"


def test_last_activity_moves_only_with_what_she_may_read(world, coordinator, caseworker, treatment_org):
    family = world["family"]
    cps = viewer_of(caseworker)
    before = family_detail(viewer=cps, family_id=family.pk).last_activity_at
    assert before is not None
    counsellor = _treatment_joins(family, coordinator, treatment_org)
    note_add(viewer=viewer_of(counsellor), family=family, kind="toxicology", summary="Tested negative")
    after = family_detail(viewer=cps, family_id=family.pk).last_activity_at
    assert after == before, "neither the Part 2 note nor the line naming the programme moves what CPS sees"
    own = family_detail(viewer=viewer_of(counsellor), family_id=family.pk).last_activity_at
    assert own is not None and own > before
    rows = client_for(caseworker).get("/api/families?sort=-activity").json()["items"]
    listed = datetime.fromisoformat(rows[0]["last_activity_at"].replace("Z", "+00:00"))
    assert abs(listed - before) < timedelta(milliseconds=1), "the API's JSON keeps milliseconds"


def test_lines_and_requests_that_name_a_part2_programme_are_part2_records(world, coordinator, treatment_org, cps_org):
    family = world["family"]
    counsellor = _treatment_joins(family, coordinator, treatment_org)
    restriction = consent_services.restriction_request(
        viewer=viewer_of(coordinator), family=family, disclosing_org=treatment_org, recipient_org=cps_org
    )
    assert restriction.sensitivity == Sensitivity.SUD_TREATMENT
    lines = FamilyActivity.objects.filter(family=family, verb__in=["team_member_added", "restriction_requested"])
    naming = [line for line in lines if "Hope Recovery Center" in line.summary]
    assert len(naming) == 2 and {line.sensitivity for line in naming} == {Sensitivity.SUD_TREATMENT}
    # Her team place names the programme too; the clinic, which no consent shows treatment records, sees
    # none of it. The counsellor sees her own place.
    place = CareTeamMember.objects.get(membership=counsellor)
    assert place.sensitivity == Sensitivity.SUD_TREATMENT
    page = text(client_for(world["midwife"]).get(reverse("families:detail", args=[family.pk])))
    assert "Hope Recovery Center" not in page
    assert f'data-member-id="{place.pk}"' in text(
        client_for(counsellor).get(reverse("families:detail", args=[family.pk]))
    )


def test_a_writer_who_sees_only_the_parents_name_cannot_change_the_familys_records(world, community_org):
    """A peer coach named in a consent that covers only her contact sheet may open the family, and may not
    correct the pregnancy's due date (she is not on the team and her organisation did not make it)."""
    family = world["family"]
    peers = OrganizationFactory(name="Second Wind Peer Recovery", type=OrganizationType.PEER_RECOVERY)
    coach = staff(peers, Role.PEER_RECOVERY_COACH)
    consent_services.consent_record(
        viewer=viewer_of(staff(community_org, Role.CARE_COORDINATOR)),
        family=family,
        title="Coach",
        terms=consent_services.ConsentTerms(
            discloser_orgs=[community_org],
            recipient_people=[coach],
            purposes=["care_coordination"],
            categories=["contact", "general_health"],
            expires_at=clock.now() + timedelta(days=30),
            signer_name="Maria Lopez",
            signature_typed="Maria Lopez",
        ),
    )
    episode = PregnancyEpisode.objects.get(family=family)
    client = client_for(coach)
    assert client.get(reverse("families:detail", args=[family.pk])).status_code == 200
    assert "Correct the due date" not in text(client.get(reverse("families:detail", args=[family.pk])))
    assert client.get(reverse("families:due_date", args=[family.pk, episode.pk])).status_code == 404
    later = (episode.estimated_due_on + timedelta(days=7)).isoformat()
    post = client.post(reverse("families:due_date", args=[family.pk, episode.pk]), {"estimated_due_on": later})
    assert post.status_code == 404
    assert PregnancyEpisode.objects.get(pk=episode.pk).estimated_due_on == episode.estimated_due_on


def test_every_refused_write_is_audited_with_what_was_asked(world, outsider):
    family = world["family"]
    client = Client()
    client.force_login(outsider.user)
    before = PregnancyEpisode.objects.count()
    assert client.post(reverse("families:pregnancy_add", args=[family.pk]), {}).status_code == 404
    assert PregnancyEpisode.objects.count() == before
    assert AuditEvent.objects.filter(actor_id=outsider.user_id, outcome="denied").exists()


def test_every_record_type_is_fetched_by_id_only_through_the_door(world, caseworker, treatment_org, coordinator):
    """The access_<record> functions answer "not found" for a record she may not read, as for one that does not
    exist, and give her the record she may."""
    from kinfold.access.door import NotPermitted
    from kinfold.families.selectors import access_relationship
    from kinfold.notes.selectors import access_note

    family = world["family"]
    counsellor = _treatment_joins(family, coordinator, treatment_org)
    note = note_add(viewer=viewer_of(counsellor), family=family, kind="toxicology", summary="Tested negative")
    member = services.family_member_add(
        viewer=viewer_of(coordinator), family=family, given_name="Rae", family_name="Lopez", category="sibling"
    )
    cps = viewer_of(caseworker)
    with pytest.raises(NotPermitted):
        access_note(viewer=cps, family_id=family.pk, note_id=note.pk)
    with pytest.raises(NotPermitted):
        access_note(viewer=cps, family_id=family.pk, note_id=note.pk + 1000)
    assert access_note(viewer=viewer_of(counsellor), family_id=family.pk, note_id=note.pk).record == note
    assert access_relationship(viewer=cps, family_id=family.pk, relationship_id=member.pk).record == member
    with pytest.raises(NotPermitted):  # right id, wrong family
        access_relationship(viewer=cps, family_id=family.pk + 1000, relationship_id=member.pk)
