"""Real-browser journey (issue 11, "What it must show"): a coordinator records "CPS status updates" with Maria in
Spanish and hands her the tablet; in parent mode she reads a sentence naming exactly attendance and medication,
signs, and reads her team and her accounting; the CPS caseworker then sees her attendance and medication notes and
not her drug test result; the treatment programme's privacy officer records a court order naming one record (the
medication note), with both findings of 42 CFR 2.64(d); the court, reading for the proceeding, sees that record
and no other of the programme's. Handed the tablet again, she finds both in her accounting, and no drug test.

Headless Debian Chromium (Playwright, sync API) against pytest-django's live server. Every page visited is shot,
and each shot runs axe-core (WCAG 2.1 A/AA) at the desktop width and at a phone's. Screenshots go to
var/screenshots/ (prefix ``cps-status-``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from kinfold import clock
from kinfold.consent import services as consent_services
from kinfold.consent.models import ConsentDirective, CourtOrder
from kinfold.families import services as family_services
from kinfold.notes.models import Note
from kinfold.notes.services import note_add
from kinfold.organizations.models import Membership, Organization, OrganizationType, Role
from tests.browser.test_consent_journey import log_out, records
from tests.browser.test_coordinator_journey import UNLABELLED_CONTROLS_JS, sign_in
from tests.factories import TEST_PASSWORD, OrganizationFactory, consent_team_wide, make_family, staff, viewer_of

pytestmark = pytest.mark.browser

ATTENDANCE = "Came to all three group sessions this week"
MEDICATION = "Buprenorphine dose steady, picked up on time"
TOXICOLOGY = "Urine test result reviewed with her"
TABLET = {"width": 800, "height": 1100}
DESKTOP = {"width": 1280, "height": 900}
MESES = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio",
    "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
)  # fmt: skip


def opens_her_record_for_operations(family: Any, coordinator: Membership, org: Organization) -> None:
    """Bridges may share her contact details with ``org`` for its health-care operations: what lets another
    organisation's privacy officer open her family (as in tests/test_access_pages.py, ``privacy_officer``)."""
    consent_services.consent_record(
        viewer=viewer_of(coordinator),
        family=family,
        title=f"{org.name} operations",
        terms=consent_services.ConsentTerms(
            discloser_orgs=[coordinator.organization],
            recipient_orgs=[org],
            purposes=["operations"],
            categories=["contact"],
            expires_at=clock.now() + timedelta(days=365),
            signer_name="Maria Lopez",
            signature_typed="Maria Lopez",
        ),
    )


