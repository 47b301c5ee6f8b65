"""Real-browser journeys through Kinfold: a care coordinator builds a cross-agency care team, an unrelated
organisation is kept out of a family's record, and sign-in works with the keyboard alone.

Headless Debian Chromium (Playwright, sync API) against pytest-django's live server. Screenshots of every
page visited go to var/screenshots/.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from kinfold import clock
from kinfold.audit.models import AuditEvent
from kinfold.families.models import CareTeamMember, Family
from kinfold.organizations.models import OrganizationType, Role
from tests.factories import TEST_PASSWORD, OrganizationFactory, make_family, staff

pytestmark = pytest.mark.browser

# Focusable controls with no accessible name: what a screen reader would announce as just "edit text".
UNLABELLED_CONTROLS_JS = """
() => [...document.querySelectorAll("main input, main select, main textarea, main button")]
  .filter((el) => el.type !== "hidden" && !el.disabled && el.offsetParent !== null)
  .filter((el) => {
    if (el.getAttribute("aria-label")?.trim()) return false;
    const labelledby = el.getAttribute("aria-labelledby");
    if (labelledby && labelledby.split(/\\s+/).some((id) => document.getElementById(id)?.textContent.trim()))
      return false;
    if (el.labels && [...el.labels].some((l) => l.textContent.trim())) return false;
    const isButton = el.tagName === "BUTTON" || el.type === "submit";
    if (isButton && (el.textContent.trim() || el.value)) return false;
    return true;
  })
  .map((el) => el.outerHTML.slice(0, 120))
"""

# What has keyboard focus, in words a test can compare.
FOCUSED_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "body";
  const name = (el.getAttribute("aria-label") || el.innerText || el.value || "").trim().split("\\n")[0];
  return `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}: ${name}`;
}
"""


def sign_in(page: Any, username: str, shoot: Any | None = None) -> None:
    """Open the site as a stranger would, get sent to the sign-in page, and sign in with the form."""
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    if shoot is not None:
        shoot("login")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/families/$"))


def caseload_rows(page: Any) -> Any:
    return page.locator("#caseload-table tbody tr")


def team_row(page: Any, name: str) -> Any:
    return page.get_by_test_id("care-team").locator("tbody tr").filter(has_text=name)


