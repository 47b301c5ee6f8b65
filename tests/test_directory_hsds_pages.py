"""The directory's HSDS import and export pages (issue 12): a programme lead uploads a 211 export and it is
imported; an export with a bad row imports nothing and lists the row; nobody else may import; anyone signed in
may download the directory as HSDS 3.0."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from kinfold.directory import hsds
from kinfold.directory.models import Service
from kinfold.organizations.models import Role
from tests.factories import staff

pytestmark = pytest.mark.django_db
LEGACY = Path(__file__).parent / "data" / "hsds_legacy"


def _client(role: str) -> Client:
    client = Client()
    client.force_login(staff(role=role).user)
    return client


def _uploads(replace: dict[str, bytes] | None = None) -> list[SimpleUploadedFile]:
    files = {p.name: p.read_bytes() for p in sorted(LEGACY.glob("*.csv"))}
    files.update(replace or {})
    return [SimpleUploadedFile(name, body, content_type="text/csv") for name, body in files.items()]


def test_a_programme_lead_imports_a_211_export_and_importing_again_updates():
    client = _client(Role.PROGRAMME_LEAD)
    page = client.post("/directory/import/", {"files": _uploads()})
    assert page.status_code == 200
    assert "Imported legacy export" in page.content.decode()
    count = Service.objects.count()
    assert count > 0
    again = client.post("/directory/import/", {"files": _uploads()})
    assert again.status_code == 200 and Service.objects.count() == count
    assert "0 new" in again.content.decode()


def test_an_export_with_a_bad_row_imports_nothing_and_names_the_row():
    rows = list(csv.DictReader(io.StringIO((LEGACY / "services.csv").read_text())))
    rows[0]["status"] = "sort of open"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    bad = out.getvalue().encode()
    page = _client(Role.PROGRAMME_LEAD).post("/directory/import/", {"files": _uploads({"services.csv": bad})})
    html = page.content.decode()
    assert page.status_code == 400
    assert "Nothing was imported" in html and "services.csv" in html and "status" in html
    assert not Service.objects.exists()


def test_only_a_programme_lead_imports():
    page = _client(Role.CARE_COORDINATOR).post("/directory/import/", {"files": _uploads()})
    assert page.status_code == 403 and not Service.objects.exists()


def test_anyone_signed_in_downloads_the_directory_as_hsds():
    assert hsds.import_path(LEGACY).ok
    response = _client(Role.CARE_COORDINATOR).get("/directory/export/?format=json")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    assert json.loads(response.content) == json.loads(json.dumps(hsds.export_json(), default=str))
    package = _client(Role.CARE_COORDINATOR).get("/directory/export/?format=zip")
    assert package["Content-Type"] == "application/zip" and package.content[:2] == b"PK"
    assert Client().get("/directory/export/").status_code == 302  # signed out: to the sign-in page
