"""The directory search (issue 12): words that forgive typing mistakes on both databases, distance from a place
(radius, nearest first), every filter, pagination and its capped count, and "fits this family" — the reasons
for and against in plain words, unknown facts that never rule a service out, and the SQL filter that must agree
with those reasons (a Hypothesis property). Places are real ZIP codes around Lexington, Kentucky."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinfold import clock
from kinfold.directory import geo, search
from kinfold.directory.fit import FamilyFit, fits
from kinfold.directory.models import (
    DirectoryOrganization,
    Location,
    Moud,
    Need,
    Service,
    ServiceAtLocation,
    ServiceStatus,
)
from kinfold.directory.search import FLAG_FILTERS, SearchFilters, search_services
from kinfold.directory.services import service_refresh_search_text

pytestmark = pytest.mark.django_db

LEXINGTON = "40502"
GEORGETOWN = "40324"  # 14 miles north of 40502 (ZIP centroids)
FRANKFORT = "40601"  # 25.5 miles north-west
CINCINNATI = "45202"  # 75 miles north
_counter = itertools.count(1)


def listing(
    name: str,
    *,
    description: str = "",
    zips: tuple[str, ...] = (LEXINGTON,),
    organization: DirectoryOrganization | None = None,
    **fields: Any,
) -> Service:
    """A service with a location at the centre of each ZIP code, findable by its words."""
    n = next(_counter)
    org = organization or DirectoryOrganization.objects.create(hsds_id=f"test-org-{n}", name=f"{name} (org)")
    fields.setdefault("assured_date", clock.today())
    service = Service.objects.create(
        hsds_id=f"test-svc-{n}", organization=org, name=name, description=description, **fields
    )
    for k, zip_code in enumerate(zips):
        point = geo.zip_centroid(zip_code)
        assert point is not None
        location = Location.objects.create(
            hsds_id=f"test-loc-{n}-{k}",
            organization=org,
            address_1=f"{100 + k} Main Street",
            city="Somewhere",
            county=fields.get("counties", ["Lakeview County"])[0] if fields.get("counties") else "Lakeview County",
            postal_code=zip_code,
            latitude=point[0],
            longitude=point[1],
        )
        ServiceAtLocation.objects.create(hsds_id=f"test-sal-{n}-{k}", service=service, location=location)
    return service_refresh_search_text(service=service)


def names(page: search.SearchPage) -> list[str]:
    return [r.service.name for r in page.results]


def near(zip_code: str) -> geo.Point:
    point = geo.point_for(zip_code)
    assert point is not None
    return point


# --- free text ----------------------------------------------------------------------------------


def test_a_misspelt_medication_still_finds_the_service(db_vendor):
    listing("Bluegrass Bridge Clinic", description="Buprenorphine treatment for pregnant people.")
    listing("Riverside Family Shelter", description="Emergency housing for families.")

    page = search_services("bupernorphine")

    assert names(page) == ["Bluegrass Bridge Clinic"]
    assert page.corrections == {"bupernorphine": ["buprenorphine"]}


@pytest.mark.parametrize("typed", ["metadone", "methadon", "METHADONE", "Méthadone"])
def test_typing_mistakes_case_and_accents_are_forgiven(typed):
    listing("Cardinal Valley Clinic", description="Daily methadone dosing.")
    listing("Little Acorns", description="Child care from six weeks old.")

    assert names(search_services(typed)) == ["Cardinal Valley Clinic"]


def test_the_start_of_a_word_finds_the_whole_word():
    listing("Healthy Starts", description="Home visits during pregnancy.")

    assert names(search_services("pregnan")) == ["Healthy Starts"]
    assert names(search_services("visit")) == ["Healthy Starts"]


def test_every_word_must_match_and_common_words_are_ignored():
    listing("Hope Recovery Center", description="Buprenorphine for pregnant people.")
    listing("Stone Valley Programme", description="Buprenorphine for adults.")

    assert names(search_services("buprenorphine for the pregnant")) == ["Hope Recovery Center"]
    assert names(search_services("the and of")) == ["Hope Recovery Center", "Stone Valley Programme"]


def test_a_word_nothing_resembles_finds_nothing():
    listing("Hope Recovery Center", description="Buprenorphine for pregnant people.")

    page = search_services("xylophone")

    assert page.results == [] and page.total == 0 and page.corrections == {}


def test_brand_names_and_the_organisation_find_a_service():
    org = DirectoryOrganization.objects.create(hsds_id="org-hope", name="Hope Recovery Center")
    listing("Pregnancy and Parenting Clinic", organization=org, moud_buprenorphine=True)

    assert names(search_services("suboxone")) == ["Pregnancy and Parenting Clinic"]
    assert names(search_services("hope recovery")) == ["Pregnancy and Parenting Clinic"]


def test_changing_a_listing_changes_what_finds_it():
    service = listing("Harbor House", description="Residential treatment.")
    service.description = "Outpatient counselling."
    service.save()
    service_refresh_search_text(service=service)

    assert names(search_services("counselling")) == ["Harbor House"]
    assert names(search_services("residential")) == []


def test_a_removed_listing_is_no_longer_found():
    service = listing("Harbor House", description="Residential treatment.")
    service.delete()

    assert search_services("residential").results == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's vocabulary and trigram index")
def test_on_postgresql_a_typo_anywhere_in_the_word_is_corrected_from_the_listings_words():
    listing("Bluegrass Bridge Clinic", description="Buprenorphine treatment, room 2048.")

    assert names(search_services("vuprenorphine")) == ["Bluegrass Bridge Clinic"]  # even the first letter
    with connection.cursor() as cursor:
        cursor.execute("SELECT word FROM directory_search_word WHERE word IN ('buprenorphine', '2048')")
        assert [row[0] for row in cursor.fetchall()] == ["buprenorphine"]  # numbers are not words to correct to


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 triggers")
def test_the_sqlite_search_triggers_are_there_after_every_migration():
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'directory_service_fts_%'")
        found = {row[0] for row in cursor.fetchall()}
    assert found == {"directory_service_fts_insert", "directory_service_fts_delete", "directory_service_fts_update"}


# --- distance -----------------------------------------------------------------------------------


def test_within_a_radius_nearest_first_with_true_distances():
    far = listing("Cincinnati Clinic", zips=(CINCINNATI,))
    middle = listing("Frankfort Clinic", zips=(FRANKFORT,))
    close = listing("Georgetown Clinic", zips=(GEORGETOWN,))
    here = listing("Lexington Clinic", zips=(LEXINGTON,))

    page = search_services(near=near(LEXINGTON), radius_miles=26)

    assert names(page) == ["Lexington Clinic", "Georgetown Clinic", "Frankfort Clinic"]
    assert [round(r.distance_miles or 0, 1) for r in page.results] == [
        0.0,
        round(geo.haversine_miles(near(LEXINGTON), near(GEORGETOWN)), 1),
        round(geo.haversine_miles(near(LEXINGTON), near(FRANKFORT)), 1),
    ]
    assert far.pk not in {r.service.pk for r in page.results}
    assert {here.pk, close.pk, middle.pk} == {r.service.pk for r in page.results}
    assert names(search_services(near=near(LEXINGTON), radius_miles=25)) == ["Lexington Clinic", "Georgetown Clinic"]
    assert names(search_services(near=near(LEXINGTON), radius_miles=13.9)) == ["Lexington Clinic"]


def test_a_service_is_as_near_as_its_nearest_location():
    listing("Two Sites", zips=(CINCINNATI, GEORGETOWN))
    listing("Frankfort Clinic", zips=(FRANKFORT,))

    page = search_services(near=near(LEXINGTON), radius_miles=30)

    assert names(page) == ["Two Sites", "Frankfort Clinic"]
    assert [round(p.distance_miles or 0) for p in page.results[0].locations] == [
        round(geo.haversine_miles(near(LEXINGTON), near(GEORGETOWN))),
        round(geo.haversine_miles(near(LEXINGTON), near(CINCINNATI))),
    ]


def test_without_a_radius_every_service_is_sorted_by_distance_and_those_without_an_address_last():
    listing("No Address Hotline", zips=())
    listing("Cincinnati Clinic", zips=(CINCINNATI,))
    listing("Lexington Clinic", zips=(LEXINGTON,))

    page = search_services(near=near(LEXINGTON))

    assert names(page) == ["Lexington Clinic", "Cincinnati Clinic", "No Address Hotline"]
    assert page.results[-1].distance_miles is None


def test_words_and_a_radius_together():
    listing("Lexington Methadone", description="methadone", zips=(LEXINGTON,))
    listing("Lexington Pantry", description="food", zips=(LEXINGTON,))
    listing("Cincinnati Methadone", description="methadone", zips=(CINCINNATI,))

    assert names(search_services("metadone", near=near(LEXINGTON), radius_miles=20)) == ["Lexington Methadone"]


@pytest.mark.parametrize(
    ("radius", "place", "message"),
    [
        (-5, LEXINGTON, "The distance must be more than 0 miles."),
        (0, LEXINGTON, "The distance must be more than 0 miles."),
        (float("nan"), LEXINGTON, "The distance must be more than 0 miles."),
        (501, LEXINGTON, "The distance can be at most 500 miles."),
        (10, None, "Type a ZIP code or an address to search within a distance of it."),
    ],
)
def test_a_bad_radius_is_refused_in_plain_words(radius, place, message):
    with pytest.raises(ValidationError) as refused:
        search_services(near=near(place) if place else None, radius_miles=radius)
    assert message in refused.value.messages


@pytest.mark.parametrize(
    ("typed", "label", "reason"),
    [
        ("40502", "40502 (Lexington, KY)", ""),
        ("123 Main St, Lexington, KY 40502-1234", "40502 (Lexington, KY)", ""),
        ("Lexington, KY", "Lexington, KY", ""),
        ("99999", "", "We could not find the ZIP code 99999. Check the five digits."),
        ("4050", "", "A ZIP code has five digits, for example 40502."),
        ("Atlantis, ZZ", "", "We could not find Atlantis, ZZ. Try its ZIP code."),
        ("the big house", "", "We place addresses by their ZIP code"),
        ("", "", "Type a ZIP code or an address to search near it."),
    ],
)
def test_places_are_found_offline_or_the_reason_is_given(typed, label, reason):
    located = geo.locate(typed)
    assert located.label == label
    assert (located.point is None) == bool(reason)
    assert located.reason.startswith(reason)


# --- filters ------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", list(FLAG_FILTERS))
def test_each_yes_no_filter_keeps_only_the_services_that_say_yes(flag):
    values: dict[str, Any] = {name: False for name in FLAG_FILTERS}
    listing("Says yes", **{**values, flag: True})
    listing("Says no", **values)
    only: dict[str, Any] = {flag: True}

    assert names(search_services(filters=SearchFilters(**only))) == ["Says yes"]
    assert names(search_services(filters=SearchFilters())) == ["Says no", "Says yes"]


def test_need_filter():
    listing("Shelter", needs=[Need.HOUSING])
    listing("Clinic", needs=[Need.MOUD, Need.SUD_TREATMENT])

    assert names(search_services(filters=SearchFilters(need=Need.MOUD))) == ["Clinic"]
    assert names(search_services(filters=SearchFilters(need=Need.HOUSING))) == ["Shelter"]


def test_medication_filter_keeps_services_offering_any_medication_ticked():
    listing("Methadone only", moud_methadone=True)
    listing("Buprenorphine only", moud_buprenorphine=True)
    listing("Naltrexone only", moud_naltrexone=True)
    listing("None")

    found = search_services(filters=SearchFilters(moud=(Moud.METHADONE, Moud.BUPRENORPHINE)))
    assert names(found) == ["Buprenorphine only", "Methadone only"]


def test_language_filter():
    listing("Bilingual", languages=["en", "es"])
    listing("English", languages=["en"])

    assert names(search_services(filters=SearchFilters(language="es"))) == ["Bilingual"]


def test_county_filter_takes_listed_counties_or_a_location_there():
    listing("Lists Lakeview", counties=["Lakeview County"], zips=(CINCINNATI,))
    listing("Lists another", counties=["Elk Run County"])
    located = listing("Lists none, located in Lakeview")
    Location.objects.filter(services_here__service=located).update(county="Lakeview County")
    elsewhere = listing("Lists none, located elsewhere")
    Location.objects.filter(services_here__service=elsewhere).update(county="Elk Run County")

    found = search_services(filters=SearchFilters(county="lakeview county"))
    assert names(found) == ["Lists Lakeview", "Lists none, located in Lakeview"]


def test_longest_wait_leaves_out_longer_and_unknown_waits():
    listing("Same day", wait_days=0)
    listing("Two weeks", wait_days=14)
    listing("Two months", wait_days=60)
    listing("Unknown wait", wait_days=None)

    assert names(search_services(filters=SearchFilters(max_wait_days=14))) == ["Same day", "Two weeks"]


def test_only_active_services_unless_closed_ones_are_asked_for():
    listing("Open", status=ServiceStatus.ACTIVE)
    listing("Closed for now", status=ServiceStatus.TEMPORARILY_CLOSED)
    listing("Gone", status=ServiceStatus.DEFUNCT)

    assert names(search_services()) == ["Open"]
    statuses = (ServiceStatus.ACTIVE, ServiceStatus.TEMPORARILY_CLOSED)
    assert names(search_services(filters=SearchFilters(statuses=statuses))) == ["Closed for now", "Open"]


# --- pages and counts ---------------------------------------------------------------------------


def test_pages_of_twenty_and_a_page_past_the_end_shows_the_last():
    for n in range(45):
        listing(f"Service {n:02d}")

    first, third, past = (search_services(page=p) for p in (1, 3, 99))

    assert first.total == 45 and first.num_pages == 3 and len(first.results) == 20
    assert names(first)[0] == "Service 00" and first.has_next() and not first.has_previous()
    assert names(third) == [f"Service {n}" for n in range(40, 45)] and (third.start_index, third.end_index) == (41, 45)
    assert past.number == 3 and names(past) == names(third)


def test_counts_stop_at_the_cap(monkeypatch):
    monkeypatch.setattr(search, "COUNT_CAP", 10)
    for n in range(14):
        listing(f"Service {n:02d}")

    page = search_services(per_page=5, page=9)

    assert page.total_is_capped and page.num_pages == 2 and page.number == 2


# --- fits this family ---------------------------------------------------------------------------


def svc(**fields: Any) -> Service:
    """A listing's facts without a database row."""
    return Service(**fields)


