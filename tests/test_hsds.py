"""Open Referral HSDS import and export: the specification's own 3.0 examples import and export back equal; a
re-import updates and never duplicates; bad rows are reported one by one (file, row, field, reason) and
nothing is written; a 211-style 1.x export imports with its addresses, schedules, taxonomy and eligibility;
and what staff change in Kinfold (Medicaid, languages, counties, terms, the intake contact, the perinatal
attributes) is what the export says."""

from __future__ import annotations

import copy
import csv
import io
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinfold.audit.models import AuditEvent
from kinfold.directory import hsds
from kinfold.directory.models import (
    DirectoryOrganization,
    Location,
    Need,
    Service,
    ServiceAtLocation,
    TaxonomyTerm,
)

pytestmark = pytest.mark.django_db

LEGACY = Path(__file__).parent / "data" / "hsds_legacy"


def _examples() -> Path:
    """The specification's examples (Open Referral, HSDS 3.0, CC BY-SA 4.0), unchanged."""
    for candidate in (Path(__file__).parent / "data" / "hsds3", Path("/work/shared/hsds/examples")):
        if (candidate / "service_full.json").exists():
            return candidate
    raise AssertionError("The HSDS 3.0 examples are missing: copy examples/ of the specification to tests/data/hsds3")


EXAMPLES = _examples()


def normalised(value: Any) -> Any:
    """JSON with key order normalised (the comparison the issue asks for)."""
    return json.loads(json.dumps(value, sort_keys=True))


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def counts() -> dict[str, int]:
    return {
        "organizations": DirectoryOrganization.objects.count(),
        "services": Service.objects.count(),
        "locations": Location.objects.count(),
        "at_locations": ServiceAtLocation.objects.count(),
        "terms": TaxonomyTerm.objects.count(),
    }


def wipe() -> None:
    ServiceAtLocation.objects.all().delete()
    Service.objects.all().delete()
    Location.objects.all().delete()
    DirectoryOrganization.objects.all().delete()
    TaxonomyTerm.objects.all().delete()


def legacy_files() -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(LEGACY.glob("*.csv"))}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def edit_csv(files: dict[str, bytes], file_name: str, row: int, /, **changes: str) -> None:
    """Change one data row (1-based) of a CSV file in an upload."""
    rows = list(csv.DictReader(io.StringIO(files[file_name].decode())))
    rows[row - 1].update(changes)
    files[file_name] = csv_bytes(rows)


def add_csv_row(files: dict[str, bytes], file_name: str, /, **values: str) -> int:
    rows = list(csv.DictReader(io.StringIO(files[file_name].decode())))
    rows.append({column: values.get(column, "") for column in rows[0]})
    files[file_name] = csv_bytes(rows)
    return len(rows)


def problems(report: hsds.ImportReport) -> set[tuple[str, int | str, str]]:
    return {(e.file, e.row, e.field) for e in report.errors}


# --- the official HSDS 3.0 examples -------------------------------------------------------------------


def test_official_service_full_imports_and_exports_back_equal():
    report = hsds.import_path(EXAMPLES / "service_full.json")

    assert report.ok, report.errors
    assert report.form == "json"
    assert hsds.export_json() == [example("service_full.json")]
    assert normalised(hsds.export_json()) == [normalised(example("service_full.json"))]
    # The example's latitude (100) is no place on Earth: kept as given, never used for distance.
    assert {w.field for w in report.warnings} == {"latitude"}
    assert Location.objects.get().latitude is None


def test_official_organization_full_imports_and_exports_back_equal():
    report = hsds.import_path(EXAMPLES / "organization_full.json")

    assert report.ok, report.errors
    assert normalised(hsds.export_organizations_json()) == [normalised(example("organization_full.json"))]


def test_official_paginated_lists_import():
    for name in ("service_list.json", "organization_list.json"):
        report = hsds.import_path(EXAMPLES / name)
        assert report.ok, (name, report.errors)

    service = Service.objects.get()
    assert service.hsds_id == "ac148810-d857-441c-9679-408f346de14b"
    assert service.organization.name == "Example Organization Inc."
    assert DirectoryOrganization.objects.count() == 1


