"""Real-browser journey (issue 13): an EPDS screening sent to the parent's phone, a safety alert, and the next steps.

Her coordinator starts an EPDS for Lucía from the family page, in Spanish, to be answered "On her phone, from a
link", and is shown the one-time link once, with a QR code. Lucía opens the link on her phone (a fresh, phone-sized
browser with no session): one question per screen, in Spanish, with her progress. After question 5 she saves and
leaves; later she opens the same link again and carries on at question 6, her earlier answers kept. To item 10 ("He
pensado en hacerme daño a mí misma") she answers "Casi nunca", which is critical; her total is 14 (probable
depression, a positive screen needing mental-health care). She checks her answers and sends them; she is thanked
and shown crisis lines; the link then no longer works.

Her coordinator is emailed (an email that names no one), sees the alert and the score on the family page, opens the
response: the safety protocol, the crisis lines with 988, the scores and answers, and the services from the
directory that fit Lucía. She refers her to the bilingual perinatal counselling service near her home (her consent
covers sending it there), then records what was done: the alert closes only with an action and words.

Headless Debian Chromium (Playwright, sync API) against pytest-django's live server. Every page state is shot, and
each shot runs axe-core (WCAG 2.1 A/AA) at the page's width and at a phone's; the parent's pages are seen at a
phone's width throughout. Screenshots go to var/screenshots/ (prefix ``screening-``). Names are invented.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from kinfold import clock
from kinfold.consent import services as consent_services
from kinfold.directory.models import Need
from kinfold.families import services as family_services
from kinfold.families.models import CareTeamMember, Insurance
from kinfold.organizations.models import Organization, OrganizationType, Role
from kinfold.referrals.models import Referral, ReferralStatus
from kinfold.screening.models import AlertAction, HowGiven, SafetyAlert, ScreeningResponse, ScreeningStatus
from tests.browser.conftest import PHONE_VIEWPORT, watched_page
from tests.browser.test_coordinator_journey import UNLABELLED_CONTROLS_JS, sign_in
from tests.browser.test_referral_journey import COUNTY, emails_to, listing, shooting
from tests.factories import staff, viewer_of

pytestmark = pytest.mark.browser

PARENT = "Lucía Morales"
HOME_ZIP = "40508"  # Lexington, KY
INTAKE_EMAIL = "intake@harbor-womens-health.example.org"
LINK = re.compile(r"^(https?://[^\s/]+)/s/([A-Za-z0-9_-]{43})/$")
EPDS_ES = "Escala de Depresión Posparto de Edimburgo (EPDS)"
EPDS_EN = "Edinburgh Postnatal Depression Scale (EPDS)"
# Her answers, one screen each: (the question as she reads it, the answer she taps, its score). Item 10 "Casi
# nunca" (hardly ever) is critical; the total is 14: probable depression (13 to 30), a positive screen.
ANSWERS = [
    ("He sido capaz de reír y ver el lado bueno de las cosas", "No tanto ahora", 1),
    ("He mirado el futuro con placer", "Algo menos de lo que solía hacer", 1),
    ("Me he culpado sin necesidad cuando las cosas no salían bien", "Sí, algunas veces", 2),
    ("He estado ansiosa y preocupada sin motivo", "Sí, a veces", 2),
    ("He sentido miedo y pánico sin motivo alguno", "No, no mucho", 1),
    ("Las cosas me oprimen o agobian", "Sí, a veces", 2),
    ("Me he sentido tan infeliz que he tenido dificultad para dormir", "No muy a menudo", 1),
    ("Me he sentido triste y desgraciada", "Sí, bastante a menudo", 2),
    ("He sido tan infeliz que he estado llorando", "Sólo en ocasiones", 1),
    ("He pensado en hacerme daño a mí misma", "Casi nunca", 1),
]
TOTAL = sum(score for _, _, score in ANSWERS)
PAUSE_AFTER = 5  # she saves and leaves after answering question 5
HOPE = "Hablar con alguien en español sobre cómo se siente antes de que nazca el bebé."
ACTION_NOTE = (
    "Called her within the hour: she is safe today and has no plan. We made a safety plan together, she has 988 "
    "saved, and she was referred to Harbor for counselling. I will call her again on Friday."
)

# The answer tiles and the buttons of her questionnaire, with their size: a parent taps these with a thumb. (The
# text-styled "Guardar y terminar más tarde" is left out: it is drawn as a link, one line of text high.)
TOUCH_TARGETS_JS = """
() => [...document.querySelectorAll("main label.usa-radio__label, main .usa-button:not(.usa-button--unstyled)")]
  .filter((el) => el.offsetParent !== null)
  .map((el) => {
    const box = el.getBoundingClientRect();
    return { text: el.textContent.trim(), width: Math.round(box.width), height: Math.round(box.height) };
  })