def test_a_gestational_window_rules_her_out_when_she_is_past_it():
    home_visiting = svc(enrol_before_week=28, accepts_pregnant=True)

    late = fits(home_visiting, FamilyFit(gestational_weeks=31))
    early = fits(home_visiting, FamilyFit(gestational_weeks=20))

    assert not late.fits and late.ruled_out_by == ["enrols before 28 weeks; she is at 31 weeks"]
    assert early.fits and "enrols before 28 weeks; she is at 20 weeks" in early.reasons_for
    assert "accepts pregnant people" in early.reasons_for


def test_a_window_that_opens_later_says_not_yet():
    result = fits(svc(enrol_from_week=12, enrol_before_week=28), FamilyFit(gestational_weeks=9))
    assert result.ruled_out_by == ["enrols from 12 to before 28 weeks of pregnancy; she is at 9 weeks (not yet)"]


def test_unknown_facts_never_rule_out_and_are_said():
    strict = svc(
        enrol_before_week=28,
        first_pregnancy_only=True,
        counties=["Lakeview County"],
        minimum_age=18,
        needs=[Need.MOUD],
        languages=["en"],
    )

    result = fits(strict, FamilyFit())

    assert result.fits and result.ruled_out_by == []
    assert result.not_known == [
        "enrols before 28 weeks; how far along she is is not known",
        "first pregnancy only; whether this is her first is not known",
        "serves only Lakeview County; her county is not known",
        "does not take Medicaid; her insurance is not known",
        "serves ages 18 and over; her age is not known",
    ]