# The official data package's ids do not all line up: these rows point at ids that are nowhere in it, so
# there is nothing to attach them to. They are reported as warnings, and are the only rows not given back.
CSV_ROWS_POINTING_NOWHERE = {
    "attributes.csv": "link_id",  # f28dd44b…: no service, location or organisation has it
    "metadata.csv": "resource_id",  # 38960354…: likewise
    "taxonomies.csv": "id",  # no taxonomy term uses it (the term names 07ff6aee…)
    "meta_table_descriptions.csv": "",  # describes the tables themselves; Kinfold keeps no such thing
}


def test_official_csv_data_package_imports_and_exports_back_equal(tmp_path):
    source = EXAMPLES / "csv"
    report = hsds.import_path(source)

    assert report.ok, report.errors
    assert report.form == "tabular"
    written = hsds.export_tabular(tmp_path)
    assert "datapackage.json" in written
    for path in sorted(source.glob("*.csv")):
        if path.name in CSV_ROWS_POINTING_NOWHERE:
            assert not (tmp_path / path.name).exists()
            continue
        assert read_csv(tmp_path / path.name) == read_csv(path), path.name
    warned = {(w.file, w.field) for w in report.warnings}
    assert set(CSV_ROWS_POINTING_NOWHERE.items()) <= warned
    # Dangling ids on rows that do belong somewhere are kept, so they come back out.
    contact = read_csv(tmp_path / "contacts.csv")[0]
    assert contact["organization_id"] == "ae67a707-5893-4225-b0b1-320ab9cb596b"


def test_a_json_import_survives_the_tabular_form(tmp_path):
    assert hsds.import_path(EXAMPLES / "service_full.json").ok
    hsds.export_tabular(tmp_path)
    wipe()

    report = hsds.import_path(tmp_path)

    assert report.ok, report.errors
    assert normalised(hsds.export_json()) == [normalised(example("service_full.json"))]


def test_the_export_zip_imports_back_from_an_upload():
    assert hsds.import_path(LEGACY).ok
    before = normalised(hsds.export_json())
    archive = hsds.export_zip()
    wipe()

    report = hsds.import_files({"lakeview-directory.zip": archive}, source="upload")

    assert report.ok, report.errors
    assert normalised(hsds.export_json()) == before
    assert DirectoryOrganization.objects.filter(source="upload").count() == 5


def test_the_official_example_fills_the_columns_kinfold_searches():
    hsds.import_path(EXAMPLES / "service_full.json")

    service = Service.objects.get()
    assert service.status == "active"
    assert str(service.assured_date) == "2005-01-01"
    assert (service.minimum_age, service.maximum_age) == (12, 100)
    assert service.eligibility_description.startswith("This service is intended for all people aged 12")
    assert service.languages == ["ur"]
    assert service.accepts_medicaid is False
    # Its service area is a sentence, not a place: no county limit rather than one nobody lives in.
    assert service.counties == []
    assert [t.name for t in service.taxonomy_terms.all()] == ["name"]
    assert "Example Organization Inc." in service.search_text
    assert "Community Counselling" in service.search_text
    location = Location.objects.get()
    assert (location.address_1, location.city, location.county) == ("1-30 Main Street", "MyCity", "MyRegion")
    assert (location.latitude, location.longitude) == (None, 101.0)
    org = DirectoryOrganization.objects.get()
    assert (org.intake_contact_name, org.intake_email) == ("Ann Persona", "email@example.com")
    assert ServiceAtLocation.objects.get().location == location


# --- re-import ------------------------------------------------------------------------------------------


def test_reimporting_the_same_export_updates_and_never_duplicates():
    first = hsds.import_path(LEGACY)
    after_first = counts()

    second = hsds.import_path(LEGACY)

    assert first.ok and second.ok
    assert first.created == 32 and first.updated == 0
    assert second.created == 0 and second.updated == 32
    assert second.updated_by_kind == first.created_by_kind
    assert (
        counts()
        == after_first
        == {
            "organizations": 5,
            "services": 7,
            "locations": 5,
            "at_locations": 7,
            "terms": 8,
        }
    )
    assert set(Service.objects.values_list("version", flat=True)) == {2}


