"""Issue 11: a consent expiring a century out is most often a slip of the year. Beyond the horizon
(KINFOLD_CONSENT_EXPIRY_HORIZON_DAYS, 5 years by default) nothing is saved until the person recording it ticks
a box to confirm the date; the rule is the service's, so the pages and any other caller share it."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from kinfold import clock
from kinfold.consent import services as consent_services
from kinfold.consent.forms import end_of_day
from kinfold.consent.models import ConsentDirective, ConsentVersion
from kinfold.families import services as family_services
from kinfold.organizations.models import Role
from tests.factories import consent_team_wide, make_family, staff, viewer_of
from tests.support import client_for, text

pytestmark = pytest.mark.django_db

MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October"]
MONTHS_EN += ["November", "December"]
MONTHS_ES = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre"]
MONTHS_ES += ["noviembre", "diciembre"]


def in_words(day: date, language: str = "en") -> str:
    if language == "es":
        return f"{day.day} de {MONTHS_ES[day.month - 1]} de {day.year}"
    return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"


@pytest.fixture
def world(coordinator, caseworker, treatment_org, cps_org) -> dict[str, Any]:
    family = make_family(coordinator, given_name="Maria", family_name="Lopez")
    counsellor = staff(treatment_org, Role.SUD_COUNSELOR)
    for member, role in ((caseworker, Role.CPS_CASEWORKER), (counsellor, Role.SUD_COUNSELOR)):
        family_services.care_team_member_add(viewer=viewer_of(coordinator), family=family, membership=member, role=role)
    consent_team_wide(family, by=coordinator)
    return {"family": family, "coordinator": coordinator, "treatment_org": treatment_org, "cps_org": cps_org}


def terms(world: dict[str, Any], ends_on: date, **overrides: Any) -> consent_services.ConsentTerms:
    values: dict[str, Any] = {
        "discloser_orgs": [world["treatment_org"]],
        "recipient_orgs": [world["cps_org"]],
        "purposes": ["child_welfare_case"],
        "kinds": ["treatment_attendance"],
        "expires_at": end_of_day(ends_on),
        "signer_name": "Maria Lopez",
        "signature_typed": "Maria Lopez",
    }
    return consent_services.ConsentTerms(**(values | overrides))


def form_data(world: dict[str, Any], ends_on: date, *, lang: str = "en", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "template_key": "cps_status",
        "title": "CPS status updates",
        "language": lang,
        "discloser_orgs": [world["treatment_org"].pk],
        "recipient_orgs": [world["cps_org"].pk],
        "purposes": ["child_welfare_case"],
        "kinds": ["treatment_attendance", "medication"],
        "ends": "date",
        "expires_on": ends_on.isoformat(),
        "signer_kind": "parent",
        "signer_name": "Maria Lopez",
        "signature_method": "typed",
        "signature_typed": "Maria Lopez",
        "action": "sign",
    }
    return data | overrides


def capture_url(world: dict[str, Any], lang: str) -> str:
    return reverse("consent:new", args=[world["family"].pk]) + f"?template=cps_status&lang={lang}"


def saved() -> tuple[int, int]:
    return ConsentDirective.objects.count(), ConsentVersion.objects.count()


def end_date_error(html: str) -> str:
    error = re.search(r'<span class="usa-error-message" id="id_expires_on_error" role="alert">([^<]*)</span>', html)
    assert error is not None, "no message beside the end date"
    return error.group(1)


# --- the rule, in the service ----------------------------------------------------------------------------------


def test_a_consent_a_century_out_is_refused_without_confirmation_and_nothing_is_saved(world):
    century = clock.today() + timedelta(days=36525)
    before = saved()
    with pytest.raises(ValidationError) as refused:
        consent_services.consent_record(
            viewer=viewer_of(world["coordinator"]), family=world["family"], terms=terms(world, century)
        )
    assert refused.value.message_dict == {
        "expires_at": [
            f"This consent would last until {in_words(century)}, more than 5 years from now. Check the date. "
            "If it is right, tick the box to confirm."
        ]
    }
    assert saved() == before


def test_a_confirmed_consent_a_century_out_is_recorded(world):
    century = clock.today() + timedelta(days=36525)
    directive = consent_services.consent_record(
        viewer=viewer_of(world["coordinator"]),
        family=world["family"],
        terms=terms(world, century, confirm_long_expiry=True),
    )
    version = directive.versions.get()
    assert version.expires_at is not None and clock.local_date(version.expires_at) == century


def test_an_end_inside_the_horizon_needs_no_confirmation(world):
    now = clock.now()
    for days in (1, 365, 4 * 365, 1825):
        consent_services.validate_terms(terms(world, clock.today() + timedelta(days=days)), now=now)


def test_the_setting_moves_the_horizon(world, settings):
    now = clock.now()
    settings.KINFOLD_CONSENT_EXPIRY_HORIZON_DAYS = 90
    consent_services.validate_terms(terms(world, clock.today() + timedelta(days=60)), now=now)
    far = clock.today() + timedelta(days=200)
    with pytest.raises(ValidationError) as refused:
        consent_services.validate_terms(terms(world, far), now=now)
    assert refused.value.message_dict["expires_at"] == [
        f"This consent would last until {in_words(far)}, more than 90 days from now. Check the date. "
        "If it is right, tick the box to confirm."
    ]
    settings.KINFOLD_CONSENT_EXPIRY_HORIZON_DAYS = 10 * 365
    consent_services.validate_terms(terms(world, clock.today() + timedelta(days=9 * 365)), now=now)
    with pytest.raises(ValidationError, match="more than 10 years from now"):
        consent_services.validate_terms(terms(world, clock.today() + timedelta(days=11 * 365)), now=now)


# --- the capture page ------------------------------------------------------------------------------------------


def test_capture_page_asks_to_confirm_a_far_end_date_and_saves_nothing_until_ticked(world):
    client = client_for(world["coordinator"])
    century = clock.today() + timedelta(days=36525)
    before = saved()
    for action in ("preview", "sign"):
        refused = client.post(capture_url(world, "en"), form_data(world, century, action=action))
        assert refused.status_code == 400
        html = text(refused)
        assert end_date_error(html) == (
            f"This consent would last until {in_words(century)}, more than 5 years from now. Check the date. "
            "If it is right, tick the box to confirm."
        )
        assert 'data-testid="confirm-long-expiry"' in html
        assert re.search(r'<input type="checkbox" name="confirm_long_expiry"[^>]*>', html)
        assert "Yes, the end date is right." in html
        assert saved() == before

    # Ticked, the preview goes on to reading and signing, carrying the confirmation; then it is recorded.
    preview = client.post(
        capture_url(world, "en"), form_data(world, century, action="preview", confirm_long_expiry="on")
    )
    assert preview.status_code == 200
    assert re.search(r'<input type="hidden" name="confirm_long_expiry" value="True"', text(preview))
    signed = client.post(capture_url(world, "en"), form_data(world, century, confirm_long_expiry="True"))
    assert signed.status_code == 302
    version = ConsentVersion.objects.get(directive__title="CPS status updates")
    assert version.expires_at is not None and clock.local_date(version.expires_at) == century


def test_a_usual_end_date_shows_no_confirmation_box(world):
    client = client_for(world["coordinator"])
    page = client.post(
        capture_url(world, "en"), form_data(world, clock.today() + timedelta(days=365), action="preview")
    )
    assert page.status_code == 200
    assert 'data-testid="confirm-long-expiry"' not in text(page)


def test_the_far_end_date_message_is_in_spanish_on_a_spanish_consent(world):
    client = client_for(world["coordinator"])
    century = clock.today() + timedelta(days=36525)
    refused = client.post(capture_url(world, "es"), form_data(world, century, lang="es"))
    assert refused.status_code == 400
    html = text(refused)
    assert end_date_error(html) == (
        f"Este permiso duraría hasta el {in_words(century, 'es')}, más de 5 años a partir de hoy. Revise la fecha. "
        "Si es correcta, marque la casilla para confirmar."
    )
    assert "Sí, la fecha de fin es correcta." in html
    assert not ConsentVersion.objects.filter(directive__title="CPS status updates").exists()