def test_after_the_birth_a_pregnancy_window_rules_her_out():
    result = fits(svc(enrol_before_week=28), FamilyFit(postpartum_days=40))
    assert result.ruled_out_by == ["enrols before 28 weeks; she is not pregnant now (her baby has been born)"]


@pytest.mark.parametrize(
    ("service", "family", "for_", "against"),
    [
        ({"first_pregnancy_only": True}, {"first_pregnancy": True}, "first pregnancy only; this is her first", None),
        (
            {"first_pregnancy_only": True},
            {"first_pregnancy": False},
            None,
            "first pregnancy only; this is not her first",
        ),
        ({"counties": ["Lakeview County"]}, {"county": "lakeview county"}, "serves lakeview county", None),
        (
            {"counties": ["Elk Run County", "Mill Creek County"]},
            {"county": "Lakeview County"},
            None,
            "serves only Elk Run County and Mill Creek County; she lives in Lakeview County",
        ),
        ({"languages": ["en", "es"]}, {"language": "es"}, "speaks Spanish", None),
        ({"accepts_medicaid": True}, {"medicaid": True}, "takes Medicaid", None),
        ({"needs": [Need.MOUD], "accepts_medicaid": False}, {"medicaid": True}, None, "does not take Medicaid"),
        ({"moud_buprenorphine": True}, {"moud": Moud.BUPRENORPHINE}, "offers buprenorphine", None),
        ({"moud_methadone": True}, {"moud": Moud.BUPRENORPHINE}, None, "offers methadone, not buprenorphine"),
        ({"minimum_age": 18, "maximum_age": 24}, {"age": 20}, "serves ages 18 to 24; she is 20", None),
        ({"minimum_age": 18}, {"age": 17}, None, "serves ages 18 and over; she is 17"),
        ({"status": ServiceStatus.TEMPORARILY_CLOSED}, {}, None, "temporarily closed — not taking anyone now"),
        ({"accepting_new": False}, {}, None, "not taking new people now"),
    ],
)
def test_reasons_for_and_against_in_plain_words(service, family, for_, against):
    result = fits(svc(**service), FamilyFit(**family))
    if for_:
        assert for_ in result.reasons_for and result.fits
    if against:
        assert result.ruled_out_by == [against] and not result.fits