def test_reimporting_a_changed_export_updates_the_listing_in_place():
    hsds.import_path(LEGACY)
    files = legacy_files()
    edit_csv(files, "services.csv", 1, name="Opioid Treatment Program (OTP)")
    edit_csv(files, "organizations.csv", 1, name="Lakeview Recovery Partners, Inc.")

    report = hsds.import_files(files)

    assert report.ok, report.errors
    service = Service.objects.get(hsds_id="LV-201")
    assert service.name == "Opioid Treatment Program (OTP)"
    assert "Lakeview Recovery Partners, Inc." in Service.objects.get(hsds_id="LV-202").search_text
    assert Service.objects.count() == 7


def test_a_service_moved_off_a_location_loses_that_location():
    hsds.import_path(EXAMPLES / "service_full.json")
    changed = example("service_full.json")
    changed["service_at_locations"] = []

    report = hsds.import_files({"service.json": json.dumps(changed).encode()})

    assert report.ok, report.errors
    assert ServiceAtLocation.objects.count() == 0
    assert Location.objects.count() == 1  # still the organisation's location


# --- bad rows -------------------------------------------------------------------------------------------


def test_bad_rows_are_reported_row_by_row_and_nothing_is_written():
    files = legacy_files()
    edit_csv(files, "services.csv", 2, status="open")
    edit_csv(files, "services.csv", 3, name="")
    edit_csv(files, "services.csv", 4, email="nfp at lakeview")
    edit_csv(files, "services.csv", 5, url="javascript:alert(1)")
    edit_csv(files, "locations.csv", 1, latitude="forty-two")
    edit_csv(files, "physical_addresses.csv", 2, city="")
    edit_csv(files, "regular_schedules.csv", 6, weekday="Funday")
    edit_csv(files, "regular_schedules.csv", 7, opens_at="25:00")
    edit_csv(files, "holiday_schedules.csv", 1, start_date="13/45/2026")
    edit_csv(files, "contacts.csv", 2, email="not-an-email")
    edit_csv(files, "services_at_location.csv", 3, location_id="LV-999")
    edit_csv(files, "organizations.csv", 5, year_incorporated="last year")
    row = add_csv_row(files, "eligibility.csv", id="LV-EL-9", service_id="LV-299", eligibility="adult")

    report = hsds.import_files(files)

    assert not report.ok
    assert problems(report) == {
        ("services.csv", 2, "status"),
        ("services.csv", 3, "name"),
        ("services.csv", 4, "email"),
        ("services.csv", 5, "url"),
        ("locations.csv", 1, "latitude"),
        ("physical_addresses.csv", 2, "city"),
        ("regular_schedules.csv", 6, "weekday"),
        ("regular_schedules.csv", 7, "opens_at"),
        ("holiday_schedules.csv", 1, "start_date"),
        ("contacts.csv", 2, "email"),
        ("services_at_location.csv", 3, "location_id"),
        ("organizations.csv", 5, "year_incorporated"),
        ("eligibility.csv", row, "service_id"),
    }
    reasons = {(e.file, e.row): e.reason for e in report.errors}
    assert "active, inactive, defunct, temporarily closed" in reasons["services.csv", 2]
    assert "LV-999" in reasons["services_at_location.csv", 3]
    assert str(report.errors[0]).startswith(f"{report.errors[0].file} row {report.errors[0].row}")
    assert counts() == dict.fromkeys(counts(), 0)
    assert report.created == report.updated == 0


def test_a_bad_import_leaves_what_was_there_untouched():
    hsds.import_path(LEGACY)
    before = normalised(hsds.export_json())
    files = legacy_files()
    edit_csv(files, "services.csv", 1, name="Renamed")
    edit_csv(files, "services.csv", 7, status="closed for good")

    report = hsds.import_files(files)

    assert problems(report) == {("services.csv", 7, "status")}
    assert normalised(hsds.export_json()) == before
    assert Service.objects.get(hsds_id="LV-201").name == "Opioid Treatment Program"


