"""The synthetic region generator (`kinfold seed`) and the demo (`kinfold demo`)."""

from __future__ import annotations

import io
import stat
from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from kinfold.access.viewer import Viewer
from kinfold.consent.models import ConsentDirective, ConsentVersion
from kinfold.demo import region
from kinfold.demo.synthetic import generate_region
from kinfold.families.models import CareTeamMember, Family, Person
from kinfold.families.selectors import caseload_for, caseload_rows
from kinfold.notes.models import NOTE_CATEGORY, Note, NoteKind
from kinfold.organizations.models import HEALTH_CARE_PROVIDER_TYPES, Organization, OrganizationType

pytestmark = pytest.mark.django_db

ON = date(2026, 11, 24)


def _fingerprint(family_ids: list[int]) -> list[tuple[object, ...]]:
    people = Person.objects.filter(family_id__in=family_ids).order_by("family_id", "pk")
    consents = ConsentVersion.objects.filter(directive__family_id__in=family_ids).order_by("pk")
    return [
        *people.values_list("given_name", "family_name", "born_on", "preferred_language"),
        *consents.values_list("template_key", "categories", "signed_at"),
    ]


def test_same_seed_makes_the_same_region() -> None:
    generate_region(families=60, seed=7, on=ON)
    first = list(Family.objects.order_by("pk").values_list("pk", flat=True))
    generate_region(families=60, seed=7, on=ON, region="Lakeview County 2")
    second = list(Family.objects.exclude(pk__in=first).order_by("pk").values_list("pk", flat=True))
    assert len(second) == 60
    assert _fingerprint(first) == _fingerprint(second)
    generate_region(families=60, seed=8, on=ON, region="Lakeview County 3")
    third = list(Family.objects.exclude(pk__in=first + second).order_by("pk").values_list("pk", flat=True))
    assert _fingerprint(third) != _fingerprint(first)


def test_region_has_every_organisation_type_stage_and_exactly_one_coordinator_per_team() -> None:
    summary = generate_region(families=300, seed=11, on=ON)
    assert summary.families == Family.objects.count() == 300
    assert set(Organization.objects.values_list("type", flat=True)) == set(OrganizationType.values)
    assert all(summary.stages[stage] > 0 for stage in ("pregnant", "postpartum", "parenting"))
    coordinators = (
        CareTeamMember.objects.active().filter(is_coordinator=True).values_list("care_team__family_id", flat=True)
    )
    assert sorted(coordinators) == sorted(Family.objects.values_list("pk", flat=True))


def test_only_health_care_providers_write_sud_treatment_notes() -> None:
    generate_region(families=200, seed=5, on=ON)
    sud_kinds = [k for k, cat in NOTE_CATEGORY.items() if cat == "sud_treatment"]
    writers = set(Note.objects.filter(kind__in=sud_kinds).values_list("created_by_org__type", flat=True))
    assert writers and writers <= set(HEALTH_CARE_PROVIDER_TYPES)
    assert Note.objects.filter(kind=NoteKind.THERAPY_NOTE).exists()


def test_court_consents_stand_alone_and_name_the_court() -> None:
    generate_region(families=300, seed=5, on=ON)
    court_versions = [v for v in ConsentVersion.objects.all() if "court_proceeding" in v.purposes]
    assert court_versions
    for version in court_versions:
        assert version.purposes == ["court_proceeding"]
        assert [o.type for o in version.recipient_orgs.all()] == [OrganizationType.COURT]
        assert not version.recipient_classes
        assert version.missing_elements() == []


def test_demo_loads_once_prints_logins_and_the_coordinator_sees_her_caseload(tmp_path: Path, settings: object) -> None:
    settings.VAR_DIR = tmp_path  # type: ignore[attr-defined]
    out = io.StringIO()
    call_command("demo", stdout=out)
    printed = out.getvalue()
    logins = region.read_logins()
    assert {x.username for x in logins} == {p.username for p in region.STAFF}
    for login in logins:
        assert f"{login.username}" in printed and login.password in printed
    mode = stat.S_IMODE((tmp_path / "demo-logins.txt").stat().st_mode)
    assert mode == 0o600
    families = Family.objects.count()
    directives = ConsentDirective.objects.count()

    again = io.StringIO()
    call_command("demo", stdout=again)
    assert "already loaded" in again.getvalue()
    assert Family.objects.count() == families and ConsentDirective.objects.count() == directives
    assert region.read_logins() == logins

    ana = get_user_model().objects.get(username="ana.rivera")
    caseload = caseload_for(viewer=Viewer.of(ana), scope="mine")
    assert len(caseload) == 60
    rows = caseload_rows(viewer=Viewer.of(ana), caseload=caseload, families=caseload[:25])
    assert all(row.coordinator is not None for row in rows)

    password = next(x.password for x in logins if x.username == "ana.rivera")
    client = Client()
    signed_in = client.post("/accounts/login/", {"username": "ana.rivera", "password": password})
    assert signed_in.status_code == 302
    page = client.get("/families/").content.decode()
    assert "My caseload" in page
    assert "60 families" in page

    sam = get_user_model().objects.get(username="sam.ortiz")
    assert len(caseload_for(viewer=Viewer.of(sam), scope="organization")) == 0

    # The demo's screenings: scores over time on one family, a safety alert waiting for a recorded action.
    from kinfold.screening.models import SafetyAlert, ScreeningResponse

    assert ScreeningResponse.objects.filter(status="completed").count() == 5
    alert = SafetyAlert.objects.get()
    assert alert.is_open and list(alert.notified.all()) == [ana]
    page = client.get("/screening/alerts/").content.decode()
    assert "EPDS: a critical answer (question 10)" in page

    # The demo's pathways: Carl and Nia's START families with steps done, due and overdue; Grace's perinatal year.
    from kinfold.pathways.models import PathwayEnrolment
    from kinfold.pathways.selectors import due_steps

    assert PathwayEnrolment.objects.filter(pathway_key="start").count() == 8
    assert PathwayEnrolment.objects.filter(pathway_key="perinatal_year").exists()
    nia = get_user_model().objects.get(username="nia.grant")
    due = due_steps(viewer=Viewer.of(nia))
    assert due.overdue and due.this_week
    carl = get_user_model().objects.get(username="carl.jensen")
    assert due_steps(viewer=Viewer.of(carl)).overdue


def test_consents_about_treatment_are_themselves_treatment_records() -> None:
    """A consent naming her treatment tells its reader she is in treatment: only treatment readers see it."""
    generate_region(families=200, seed=9, on=ON)
    for version in ConsentVersion.objects.select_related("directive"):
        about_treatment = "sud_treatment" in version.categories or "part2_programs" in version.discloser_classes
        expected = "sud_treatment" if about_treatment else "contact"
        assert version.sensitivity == expected
        assert version.directive.sensitivity == expected