def test_a_language_she_does_not_share_is_something_to_ask_not_a_rule():
    result = fits(svc(languages=["en"]), FamilyFit(language="es"))
    assert result.fits and result.not_known == ["lists English only; ask about an interpreter for Spanish"]


def test_a_free_service_that_does_not_bill_medicaid_is_not_ruled_out():
    assert fits(svc(needs=[Need.FOOD], accepts_medicaid=False), FamilyFit(medicaid=True)).fits


def test_results_carry_their_fit_and_fits_only_keeps_those_that_fit():
    listing("Healthy Starts", enrol_before_week=28)
    listing("Parenting Circle")
    her = FamilyFit(gestational_weeks=31, county="Lakeview County")

    every = search_services(fit=her)
    fitting = search_services(fit=her, fits_only=True)

    assert {r.service.name: r.fit.fits for r in every.results if r.fit} == {
        "Healthy Starts": False,
        "Parenting Circle": True,
    }
    assert names(fitting) == ["Parenting Circle"]


# The SQL behind "only services that fit her" must agree with ``fits`` for every family and service.
SERVICE_VARIANTS: list[dict[str, Any]] = [
    {
        "status": status,
        "accepting_new": accepting,
        "enrol_before_week": before,
        "enrol_from_week": start,
        "first_pregnancy_only": first_only,
        "counties": counties,
        "languages": languages,
        "accepts_medicaid": medicaid,
        "needs": needs,
        "moud_methadone": methadone,
        "moud_buprenorphine": bup,
        "minimum_age": min_age,
        "maximum_age": max_age,
    }
    for (
        status,
        accepting,
        before,
        start,
        first_only,
        counties,
        languages,
        medicaid,
        needs,
        methadone,
        bup,
        min_age,
        max_age,
    ) in random.Random(12).choices(
        list(
            itertools.product(
                [ServiceStatus.ACTIVE, ServiceStatus.ACTIVE, ServiceStatus.TEMPORARILY_CLOSED],
                [True, True, False],
                [None, 28],
                [None, 12],
                [False, True],
                [[], ["Lakeview County"], ["Elk Run County", " "]],
                [[], ["en"], ["en", "es"]],
                [False, True],
                [[Need.HOUSING], [Need.MOUD, Need.SUD_TREATMENT]],
                [False, True],
                [False, True],
                [None, 18],
                [None, 24],
            )
        ),
        k=60,
    )
]