def test_bad_json_rows_are_reported_with_their_place_in_the_file():
    doc = example("service_full.json")
    doc["status"] = "open"
    doc["minimum_age"] = -1
    doc["organization"]["name"] = ""
    doc["organization"]["website"] = "javascript:alert(1)"
    doc["service_at_locations"][0]["location"]["longitude"] = "west"
    doc["contacts"][0]["email"] = "nobody"
    del doc["phones"][0]["number"]
    doc["schedules"][0]["opens_at"] = "ten o'clock"
    doc["cost_options"][0]["valid_from"] = "2020-02-30"

    report = hsds.import_files({"service_full.json": json.dumps(doc).encode()})

    assert problems(report) == {
        ("service_full.json", "/", "status"),
        ("service_full.json", "/", "minimum_age"),
        ("service_full.json", "/organization", "name"),
        ("service_full.json", "/organization", "website"),
        ("service_full.json", "/service_at_locations/0/location", "longitude"),
        ("service_full.json", "/contacts/0", "email"),
        ("service_full.json", "/phones/0", "number"),
        ("service_full.json", "/schedules/0", "opens_at"),
        ("service_full.json", "/cost_options/0", "valid_from"),
    }
    assert counts() == dict.fromkeys(counts(), 0)


def test_references_to_ids_that_exist_nowhere_are_errors(tmp_path):
    hsds.import_path(EXAMPLES / "service_full.json")
    hsds.export_tabular(tmp_path)
    wipe()
    files = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    edit_csv(files, "services.csv", 1, organization_id="no-such-organization")
    edit_csv(files, "attributes.csv", 1, taxonomy_term_id="no-such-term")
    edit_csv(
        files,
        "phones.csv",
        1,
        location_id="",
        service_id="",
        organization_id="",
        contact_id="",
        service_at_location_id="x",
    )

    report = hsds.import_files(files)

    assert problems(report) == {
        ("services.csv", 1, "organization_id"),
        ("attributes.csv", 1, "taxonomy_term_id"),
        ("phones.csv", 1, "service_at_location_id"),
    }
    assert counts() == dict.fromkeys(counts(), 0)


def test_a_service_may_name_an_organisation_already_in_kinfold():
    hsds.import_path(LEGACY)
    files = {
        "services.csv": b"id,organization_id,name,status\nLV-208,LV-102,Lactation Support,active\n",
        "service_at_location.csv": b"id,service_id,location_id\nLV-SAL-8,LV-208,LV-302\n",
    }

    report = hsds.import_files(files)

    assert report.ok, report.errors
    assert report.form == "tabular"
    assert Service.objects.get(hsds_id="LV-208").organization.hsds_id == "LV-102"
    assert ServiceAtLocation.objects.get(hsds_id="LV-SAL-8").location.hsds_id == "LV-302"


def test_files_that_are_not_hsds_are_refused_in_plain_words():
    not_json = hsds.import_files({"directory.json": b"{'id': 1}"})
    not_zip = hsds.import_files({"directory.zip": b"PK not really"})
    nothing = hsds.import_files({})
    nul = hsds.import_files({"s.json": json.dumps({"id": "s", "name": "A\x00B", "status": "active"}).encode()})

    assert "not JSON" in not_json.errors[0].reason
    assert "not a zip file" in not_zip.errors[0].reason
    assert "nothing to import" in nothing.errors[0].reason
    assert ("s.json", "/", "name") in problems(nul)
    assert counts() == dict.fromkeys(counts(), 0)


# --- the 1.x/2.0 layout ---------------------------------------------------------------------------------


