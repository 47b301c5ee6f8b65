"""The purpose a viewer states is limited to the purposes her role may state (CONSENT-RULES, "Purposes"; issue
11): a care coordinator cannot read "for treatment" or "for a child welfare case"; the page, the export and the
API refuse any other purpose in plain words, and every refusal is audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kinfold.access.vocabulary import Purpose, role_table, stated_purposes
from kinfold.audit.models import AuditEvent, Outcome
from kinfold.families import selectors
from kinfold.families import services as family_services
from kinfold.organizations.models import Role
from tests.factories import consent_team_wide, make_family, viewer_of
from tests.support import client_for, text

pytestmark = pytest.mark.django_db


def test_every_role_states_its_default_purpose_and_only_clinicians_state_an_emergency():
    for role, access in role_table().roles.items():
        assert access.default_purpose in access.purposes, role
        assert (Purpose.EMERGENCY in access.purposes) == access.clinician, role
    assert stated_purposes(Role.CARE_COORDINATOR) == {Purpose.CARE_COORDINATION}
    assert Purpose.TREATMENT in stated_purposes(Role.SUD_COUNSELOR)
    assert stated_purposes(None) == frozenset()


@pytest.mark.parametrize("purpose", ["treatment", "child_welfare_case", "court_proceeding", "payment", "nonsense"])
def test_a_care_coordinator_cannot_read_her_record_for_another_roles_purpose(coordinator, purpose):
    family = make_family(coordinator)
    client = client_for(coordinator)
    page = client.get(reverse("families:detail", args=[family.pk]) + f"?purpose={purpose}")
    assert page.status_code == 403
    body = text(page)
    assert "You cannot read her record for" in body and "“care coordination”" in body
    assert family.parent.given_name not in body, "nothing of her record is shown"
    export = client.get(reverse("families:export", args=[family.pk]) + f"?purpose={purpose}")
    assert export.status_code == 403
    api = client.get(f"/api/families/{family.pk}/export?purpose={purpose}")
    assert api.status_code == 403
    assert "your role reads for" in api.json()["detail"]
    refusals = AuditEvent.objects.filter(
        actor_id=coordinator.user_id, outcome=Outcome.DENIED, family_id=family.pk, purpose=purpose[:40]
    )
    assert refusals.count() == 3


def test_her_own_purpose_and_no_purpose_open_the_page(coordinator):
    family = make_family(coordinator)
    client = client_for(coordinator)
    for query in ("", "?purpose=care_coordination"):
        page = client.get(reverse("families:detail", args=[family.pk]) + query)
        assert page.status_code == 200
        assert "You are viewing for: <strong>care coordination</strong>" in text(page).replace("Care", "care")


def test_a_caseworker_reads_for_a_child_welfare_case_not_for_treatment(coordinator, caseworker):
    family = make_family(coordinator)
    family_services.care_team_member_add(
        viewer=viewer_of(coordinator), family=family, membership=caseworker, role=caseworker.role
    )
    consent_team_wide(family, by=coordinator)
    viewer = viewer_of(caseworker)
    assert selectors.family_detail(viewer=viewer, family_id=family.pk, purpose="child_welfare_case")
    with pytest.raises(selectors.PurposeRefused):
        selectors.family_detail(viewer=viewer, family_id=family.pk, purpose="treatment")