def test_cps_sees_what_she_signed_for_in_parent_mode_and_the_court_only_the_record_its_order_names(
    page: Any, browser_log: Any, shoot: Any
) -> None:
    shoot.prefix = "cps-status-"
    bridges = OrganizationFactory(name="Bridges Family Resource Center", type=OrganizationType.COMMUNITY)
    cps = OrganizationFactory(name="Lakeview County Child Protective Services", type=OrganizationType.CHILD_WELFARE)
    hope = OrganizationFactory(name="Hope Recovery Center", type=OrganizationType.OPIOID_TREATMENT)
    court = OrganizationFactory(name="Lakeview Family Treatment Court", type=OrganizationType.COURT)
    assert hope.is_part2_program
    ana = staff(bridges, Role.CARE_COORDINATOR, user__first_name="Ana", user__last_name="Rivera")
    carl = staff(cps, Role.CPS_CASEWORKER, user__first_name="Carl", user__last_name="Jensen")
    tess = staff(hope, Role.SUD_COUNSELOR, user__first_name="Tess", user__last_name="Moreno")
    priya = staff(hope, Role.PRIVACY_OFFICER, user__first_name="Priya", user__last_name="Shah")
    bea = staff(bridges, Role.PRIVACY_OFFICER, user__first_name="Bea", user__last_name="Marsh")
    cora = staff(court, Role.COURT_COORDINATOR, user__first_name="Cora", user__last_name="Vance")
    maria = make_family(
        ana,
        given_name="Maria",
        family_name="Lopez",
        preferred_language="es",
        estimated_due_on=clock.today() + timedelta(weeks=9),
    )
    for member, role in (
        (carl, Role.CPS_CASEWORKER),
        (tess, Role.SUD_COUNSELOR),
        (cora, Role.COURT_COORDINATOR),
    ):
        family_services.care_team_member_add(viewer=viewer_of(ana), family=maria, membership=member, role=role)
    # Her team-wide consent covers her contact details only: nothing of Hope's treatment records.
    consent_team_wide(maria, by=ana, categories=("contact",))
    # Hope's privacy officer meets her through Bridges' contact details, for Hope's operations.
    opens_her_record_for_operations(maria, ana, hope)
    # The court opens her record at all through Bridges' own order for her contact details (Bridges made it).
    today = clock.today()
    consent_services.court_order_record(
        viewer=viewer_of(bea),
        family=maria,
        court=court,
        order_reference="FTC-2026-0142",
        issued_on=today,
        categories=["contact"],
        valid_from=clock.now(),
        valid_until=clock.now() + timedelta(days=90),
        finding_other_means_unavailable=False,
        finding_public_interest_outweighs_harm=False,
    )
    # Tess's notes: one of each kind of SUD treatment information the journey is about.
    for kind, summary in (
        ("treatment_attendance", ATTENDANCE),
        ("medication", MEDICATION),
        ("toxicology", TOXICOLOGY),
    ):
        note_add(viewer=viewer_of(tess), family=maria, kind=kind, summary=summary)
    medication_note = Note.objects.get(summary=MEDICATION)
    family_url = f"/families/{maria.pk}/"

    # --- Ana opens the CPS status updates template in Spanish ------------------------------------------------
    sign_in(page, ana.user.username)
    page.goto(family_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Maria Lopez")
    shoot("family-coordinator")
    page.get_by_test_id("consent-section").get_by_role("link", name="Record a consent with her").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record a consent with Maria Lopez")
    shoot("template-library")
    page.locator('[data-template="cps_status"]').get_by_role("link", name=re.compile(r"^Usar en español")).click()

    expect(page).to_have_url(re.compile(r"/consents/new/\?template=cps_status&lang=es$"))
    expect(page.locator("div.kinfold-consent")).to_have_attribute("lang", "es")
    share = page.get_by_role("group", name="Lugares de su equipo que pueden compartir")
    receive = page.get_by_role("group", name="Lugares de su equipo que pueden recibirla")
    expect(share.get_by_label("Hope Recovery Center")).to_be_checked()
    expect(receive.get_by_label("Lakeview County Child Protective Services")).to_be_checked()
    kinds = page.get_by_role("group", name="Tipos de información")
    expect(kinds.get_by_label(re.compile(r"^Si usted va al tratamiento"))).to_be_checked()
    expect(kinds.get_by_label(re.compile(r"^Su medicamento para el trastorno"))).to_be_checked()
    expect(kinds.get_by_label(re.compile(r"^Los resultados de sus pruebas de drogas"))).not_to_be_checked()
    # Exactly those two, and no whole category ("All of it") either.
    checked = page.get_by_test_id("kinds").locator("input:checked")
    expect(checked).to_have_count(2)
    assert sorted(checked.evaluate_all("(inputs) => inputs.map((i) => i.value)")) == [
        "medication",
        "treatment_attendance",
    ]
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    shoot("capture-terms-es")
    page.get_by_test_id("hand-over").click()

    # --- In her hands: the sentence in Spanish names exactly attendance and medication --------------------------
    page.set_viewport_size(TABLET)
    expect(page).to_have_url(re.compile(r"/parent/sign/$"))
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("html")).to_have_class(re.compile(r"kinfold-parent-mode"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Léalo y firme")
    end = today + timedelta(days=365)
    expect(page.get_by_test_id("consent-summary")).to_have_text(
        "Hope Recovery Center puede compartir si usted va al tratamiento y su medicamento para el trastorno por "
        "uso de opioides (cuál y la dosis) con Lakeview County Child Protective Services, para su caso de bienestar "
        f"infantil, hasta el {end.day} de {MESES[end.month - 1]} de {end.year}."
    )
    expect(page.get_by_test_id("consent-summary")).not_to_contain_text("pruebas de drogas")
    expect(page.get_by_role("link", name="My caseload")).to_have_count(0)
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    shoot("sign-on-tablet-es")
    page.get_by_label("Nombre completo de quien firma").fill("Maria Lopez")
    page.get_by_label("Escriba su nombre completo para firmar").fill("Maria Lopez")
    page.get_by_role("button", name="Firmar", exact=True).click()

    expect(page).to_have_url(re.compile(r"/parent/\?signed=\d+$"))
    expect(page.get_by_role("status").filter(has_text="El permiso está firmado y guardado.")).to_be_visible()
    just = page.get_by_test_id("just-signed")
    expect(just.get_by_test_id("consent-summary")).to_contain_text(
        "si usted va al tratamiento y su medicamento para el trastorno por uso de opioides"
    )
    shoot("her-consents-es")
    directive = ConsentDirective.objects.get(family=maria, title="CPS status updates")
    version = directive.versions.get()
    assert directive.created_by == ana.user and version.language == "es"
    assert sorted(version.kinds) == ["medication", "treatment_attendance"]

    # --- Her team: Carl, and what he can see ------------------------------------------------------------------
    page.get_by_role("link", name="Su equipo").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Su equipo")
    carl_row = page.get_by_test_id("team-member").filter(has_text="Carl Jensen")
    expect(carl_row).to_contain_text("Lakeview County Child Protective Services")
    carl_sees = carl_row.get_by_test_id("member-sees")
    expect(carl_sees).to_contain_text("si usted va al tratamiento")
    expect(carl_sees).to_contain_text("su medicamento para el trastorno por uso de opioides")
    expect(carl_sees).not_to_contain_text("pruebas de drogas")
    expect(page.get_by_test_id("team-member").filter(has_text="Cora Vance")).to_have_count(1)
    shoot("her-team-es")

    # --- Her accounting of disclosures: all of it -------------------------------------------------------------
    page.get_by_role("link", name="Quién ha visto su información").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quién ha visto su información")
    expect(page.get_by_test_id("accounting-scope")).to_have_text("Esta lista está completa: no falta nada.")
    # Nobody outside the place that made a record has read one yet: Carl and the court come later.
    expect(page.get_by_test_id("her-accounting")).to_have_count(0)
    shoot("her-accounting-es")

    # --- Ana takes the tablet back with her password, and lands on the sign-in page --------------------------
    page.get_by_role("link", name="Devolver la tableta").click()
    expect(page.get_by_text("For Ana Rivera: type your password to leave parent mode.")).to_be_visible()
    shoot("give-back-es")
    page.get_by_label("Contraseña de Ana Rivera").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Salir del modo para padres y cerrar la sesión").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    page.set_viewport_size(DESKTOP)
    shoot("signed-out")

    # --- Carl sees her attendance and medication, not her drug test result -----------------------------------
    sign_in(page, carl.user.username)
    page.goto(family_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Maria Lopez")
    expect(records(page)).to_contain_text(ATTENDANCE)
    expect(records(page)).to_contain_text(MEDICATION)
    expect(records(page).locator("tr").filter(has_text=MEDICATION).locator(".usa-tag")).to_have_text("Part 2")
    expect(page.get_by_text(TOXICOLOGY)).to_have_count(0)
    expect(page.get_by_role("region", name="Redisclosure notice")).to_contain_text("42 CFR part 2")
    shoot("caseworker-sees-attendance-and-medication")
    log_out(page)

    # --- Priya, Hope's privacy officer, records a court order naming the medication note only -------------------
    sign_in(page, priya.user.username)
    page.goto(family_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Maria Lopez")
    shoot("family-privacy-officer")
    page.get_by_role("link", name="Record a court order").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record a court order")
    expect(page.get_by_test_id("order-opens")).to_contain_text("it opens only Hope Recovery Center's records")
    page.get_by_label("Court", exact=True).select_option(label="Lakeview Family Treatment Court")
    page.get_by_label("Order reference number").fill("FTC-2026-0188")
    page.get_by_label("Judge").fill("Judge Ellen Park")
    # The order names one record, not whole kinds of records: Hope has no contact details of hers to give,
    # and the court already opens her record through Bridges' order.
    covers = page.locator("#id_categories")
    # USWDS draws the tiles over visually hidden inputs: a person clicks the label.
    covers.locator("label").filter(has_text="Contact and identity").click()
    covers.locator("label").filter(has_text=re.compile(r"^Legal$")).click()
    expect(covers.locator("input:checked")).to_have_count(0)
    named = page.locator("#id_records")
    # Hope's three notes are listed, each a Part 2 record; Priya ticks the medication note alone.
    expect(named.locator('input[name="records"]')).to_have_count(3)
    expect(named).to_contain_text("(a Part 2 record)")
    named.locator("label").filter(has_text=MEDICATION).click()
    expect(named.locator("input:checked")).to_have_value(f"Note:{medication_note.pk}")
    page.get_by_label("The order applies until (last day)").fill((today + timedelta(days=60)).isoformat())
    findings = page.get_by_test_id("part2-findings")
    findings.locator("label").filter(has_text="other ways of getting this information").click()
    findings.locator("label").filter(has_text="the public interest and the need for disclosure").click()
    expect(findings.locator("input:checked")).to_have_count(2)
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    shoot("court-order-form")
    page.get_by_role("button", name="Record the court order").click()

    expect(page).to_have_url(re.compile(rf"/families/{maria.pk}/$"))
    expect(page.get_by_role("status").filter(has_text="Court order FTC-2026-0188")).to_contain_text(
        "It opens only Hope Recovery Center's records that it names."
    )
    shoot("court-order-recorded")
    order = CourtOrder.objects.get(created_by_org=hope)
    assert order.court == court and order.has_part2_findings and order.categories == []
    assert [(r["type"], r["id"]) for r in order.records] == [("Note", medication_note.pk)]
    log_out(page)

    # --- Cora, for the court proceeding, sees the medication note and no other of Hope's records -----------------
    sign_in(page, cora.user.username)
    page.goto(family_url + "?purpose=court_proceeding")
    expect(page.get_by_role("heading", level=1)).to_have_text("Maria Lopez")
    expect(page.get_by_test_id("purpose")).to_contain_text("use in a court or other proceeding")
    expect(records(page)).to_contain_text(MEDICATION)
    expect(records(page).locator("tbody tr")).to_have_count(1)
    expect(page.get_by_text(ATTENDANCE)).to_have_count(0)
    expect(page.get_by_text(TOXICOLOGY)).to_have_count(0)
    shoot("court-sees-the-named-record")
    log_out(page)

    # --- Later, on the tablet again: her accounting now lists what Carl and the court saw -----------------------
    sign_in(page, ana.user.username)
    page.goto(family_url)
    page.get_by_test_id("consent-section").get_by_role("button", name="Hand her the tablet").click()
    expect(page).to_have_url(re.compile(r"/parent/$"))
    expect(page.locator("html")).to_have_attribute("lang", "es")  # her preferred language
    page.set_viewport_size(TABLET)
    page.get_by_role("link", name="Quién ha visto su información").click()
    entries = page.get_by_test_id("her-accounting").locator("li")
    carl_saw = entries.filter(has_text=re.compile(r"Carl Jensen.*de Hope Recovery Center"))
    expect(carl_saw).to_have_count(1)
    expect(carl_saw).to_contain_text(
        "Carl Jensen, de Lakeview County Child Protective Services, vio si usted va al tratamiento y su "
        "medicamento para el trastorno por uso de opioides (cuál y la dosis) de Hope Recovery Center, para su caso "
        "de bienestar infantil"
    )
    court_saw = entries.filter(has_text="FTC-2026-0188")
    expect(court_saw).to_have_count(1)
    expect(court_saw).to_contain_text(
        "Cora Vance, de Lakeview Family Treatment Court, vio su medicamento para el trastorno por uso de opioides "
        "(cuál y la dosis) de Hope Recovery Center, para su caso en la corte, por una orden de la corte"
    )
    expect(court_saw).not_to_contain_text("si usted va al tratamiento")
    # Nobody outside Hope has seen her drug test result, so her accounting never mentions one.
    expect(entries.filter(has_text="pruebas de drogas")).to_have_count(0)
    shoot("her-accounting-after-es")
    page.get_by_role("link", name="Devolver la tableta").click()
    page.get_by_label("Contraseña de Ana Rivera").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Salir del modo para padres y cerrar la sesión").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    page.set_viewport_size(DESKTOP)

    browser_log.assert_clean()