def test_legacy_211_export_imports_services_with_addresses_schedules_taxonomy_and_eligibility():
    report = hsds.import_path(LEGACY, source="211 Lakeview, December")

    assert report.ok, report.errors
    assert report.form == "legacy"
    otp = Service.objects.get(hsds_id="LV-201")
    assert otp.organization.name == "Lakeview Recovery Partners"
    assert otp.languages == ["en", "es"]
    assert otp.accepts_medicaid is True  # payments_accepted.csv: Medicaid
    assert otp.counties == ["Lakeview County", "Harbor County"]
    assert otp.eligibility_description == "adult"
    assert sorted(t.name for t in otp.taxonomy_terms.all()) == ["Medications for Addiction", "Outpatient Treatment"]
    term = TaxonomyTerm.objects.get(hsds_id="OE-1102")
    assert (term.taxonomy, term.parent_hsds_id) == ("Open Eligibility", "OE-1100")
    schedules = hsds.export_json()[0]["schedules"]
    weekly = [(s["byday"], s["opens_at"], s["closes_at"]) for s in schedules if s.get("freq") == "WEEKLY"]
    assert weekly[0] == ("MO", "06:00", "14:00")
    assert weekly[-1] == ("SA", "07:00", "11:00")
    holiday = next(s for s in schedules if s["id"] == "LV-HS-1")
    assert (holiday["valid_from"], holiday["valid_to"], holiday["opens_at"]) == ("2026-12-25", "2026-12-25", "07:00")

    clinic = Location.objects.get(hsds_id="LV-301")
    assert (clinic.address_1, clinic.city, clinic.county, clinic.state_province, clinic.postal_code) == (
        "1420 Fulton Street",
        "Lakeview",
        "Lakeview County",
        "MI",
        "49503",
    )
    assert (clinic.latitude, clinic.longitude) == (42.9634, -85.6681)
    assert Location.objects.get(hsds_id="LV-302").country == "US"  # "USA" in the file
    shelter = Location.objects.get(hsds_id="LV-304")  # a confidential place: only a postal address
    assert (shelter.address_1, shelter.latitude) == ("PO Box 1180", None)

    nfp = Service.objects.get(hsds_id="LV-204")
    assert nfp.eligibility_description == "female"
    assert nfp.counties == ["Lakeview County"]
    assert Service.objects.get(hsds_id="LV-202").eligibility_description == "female; adult"
    assert Service.objects.get(hsds_id="LV-205").status == "temporarily closed"
    assert Service.objects.get(hsds_id="LV-206").counties == []  # "Residents of the north side of…"

    event = AuditEvent.objects.filter(record_type="directory_import").get()
    assert event.record_id == "211 Lakeview, December"
    assert event.detail["created"]["service"] == 7

    recovery = DirectoryOrganization.objects.get(hsds_id="LV-101")
    assert (recovery.intake_contact_name, recovery.intake_email) == ("Maya Chen", "intake@lakeviewrecovery.example.org")
    assert recovery.website == "https://lakeviewrecovery.example.org"  # 1.x calls it url
    assert recovery.source == "211 Lakeview, December"
    health = DirectoryOrganization.objects.get(hsds_id="LV-102")  # no contact of its own: its service's
    assert (health.intake_contact_name, health.intake_email) == ("Jordan Ellis", "jellis@harborfhc.example.org")


def test_legacy_import_exports_as_hsds3_and_imports_back_equal(tmp_path):
    hsds.import_path(LEGACY)
    before = normalised(hsds.export_json())
    hsds.export_tabular(tmp_path)
    assert not (tmp_path / "physical_addresses.csv").exists()
    assert (tmp_path / "addresses.csv").exists()
    wipe()

    report = hsds.import_path(tmp_path)

    assert report.ok, report.errors
    assert report.form == "tabular"
    assert normalised(hsds.export_json()) == before
    assert normalised(hsds.export_organizations_json())[0]["services"][0]["id"] == "LV-201"


def test_export_reads_the_directory_in_a_fixed_number_of_queries(django_assert_max_num_queries, tmp_path):
    assert hsds.import_path(LEGACY).ok
    assert hsds.import_path(EXAMPLES / "organization_full.json").ok

    with django_assert_max_num_queries(6):
        services = hsds.export_json()
    with django_assert_max_num_queries(6):
        hsds.export_tabular(tmp_path)

    assert len(services) == 8


