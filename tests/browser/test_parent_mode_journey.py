"""Real-browser journey through parent mode (issue 11): a coordinator fills in a consent's terms with Maria and
hands her the tablet; Maria reads and signs it in Spanish, in large type, with no way to the staff pages; she
reads her team (what each can see) and the whole accounting of disclosures, switches to English, and gives the
tablet back; a wrong password keeps parent mode, the right one lands on the sign-in page. Later the coordinator
hands her the tablet from the family page, and the tablet is given back again.

Headless Debian Chromium (Playwright, sync API) against pytest-django's live server. Every page is shot at the
desktop width and, in the parent's hands, at a tablet's; each shot runs axe-core at that width and at a phone's.
Screenshots go to var/screenshots/ (prefix ``parent-mode-``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import expect

from kinfold import clock
from kinfold.consent import services as consent_services
from kinfold.consent.models import ConsentDirective
from kinfold.families import services as family_services
from kinfold.notes.services import note_add
from kinfold.organizations.models import OrganizationType, Role
from tests.browser.test_consent_journey import log_out
from tests.browser.test_coordinator_journey import UNLABELLED_CONTROLS_JS, sign_in
from tests.factories import TEST_PASSWORD, OrganizationFactory, consent_team_wide, make_family, staff, viewer_of

pytestmark = pytest.mark.browser

ATTENDANCE = "Came to all three group sessions this week"
TABLET = {"width": 800, "height": 1100}


def test_she_reads_and_signs_on_the_tablet_and_the_staff_password_gives_it_back(
    page: Any, browser_log: Any, shoot: Any
) -> None:
    shoot.prefix = "parent-mode-"
    bridges = OrganizationFactory(name="Bridges Family Resource Center", type=OrganizationType.COMMUNITY)
    cps = OrganizationFactory(name="Lakeview County Child Protective Services", type=OrganizationType.CHILD_WELFARE)
    hope = OrganizationFactory(name="Hope Recovery Center", type=OrganizationType.OPIOID_TREATMENT)
    ana = staff(bridges, Role.CARE_COORDINATOR, user__first_name="Ana", user__last_name="Rivera")
    carl = staff(cps, Role.CPS_CASEWORKER, user__first_name="Carl", user__last_name="Jensen")
    tess = staff(hope, Role.SUD_COUNSELOR, user__first_name="Tess", user__last_name="Moreno")
    maria = make_family(
        ana,
        given_name="Maria",
        family_name="Lopez",
        preferred_language="es",
        estimated_due_on=clock.today() + timedelta(weeks=9),
    )
    for member, role in ((carl, Role.CPS_CASEWORKER), (tess, Role.SUD_COUNSELOR)):
        family_services.care_team_member_add(viewer=viewer_of(ana), family=maria, membership=member, role=role)
    consent_team_wide(maria, by=ana, language="es")
    # An earlier CPS consent Tess recorded with her (Ana's own pages do not show it: it names neither her nor
    # Bridges), under which Carl has read Hope's attendance note.
    consent_services.consent_record(
        viewer=viewer_of(tess),
        family=maria,
        title="Attendance for CPS",
        terms=consent_services.ConsentTerms(
            discloser_orgs=[hope],
            recipient_orgs=[cps],
            purposes=["child_welfare_case"],
            kinds=["treatment_attendance"],
            expires_at=clock.now() + timedelta(days=200),
            signer_name="Maria Lopez",
            signature_typed="Maria Lopez",
            language="es",
        ),
    )
    note_add(viewer=viewer_of(tess), family=maria, kind="treatment_attendance", summary=ATTENDANCE)
    note_add(viewer=viewer_of(tess), family=maria, kind="toxicology", summary="Urine test negative")
    carl_client = Client()
    carl_client.force_login(carl.user)
    assert ATTENDANCE in carl_client.get(f"/families/{maria.pk}/").content.decode()
    family_url = f"/families/{maria.pk}/"

    # --- Ana fills in the terms with Maria, in Spanish, and hands her the tablet -------------------------------
    sign_in(page, ana.user.username)
    page.goto(family_url)
    page.get_by_test_id("consent-section").get_by_role("link", name="Record a consent with her").click()
    page.get_by_role("link", name=re.compile(r"^Usar en español\W+Noticias para CPS")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Su permiso: quién puede compartir su información")
    hand_over = page.get_by_role("button", name="Entregarle la tableta para leer y firmar")
    expect(hand_over).to_be_visible()
    shoot("terms-with-hand-over")
    hand_over.click()

    # --- In her hands: the signing step, in Spanish, large type, no staff navigation ---------------------------
    page.set_viewport_size(TABLET)
    expect(page).to_have_url(re.compile(r"/parent/sign/$"))
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("html")).to_have_class(re.compile(r"kinfold-parent-mode"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Léalo y firme")
    expect(page.get_by_test_id("consent-summary")).to_contain_text(
        "Hope Recovery Center puede compartir si usted va al tratamiento y su medicamento"
    )
    expect(page.get_by_role("link", name="My caseload")).to_have_count(0)
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    font_size = page.evaluate("() => getComputedStyle(document.documentElement).fontSize")
    assert float(font_size.removesuffix("px")) >= 20, font_size
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    shoot("sign-on-tablet-es")
    # A staff page typed into the address bar brings her back to her own pages.
    page.goto("/families/")
    expect(page).to_have_url(re.compile(r"/parent/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sus permisos")
    expect(page.get_by_role("heading", name="Un permiso le espera")).to_be_visible()
    page.get_by_role("link", name="Léalo, y fírmelo si está de acuerdo").click()
    page.get_by_label("Nombre completo de quien firma").fill("Maria Lopez")
    page.get_by_label("Escriba su nombre completo para firmar").fill("Maria Lopez")
    page.get_by_role("button", name="Firmar", exact=True).click()

    # She lands on her consents, with the new one and its sentence.
    expect(page).to_have_url(re.compile(r"/parent/\?signed=\d+$"))
    expect(page.get_by_role("status").filter(has_text="El permiso está firmado y guardado.")).to_be_visible()
    just = page.get_by_test_id("just-signed")
    expect(just).to_contain_text("Usted acaba de firmar este permiso.")
    expect(just.get_by_test_id("consent-summary")).to_contain_text("Hope Recovery Center puede compartir")
    # Every consent of hers, the one Ana may not see on her own pages included.
    expect(page.get_by_test_id("her-consents").locator("li")).to_have_count(3)
    expect(page.get_by_test_id("her-consents")).to_contain_text("Attendance for CPS")
    shoot("her-consents-es")
    directive = ConsentDirective.objects.get(family=maria, title="CPS status updates")
    assert directive.created_by == ana.user and directive.versions.get().language == "es"

    # --- Her team, and what each can see --------------------------------------------------------------------
    page.get_by_role("link", name="Su equipo").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Su equipo")
    carl_row = page.get_by_test_id("team-member").filter(has_text="Carl Jensen")
    expect(carl_row).to_contain_text("Trabajador(a) social de CPS, Lakeview County Child Protective Services")
    expect(carl_row.get_by_test_id("member-sees")).to_contain_text("si usted va al tratamiento")
    expect(carl_row.get_by_test_id("member-sees")).not_to_contain_text("pruebas de drogas")
    expect(
        page.get_by_test_id("team-member").filter(has_text="Tess Moreno").get_by_test_id("member-sees")
    ).to_contain_text("los resultados de sus pruebas de drogas")
    shoot("her-team-es")

    # --- Who has seen her information: all of it --------------------------------------------------------------
    page.get_by_role("link", name="Quién ha visto su información").click()
    entries = page.get_by_test_id("her-accounting")
    expect(entries.locator("li").filter(has_text="si usted va al tratamiento")).to_contain_text(
        "Carl Jensen, de Lakeview County Child Protective Services, vio si usted va al tratamiento"
    )
    expect(page.get_by_test_id("accounting-scope")).to_have_text("Esta lista está completa: no falta nada.")
    shoot("her-accounting-es")
    page.get_by_role("button", name="Show in English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Who has seen your information")
    expect(page.get_by_test_id("her-accounting")).to_contain_text(
        "Carl Jensen at Lakeview County Child Protective Services saw whether you come to treatment"
    )
    shoot("her-accounting-en")

    # --- Giving the tablet back: a wrong password keeps parent mode; the right one signs out ----------------------
    page.get_by_role("link", name="Give the tablet back").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Give the tablet back")
    shoot("give-back")
    browser_log.allow_console_error(r"status of 400")
    page.get_by_label("Password of Ana Rivera").fill("not the password")
    page.get_by_role("button", name="Leave parent mode and sign out").click()
    expect(page.get_by_test_id("leave-error")).to_contain_text("That password is not right")
    shoot("give-back-wrong-password")
    page.goto("/organisations/")
    expect(page).to_have_url(re.compile(r"/parent/$"))
    page.get_by_role("link", name="Give the tablet back").click()
    page.get_by_label("Password of Ana Rivera").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Leave parent mode and sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_role("status").filter(has_text="Parent mode has ended and you are signed out")).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 900})
    shoot("signed-out")
    page.goto(family_url)
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))

    # --- Later: Ana hands her the tablet from the family page, and takes it back --------------------------------
    sign_in(page, ana.user.username)
    page.goto(family_url)
    page.get_by_test_id("consent-section").get_by_role("button", name="Hand her the tablet").click()
    expect(page).to_have_url(re.compile(r"/parent/$"))
    expect(page.locator("html")).to_have_attribute("lang", "es")  # her preferred language
    expect(page.get_by_test_id("reader")).to_have_text("Maria Lopez")
    page.get_by_role("link", name="Devolver la tableta").click()
    expect(page.get_by_text("For Ana Rivera: type your password to leave parent mode.")).to_be_visible()
    shoot("give-back-es")
    page.get_by_label("Contraseña de Ana Rivera").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Salir del modo para padres y cerrar la sesión").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    sign_in(page, ana.user.username)
    log_out(page)

    browser_log.assert_clean()
