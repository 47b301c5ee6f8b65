"""The JSON API: authenticated, the same families the pages show, nothing more; and its OpenAPI schema."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.test import Client

from kinfold import clock
from kinfold.audit.models import AuditEvent
from tests.factories import TEST_PASSWORD, make_family

pytestmark = pytest.mark.django_db


def basic(membership) -> dict[str, str]:
    token = base64.b64encode(f"{membership.user.username}:{TEST_PASSWORD}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def test_api_requires_authentication():
    assert Client().get("/api/families").status_code == 401


def test_api_lists_only_the_callers_families(coordinator, outsider):
    mine = make_family(coordinator, given_name="Pia", estimated_due_on=clock.today() + timedelta(weeks=9))
    make_family(outsider, given_name="Other")
    body = Client().get("/api/families", **basic(coordinator)).json()
    assert body["count"] == 1
    [item] = body["items"]
    assert item["id"] == mine.pk
    assert item["stage"] == "31 weeks pregnant"
    assert item["coordinator"]["name"] == "Ana Rivera"
    assert item["coordinator"]["organization_type"] == "community"
    assert item["organizations"] == ["Bridges Family Resource Center"]


def test_api_family_detail_and_hidden_family_is_404_and_audited(coordinator, outsider):
    family = make_family(coordinator, estimated_due_on=clock.today() + timedelta(days=30))
    client = Client()
    client.force_login(coordinator.user)
    detail = client.get(f"/api/families/{family.pk}").json()
    assert detail["care_team"][0]["is_coordinator"] is True
    assert detail["pregnancies"][0]["gestational_age"].startswith("35w")
    assert detail["timeline"][0]["organization"] == "Bridges Family Resource Center"

    response = Client().get(f"/api/families/{family.pk}", **basic(outsider))
    assert response.status_code == 404
    assert "Lopez" not in response.content.decode()
    assert AuditEvent.objects.filter(actor_id=outsider.user.pk, outcome="denied", record_id=str(family.pk)).exists()


def test_api_search_and_pagination(coordinator):
    for i in range(3):
        make_family(coordinator, given_name=f"Kim{i}")
    body = Client().get("/api/families", {"q": "kim1", "limit": 10}, **basic(coordinator)).json()
    assert [f["parent_name"] for f in body["items"]] == ["Kim1 Lopez"]
    page = Client().get("/api/families", {"limit": 2, "offset": 2}, **basic(coordinator)).json()
    assert page["count"] == 3 and len(page["items"]) == 1


def test_openapi_schema_describes_the_family_endpoints():
    schema = Client().get("/api/openapi.json").json()
    assert "/api/families" in schema["paths"]
    assert "/api/families/{family_id}" in schema["paths"]
    schemas = schema["components"]["schemas"]
    assert "FamilyDetailOut" in schemas
    # Last activity is derived per caller (the newest line she may read), so a family may have none.
    assert {"type": "null"} in schemas["FamilySummary"]["properties"]["last_activity_at"]["anyOf"]
    assert "status" in schemas["ConsentOut"]["required"]


def test_api_family_detail_returns_the_records_the_caller_may_see_with_their_notice(
    coordinator, caseworker, treatment_org, cps_org
):
    """The API decides like the page: the caseworker gets the attendance note her CPS consent covers, with
    the 42 CFR 2.32 notice, and not the therapy note it does not cover."""
    from datetime import timedelta

    from kinfold import clock
    from kinfold.consent import services as consent_services
    from kinfold.families import services as family_services
    from kinfold.notes.services import note_add
    from kinfold.organizations.models import Role
    from tests.factories import consent_team_wide, staff, viewer_of

    family = make_family(coordinator)
    counsellor = staff(treatment_org, Role.SUD_COUNSELOR)
    for member, role in ((caseworker, Role.CPS_CASEWORKER), (counsellor, Role.SUD_COUNSELOR)):
        family_services.care_team_member_add(viewer=viewer_of(coordinator), family=family, membership=member, role=role)
    consent_team_wide(family, by=coordinator)
    consent_services.consent_record(
        viewer=viewer_of(coordinator),
        family=family,
        title="CPS status updates",
        terms=consent_services.ConsentTerms(
            discloser_orgs=[treatment_org],
            recipient_orgs=[cps_org],
            purposes=["child_welfare_case"],
            categories=["sud_treatment"],
            expires_at=clock.now() + timedelta(days=90),
            signer_name="Maria Lopez",
            signature_typed="Maria Lopez",
        ),
    )
    note_add(viewer=viewer_of(counsellor), family=family, kind="treatment_attendance", summary="Came to group")
    note_add(viewer=viewer_of(counsellor), family=family, kind="therapy_note", summary="Talked about sleep")

    client = Client()
    client.force_login(caseworker.user)
    body = client.get(f"/api/families/{family.pk}").json()
    assert [(r["kind"], r["summary"]) for r in body["records"]] == [("treatment_attendance", "Came to group")]
    assert "42 CFR part 2" in body["records"][0]["redisclosure_notice"]
    # Every consent she may see under rule C is in the answer, with its status as the policy reads it: the
    # CPS consent names her organisation as recipient, the team-wide one her team (newest first).
    consents = [(c["title"], c["status"]) for c in body["consents"]]
    assert consents == [
        ("CPS status updates", "In force (version 1)"),
        ("Team-wide coordination", "In force (version 1)"),
    ]
    assert body["consents"][0]["summary"].startswith("Hope Recovery Center may share")
    assert body["consents"][1]["summary"].startswith("The organisations on my care team may share")
    assert body["redisclosure_notice"] is not None
    assert body["court_orders"] == [] and body["restrictions"] == []
    # Last activity is the newest timeline line she may read: the therapy note's line does not move it.
    assert body["last_activity_at"] == max(line["occurred_at"] for line in body["timeline"])

    client.force_login(coordinator.user)
    own = client.get(f"/api/families/{family.pk}").json()
    assert [c["title"] for c in own["consents"]] == ["CPS status updates", "Team-wide coordination"]


def test_api_family_detail_hides_a_consent_that_does_not_name_the_callers_organisation(
    coordinator, caseworker, treatment_org
):
    """Rule C in the API: a team member sees the consents naming her organisation (or that she recorded), not
    one between two other organisations."""
    from kinfold.consent import services as consent_services
    from kinfold.families import services as family_services
    from kinfold.organizations.models import Role
    from tests.factories import consent_team_wide, staff, viewer_of

    family = make_family(coordinator)
    counsellor = staff(treatment_org, Role.SUD_COUNSELOR)
    for member in (caseworker, counsellor):
        family_services.care_team_member_add(
            viewer=viewer_of(coordinator), family=family, membership=member, role=member.role
        )
    consent_team_wide(family, by=coordinator, categories=("contact",))
    consent_services.consent_record(
        viewer=viewer_of(coordinator),
        family=family,
        title="Hope and Bridges",
        terms=consent_services.ConsentTerms(
            discloser_orgs=[treatment_org],
            recipient_orgs=[coordinator.organization],
            purposes=["care_coordination"],
            categories=["sud_treatment"],
            expires_at=clock.now() + timedelta(days=90),
            signer_name="Maria Lopez",
            signature_typed="Maria Lopez",
        ),
    )
    as_cps = Client().get(f"/api/families/{family.pk}", **basic(caseworker)).json()
    assert [c["title"] for c in as_cps["consents"]] == ["Team-wide coordination"]
    assert "Hope" not in str(as_cps)
    as_hope = Client().get(f"/api/families/{family.pk}", **basic(counsellor)).json()
    assert [c["title"] for c in as_hope["consents"]] == ["Hope and Bridges", "Team-wide coordination"]