def test_an_unzipped_export_in_its_own_folder_imports(tmp_path):
    folder = tmp_path / "unzipped" / "lakeview-211-export"
    folder.mkdir(parents=True)
    for path in LEGACY.glob("*.csv"):
        (folder / path.name).write_bytes(path.read_bytes())

    report = hsds.import_path(tmp_path / "unzipped")

    assert report.ok, report.errors
    assert Service.objects.count() == 7


# --- staff edits reach the export -----------------------------------------------------------------------


def _service_json(hsds_id: str) -> dict[str, Any]:
    return next(s for s in hsds.export_json() if s["id"] == hsds_id)


def test_export_after_staff_edit_of_accepts_medicaid_changes_cost_options():
    hsds.import_path(LEGACY)
    Service.objects.filter(hsds_id="LV-204").update(accepts_medicaid=True)
    Service.objects.filter(hsds_id="LV-201").update(accepts_medicaid=False)

    home_visiting = _service_json("LV-204")
    otp = _service_json("LV-201")

    assert [o["option"] for o in home_visiting["cost_options"]] == ["Medicaid accepted"]
    assert [o["option"] for o in otp["cost_options"]] == ["cash"]
    unchanged = _service_json("LV-203")
    assert [o["option"] for o in unchanged["cost_options"]] == ["Medicaid", "sliding scale"]

    exported = hsds.export_json()
    wipe()
    hsds.import_files({"directory.json": json.dumps(exported).encode()})
    assert Service.objects.get(hsds_id="LV-204").accepts_medicaid is True
    assert Service.objects.get(hsds_id="LV-201").accepts_medicaid is False


def test_export_after_staff_edits_of_languages_counties_terms_and_intake():
    hsds.import_path(LEGACY)
    otp = Service.objects.get(hsds_id="LV-201")
    otp.languages = ["es", "vi"]
    otp.counties = ["Lakeview County", "Ottawa County"]
    otp.save()
    otp.taxonomy_terms.remove(TaxonomyTerm.objects.get(hsds_id="OE-1101"))
    otp.taxonomy_terms.add(TaxonomyTerm.objects.get(hsds_id="OE-1201"))
    DirectoryOrganization.objects.filter(hsds_id="LV-101").update(
        intake_contact_name="Sam Ortiz", intake_email="sam.ortiz@lakeviewrecovery.example.org"
    )

    exported = _service_json("LV-201")

    assert [(lang.get("code"), lang.get("name")) for lang in exported["languages"]] == [
        ("es", "Spanish"),
        ("vi", "Vietnamese"),
    ]
    assert [a["name"] for a in exported["service_areas"]] == ["Lakeview County", "Ottawa County"]
    assert sorted(a["taxonomy_term"]["name"] for a in exported["attributes"]) == [
        "Medications for Addiction",
        "Prenatal Care",
    ]
    intake = [c for c in exported["organization"]["contacts"] if "Intake" in c.get("title", "")]
    assert [(c["name"], c["email"]) for c in intake] == [("Sam Ortiz", "sam.ortiz@lakeviewrecovery.example.org")]

    wipe()
    hsds.import_files({"directory.json": json.dumps([exported]).encode()})
    again = Service.objects.get(hsds_id="LV-201")
    assert (again.languages, again.counties) == (["es", "vi"], ["Lakeview County", "Ottawa County"])
    assert DirectoryOrganization.objects.get().intake_contact_name == "Sam Ortiz"


