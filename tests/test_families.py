"""The family model's rules: one coordinator, relationships as the parent defines them, pregnancies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from kinfold import clock
from kinfold.families import selectors, services
from kinfold.families.models import (
    CareTeamMember,
    FamilyActivity,
    FamilyRelationship,
    Person,
    PregnancyEpisode,
    RelationshipCategory,
    Sensitivity,
)
from kinfold.organizations.models import Role
from tests.factories import consent_team_wide, make_family, staff, viewer_of

pytestmark = pytest.mark.django_db


def active_coordinators(family):
    return list(CareTeamMember.objects.active().filter(care_team__family=family, is_coordinator=True))


def test_creating_a_family_makes_the_creator_its_one_coordinator(coordinator):
    family = make_family(coordinator, given_name="Jasmine", family_name="Ortiz", preferred_name="Jazz")
    assert family.parent is not None and family.parent.display_name == "Jazz Ortiz"
    [only] = active_coordinators(family)
    assert only.membership == coordinator
    assert family.sort_name == "ortiz jasmine"
    assert family.created_by_org == coordinator.organization
    assert family.parent.created_by_org == coordinator.organization


def test_family_creation_explains_missing_names_and_writes_nothing(coordinator):
    with pytest.raises(ValidationError) as err:
        services.family_create(viewer=viewer_of(coordinator), given_name=" ", family_name="")
    assert err.value.message_dict == {
        "given_name": ["Enter the parent's first name."],
        "family_name": ["Enter the parent's last name."],
    }
    assert Person.objects.count() == 0


def test_an_implausible_due_date_is_refused_with_a_plain_reason(coordinator):
    with pytest.raises(ValidationError, match="more than 300 days away"):
        make_family(coordinator, estimated_due_on=clock.today() + timedelta(days=400))
    assert Person.objects.count() == 0, "a failed write leaves no partial family behind"


def test_the_database_refuses_a_second_coordinator(coordinator, caseworker):
    family = make_family(coordinator)
    team = family.care_team
    with pytest.raises(IntegrityError), transaction.atomic():
        CareTeamMember.objects.create(
            care_team=team,
            membership=caseworker,
            role=Role.CPS_CASEWORKER,
            is_coordinator=True,
            created_by_org=coordinator.organization,
        )


def test_handing_over_keeps_exactly_one_coordinator_and_both_on_the_team(coordinator, caseworker):
    family = make_family(coordinator)
    viewer = viewer_of(coordinator)
    carl = services.care_team_member_add(viewer=viewer, family=family, membership=caseworker, role=Role.CPS_CASEWORKER)
    services.coordinator_handover(viewer=viewer, family=family, to_member=carl)
    [only] = active_coordinators(family)
    assert only.membership == caseworker
    assert CareTeamMember.objects.active().filter(care_team__family=family).count() == 2
    summaries = list(FamilyActivity.objects.filter(family=family).values_list("summary", flat=True))
    assert any("Handed the coordinator role from Ana Rivera to Carl Jensen" in s for s in summaries)


def test_the_coordinator_cannot_be_removed_until_the_role_is_handed_over(coordinator, caseworker):
    family = make_family(coordinator)
    viewer = viewer_of(coordinator)
    ana = active_coordinators(family)[0]
    with pytest.raises(ValidationError, match="Hand the coordinator role"):
        services.care_team_member_remove(viewer=viewer, member=ana)
    carl = services.care_team_member_add(viewer=viewer, family=family, membership=caseworker, role="cps_caseworker")
    services.coordinator_handover(viewer=viewer, family=family, to_member=carl)
    ana.refresh_from_db()
    services.care_team_member_remove(viewer=viewer, member=ana)
    ana.refresh_from_db()
    assert ana.left_at is not None
    assert [m.membership for m in CareTeamMember.objects.active().filter(care_team__family=family)] == [caseworker]


def test_a_person_cannot_be_added_twice_but_may_rejoin_after_leaving(coordinator, caseworker):
    family = make_family(coordinator)
    viewer = viewer_of(coordinator)
    carl = services.care_team_member_add(viewer=viewer, family=family, membership=caseworker, role="cps_caseworker")
    with pytest.raises(ValidationError, match="already on the care team"):
        services.care_team_member_add(viewer=viewer, family=family, membership=caseworker, role="cps_caseworker")
    services.care_team_member_remove(viewer=viewer, member=carl)
    again = services.care_team_member_add(viewer=viewer, family=family, membership=caseworker, role="cps_supervisor")
    assert again.pk != carl.pk and again.role == "cps_supervisor"


def test_someone_not_on_the_team_cannot_change_it(coordinator, outsider, caseworker):
    family = make_family(coordinator)
    with pytest.raises(PermissionDenied):
        services.care_team_member_add(
            viewer=viewer_of(outsider), family=family, membership=caseworker, role="cps_caseworker"
        )


def test_relationships_are_kept_in_the_parents_words(coordinator):
    family = make_family(coordinator)
    rel = services.family_member_add(
        viewer=viewer_of(coordinator),
        family=family,
        given_name="Dolores",
        family_name="Vega",
        category=RelationshipCategory.SUPPORT_PERSON,
        description="the lady who drives me",
    )
    assert rel.description == "the lady who drives me"
    assert rel.get_category_display() == "Support person"
    with pytest.raises(IntegrityError), transaction.atomic():
        FamilyRelationship.objects.create(
            family=family, person=rel.person, category="friend", created_by_org=coordinator.organization
        )


def test_a_relationship_needs_a_known_category(coordinator):
    family = make_family(coordinator)
    with pytest.raises(ValidationError, match="how this person is related"):
        services.family_member_add(
            viewer=viewer_of(coordinator), family=family, given_name="X", family_name="Y", category="enemy"
        )


def test_recording_a_delivery_links_the_baby_as_a_family_member(coordinator):
    today = clock.today()
    family = make_family(coordinator, estimated_due_on=today + timedelta(days=10))
    episode = PregnancyEpisode.objects.get(family=family)
    services.delivery_record(
        viewer=viewer_of(coordinator),
        episode=episode,
        delivered_on=today,
        outcome="live_birth",
        infants=[{"given_name": "Luz"}],
        expected_version=episode.version,
    )
    episode.refresh_from_db()
    assert episode.delivered_on == today and episode.outcome == "live_birth"
    [baby] = list(episode.infants.all())
    assert baby.display_name == "Luz Lopez" and baby.born_on == today
    assert FamilyRelationship.objects.get(person=baby).category == RelationshipCategory.CHILD
    detail = selectors.family_detail(viewer=viewer_of(coordinator), family_id=family.pk)
    assert detail.stage == "postpartum day 0"
    assert detail.current_pregnancy is None
    assert episode.sensitivity == Sensitivity.GENERAL_HEALTH


def test_a_stale_delivery_form_is_refused_not_silently_applied(coordinator):
    today = clock.today()
    family = make_family(coordinator, estimated_due_on=today + timedelta(days=20))
    episode = PregnancyEpisode.objects.get(family=family)
    stale_version = episode.version
    services.pregnancy_correct_due_date(
        viewer=viewer_of(coordinator),
        episode=episode,
        estimated_due_on=today + timedelta(days=14),
        expected_version=stale_version,
    )
    with pytest.raises(services.ConcurrentEditError):
        services.delivery_record(
            viewer=viewer_of(coordinator),
            episode=episode,
            delivered_on=today,
            outcome="live_birth",
            infants=[{"given_name": "Luz"}],
            expected_version=stale_version,
        )
    episode.refresh_from_db()
    assert episode.delivered_on is None
    assert Person.objects.filter(given_name="Luz").count() == 0


def test_a_delivery_date_far_before_the_due_date_is_questioned(coordinator):
    today = clock.today()
    family = make_family(coordinator, estimated_due_on=today + timedelta(days=250))
    episode = PregnancyEpisode.objects.get(family=family)
    with pytest.raises(ValidationError, match="too early"):
        services.delivery_record(
            viewer=viewer_of(coordinator),
            episode=episode,
            delivered_on=today,
            outcome="live_birth",
            infants=[{"given_name": "Luz"}],
        )


def test_a_correction_of_the_due_date_changes_the_gestational_age_shown(coordinator):
    today = clock.today()
    family = make_family(coordinator, estimated_due_on=today + timedelta(weeks=9))
    assert selectors.family_detail(viewer=viewer_of(coordinator), family_id=family.pk).stage == "31 weeks pregnant"
    episode = PregnancyEpisode.objects.get(family=family)
    services.pregnancy_correct_due_date(
        viewer=viewer_of(coordinator), episode=episode, estimated_due_on=today + timedelta(weeks=7)
    )
    detail = selectors.family_detail(viewer=viewer_of(coordinator), family_id=family.pk)
    assert detail.stage == "33 weeks pregnant"
    assert detail.trimester == 3


def test_only_one_ongoing_pregnancy_per_family(coordinator):
    family = make_family(coordinator, estimated_due_on=clock.today() + timedelta(days=100))
    with pytest.raises(ValidationError, match="already has an ongoing pregnancy"):
        services.pregnancy_start(
            viewer=viewer_of(coordinator), family=family, estimated_due_on=clock.today() + timedelta(days=120)
        )


def test_caseload_stage_words_for_each_stage(coordinator):
    today = clock.today()
    pregnant = make_family(coordinator, given_name="Pia", estimated_due_on=today + timedelta(weeks=9))
    parenting = make_family(coordinator, given_name="Rae")
    services.family_member_add(
        viewer=viewer_of(coordinator),
        family=parenting,
        given_name="Sol",
        family_name="Lopez",
        category="child",
        born_on=clock.add_months(today, -14),
    )
    rows = selectors.caseload_rows(
        viewer=viewer_of(coordinator), caseload=selectors.caseload_for(viewer=viewer_of(coordinator))
    )
    stages = {r.family_id: r.stage for r in rows}
    assert stages[pregnant.pk] == "31 weeks pregnant"
    assert stages[parenting.pk] == "parenting, child 14 months"


def test_embedded_staff_keep_their_employers_access_not_their_placements(cps_org, treatment_org, coordinator):
    family = make_family(coordinator)
    nurse_in_cps = staff(treatment_org, Role.NURSE, placed_at=cps_org)
    caseworker = staff(cps_org, Role.CPS_CASEWORKER)
    services.care_team_member_add(
        viewer=viewer_of(coordinator), family=family, membership=caseworker, role="cps_caseworker"
    )
    consent_team_wide(family, by=coordinator)
    assert [f.pk for f in selectors.caseload_for(viewer=viewer_of(caseworker)).families] == [family.pk]
    assert not selectors.caseload_for(viewer=viewer_of(nurse_in_cps), scope="organization").families


def test_a_refused_write_is_audited_and_leaves_nothing_behind(coordinator, outsider, caseworker):
    """Someone who is not on the team cannot change it, write a note, or record a pregnancy; each attempt
    stays in the audit trail even though the refused write is rolled back."""
    from kinfold.audit.models import AuditEvent
    from kinfold.notes import services as note_services

    family = make_family(coordinator)
    members_before = family.care_team.members.count()
    with pytest.raises(PermissionDenied):
        services.care_team_member_add(
            viewer=viewer_of(outsider), family=family, membership=caseworker, role=Role.CPS_CASEWORKER
        )
    with pytest.raises(PermissionDenied):
        note_services.note_add(viewer=viewer_of(outsider), family=family, kind="contact_log", summary="Called")
    with pytest.raises(PermissionDenied):
        services.pregnancy_start(
            viewer=viewer_of(outsider), family=family, estimated_due_on=clock.today() + timedelta(days=120)
        )
    assert family.care_team.members.count() == members_before
    assert not family.notes.exists()
    assert not PregnancyEpisode.objects.filter(family=family).exists()
    # Each refusal is audited under the type of record she asked to write, with what she tried and why not.
    denied = AuditEvent.objects.filter(actor_id=outsider.user_id, family_id=family.pk, outcome="denied")
    assert sorted(denied.values_list("record_type", flat=True)) == ["CareTeamMember", "Note", "PregnancyEpisode"]
    assert {e.detail["interaction"] for e in denied} == {"create"}
    assert all(e.detail["reason"] for e in denied)


def test_only_the_designated_coordinator_manages_the_team_and_anyone_may_leave_it(coordinator, caseworker, cps_org):
    """CONSENT-RULES ruling 7: only the coordinator adds or removes members and hands over her role; anyone
    may remove herself. A former coordinator is an ordinary member: she may leave, nothing more."""
    from kinfold.audit.models import AuditEvent

    family = make_family(coordinator)
    consent_team_wide(family, by=coordinator)
    ana_viewer = viewer_of(coordinator)
    supervisor = staff(cps_org, Role.CPS_SUPERVISOR, user__first_name="Sue", user__last_name="Park")
    carl = services.care_team_member_add(
        viewer=ana_viewer, family=family, membership=caseworker, role=Role.CPS_CASEWORKER
    )
    # A member who is not the coordinator adds nobody.
    with pytest.raises(PermissionDenied):
        services.care_team_member_add(
            viewer=viewer_of(caseworker), family=family, membership=supervisor, role=Role.CPS_SUPERVISOR
        )
    sue = services.care_team_member_add(
        viewer=ana_viewer, family=family, membership=supervisor, role=Role.CPS_SUPERVISOR
    )
    services.coordinator_handover(viewer=ana_viewer, family=family, to_member=carl)
    ana = CareTeamMember.objects.get(care_team__family=family, membership=coordinator, left_at__isnull=True)

    # Ana handed the role over: she can no longer remove the new coordinator, anyone else, or hand it on.
    refusal = "You cannot remove this: only her designated coordinator manages her care team (anyone may leave it)."
    for place in (carl, sue):
        with pytest.raises(PermissionDenied) as refused:
            services.care_team_member_remove(viewer=ana_viewer, member=place)
        assert str(refused.value.args[0]) == refusal
    with pytest.raises(PermissionDenied):
        services.coordinator_handover(viewer=ana_viewer, family=family, to_member=sue)
    denied = AuditEvent.objects.filter(actor_id=coordinator.user_id, family_id=family.pk, outcome="denied")
    assert sorted(denied.values_list("record_type", flat=True)) == ["CareTeamMember"] * 3
    assert sorted(e.detail["interaction"] for e in denied) == ["change", "retire", "retire"]
    [only] = active_coordinators(family)
    assert only.membership == caseworker
    assert CareTeamMember.objects.active().filter(care_team__family=family).count() == 3

    # The new coordinator manages the team; Ana may still leave it herself.
    services.care_team_member_remove(viewer=viewer_of(caseworker), member=sue)
    services.care_team_member_remove(viewer=ana_viewer, member=ana)
    assert [m.membership for m in CareTeamMember.objects.active().filter(care_team__family=family)] == [caseworker]
