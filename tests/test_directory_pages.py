"""The directory's pages (issue 12): the search page (results with their distance, filters, an empty state,
pagination, bad input explained), "fits this family" with "Refer her here", a listing's page (how to reach it,
who it is for, the out-of-date flag), and the edit and assurance of a listing by its own organisation's staff —
permitted for them, refused (and audited) for everyone else, and a concurrent edit detected, never lost."""

from __future__ import annotations

import html
import re
import sys
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from kinfold import clock
from kinfold.audit.models import AuditEvent
from kinfold.directory.fit import FamilyFit
from kinfold.directory.models import DirectoryOrganization, Service, ServiceStatus
from kinfold.organizations.models import Role
from tests.factories import OrganizationFactory, staff
from tests.support import client_for, text
from tests.test_directory_search import CINCINNATI, GEORGETOWN, LEXINGTON, listing

pytestmark = pytest.mark.django_db

SEARCH = "/directory/"
DASH = "\u2013"  # the en dash between two numbers, as the pages write it


def says(response: Any, sentence: str) -> bool:
    """The page shows ``sentence`` (tags removed, entities decoded, runs of spaces as one)."""
    return sentence in re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", text(response))))


@pytest.fixture
def housing_org():
    return OrganizationFactory(name="Riverside Housing Alliance")


@pytest.fixture
def housing_staff(housing_org):
    return staff(housing_org, Role.CARE_COORDINATOR, user__first_name="Sam", user__last_name="Ortiz")


@pytest.fixture
def riverside(housing_org):
    return DirectoryOrganization.objects.create(
        hsds_id="riverside",
        name="Riverside Housing Alliance",
        organization=housing_org,
        intake_email="intake@riverside-housing.example",
    )


@pytest.fixture
def shelter(riverside):
    return listing(
        "Riverside Family Shelter",
        organization=riverside,
        description="Emergency rooms for parents with children.",
        needs=["housing"],
        languages=["en", "es"],
        accepts_pregnant=True,
        counties=["Lakeview County"],
        minimum_age=18,
        wait_days=3,
        extra={
            "phones": [{"number": "859-555-0142", "description": "family intake"}],
            "schedules": [{"byday": "MO,TU,WE,TH,FR", "opens_at": "08:00", "closes_at": "17:00"}],
            "required_documents": [{"document": "Photo ID if you have one"}],
        },
    )


# --- the search page ----------------------------------------------------------------------------


def test_the_directory_needs_a_signed_in_person():
    response = Client().get(SEARCH)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_search_shows_the_nearest_services_first_with_their_distance(coordinator):
    listing("Georgetown Recovery", description="buprenorphine", zips=(GEORGETOWN,))
    listing("Lexington Recovery", description="buprenorphine", zips=(LEXINGTON,))
    listing("Cincinnati Recovery", description="buprenorphine", zips=(CINCINNATI,))

    response = client_for(coordinator).get(SEARCH, {"q": "bupernorphine", "near": "40502", "radius": "15"})

    assert response.status_code == 200
    page = html.unescape(text(response))
    assert page.index("Lexington Recovery") < page.index("Georgetown Recovery")
    assert "Cincinnati Recovery" not in page
    assert "0.0 miles" in page and "14.0 miles" in page
    assert says(response, f"Showing 1{DASH}2 of 2 services, nearest to 40502 (Lexington, KY) first.")
    assert says(response, "No service uses the word “bupernorphine”, so we also looked for “buprenorphine”.")


def test_filters_are_checkboxes_that_narrow_the_results(coordinator):
    listing("Takes pregnant people", accepts_pregnant=True, walk_in=True)
    listing("Does not say")

    response = client_for(coordinator).get(SEARCH, {"accepts_pregnant": "on"})

    assert 'type="checkbox" name="accepts_pregnant"' in response.content.decode()
    assert says(response, "Takes pregnant people") and not says(response, "Does not say")


def test_an_empty_search_says_what_to_try(coordinator):
    listing("Riverside Family Shelter")

    response = client_for(coordinator).get(SEARCH, {"q": "xylophone", "near": "40502", "radius": "5"})

    assert response.status_code == 200
    assert says(response, "No services match")
    assert says(response, "or a wider distance than 5 miles")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"near": "99999"}, "We could not find the ZIP code 99999. Check the five digits."),
        ({"near": "40502", "radius": "-3"}, "The distance must be more than 0 miles."),
        ({"near": "40502", "radius": "far"}, "Type the distance as a number of miles, for example 15."),
        ({"radius": "10"}, "Type a ZIP code or an address to search within a distance of it."),
        ({"max_wait_days": "-1"}, "Ensure this value is greater than or equal to 0."),
        ({"need": "unicorns"}, "Select a valid choice."),
    ],
)
def test_bad_input_is_explained_next_to_the_field(coordinator, params, message):
    response = client_for(coordinator).get(SEARCH, params)

    assert response.status_code == 400
    assert says(response, message)
    assert 'aria-invalid="true"' in response.content.decode()
    assert says(response, "Correct the problem above to see services.")