def test_kinfold_perinatal_attributes_travel_as_hsds_attributes():
    hsds.import_path(LEGACY)
    Service.objects.filter(hsds_id="LV-201").update(
        accepts_pregnant=True,
        moud_methadone=True,
        moud_buprenorphine=True,
        moud_continued_in_hospital=True,
        walk_in=True,
        wait_days=0,
        needs=[Need.MOUD, Need.SUD_TREATMENT],
    )
    Service.objects.filter(hsds_id="LV-204").update(
        first_pregnancy_only=True, enrol_before_week=28, accepting_new=False, capacity_note="Waitlist until March"
    )

    otp = _service_json("LV-201")
    perinatal = {
        a["taxonomy_term"]["code"]: a["value"]
        for a in otp["attributes"]
        if a["taxonomy_term"].get("taxonomy") == hsds.KINFOLD_TAXONOMY
    }
    assert perinatal == {
        "accepts_pregnant": "true",
        "moud_methadone": "true",
        "moud_buprenorphine": "true",
        "moud_continued_in_hospital": "true",
        "walk_in": "true",
        "wait_days": "0",
        "need:sud_treatment": "true",
        "need:moud": "true",
    }
    archive = hsds.export_zip()
    exported = normalised(hsds.export_json())
    wipe()

    assert hsds.import_files({"directory.zip": archive}).ok
    assert normalised(hsds.export_json()) == exported
    nfp = Service.objects.get(hsds_id="LV-204")
    assert (nfp.first_pregnancy_only, nfp.enrol_before_week, nfp.accepting_new) == (True, 28, False)
    assert nfp.capacity_note == "Waitlist until March"
    otp_row = Service.objects.get(hsds_id="LV-201")
    assert otp_row.moud_offered == ["methadone", "buprenorphine"]
    assert otp_row.wait_days == 0
    assert sorted(otp_row.needs) == ["moud", "sud_treatment"]
    # Kinfold's own terms are read from the columns, never kept as taxonomy terms of their own.
    assert not TaxonomyTerm.objects.filter(taxonomy=hsds.KINFOLD_TAXONOMY).exists()


def test_a_reimport_without_kinfold_attributes_keeps_what_staff_set():
    hsds.import_path(LEGACY)
    Service.objects.filter(hsds_id="LV-201").update(accepts_pregnant=True, enrol_from_week=6)

    assert hsds.import_path(LEGACY).ok

    otp = Service.objects.get(hsds_id="LV-201")
    assert (otp.accepts_pregnant, otp.enrol_from_week) == (True, 6)


def test_an_unknown_kinfold_attribute_is_an_error():
    doc = example("service_full.json")
    term = {"id": "t-1", "code": "accepts_everyone", "name": "Everyone", "taxonomy": hsds.KINFOLD_TAXONOMY}
    doc["attributes"].append({"id": "a-1", "taxonomy_term": term, "value": "true"})
    week = {"id": "t-2", "code": "enrol_before_week", "name": "Before week", "taxonomy": hsds.KINFOLD_TAXONOMY}
    doc["attributes"].append({"id": "a-2", "taxonomy_term": week, "value": "sixty"})

    report = hsds.import_files({"s.json": json.dumps(doc).encode()})

    assert problems(report) == {("s.json", "/attributes/1", "taxonomy_term"), ("s.json", "/attributes/2", "value")}
    assert counts() == dict.fromkeys(counts(), 0)


# --- the invariant: what is imported unchanged exports back equal ----------------------------------------

_words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=24).filter(
    lambda s: s.strip() == s and s
)
_languages = st.lists(st.sampled_from(["en", "es", "vi", "ar", "so", "hmn"]), unique=True, max_size=3)


