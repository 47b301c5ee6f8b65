"""Real-browser journey through the parent's consent: a coordinator records it with her in Spanish, the CPS
caseworker then sees treatment attendance but not therapy notes, she takes it back, his next page load no
longer shows it, and her accounting of disclosures lists the revocation, and the disclosure to whoever may read
the record it names (the programme that wrote it).

Headless Debian Chromium (Playwright, sync API) against pytest-django's live server. Screenshots of every
page visited go to var/screenshots/ (prefix ``consent-``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from kinfold import clock
from kinfold.consent.models import ConsentDirective, Disclosure
from kinfold.consent.summaries import MONTHS_ES
from kinfold.families import services as family_services
from kinfold.notes.services import note_add
from kinfold.organizations.models import OrganizationType, Role
from tests.browser.test_coordinator_journey import UNLABELLED_CONTROLS_JS, sign_in
from tests.factories import OrganizationFactory, consent_team_wide, make_family, staff, viewer_of

pytestmark = pytest.mark.browser

ATTENDANCE = "Came to all three group sessions this week"
THERAPY = "Talked about stress at home and a plan for the baby's arrival"


def log_out(page: Any) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log out")).to_have_count(0)
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)


def records(page: Any) -> Any:
    return page.get_by_test_id("records")


def test_consent_recorded_in_spanish_governs_what_cps_sees_until_revoked(
    page: Any, browser_log: Any, shoot: Any
) -> None:
    shoot.prefix = "consent-"
    bridges = OrganizationFactory(name="Bridges Family Resource Center", type=OrganizationType.COMMUNITY)
    cps = OrganizationFactory(name="Lakeview County Child Protective Services", type=OrganizationType.CHILD_WELFARE)
    hope = OrganizationFactory(name="Hope Recovery Center", type=OrganizationType.OPIOID_TREATMENT)
    assert hope.is_part2_program
    ana = staff(bridges, Role.CARE_COORDINATOR, user__first_name="Ana", user__last_name="Rivera")
    carl = staff(cps, Role.CPS_CASEWORKER, user__first_name="Carl", user__last_name="Jensen")
    tess = staff(hope, Role.SUD_COUNSELOR, user__first_name="Tess", user__last_name="Moreno")
    maria = make_family(
        ana, given_name="Maria", family_name="Lopez", estimated_due_on=clock.today() + timedelta(weeks=9)
    )
    for member, role in ((carl, Role.CPS_CASEWORKER), (tess, Role.SUD_COUNSELOR)):
        family_services.care_team_member_add(viewer=viewer_of(ana), family=maria, membership=member, role=role)
    # Her earlier team-wide consent lets the team open her family (names, needs, general health).
    consent_team_wide(maria, by=ana)
    # The treatment programme's records: attendance (SUD treatment, Part 2) and a therapy note (mental health).
    note_add(viewer=viewer_of(tess), family=maria, kind="treatment_attendance", summary=ATTENDANCE)
    note_add(viewer=viewer_of(tess), family=maria, kind="therapy_note", summary=THERAPY)
    family_url = f"/families/{maria.pk}/"

    # Before any CPS consent, Carl sees neither of Hope's notes.
    sign_in(page, carl.user.username)
    page.goto(family_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Maria Lopez")
    expect(page.get_by_text(ATTENDANCE)).to_have_count(0)
    expect(page.get_by_text(THERAPY)).to_have_count(0)
    shoot("caseworker-before-consent")
    log_out(page)

    # --- Ana records the consent with Maria, in Spanish, on a tablet ----------------------------------
    sign_in(page, ana.user.username, shoot)
    page.goto(family_url)
    section = page.get_by_test_id("consent-section")
    expect(section.get_by_role("heading", name="Her consents")).to_be_visible()
    # The list arrives through htmx with each consent's plain-language sentence and status.
    expect(section.get_by_test_id("consent-summary")).to_have_count(1)
    expect(section.get_by_test_id("consent-summary")).to_contain_text(
        "The organisations on my care team may share your medical visits"
    )
    expect(section.get_by_test_id("consent-status")).to_have_text("In force (version 1)")
    shoot("family-with-team-wide-consent")
    section.get_by_role("link", name="Record a consent with her").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Record a consent with Maria Lopez")
    expect(page.get_by_test_id("consent-templates").locator("li.usa-card")).to_have_count(5)
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    shoot("template-library")
    page.get_by_role("link", name=re.compile(r"^Usar en español\W+Noticias para CPS")).click()

    expect(page).to_have_url(re.compile(r"/consents/new/\?template=cps_status&lang=es$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Su permiso: quién puede compartir su información")
    expect(page.locator("div.kinfold-consent")).to_have_attribute("lang", "es")
    share = page.get_by_role("group", name="Lugares de su equipo que pueden compartir")
    receive = page.get_by_role("group", name="Lugares de su equipo que pueden recibirla")
    expect(share.get_by_label("Hope Recovery Center")).to_be_checked()
    expect(share.get_by_label("Bridges Family Resource Center")).not_to_be_checked()
    expect(receive.get_by_label("Lakeview County Child Protective Services")).to_be_checked()
    uses = page.get_by_role("group", name="Usos")
    expect(uses.get_by_label("Su caso de bienestar infantil (CPS)")).to_be_checked()
    expect(uses.get_by_label("Su caso en la corte")).not_to_be_checked()
    kinds = page.get_by_role("group", name="Tipos de información")
    # The template lists exactly its kinds: attendance and medication, not drug test results.
    expect(kinds.get_by_label(re.compile(r"^Si usted va al tratamiento"))).to_be_checked()
    expect(kinds.get_by_label(re.compile(r"^Su medicamento para el trastorno"))).to_be_checked()
    expect(kinds.get_by_label(re.compile(r"^Los resultados de sus pruebas de drogas"))).not_to_be_checked()
    expect(kinds.get_by_label(re.compile(r"^Su atención de salud mental"))).not_to_be_checked()
    expect(page.get_by_role("group", name="Termina").get_by_label("En una fecha")).to_be_checked()
    end = clock.today() + timedelta(days=365)
    expect(page.get_by_label("Fecha de fin")).to_have_value(end.isoformat())
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    shoot("capture-terms-es")
    # The tile choices work from the keyboard too: Space ticks and unticks a focused choice.
    bridges_choice = share.get_by_label("Bridges Family Resource Center")
    bridges_choice.focus()
    page.keyboard.press("Space")
    expect(bridges_choice).to_be_checked()
    page.keyboard.press("Space")
    expect(bridges_choice).not_to_be_checked()

    # Everything stays editable: she first adds court use too, and the form explains why it cannot be.
    browser_log.allow_console_error(r"status of 400")
    uses.get_by_text("Su caso en la corte").click()
    page.get_by_role("button", name="Siguiente: leer y firmar").click()
    expect(page.locator("#form-error-summary")).to_contain_text("Por favor corrija 1 cosa abajo.")
    expect(page.locator("#id_purposes_error")).to_contain_text(
        "Un permiso para un caso en la corte debe ir solo (42 CFR 2.31(d))."
    )
    shoot("capture-terms-court-bundled")
    page.get_by_role("group", name="Usos").get_by_text("Su caso en la corte").click()
    page.get_by_role("button", name="Siguiente: leer y firmar").click()

    # Read and sign: the sentence and her right to take it back, in Spanish.
    expect(page.get_by_role("heading", level=1)).to_have_text("Léalo y firme")
    expect(page.get_by_test_id("consent-summary")).to_have_text(
        "Hope Recovery Center puede compartir si usted va al tratamiento y su medicamento para el trastorno por "
        "uso de opioides (cuál y la dosis) con Lakeview County Child Protective Services, para su caso de bienestar "
        f"infantil, hasta el {end.day} de {MONTHS_ES[end.month - 1]} de {end.year}."
    )
    expect(page.get_by_test_id("right-to-revoke")).to_contain_text("Puede cancelar este permiso en cualquier momento")
    shoot("sign-es")
    # She signs with her finger: the pad appears when she chooses to draw.
    page.get_by_text("Yo, la madre o el padre").click()
    page.get_by_label("Nombre completo de quien firma").fill("Maria Lopez")
    page.get_by_text("Dibujar mi firma").click()
    expect(page.get_by_label("Escriba su nombre completo para firmar")).to_be_hidden()
    canvas = page.locator("canvas.kinfold-signature__canvas")
    expect(canvas).to_be_visible()
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 40, box["y"] + box["height"] * 0.7)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 40 + step * 35, box["y"] + box["height"] * (0.7 - 0.4 * (step % 2)), steps=3)
    page.mouse.up()
    expect(page.locator("#id_signature_drawn")).to_have_value(re.compile(r"^data:image/png;base64,"))
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    shoot("sign-es-drawn")
    page.get_by_role("button", name="Firmar", exact=True).click()

    # The consent's page: signed, in force, her sentence in Spanish, the drawn signature kept.
    expect(page.get_by_role("status").filter(has_text="El permiso está firmado y guardado.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("CPS status updates")
    expect(page.get_by_test_id("consent-status")).to_contain_text("In force")
    expect(page.get_by_test_id("version-summary")).to_contain_text("Hope Recovery Center puede compartir")
    expect(page.get_by_role("img", name="Signature drawn by Maria Lopez")).to_be_visible()
    expect(page.get_by_text("Presented in Spanish")).to_be_visible()
    shoot("consent-detail")
    directive = ConsentDirective.objects.get(family=maria, title="CPS status updates")
    version = directive.versions.get()
    assert version.language == "es" and version.signature_method == "drawn"
    log_out(page)

    # --- Carl now sees treatment attendance, with the notice, but not the therapy note ----------------
    sign_in(page, carl.user.username)
    page.goto(family_url)
    expect(records(page)).to_contain_text(ATTENDANCE)
    expect(records(page).locator("tr").filter(has_text=ATTENDANCE).locator(".usa-tag")).to_have_text("Part 2")
    expect(page.get_by_text(THERAPY)).to_have_count(0)
    notice = page.get_by_role("region", name="Redisclosure notice")
    expect(notice).to_contain_text("42 CFR part 2")
    shoot("caseworker-sees-attendance")
    log_out(page)

    # --- Maria takes it back by telling Ana; Ana records it -------------------------------------------
    sign_in(page, ana.user.username)
    page.goto(family_url)
    cps_row = (
        page.get_by_test_id("consent-section").locator("li.kinfold-consent-item").filter(has_text="CPS status updates")
    )
    expect(cps_row.get_by_test_id("consent-summary")).to_contain_text("Hope Recovery Center may share")
    shoot("family-with-cps-consent")
    cps_row.get_by_role("link", name=re.compile(r"^Revoke\W+CPS status updates$")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record that she takes back this consent")
    page.get_by_text("Spoken to a staff member").click()
    expect(page.get_by_label("Who received it")).to_have_value(str(ana.pk))
    page.get_by_label("Note").fill("She told me at today's home visit that she wants the CPS updates to stop.")
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    shoot("revoke-form")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_test_id("revoke-confirm")).to_contain_text("This takes effect as soon as you confirm")
    shoot("revoke-confirm")
    directive.refresh_from_db()
    assert directive.revoked_at is None
    page.get_by_role("button", name="Yes, record that she took it back").click()
    message = page.get_by_role("status").filter(has_text="It takes effect now")
    expect(message).to_contain_text("It is not retroactive: what was shared before stays shared")
    expect(page.get_by_test_id("revocation")).to_contain_text("Spoken to a staff member, received by Ana Rivera")
    expect(page.get_by_test_id("consent-status")).to_contain_text("Revoked on")
    shoot("revoked")
    log_out(page)

    # --- Carl's next page load no longer shows the attendance note ------------------------------------
    sign_in(page, carl.user.username)
    page.goto(family_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Maria Lopez")
    expect(page.get_by_text(ATTENDANCE)).to_have_count(0)
    expect(page.get_by_text(THERAPY)).to_have_count(0)
    # The consent names CPS, so Carl still sees it, revoked; it names her treatment programme, so it is a
    # Part 2 record and the page still carries the notice.
    cps_consent = page.get_by_test_id("consent-section").locator("li.kinfold-consent-item")
    expect(cps_consent.filter(has_text="CPS status updates").get_by_test_id("consent-status")).to_contain_text(
        "Revoked on"
    )
    expect(page.get_by_role("region", name="Redisclosure notice")).to_have_count(1)
    shoot("caseworker-after-revocation")
    log_out(page)

    # --- "Who has seen her information": the entries each may read ------------------------------------
    # Ana sees the revocation and what Bridges shared; the treatment disclosure is not hers to read.
    sign_in(page, ana.user.username)
    page.goto(family_url)
    expect(page.get_by_test_id("consent-section").get_by_test_id("consent-status").first).to_be_visible()
    page.get_by_role("link", name="Who has seen her information").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Who has seen Maria Lopez's information")
    expect(page.get_by_test_id("accounting-scope")).to_contain_text("Her accounting is hers")
    expect(
        page.get_by_test_id("accounting-entries").locator("li").filter(has_text="whether you come to treatment")
    ).to_have_count(0)
    expect(page.get_by_test_id("accounting-revocations")).to_contain_text(
        "You took back (revoked) “CPS status updates” (spoken to a staff member)"
    )
    shoot("accounting-coordinator")
    log_out(page)
    # Tess, whose programme wrote the attendance note, sees that it was shown to CPS, and when.
    sign_in(page, tess.user.username)
    page.goto(family_url + "accounting/")
    entries = page.get_by_test_id("accounting-entries")
    disclosure = entries.locator("li").filter(has_text="whether you come to treatment")
    expect(disclosure).to_have_count(1)
    expect(disclosure).to_contain_text("Carl Jensen at Lakeview County Child Protective Services saw")
    expect(disclosure).to_contain_text("from Hope Recovery Center")
    expect(disclosure).to_contain_text("because of CPS status updates")
    expect(disclosure).to_contain_text("This was before you took that consent back")
    expect(page.get_by_test_id("accounting-revocations")).to_contain_text(
        "You took back (revoked) “CPS status updates” (spoken to a staff member)"
    )
    shoot("accounting")

    browser_log.assert_clean()
    assert (
        Disclosure.objects.filter(
            family=maria, recipient_user=carl.user, consent_version=version, categories=["sud_treatment"]
        ).count()
        == 1
    )