def test_coordinator_builds_cross_agency_team(page: Any, browser_log: Any, shoot: Any) -> None:
    today = clock.today()
    bridges = OrganizationFactory(name="Bridges Family Resource Center", type=OrganizationType.COMMUNITY)
    cps = OrganizationFactory(name="Lakeview County Child Protective Services", type=OrganizationType.CHILD_WELFARE)
    clinic = OrganizationFactory(name="Harbor Prenatal Clinic", type=OrganizationType.OBSTETRIC)
    ana = staff(bridges, Role.CARE_COORDINATOR, user__first_name="Ana", user__last_name="Rivera")
    carl = staff(cps, Role.CPS_CASEWORKER, user__first_name="Carl", user__last_name="Jensen")
    # Other people the picker offers, so that searching visibly narrows it.
    staff(cps, Role.CPS_SUPERVISOR, user__first_name="Dana", user__last_name="Whitfield")
    staff(clinic, Role.OB_CLINICIAN, user__first_name="Priya", user__last_name="Nair")
    maria = make_family(ana, given_name="Maria", family_name="Lopez", estimated_due_on=today + timedelta(weeks=9))
    make_family(ana, given_name="Jasmine", family_name="Okafor")
    make_family(ana, given_name="Tanya", family_name="Whitehorse", estimated_due_on=today + timedelta(days=200))

    # Signed out, the site sends her to the sign-in page; she signs in with the labelled fields.
    sign_in(page, ana.user.username, shoot)

    # Her caseload: three families, with their stage, coordinator and organisations.
    expect(page.get_by_role("heading", level=1)).to_have_text("My caseload")
    expect(page.get_by_role("link", name="My caseload")).to_have_attribute("aria-current", "page")
    expect(caseload_rows(page)).to_have_count(3)
    maria_row = caseload_rows(page).filter(has_text="Maria Lopez")
    expect(maria_row.locator('[data-label="Stage"]')).to_have_text("31 weeks pregnant")
    expect(maria_row.locator('[data-label="Coordinator"]')).to_contain_text("Ana Rivera")
    expect(maria_row.locator('[data-label="Coordinator"]')).to_contain_text("Bridges Family Resource Center")
    expect(maria_row.locator('[data-label="Organisations"]')).to_have_text("Bridges Family Resource Center")
    expect(caseload_rows(page).filter(has_text="Tanya Whitehorse")).to_contain_text("11 weeks pregnant")
    expect(caseload_rows(page).filter(has_text="Jasmine Okafor")).to_contain_text("stage not recorded")
    expect(page.locator("#caseload-table")).to_contain_text("3 families.")
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    shoot("caseload")

    # Typing in the search box narrows the table in place (htmx swaps only the table, pushes the URL).
    search = page.get_by_label("Search families by name")
    search.fill("Lopez")
    expect(caseload_rows(page)).to_have_count(1)
    expect(caseload_rows(page)).to_contain_text("Maria Lopez")
    expect(page.locator("#caseload-table")).to_contain_text("1 family matching “Lopez”.")
    expect(page).to_have_url(re.compile(r"[?&]q=Lopez"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My caseload")  # the page was not replaced
    shoot("caseload-search")
    search.fill("Nobody")
    expect(page.get_by_role("heading", name="No families match “Nobody”")).to_be_visible()
    expect(caseload_rows(page)).to_have_count(0)
    shoot("caseload-search-no-match")
    search.fill("")
    expect(caseload_rows(page)).to_have_count(3)

    # Her family page: Ana is the coordinator.
    page.get_by_role("link", name="Maria Lopez").click()
    expect(page).to_have_url(re.compile(rf"/families/{maria.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Maria Lopez")
    expect(page.get_by_test_id("stage")).to_have_text(
        "31 weeks pregnant · coordinated by Ana Rivera (Bridges Family Resource Center)"
    )
    expect(page.get_by_test_id("current-pregnancy")).to_contain_text("31 weeks 0 days (trimester 3)")
    expect(page.get_by_test_id("care-team").locator("tbody tr")).to_have_count(1)
    expect(team_row(page, "Ana Rivera").locator(".usa-tag")).to_have_text("Coordinator")
    expect(team_row(page, "Ana Rivera")).to_contain_text("Care coordinator")
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    shoot("family")

    # Add a team member; first with nothing chosen, which explains what is missing.
    page.get_by_role("link", name="Add a team member").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a team member")
    shoot("add-member")
    browser_log.allow_console_error(r"status of 400")  # the form answers 400 with its errors
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Add to care team").click()
    assert posted.value.status == 400
    expect(page.locator("#form-error-summary")).to_have_text("Please correct the 2 problems below.")
    person = page.get_by_label("Person", exact=True)
    role = page.get_by_label("Role on this family's team", exact=True)
    for control, field_id in ((person, "id_membership"), (role, "id_role")):
        expect(control).to_have_attribute("aria-invalid", "true")
        expect(control).to_have_attribute("aria-describedby", re.compile(rf"\b{field_id}_error\b"))
        error = page.locator(f"#{field_id}_error")
        expect(error).to_be_visible()
        # A sentence a person can act on, not a code or a form-library message about "choices" or ids.
        expect(error).to_have_text(re.compile(r"^[A-Z][^<>{}]*\.$"))
        expect(error).not_to_contain_text(re.compile(r"valid choice|pk|None|null", re.IGNORECASE))
    expect(role).to_have_attribute("aria-describedby", re.compile(r"\bid_role_helptext\b"))
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    shoot("add-member-errors")

    # Searching narrows the person picker (htmx swaps its options); she picks Carl and his role.
    expect(person.locator("option")).to_have_count(4)  # the prompt + Carl, Dana, Priya (Ana is on the team)
    page.get_by_label("Find a person by name or organisation").fill("Jensen")
    expect(person.locator("option")).to_have_count(2)
    person.select_option(label="Carl Jensen — CPS caseworker, Lakeview County Child Protective Services")
    role.select_option(label="CPS caseworker")
    shoot("add-member-filled")
    page.get_by_role("button", name="Add to care team").click()

    expect(page).to_have_url(re.compile(rf"/families/{maria.pk}/$"))
    expect(page.get_by_role("status").filter(has_text="Carl Jensen is now on the care team.")).to_be_visible()
    carl_row = team_row(page, "Carl Jensen")
    expect(carl_row.locator('[data-label="Organisation"]')).to_contain_text("Lakeview County Child Protective Services")
    expect(carl_row.locator('[data-label="Role"]')).to_have_text("CPS caseworker")
    expect(carl_row.locator(".usa-tag")).to_have_count(0)
    shoot("family-with-caseworker")

    # Hand the coordinator role to Carl; the page asks first.
    dialogs: list[str] = []

    def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    carl_row.get_by_role("button", name="Make coordinator").click()
    expect(page.get_by_role("status").filter(has_text="Carl Jensen is now the designated coordinator.")).to_be_visible()
    assert dialogs == ["Make Carl Jensen the designated coordinator? Ana Rivera will stay on the team."]
    expect(team_row(page, "Carl Jensen").locator(".usa-tag")).to_have_text("Coordinator")
    expect(team_row(page, "Ana Rivera").locator(".usa-tag")).to_have_count(0)
    # Carl manages the team now: Ana may no longer hand the role on or remove anyone, only leave.
    expect(team_row(page, "Ana Rivera").get_by_role("button", name="Make coordinator")).to_have_count(0)
    expect(team_row(page, "Ana Rivera").get_by_role("button", name="Leave the team")).to_be_visible()
    expect(page.get_by_role("link", name="Add a team member")).to_have_count(0)
    expect(page.get_by_test_id("stage")).to_contain_text(
        "coordinated by Carl Jensen (Lakeview County Child Protective Services)"
    )
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("Added Carl Jensen")
    expect(timeline).to_contain_text("Handed the coordinator role from Ana Rivera to Carl Jensen")
    shoot("family-after-handover")

    # Record the delivery: a live birth today; the baby, Luz, joins the family.
    page.get_by_role("link", name="Record the delivery").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record the delivery")
    page.get_by_label("Date of delivery").fill(today.isoformat())
    page.get_by_label("Outcome").select_option(label="Live birth")
    page.get_by_label("Baby's first name").fill("Luz")
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    shoot("delivery-form")
    page.get_by_role("button", name="Record delivery").click()

    expect(page).to_have_url(re.compile(rf"/families/{maria.pk}/$"))
    expect(page.get_by_role("status").filter(has_text="Delivery recorded.")).to_be_visible()
    expect(page.get_by_test_id("stage")).to_contain_text("postpartum day 0")
    expect(page.get_by_test_id("family-members")).to_contain_text("Luz Lopez")
    expect(page.get_by_test_id("delivery")).to_contain_text("Today is postpartum day 0.")
    expect(page.get_by_test_id("current-pregnancy")).to_have_count(0)
    expect(timeline).to_contain_text("Recorded the delivery")
    shoot("family-after-delivery")

    # Back on the caseload, the row reflects the new coordinator, organisations and stage.
    page.get_by_role("navigation", name="Primary navigation").get_by_role("link", name="My caseload").click()
    maria_row = caseload_rows(page).filter(has_text="Maria Lopez")
    expect(maria_row.locator('[data-label="Stage"]')).to_have_text("postpartum day 0")
    expect(maria_row.locator('[data-label="Coordinator"]')).to_contain_text("Carl Jensen")
    expect(maria_row.locator('[data-label="Organisations"]')).to_have_text(
        "Bridges Family Resource Center, Lakeview County Child Protective Services"
    )
    shoot("caseload-after")

    browser_log.assert_clean()

    # The database agrees: one active coordinator, Carl.
    coordinators = CareTeamMember.objects.active().filter(care_team__family=maria, is_coordinator=True)
    assert [m.membership_id for m in coordinators] == [carl.pk]
    carl_member = CareTeamMember.objects.active().get(care_team__family=maria, membership=carl)
    assert carl_member.role == Role.CPS_CASEWORKER

    # The audit trail holds Ana's view of the family page and her writes, each from the browser.
    ana_events = AuditEvent.objects.filter(actor_username=ana.user.username, family_id=maria.pk)
    assert (
        ana_events.filter(action="view", record_type="Family", record_id=str(maria.pk), outcome="success")
        .exclude(client_address=None)
        .exists()
    )
    writes = set(
        ana_events.filter(action__in=["create", "update"], outcome="success")
        .exclude(client_address=None)
        .values_list("action", "record_type", "record_id")
    )
    episode = maria.pregnancies.get()
    assert {
        ("create", "CareTeamMember", str(carl_member.pk)),  # added Carl
        ("update", "CareTeamMember", str(carl_member.pk)),  # made him coordinator
        ("update", "PregnancyEpisode", str(episode.pk)),  # recorded the delivery
    } <= writes
    assert AuditEvent.objects.filter(actor_username=ana.user.username, action="login").exists()


def test_unrelated_organisation_cannot_open_family(page: Any, browser_log: Any, shoot: Any) -> None:
    bridges = OrganizationFactory(name="Bridges Family Resource Center", type=OrganizationType.COMMUNITY)
    pantry = OrganizationFactory(name="Northside Food Pantry", type=OrganizationType.COMMUNITY)
    ana = staff(bridges, Role.CARE_COORDINATOR, user__first_name="Ana", user__last_name="Rivera")
    olive = staff(pantry, Role.CARE_COORDINATOR, user__first_name="Olive", user__last_name="Stranger")
    family = make_family(
        ana, given_name="Maria", family_name="Lopez", estimated_due_on=clock.today() + timedelta(weeks=9)
    )
    ana_member = CareTeamMember.objects.get(care_team__family=family, membership=ana)
    shoot.prefix = "outsider-"

    sign_in(page, olive.user.username, shoot)
    expect(page.get_by_role("heading", name="Your caseload is empty")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(
        "When you create a family or a colleague adds you to a family's care team, the family appears here."
    )
    expect(caseload_rows(page)).to_have_count(0)
    shoot("empty-caseload")
    csrf_token = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")

    # Her organisation's families: none either.
    page.get_by_role("link", name="My organisation").click()
    expect(page.get_by_role("heading", name="No families yet")).to_be_visible()
    shoot("organisation-families")

    # Typing the family's address gets a plain "not found": nothing says the family exists.
    browser_log.allow_console_error(r"status of 404")
    response = page.goto(f"/families/{family.pk}/")
    assert response is not None
    assert response.status in (403, 404)
    html = page.content()
    for word in ("Maria", "Lopez", "Bridges"):
        assert word not in html
    shoot("family-not-found")
    assert AuditEvent.objects.filter(
        outcome="denied",
        actor_username=olive.user.username,
        record_type="Family",
        record_id=str(family.pk),
    ).exists()

    # The same through the API and the write pages: 404, with no name in the answer.
    api = page.request.get(f"/api/families/{family.pk}")
    assert api.status == 404
    assert "Lopez" not in api.text()
    assert page.request.get(f"/families/{family.pk}/team/add/").status == 404
    handover = page.request.post(
        f"/families/{family.pk}/team/{ana_member.pk}/coordinator/", headers={"X-CSRFToken": csrf_token}
    )
    assert handover.status == 404
    assert "Lopez" not in handover.text()

    browser_log.assert_clean()
    # Nothing changed, and the family is still not on her caseload.
    assert CareTeamMember.objects.active().filter(care_team__family=family).count() == 1
    assert CareTeamMember.objects.active().get(care_team__family=family).membership_id == ana.pk
    assert not Family.objects.filter(care_team__members__membership=olive).exists()
    assert (
        AuditEvent.objects.filter(actor_username=olive.user.username, outcome="denied", family_id=family.pk).count()
        >= 3
    )


def test_keyboard_only_sign_in_and_navigation(page: Any, browser_log: Any, shoot: Any) -> None:
    ana = staff(
        OrganizationFactory(name="Bridges Family Resource Center"),
        Role.CARE_COORDINATOR,
        user__first_name="Ana",
        user__last_name="Rivera",
    )
    make_family(ana, given_name="Maria", family_name="Lopez")
    shoot.prefix = "keyboard-"
    keyboard = page.keyboard

    def focused() -> str:
        return page.evaluate(FOCUSED_JS)

    page.goto("/accounts/login/")
    assert focused() == "input#id_username: "  # autofocus: ready to type
    # Back to the start of the page: the skip link is the first stop, before the header.
    keyboard.press("Shift+Tab")
    assert focused() == "a: Kinfold"
    keyboard.press("Shift+Tab")
    assert focused() == "a: Skip to main content"
    expect(page.get_by_role("link", name="Skip to main content")).to_be_in_viewport()
    shoot("login-skip-link")
    keyboard.press("Tab")
    keyboard.press("Tab")
    assert focused() == "input#id_username: "
    keyboard.type(ana.user.username)
    keyboard.press("Tab")
    assert focused() == "input#id_password: "
    keyboard.type(TEST_PASSWORD)
    keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/families/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My caseload")

    # From the top of the page, Tab walks: skip link, site name, then the primary navigation.
    order = []
    for _ in range(11):
        keyboard.press("Tab")
        order.append(focused())
    assert order == [
        "a: Skip to main content",
        "a: Kinfold",
        "a: My caseload",
        "a: New family",
        "a: Directory",
        "a: Referrals",
        "a: My steps",
        "a: Alerts",
        "a: Organisations",
        "a: Ana Rivera",  # her name: her account's security (second step, password)
        "button: Log out",
    ]
    nav_links = (
        page.get_by_role("navigation", name="Primary navigation").locator(".usa-nav__primary").get_by_role("link")
    )
    expect(nav_links).to_have_text(
        ["My caseload", "New family", "Directory", "Referrals", "My steps", "Alerts", "Organisations"]
    )

    # The skip link moves focus to main; the next Tab is the first control in the content.
    for _ in range(10):
        keyboard.press("Shift+Tab")
    assert focused() == "a: Skip to main content"
    keyboard.press("Enter")
    expect(page.locator("main#main-content")).to_be_focused()
    shoot("caseload-main-focused")
    keyboard.press("Tab")
    assert focused() == "a: New family"

    # Enter on a family link opens it.
    page.get_by_role("link", name="Maria Lopez").focus()
    keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Maria Lopez")
    shoot("family")

    browser_log.assert_clean()