@st.composite
def services(draw: st.DrawFn) -> dict[str, Any]:
    ids = iter(str(uuid.UUID(int=draw(st.integers(0, 2**64)) * 97 + i)) for i in range(1000))
    low = draw(st.none() | st.integers(0, 60))
    high = draw(st.none() | st.integers(low or 0, 130))
    service: dict[str, Any] = {
        "id": next(ids),
        "name": draw(_words),
        "status": draw(st.sampled_from(["active", "inactive", "defunct", "temporarily closed"])),
        "description": draw(st.sampled_from(["", "Help for families."]) | _words),
        "languages": [{"id": next(ids), "name": f"Language {c}", "code": c} for c in draw(_languages)],
        "cost_options": [
            {"id": next(ids), "option": option}
            for option in draw(st.lists(st.sampled_from(["Medicaid", "Sliding scale", "Free", "Medi-Cal"]), max_size=2))
        ],
        "service_areas": [{"id": next(ids), "name": n} for n in draw(st.lists(_words, max_size=2, unique=True))],
        "attributes": [
            {
                "id": next(ids),
                "link_entity": "service",
                "taxonomy_term": {"id": next(ids), "name": name, "taxonomy": "Open Eligibility"},
            }
            for name in draw(st.lists(_words, max_size=2))
        ],
        "organization": {"id": next(ids), "name": draw(_words), "description": draw(_words)},
    }
    if low is not None:
        service["minimum_age"] = low
    if high is not None:
        service["maximum_age"] = high
    if draw(st.booleans()):
        service["assured_date"] = draw(st.dates()).isoformat()
    if draw(st.booleans()):
        service["alternate_name"] = draw(st.sampled_from(["", "Also known as"]))
    return service


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(service=services())
def test_any_valid_service_exports_back_as_it_was_imported(service):
    wipe()
    report = hsds.import_files({"service.json": json.dumps(service).encode()})

    assert report.ok, report.errors
    assert normalised(hsds.export_json()) == [normalised(service)]


# --- the commands ---------------------------------------------------------------------------------------


def test_hsds_import_command_prints_the_report(capsys):
    call_command("hsds_import", str(LEGACY), "--source", "211 Lakeview")

    out = capsys.readouterr().out
    assert "Imported 32 new and updated 0" in out
    assert Service.objects.count() == 7


def test_hsds_import_command_lists_every_error_and_fails(tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    for path in LEGACY.glob("*.csv"):
        (bad / path.name).write_bytes(path.read_bytes())
    files = legacy_files()
    edit_csv(files, "services.csv", 1, status="open")
    edit_csv(files, "locations.csv", 2, latitude="north")
    (bad / "services.csv").write_bytes(files["services.csv"])
    (bad / "locations.csv").write_bytes(files["locations.csv"])

    with pytest.raises(CommandError, match="Nothing was imported: 2 problem"):
        call_command("hsds_import", str(bad))

    err = capsys.readouterr().err
    assert "services.csv row 1, status:" in err
    assert "locations.csv row 2, latitude:" in err
    assert Service.objects.count() == 0


def test_hsds_export_command_writes_json_and_tabular(tmp_path):
    hsds.import_path(EXAMPLES / "service_full.json")

    call_command("hsds_export", "--format", "json", str(tmp_path / "services.json"))
    call_command("hsds_export", "--format", "json", "--organizations", str(tmp_path / "organizations.json"))
    call_command("hsds_export", "--format", "tabular", str(tmp_path / "package"))
    call_command("hsds_export", "--format", "tabular", str(tmp_path / "package.zip"))

    assert json.loads((tmp_path / "services.json").read_text()) == [example("service_full.json")]
    assert (
        json.loads((tmp_path / "organizations.json").read_text())[0]["services"][0]["name"] == "Community Counselling"
    )
    package = json.loads((tmp_path / "package" / "datapackage.json").read_text())
    assert {r["path"] for r in package["resources"]} >= {"services.csv", "organizations.csv", "locations.csv"}
    with zipfile.ZipFile(tmp_path / "package.zip") as archive:
        assert "services.csv" in archive.namelist()
    copied = copy.deepcopy(read_csv(tmp_path / "package" / "services.csv"))
    assert copied[0]["name"] == "Community Counselling"


def test_an_imported_211_export_is_found_by_words_with_a_spelling_mistake():
    """Search reads what an import wrote (the search tables follow the rows, whoever writes them)."""
    from kinfold.directory.search import search_services

    report = hsds.import_path(LEGACY)
    assert report.ok, report.errors
    service = Service.objects.exclude(description="").order_by("pk").first()
    assert service is not None
    word = max(service.name.split(), key=len)
    typo = word[:2] + word[3] + word[2] + word[4:] if len(word) > 5 else word
    found = search_services(query=typo)
    assert service.pk in [r.service.pk for r in found.results]
