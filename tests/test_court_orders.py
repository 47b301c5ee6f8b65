"""Court orders name records, categories, or both (CONSENT-RULES, "Who may change what"): recorded by a privacy
officer of the organisation whose records they name; an order naming one record opens that record only; an
order without the 2.64(d) findings opens the non-Part 2 records it names and says the Part 2 ones wait."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from kinfold import clock
from kinfold.access.rules import decide
from kinfold.access.viewer import Viewer
from kinfold.consent import services as consent_services
from kinfold.consent.models import CourtOrder
from kinfold.notes.models import Note
from tests.factories import viewer_of
from tests.support import client_for, text
from tests.test_access_pages import (
    ATTENDANCE,
    OB_VISIT,
    OTP_VISIT,
    World,
    bridges_officer,
    build_world,
    family_url,
    hope_officer,
    order_form,
    record_order,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(coordinator, caseworker, treatment_org) -> World:
    return build_world(coordinator, caseworker, treatment_org)


def recorded_and_landed(officer: Any, world: World, **overrides: Any) -> Any:
    """Record the order through the form and follow to the family page, where the message is shown."""
    response = client_for(officer).post(
        reverse("consent:court_order_add", args=[world.family.pk]), order_form(world, **overrides), follow=True
    )
    assert response.redirect_chain, text(response)[:2000]
    return response


def court_may_open_her_record(world: World) -> None:
    """Bridges made her contact sheet: its privacy officer records the order for Bridges' contact records."""
    assert record_order(bridges_officer(world), world, categories=["contact"]).status_code == 302


def note(summary: str) -> Note:
    return Note.objects.get(summary=summary)


def court_sees(world: World) -> str:
    response = client_for(world.court_coordinator).get(family_url(world, "court_proceeding"))
    return text(response) if response.status_code == 200 else ""


def test_the_order_form_lists_only_her_records_made_by_the_officers_own_organisation(world):
    officer = hope_officer(world)
    page = text(client_for(officer).get(reverse("consent:court_order_add", args=[world.family.pk])))
    assert f'name="records" value="Note:{note(ATTENDANCE).pk}"' in page
    assert f'name="records" value="Note:{note(OTP_VISIT).pk}"' in page
    assert "(a Part 2 record)" in page
    assert f'value="Note:{note(OB_VISIT).pk}"' not in page, "the clinic's note is the clinic's to name"


def test_an_order_naming_one_record_opens_that_record_only(world):
    court_may_open_her_record(world)
    officer = hope_officer(world)
    response = record_order(
        officer,
        world,
        categories=["contact"],
        records=[f"Note:{note(OTP_VISIT).pk}"],
        finding_other_means_unavailable="on",
        finding_public_interest_outweighs_harm="on",
    )
    assert response.status_code == 302, text(response)[:3000]
    order = CourtOrder.objects.get(created_by_org=world.treatment_org)
    assert (
        order.records == [{"type": "Note", "id": note(OTP_VISIT).pk, "label": order.records[0]["label"]}]
        and OTP_VISIT in order.records[0]["label"]
    )
    page = court_sees(world)
    assert OTP_VISIT in page
    assert ATTENDANCE not in page, "Hope's other record is not named"
    assert OB_VISIT not in page and "Hearing on reunification plan set" not in page
    court = Viewer.of(world.court_coordinator.user)
    assert decide(court, note(OTP_VISIT), "court_proceeding").rule == "3a"
    assert not decide(court, note(ATTENDANCE), "court_proceeding").permitted
    # The family page says what it covers without quoting the record.
    officer_page = text(client_for(officer).get(family_url(world)))
    assert "contact and identity; 1 particular record it names" in officer_page


def test_an_order_without_findings_opens_its_non_part2_records_and_says_the_part2_ones_wait(world):
    """Hope is a Part 2 programme, so every record it makes is a Part 2 record: the order is recorded, the
    page says the named records wait for the findings, and they open once the findings are recorded."""
    court_may_open_her_record(world)
    officer = hope_officer(world)
    landing = text(recorded_and_landed(officer, world, categories=["contact"], records=[f"Note:{note(ATTENDANCE).pk}"]))
    assert "The Part 2 records it names stay closed until both findings of 42 CFR 2.64(d) are recorded" in landing
    assert ATTENDANCE not in court_sees(world)
    order = CourtOrder.objects.get(created_by_org=world.treatment_org)
    consent_services.court_order_findings_record(viewer=viewer_of(officer), order=order)
    assert ATTENDANCE in court_sees(world)


def test_a_non_part2_record_named_without_findings_opens_at_once(world):
    officer = bridges_officer(world)
    report = note("Hearing on reunification plan set")
    landing = text(recorded_and_landed(officer, world, categories=["contact"], records=[f"Note:{report.pk}"]))
    assert "Court order FTC-2026-0142 for Lakeview Family Treatment Court recorded" in landing
    assert "stay closed until both findings" not in landing
    assert "Hearing on reunification plan set" in court_sees(world)


def test_an_order_cannot_name_another_organisations_record_and_nothing_is_saved(world):
    officer = hope_officer(world)
    today = clock.now()
    with pytest.raises(ValidationError) as refused:
        consent_services.court_order_record(
            viewer=viewer_of(officer),
            family=world.family,
            court=world.court,
            order_reference="FTC-1",
            issued_on=clock.today(),
            categories=["contact"],
            records=[f"Note:{note(OB_VISIT).pk}"],
            valid_from=today,
            valid_until=today + timedelta(days=30),
            finding_other_means_unavailable=True,
            finding_public_interest_outweighs_harm=True,
        )
    assert "Another organisation's privacy officer records it" in " ".join(refused.value.message_dict["records"])
    response = record_order(officer, world, categories=[], records=["Note:999999"])
    assert response.status_code == 400
    assert not CourtOrder.objects.exists()


def test_an_order_naming_nothing_is_refused_in_plain_words(world):
    response = record_order(hope_officer(world), world, categories=[])
    assert response.status_code == 400
    assert "Choose what the order covers: kinds of records, particular records, or both." in text(response)
    assert not CourtOrder.objects.exists()