@pytest.fixture
def variants(db):
    return [listing(f"Variant {n:02d}", **fields) for n, fields in enumerate(SERVICE_VARIANTS)]


families = st.builds(
    FamilyFit,
    gestational_weeks=st.none() | st.integers(min_value=4, max_value=41),
    postpartum_days=st.none() | st.integers(min_value=0, max_value=365),
    first_pregnancy=st.none() | st.booleans(),
    county=st.sampled_from(["", "Lakeview County", "elk run county", "Mill Creek County"]),
    language=st.sampled_from(["", "en", "es", "ar"]),
    medicaid=st.none() | st.booleans(),
    moud=st.sampled_from(["", Moud.METHADONE, Moud.BUPRENORPHINE, Moud.NALTREXONE]),
    age=st.none() | st.integers(min_value=14, max_value=45),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(her=families)
def test_only_services_that_fit_her_is_exactly_those_fits_says_fit(variants, her):
    expected = {s.pk for s in variants if fits(s, her).fits}
    found = search_services(fit=her, fits_only=True, filters=SearchFilters(statuses=()), per_page=100)
    assert {r.service.pk for r in found.results} == expected
    assert all(r.fit is not None and r.fit.fits for r in found.results)


def test_stale_means_not_assured_for_six_months_or_never():
    today = clock.today()
    assert svc(assured_date=None).is_stale(today)
    assert svc(assured_date=today - timedelta(days=184)).is_stale(today)
    assert not svc(assured_date=today - timedelta(days=183)).is_stale(today)


# --- the demo's directory -----------------------------------------------------------------------


def test_the_demo_directory_holds_the_demo_stories_and_loads_twice_without_duplicates(treatment_org):
    from kinfold.directory.demo import load_demo_directory

    first = load_demo_directory()
    again = load_demo_directory()

    assert first == again == Service.objects.count() and 60 <= first <= 120
    hope = Service.objects.get(name="Hope Recovery Center — Pregnancy and Parenting MOUD Clinic")
    assert hope.organization.organization == treatment_org and hope.organization.intake_email
    riverside = DirectoryOrganization.objects.get(name="Riverside Housing Alliance")
    assert riverside.intake_email == "intake@riverside-housing.example" and riverside.organization is None
    assert Service.objects.filter(first_pregnancy_only=True, enrol_before_week=28).exists()
    assert Service.objects.filter(residential_with_children=True).exists()
    assert Service.objects.filter(status=ServiceStatus.TEMPORARILY_CLOSED).exists()
    assert any(s.is_stale() for s in Service.objects.all())

    her = FamilyFit(gestational_weeks=20, county="Lakeview County", language="es", medicaid=True, moud="buprenorphine")
    found = search_services(
        "bupernorphine",
        near=near(LEXINGTON),
        radius_miles=15,
        filters=SearchFilters(accepts_pregnant=True),
        fit=her,
        fits_only=True,
    )
    assert hope.pk in {r.service.pk for r in found.results}
    spanish = search_services("mental health", filters=SearchFilters(language="es", postpartum_programme=True))
    assert "Mamás Sanas — Perinatal Mental Health in Spanish" in names(spanish)