"""


def assert_large_touch_targets(phone: Any) -> None:
    """Each answer tile and button is at least 44 CSS pixels high (WCAG 2.5.5's size) and fits her screen."""
    targets = phone.evaluate(TOUCH_TARGETS_JS)
    assert targets, "no answer or button found to measure"
    small = [t for t in targets if t["height"] < 44 or t["width"] > PHONE_VIEWPORT["width"]]
    assert small == [], f"touch targets under 44 px high (or wider than her screen) on her phone: {small}"


def tap_answer(phone: Any, answer: str) -> None:
    """Tap an answer's tile (its label: the radio itself is drawn by USWDS and visually hidden)."""
    phone.locator("label.usa-radio__label").filter(has_text=re.compile(rf"^\s*{re.escape(answer)}\s*$")).click()


def answer_screen(phone: Any, shoot: Any, number: int) -> None:
    """One question on her phone: its progress, the question in Spanish, large tiles, her tap (shot once chosen)."""
    question, answer, _score = ANSWERS[number - 1]
    expect(phone.get_by_test_id("progress")).to_have_text(f"Pregunta {number} de {len(ANSWERS)}")
    expect(phone.locator("legend")).to_have_text(question)
    expect(phone.locator("label.usa-radio__label")).to_have_count(4)
    if number == 1:
        expect(phone.get_by_role("button", name="Atrás")).to_have_count(0)
        expect(phone.locator(".kinfold-preamble")).to_contain_text("EN LOS ÚLTIMOS 7 DÍAS")
    else:
        expect(phone.get_by_role("button", name="Atrás")).to_be_visible()
    assert_large_touch_targets(phone)
    tap_answer(phone, answer)
    expect(phone.get_by_role("radio", name=answer, exact=True)).to_be_checked()
    shoot(f"phone-q{number}")


def test_she_answers_the_epds_on_her_phone_and_her_coordinator_acts_on_the_safety_alert(
    page: Any,
    browser_log: Any,
    shoot: Any,
    browser: Any,
    live_server: Any,
    smtp_server: Any,
    settings: Any,
) -> None:
    shoot.prefix = "screening-"
    settings.KINFOLD_SITE_URL = live_server.url  # the link and the alert email point at this server

    bridges = Organization.objects.create(name="Bridges Family Resource Center", type=OrganizationType.COMMUNITY)
    harbor = Organization.objects.create(name="Harbor Women's Health", type=OrganizationType.OBSTETRIC)
    ana = staff(bridges, Role.CARE_COORDINATOR, user__first_name="Ana", user__last_name="Rivera")
    lucia = family_services.family_create(
        viewer=viewer_of(ana),
        given_name="Lucía",
        family_name="Morales",
        preferred_language="es",
        phone="859-555-0177",
        postal_code=HOME_ZIP,
        county=COUNTY,
        insurance=Insurance.MEDICAID,
        estimated_due_on=clock.today() + timedelta(weeks=14),  # 26 weeks pregnant today
    )
    # Ana is her designated coordinator: she is told of a safety alert whoever gave the screening.
    assert CareTeamMember.objects.get(care_team__family=lucia, is_coordinator=True).membership == ana

    # The directory: a bilingual perinatal counselling service near her home that fits her, and one that does not
    # (it does not take Medicaid).
    counselling = listing(
        "harbor-mh",
        organization_name="Harbor Women's Health",
        kinfold_org=harbor,
        service_name="Perinatal mental health counselling",
        description="Counselling in English and Spanish for depression and anxiety in pregnancy and after birth.",
        point=(38.0317, -84.5040),
        address="1000 South Limestone",
        city="Lexington",
        postal_code="40503",
        needs=[Need.PARENTING_SUPPORT, Need.MENTAL_HEALTH],  # mental health is not its first need
        languages=["en", "es"],
        counties=[COUNTY],
        accepts_medicaid=True,
        accepts_pregnant=True,
        postpartum_programme=True,
        intake_contact_name="Rosa Vega",
        intake_email=INTAKE_EMAIL,
    )
    private_practice = listing(
        "private-mh",
        organization_name="Chevy Chase Therapy Group",
        service_name="Private therapy for new mothers",
        point=(38.0260, -84.4870),
        address="800 Euclid Avenue",
        city="Lexington",
        postal_code="40502",
        needs=[Need.MENTAL_HEALTH],
        languages=["en", "es"],
        counties=[COUNTY],
        accepts_medicaid=False,
        accepts_pregnant=True,
    )
    # Her consent, signed with Ana: Bridges may send Harbor a referral for her mental-health care and her contact
    # details, for treatment. It does not cover her pregnancy.
    consent_services.consent_record(
        viewer=viewer_of(ana),
        family=lucia,
        title="Referral for mental-health care",
        terms=consent_services.ConsentTerms(
            discloser_orgs=[bridges],
            recipient_orgs=[harbor],
            purposes=["treatment"],
            kinds=["identity", "therapy_note"],
            expires_at=clock.now() + timedelta(days=365),
            signer_name=PARENT,
            signature_typed=PARENT,
            language="es",
        ),
    )
    family_url = f"/families/{lucia.pk}/"
    screening_section = page.get_by_test_id("screening-section")

    # --- 1. Ana starts an EPDS for her phone, in Spanish ------------------------------------------------------------
    sign_in(page, ana.user.username)
    page.goto(family_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(PARENT)
    expect(screening_section).to_contain_text("No screenings yet.")
    shoot("family-before")
    screening_section.get_by_role("link", name="Give a screening").click()

    expect(page).to_have_url(re.compile(rf"/screening/family/{lucia.pk}/new/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Give a screening")
    page.locator("label").filter(has_text=re.compile(r"^\s*EPDS — depression in pregnancy and after birth")).click()
    expect(page.get_by_role("radio", name=re.compile(r"^EPDS — "))).to_be_checked()
    # Her preferred language is Spanish: it is chosen for her.
    expect(page.get_by_role("radio", name="Spanish (español)")).to_be_checked()
    page.locator("label").filter(has_text="On her phone, from a link").click()
    expect(page.get_by_role("radio", name="On her phone, from a link")).to_be_checked()
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    shoot("start")
    page.get_by_role("button", name="Start", exact=True).click()

    # The response's page shows her one-time link, once, and a QR code for her phone's camera.
    expect(page).to_have_url(re.compile(r"/screening/\d+/$"))
    response = ScreeningResponse.objects.get(family=lucia)
    response_url = f"/screening/{response.pk}/"
    assert response.instrument == "epds" and response.language == "es" and response.how_given == HowGiven.LINK
    expect(page.get_by_role("heading", level=1)).to_have_text(EPDS_EN)
    expect(page.get_by_test_id("status")).to_have_text(
        "Started, not finished · On her phone, from a link · in Spanish · "
        "given by Bridges Family Resource Center (Ana Rivera)"
    )
    link_box = page.get_by_test_id("link-box")
    expect(link_box.get_by_role("heading")).to_have_text("Her one-time link")
    expect(link_box).to_contain_text("it is shown only once")
    link = page.get_by_test_id("link-url").input_value()
    found = LINK.match(link)
    assert found is not None, link
    assert found.group(1) == live_server.url
    expect(link_box.get_by_role("img", name="A QR code for the link above")).to_be_visible()
    assert page.evaluate(
        "() => { const img = document.querySelector('img.kinfold-qr'); return img.complete && img.naturalWidth > 0; }"
    ), "the QR code did not load"
    expect(page.get_by_role("main")).to_contain_text("she has not opened it yet")
    shoot("link-shown-once")

    # Shown once: the same page again has no link on it.
    page.reload()
    expect(page.get_by_test_id("link-box")).to_have_count(0)
    expect(page.get_by_test_id("link-url")).to_have_count(0)
    expect(page.get_by_role("heading", name="Not finished yet")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("0 questions answered so far.")
    shoot("link-not-shown-again")

    # --- 2. Lucía opens the link on her phone: questions 1 to 5, then she saves and leaves ---------------------------
    with watched_page(browser, live_server, browser_log) as phone, shooting(shoot, phone):
        phone.set_viewport_size(PHONE_VIEWPORT)
        assert phone.context.cookies() == []  # not Ana's browser: whoever holds the link
        phone.goto(link)
        expect(phone.locator("html")).to_have_attribute("lang", "es")
        expect(phone.get_by_role("heading", level=1)).to_have_text(EPDS_ES)
        expect(phone.locator(".kinfold-parent-header")).to_contain_text("Preguntas de Bridges Family Resource Center")
        for word in ("Lucía", "Morales", "Ana", "Rivera", "859"):  # nothing personal on her page
            expect(phone.locator("body")).not_to_contain_text(word)
        expect(phone.get_by_role("link", name="My caseload")).to_have_count(0)
        font_size = phone.evaluate("() => getComputedStyle(document.documentElement).fontSize")
        assert float(font_size.removesuffix("px")) >= 20, font_size
        assert phone.evaluate(UNLABELLED_CONTROLS_JS) == []
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]

        for number in range(1, PAUSE_AFTER + 1):
            answer_screen(phone, shoot, number)
            if number < PAUSE_AFTER:
                phone.get_by_test_id("next").click()
        expect(phone.get_by_test_id("pause")).to_have_text("Guardar y terminar más tarde")
        phone.get_by_test_id("pause").click()

        expect(phone.get_by_role("heading", level=1)).to_have_text("Sus respuestas están guardadas")
        expect(phone.get_by_role("main")).to_contain_text(
            "Puede volver y terminar más tarde: abra el mismo enlace otra vez."
        )
        expect(phone.get_by_role("main")).to_contain_text("El enlace funciona hasta el")
        expect(phone.get_by_role("link", name="Seguir ahora")).to_be_visible()
        shoot("phone-paused")

    response.refresh_from_db()
    assert response.is_open
    assert response.answers == {f"q{n}": ANSWERS[n - 1][2] for n in range(1, PAUSE_AFTER + 1)}

    # Ana sees that she opened it and how far she got.
    page.goto(response_url)
    expect(page.get_by_role("main")).to_contain_text(f"{PAUSE_AFTER} questions answered so far.")
    expect(page.get_by_role("main")).to_contain_text("she opened it")
    shoot("in-progress")

    # --- 3. Later, the same link again (a new browser): she carries on at question 6 --------------------------------
    with watched_page(browser, live_server, browser_log) as phone, shooting(shoot, phone):
        phone.set_viewport_size(PHONE_VIEWPORT)
        phone.goto(link)
        expect(phone.get_by_test_id("progress")).to_have_text(f"Pregunta {PAUSE_AFTER + 1} de {len(ANSWERS)}")
        expect(phone.locator("legend")).to_have_text(ANSWERS[PAUSE_AFTER][0])
        # Her earlier answer is kept: one step back shows it chosen.
        phone.get_by_role("button", name="Atrás").click()
        expect(phone.get_by_test_id("progress")).to_have_text(f"Pregunta {PAUSE_AFTER} de {len(ANSWERS)}")
        expect(phone.get_by_role("radio", name=ANSWERS[PAUSE_AFTER - 1][1], exact=True)).to_be_checked()
        shoot("phone-back-to-a-kept-answer")
        phone.get_by_test_id("next").click()

        for number in range(PAUSE_AFTER + 1, len(ANSWERS) + 1):
            answer_screen(phone, shoot, number)
            expect(phone.get_by_test_id("next")).to_have_text("Siguiente")
            phone.get_by_test_id("next").click()

        # She checks her answers before sending them.
        expect(phone.get_by_role("heading", level=1)).to_have_text("Revise sus respuestas")
        expect(phone.get_by_test_id("missing")).to_have_count(0)
        rows = phone.get_by_test_id("review").locator(".kinfold-review__row")
        expect(rows).to_have_count(len(ANSWERS))
        for number, (question, answer, _score) in enumerate(ANSWERS, start=1):
            row = rows.nth(number - 1)
            expect(row.locator("dt")).to_have_text(f"{number}. {question}")
            expect(row.locator("dd")).to_contain_text(answer)
            expect(row.get_by_role("link", name=f"Cambiar respuesta {number}")).to_be_visible()
        submit = phone.get_by_test_id("submit")
        expect(submit).to_have_text("Enviar mis respuestas")
        assert_large_touch_targets(phone)
        shoot("phone-review")
        submit.click()

        # Thanked, in Spanish, with crisis lines (she answered a question about harming herself).
        expect(phone.get_by_role("heading", level=1)).to_have_text("Gracias")
        expect(phone.get_by_test_id("thanks")).to_have_text(
            "Sus respuestas se enviaron a Bridges Family Resource Center. "
            "Alguien de su equipo hablará con usted sobre ellas."
        )
        crisis = phone.get_by_role("region", name="Si necesita hablar con alguien ahora")
        expect(crisis).to_contain_text("Llame o envíe un mensaje de texto al 988")
        expect(crisis).to_contain_text("911")
        for word in ("puntaje", "Depresión probable"):  # her score is for her team to talk over with her
            expect(phone.get_by_role("main")).not_to_contain_text(word)
        shoot("phone-thanks")

        # The link is spent: the same page that any dead link shows, naming nothing.
        browser_log.allow_console_error(r"status of 404")
        again = phone.goto(link)
        assert again is not None and again.status == 404
        expect(phone.get_by_role("heading", level=1)).to_have_text("This link does not work")
        for word in ("Bridges", "EPDS", "Lucía"):
            expect(phone.get_by_role("main")).not_to_contain_text(word)
        shoot("phone-link-spent")

    response.refresh_from_db()
    assert response.status == ScreeningStatus.COMPLETED
    assert response.answers == {f"q{n}": score for n, (_q, _a, score) in enumerate(ANSWERS, start=1)}
    (total,) = response.results["scales"]
    assert total["score"] == TOTAL == 14 and total["band"] == "Probable depression" and total["positive"]
    assert response.positive and response.critical and response.results["needs"] == [Need.MENTAL_HEALTH]
    alert = SafetyAlert.objects.get(response=response)
    assert alert.is_open and set(alert.notified.all()) == {ana.user}

    # Ana is emailed at once; the email names no family, person, questionnaire or answer.
    (email,) = emails_to(smtp_server, ana.user.email, count=1)
    assert email["Subject"] == "Safety alert: a screening answer needs attention today"
    body = email.get_content()
    assert f"{live_server.url}/screening/alerts/{alert.pk}/" in body
    for word in ("Lucía", "Luc", "Morales", "EPDS", "harming"):
        assert word not in body, word

    # --- 4. Ana sees the alert and the score on the family page ------------------------------------------------------
    page.goto(family_url)
    family_alert = page.get_by_test_id("family-alert")
    expect(family_alert).to_have_count(1)
    expect(family_alert).to_contain_text("Safety alert: EPDS: a critical answer (question 10).")
    series = screening_section.locator('[data-testid="series"][data-instrument="epds"]')
    expect(series.locator("figcaption")).to_contain_text("EPDS — total score")
    expect(series.locator("figcaption")).to_contain_text("0 to 30; positive from 10")
    expect(series.get_by_role("img", name=re.compile(r"^Chart of EPDS scores"))).to_be_visible()
    points = series.locator("tbody tr")
    expect(points).to_have_count(1)
    expect(points.locator("td").nth(1)).to_have_text("26 weeks pregnant")
    expect(points.locator("td").nth(2)).to_have_text(str(TOTAL))
    expect(points.locator("td").nth(3)).to_have_text("Probable depression Positive")
    shoot("family-alert-and-score")
    # Her timeline says what happened: she answered on her phone, from the link the coordinator sent.
    completed = page.get_by_test_id("timeline").locator("li").filter(has_text="EPDS screening completed")
    expect(completed).to_contain_text(
        f"EPDS screening completed: {TOTAL} (Probable depression). A safety alert was raised "
        "(she answered on her phone, from the link sent)"
    )
    expect(completed).not_to_contain_text("a former staff member")

    # The emailed address lands on the same response page, at the alert.
    page.goto(f"/screening/alerts/{alert.pk}/")
    expect(page).to_have_url(re.compile(rf"{re.escape(response_url)}#alert-heading$"))
    page.goto(family_url)
    family_alert.get_by_role("link", name="Act on it and record what was done").click()

    # --- 5. The response: protocol, crisis lines, scores, answers, and services that fit her -------------------------
    expect(page).to_have_url(re.compile(rf"{re.escape(response_url)}#alert-heading$"))
    expect(page.get_by_test_id("status")).to_have_text(re.compile(r"^Completed, "))
    expect(page.get_by_test_id("status")).to_contain_text(
        "On her phone, from a link · in Spanish · given by Bridges Family Resource Center (Ana Rivera)"
    )
    safety = page.get_by_test_id("safety-alert")
    expect(safety).to_have_attribute("data-open", "yes")
    expect(safety.get_by_role("heading", level=2)).to_have_text("Safety alert: act today")
    expect(safety).to_contain_text("She answered that the thought of harming herself has occurred to her")
    protocol = page.get_by_test_id("protocol")
    expect(protocol).to_contain_text("Stay with her, or keep her on the phone.")
    expect(protocol).to_contain_text("Record here what you did.")
    crisis_lines = page.get_by_test_id("crisis-lines")
    expect(crisis_lines.locator("li").filter(has_text="988")).to_contain_text(
        "Suicide and Crisis Lifeline: call or text 988"
    )
    expect(crisis_lines).to_contain_text("1-833-852-6262")
    scores = page.get_by_test_id("scores").locator('tr[data-scale="total"]')
    expect(scores).to_have_attribute("data-positive", "yes")
    expect(scores.locator("td").first).to_have_text(f"{TOTAL} of 30")
    expect(scores.locator("td").nth(1)).to_contain_text("Probable depression Positive screen")
    critical = page.get_by_test_id("answers").locator('tr[data-critical="yes"]')
    expect(critical).to_have_count(1)
    expect(critical).to_contain_text("The thought of harming myself has occurred to me")
    expect(critical).to_contain_text("Hardly ever Critical")

    proposals = page.get_by_test_id("proposals")
    expect(proposals.get_by_role("heading", level=3)).to_have_text("Mental health")
    proposed = proposals.locator("li[data-service]")
    expect(proposed).to_have_count(1)
    expect(proposed).to_have_attribute("data-service", str(counselling.pk))
    expect(proposed.get_by_role("link", name=counselling.name, exact=True)).to_be_visible()
    expect(proposed).to_contain_text("Harbor Women's Health")
    for reason in ("serves Lakeview County", "speaks Spanish", "takes Medicaid", "accepts pregnant people"):
        expect(proposed).to_contain_text(reason)
    expect(proposals).not_to_contain_text(private_practice.name)  # does not take Medicaid: not proposed
    expect(proposals.get_by_role("link", name="Find more mental health services in the directory")).to_be_visible()
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    shoot("response-with-alert")

    # --- 6. She refers Lucía to the counselling service ------------------------------------------------------------
    proposed.get_by_role("link", name=f"Refer her here ({counselling.name})").click()
    expect(page).to_have_url(
        re.compile(rf"/referrals/new/\?family={lucia.pk}&service={counselling.pk}&need={Need.MENTAL_HEALTH}$")
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Refer her to {counselling.name}")
    # The need the screening named, not the listing's first.
    expect(page.get_by_label("What she needs")).to_have_value(Need.MENTAL_HEALTH)
    preview = page.get_by_test_id("send-preview").locator("li")
    expect(preview.filter(has_text="The referral")).to_have_attribute("data-sent", "yes")
    expect(preview.filter(has_text="Her name and contact details")).to_have_attribute("data-sent", "yes")
    expect(preview.filter(has_text="Her pregnancy")).to_have_attribute("data-sent", "no")
    page.get_by_label("How soon").select_option(label="Urgent")
    page.get_by_label("What she is hoping for").fill(HOPE)
    page.get_by_label("Warm hand-off note").fill("She prefers Spanish and a call after 4 pm.")
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    shoot("refer-her")
    page.get_by_role("button", name="Send the referral").click()

    expect(page).to_have_url(re.compile(r"/referrals/\d+/$"))
    expect(page.get_by_role("status").filter(has_text="Referral sent to Harbor Women's Health.")).to_contain_text(
        "1 item left out: her consent does not cover them."
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Referral: Mental health"))
    expect(page.get_by_test_id("referral-status")).to_have_text("Status: Sent, waiting for an answer")
    shoot("referral-sent")
    referral = Referral.objects.get(family=lucia)
    assert referral.need == Need.MENTAL_HEALTH and referral.status == ReferralStatus.REQUESTED
    assert referral.receiving_org == harbor and referral.service == counselling
    emails_to(smtp_server, INTAKE_EMAIL, count=1)  # Harbor has no accounts: its intake contact gets a link

    # --- 7. She records what was done, and the alert closes --------------------------------------------------------
    page.get_by_role("navigation", name="Primary navigation").get_by_role("link", name="Alerts").click()
    expect(page).to_have_url(re.compile(r"/screening/alerts/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Safety alerts")
    open_alerts = page.get_by_test_id("alerts").locator("tbody tr")
    expect(open_alerts).to_have_count(1)
    expect(open_alerts.locator('[data-label="Family"]')).to_have_text(PARENT)
    expect(open_alerts.locator('[data-label="What"]')).to_have_text("EPDS: a critical answer (question 10)")
    shoot("my-open-alerts")
    open_alerts.get_by_role("link", name="EPDS: a critical answer (question 10)").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(response_url)}#alert-heading$"))

    # Words are required: an action alone does not close it.
    close_form = page.get_by_role("form", name="Record what was done")
    close_form.locator("label").filter(has_text=AlertAction.SAFETY_PLAN.label).click()
    browser_log.allow_console_error(r"status of 400")
    page.get_by_role("button", name="Record it and close the alert").click()
    note = page.get_by_label("In a few words: what happened, and what happens next")
    expect(note).to_have_attribute("aria-invalid", "true")
    expect(close_form.get_by_role("alert")).to_be_visible()  # the note's error message, read out
    expect(page.get_by_test_id("safety-alert")).to_have_attribute("data-open", "yes")
    expect(page.get_by_role("radio", name=AlertAction.SAFETY_PLAN.label)).to_be_checked()
    alert.refresh_from_db()
    assert alert.is_open
    shoot("close-alert-needs-words")

    note.fill(ACTION_NOTE)
    page.get_by_role("button", name="Record it and close the alert").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(response_url)}$"))
    expect(
        page.get_by_role("status").filter(has_text="The alert is closed. What was done is on her record.")
    ).to_be_visible()
    safety = page.get_by_test_id("safety-alert")
    expect(safety).to_have_attribute("data-open", "no")
    expect(safety.get_by_role("heading", level=2)).to_have_text("Safety alert (closed)")
    closed = page.get_by_test_id("alert-closed")
    expect(closed).to_contain_text("EPDS: a critical answer (question 10). Closed ")
    expect(closed).to_contain_text(f"by Ana Rivera: {AlertAction.SAFETY_PLAN.label}. “{ACTION_NOTE}”")
    expect(page.get_by_role("button", name="Record it and close the alert")).to_have_count(0)
    expect(page.get_by_test_id("protocol")).to_have_count(0)
    expect(page.get_by_test_id("proposals")).to_be_visible()  # the next steps stay on the page
    shoot("alert-closed")

    page.goto(family_url)
    expect(page.get_by_test_id("family-alert")).to_have_count(0)
    expect(screening_section.locator('[data-testid="series"][data-instrument="epds"] tbody tr')).to_have_count(1)
    expect(page.get_by_test_id("referrals-section")).to_contain_text("Harbor Women's Health")
    shoot("family-after")

    page.goto("/screening/alerts/")
    expect(page.get_by_test_id("no-alerts")).to_be_visible()
    shoot("no-open-alerts")

    browser_log.assert_clean()

    alert.refresh_from_db()
    assert not alert.is_open and alert.resolved_by == ana.user
    assert alert.action == AlertAction.SAFETY_PLAN and alert.action_note == ACTION_NOTE