def test_pages_of_results(coordinator):
    for n in range(23):
        listing(f"Parenting Group {n:02d}", description="parenting")

    client = client_for(coordinator)
    first = client.get(SEARCH, {"q": "parenting"})
    second = client.get(SEARCH, {"q": "parenting", "page": "2"})
    junk = client.get(SEARCH, {"q": "parenting", "page": "lots"})

    assert says(first, f"Showing 1{DASH}20 of 23 services") and 'aria-label="Pagination"' in first.content.decode()
    assert "q=parenting&amp;page=2" in first.content.decode()
    assert says(second, f"Showing 21{DASH}23 of 23 services") and says(second, "Parenting Group 22")
    assert junk.status_code == 200 and says(junk, f"Showing 1{DASH}20 of 23 services")


# --- fits this family ---------------------------------------------------------------------------


@pytest.fixture
def her_facts(monkeypatch):
    """``referrals.selectors.family_fit`` (her facts through the door), as it would answer for family 4242."""
    import kinfold.referrals.selectors as referral_selectors

    asked: list[int] = []

    def family_fit(request: Any, family_id: int) -> FamilyFit:
        asked.append(family_id)
        return FamilyFit(
            gestational_weeks=31, first_pregnancy=True, county="Lakeview County", language="es", postal_code="40502"
        )

    monkeypatch.setattr(referral_selectors, "family_fit", family_fit)
    return asked


def test_with_a_family_each_service_says_why_it_fits_and_offers_refer_her_here(coordinator, her_facts):
    visiting = listing("Healthy Starts Home Visiting", enrol_before_week=28, zips=(LEXINGTON,))
    shelter = listing("Family Shelter", languages=["es", "en"], zips=(GEORGETOWN,))

    response = client_for(coordinator).get(SEARCH, {"family": "4242"})

    assert her_facts == [4242]
    assert says(response, "Ruled out: enrols before 28 weeks; she is at 31 weeks.")
    assert says(response, "Fits her: speaks Spanish.")
    content = response.content.decode()
    assert f"/referrals/new/?family=4242&amp;service={shelter.pk}" in content
    assert f"/referrals/new/?family=4242&amp;service={visiting.pk}" in content
    assert 'value="40502"' in content  # her home ZIP code, to start from


def test_only_services_that_fit_her(coordinator, her_facts):
    listing("Healthy Starts Home Visiting", enrol_before_week=28)
    listing("Family Shelter")

    response = client_for(coordinator).get(SEARCH, {"family": "4242", "fits_only": "on"})

    assert says(response, "Family Shelter") and not says(response, "Healthy Starts Home Visiting")


def test_without_the_referrals_room_the_search_works_without_a_family(coordinator, monkeypatch):
    monkeypatch.setitem(sys.modules, "kinfold.referrals.selectors", None)  # importing it raises ImportError
    listing("Family Shelter")

    response = client_for(coordinator).get(SEARCH, {"family": "4242"})

    assert response.status_code == 200 and says(response, "Family Shelter")
    assert "Refer her here" not in response.content.decode()


# --- a listing's page ---------------------------------------------------------------------------


def test_a_listing_shows_how_to_reach_it_and_who_it_is_for(coordinator, shelter):
    response = client_for(coordinator).get(reverse("directory:service", args=[shelter.pk]))

    assert response.status_code == 200
    for sentence in (
        "859-555-0142 (family intake)",
        f"Monday to Friday 8:00{DASH}17:00",
        "Photo ID if you have one",
        "English, Spanish",
        "Ages 18 and over",
        "Lives in Lakeview County",
        "Accepts pregnant people",
        "Usual wait: about 3 days",
        f"Checked and confirmed by its organisation on {clock.today():%-d %B %Y}",
        "intake@riverside-housing.example",
    ):
        assert says(response, sentence), sentence
    assert not says(response, "May be out of date")
    assert "Refer her here" not in response.content.decode()


def test_a_listing_not_assured_for_six_months_is_flagged(coordinator, shelter):
    long_ago = clock.today() - timedelta(days=200)
    Service.objects.filter(pk=shelter.pk).update(assured_date=long_ago)

    response = client_for(coordinator).get(reverse("directory:service", args=[shelter.pk]))

    assert says(response, f"May be out of date: not assured since {long_ago:%-d %B %Y}.")


def test_a_listing_page_with_a_family_offers_refer_her_here(coordinator, shelter, her_facts):
    response = client_for(coordinator).get(reverse("directory:service", args=[shelter.pk]), {"family": "4242"})

    assert f"/referrals/new/?family=4242&amp;service={shelter.pk}" in response.content.decode()
    assert says(response, "It fits her") and says(response, "Speaks Spanish")


def test_an_unknown_listing_is_a_404(coordinator):
    assert client_for(coordinator).get(reverse("directory:service", args=[999999])).status_code == 404


# --- keeping a listing current ------------------------------------------------------------------


def edit_form(service: Service, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": service.version,
        "status": service.status,
        "wait_days": "" if service.wait_days is None else service.wait_days,
        "capacity_note": service.capacity_note,
        "needs": service.needs,
        "languages": service.languages,
        "counties": "\n".join(service.counties),
        "minimum_age": "" if service.minimum_age is None else service.minimum_age,
        "maximum_age": "" if service.maximum_age is None else service.maximum_age,
        "enrol_from_week": "",
        "enrol_before_week": "",
        "eligibility_description": service.eligibility_description,
    }
    for name in ("accepting_new", "accepts_pregnant", "walk_in", "accepts_medicaid"):
        if getattr(service, name):
            data[name] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_its_own_staff_edit_a_listing_and_the_change_is_audited(housing_staff, shelter):
    url = reverse("directory:edit", args=[shelter.pk])
    client = client_for(housing_staff)
    assert client.get(url).status_code == 200

    response = client.post(url, edit_form(shelter, status=ServiceStatus.TEMPORARILY_CLOSED, wait_days="21"))

    assert response.status_code == 302
    shelter.refresh_from_db()
    assert shelter.status == ServiceStatus.TEMPORARILY_CLOSED and shelter.wait_days == 21
    assert shelter.version == 2 and shelter.updated_by == housing_staff.user
    event = AuditEvent.objects.filter(record_type="DirectoryService", record_id=str(shelter.pk)).latest("pk")
    assert event.outcome == "success" and event.actor_id == housing_staff.user_id
    assert event.detail["changed"]["wait_days"] == {"from": 3, "to": 21}


def test_anyone_else_is_refused_and_the_refusal_audited(coordinator, shelter):
    url = reverse("directory:edit", args=[shelter.pk])
    client = client_for(coordinator)

    page = client.get(url)
    post = client.post(url, edit_form(shelter, status=ServiceStatus.DEFUNCT))
    assure = client.post(reverse("directory:assure", args=[shelter.pk]), {"version": shelter.version})

    assert page.status_code == post.status_code == assure.status_code == 403
    assert says(post, "Only the staff of the organisation that offers this service can change its listing.")
    shelter.refresh_from_db()
    assert shelter.status == ServiceStatus.ACTIVE and shelter.version == 1
    denied = AuditEvent.objects.filter(record_type="DirectoryService", outcome="denied", actor_id=coordinator.user_id)
    assert denied.count() == 3
    assert "Edit this listing" not in client.get(reverse("directory:service", args=[shelter.pk])).content.decode()


def test_a_concurrent_edit_is_detected_not_lost(housing_staff, shelter):
    url = reverse("directory:edit", args=[shelter.pk])
    client = client_for(housing_staff)
    stale = edit_form(shelter, wait_days="30")
    assert client.post(url, edit_form(shelter, wait_days="10")).status_code == 302  # a colleague saves first

    response = client.post(url, stale)

    assert response.status_code == 400
    assert says(response, "Someone else changed this listing while you were editing.")
    shelter.refresh_from_db()
    assert shelter.wait_days == 10 and shelter.version == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"enrol_from_week": "30", "enrol_before_week": "28"}, "Enrolment must close after it opens"),
        ({"minimum_age": "30", "maximum_age": "18"}, "The oldest age served cannot be below the youngest."),
        ({"wait_days": "-2"}, "Ensure this value is greater than or equal to 0."),
        ({"moud_continued_in_hospital": "on"}, "Tick the medications offered first"),
    ],
)
def test_a_listing_edit_is_validated(housing_staff, shelter, changes, message):
    response = client_for(housing_staff).post(
        reverse("directory:edit", args=[shelter.pk]), edit_form(shelter, **changes)
    )

    assert response.status_code == 400 and says(response, message)
    shelter.refresh_from_db()
    assert shelter.version == 1


def test_its_own_staff_mark_a_listing_checked_today(housing_staff, shelter):
    Service.objects.filter(pk=shelter.pk).update(assured_date=clock.today() - timedelta(days=300))
    shelter.refresh_from_db()

    response = client_for(housing_staff).post(
        reverse("directory:assure", args=[shelter.pk]), {"version": shelter.version, "next": "/directory/ours/"}
    )

    assert response.status_code == 302 and response["Location"] == "/directory/ours/"
    shelter.refresh_from_db()
    assert shelter.assured_date == clock.today() and shelter.assurer_email == housing_staff.user.email
    assert not shelter.is_stale()


def test_our_listings_puts_the_stale_ones_first(housing_staff, riverside, shelter):
    old = listing("Riverside Rapid Rehousing", organization=riverside, assured_date=clock.today() - timedelta(days=400))
    listing("Someone else's pantry")

    response = client_for(housing_staff).get(reverse("directory:ours"))

    page = html.unescape(text(response))
    assert page.index(old.name) < page.index(shelter.name)
    assert "Someone else's pantry" not in page
    assert says(response, "1 listing may be out of date.")


def test_our_listings_explains_when_there_are_none(coordinator):
    response = client_for(coordinator).get(reverse("directory:ours"))
    assert says(response, "Your organisation has no listings here")
