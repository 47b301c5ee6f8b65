"""Real-browser check of the family page's layout (issue 11): a coordinator opens a family with a full team,
a pregnancy, records and consents, and meets her team, what is due and the latest records first; "On this page"
takes her, by keyboard too, to every other section; on a phone the same page reads top to bottom; without
JavaScript every section is there and every jump link works. axe-core runs at desktop and phone widths on
each screenshot (var/screenshots/, prefix ``family-layout-``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from kinfold import clock
from kinfold.families import services as family_services
from kinfold.notes.services import note_add
from kinfold.organizations.models import OrganizationType, Role
from tests.browser.conftest import DEFAULT_TIMEOUT_MS, PHONE_VIEWPORT
from tests.browser.test_coordinator_journey import FOCUSED_JS, UNLABELLED_CONTROLS_JS, sign_in
from tests.factories import TEST_PASSWORD, OrganizationFactory, staff, viewer_of
from tests.test_access_pages import build_world

pytestmark = pytest.mark.browser

JUMP_LINKS = [
    ("Care team", "team-heading"),
    ("What is due", "due-heading"),
    ("Recent records", "recent-records-heading"),
    ("Referrals", "referrals-heading"),
    ("Pathways", "pathways-heading"),
    ("Screening", "screening-heading"),
    ("Family members", "members-heading"),
    ("Pregnancy", "pregnancy-heading"),
    ("All records", "records-heading"),
    ("Her consents", "consents-heading"),
    ("Court orders", "court-orders-heading"),
    ("Requests to restrict sharing", "restrictions-heading"),
    ("Timeline", "timeline-heading"),
]
CALLS = [f"Phone call {n}: confirmed the next prenatal appointment" for n in range(1, 7)]


def top_of(page: Any, element_id: str) -> float:
    box = page.locator(f"#{element_id}").bounding_box()
    assert box is not None, f"#{element_id} is not shown"
    return float(box["y"]) + float(page.evaluate("window.scrollY"))


def make_world() -> Any:
    bridges = OrganizationFactory(name="Bridges Family Resource Center", type=OrganizationType.COMMUNITY)
    cps = OrganizationFactory(name="Lakeview County Child Protective Services", type=OrganizationType.CHILD_WELFARE)
    hope = OrganizationFactory(name="Hope Recovery Center", type=OrganizationType.OPIOID_TREATMENT)
    ana = staff(bridges, Role.CARE_COORDINATOR, user__first_name="Ana", user__last_name="Rivera")
    carl = staff(cps, Role.CPS_CASEWORKER, user__first_name="Carl", user__last_name="Jensen")
    world = build_world(ana, carl, hope)
    family_services.pregnancy_start(
        viewer=viewer_of(ana), family=world.family, estimated_due_on=clock.today() + timedelta(weeks=12)
    )
    for summary in CALLS:
        note_add(viewer=viewer_of(ana), family=world.family, kind="contact_log", summary=summary)
    return world


def test_a_coordinator_meets_team_due_and_recent_records_first_and_jumps_to_the_rest(
    page: Any, browser: Any, live_server: Any, browser_log: Any, shoot: Any
) -> None:
    shoot.prefix = "family-layout-"
    world = make_world()
    family_url = f"/families/{world.family.pk}/"

    sign_in(page, world.coordinator.user.username)
    page.goto(family_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Maria Lopez")
    expect(page.get_by_test_id("stage")).to_have_text(
        "28 weeks pregnant · coordinated by Ana Rivera (Bridges Family Resource Center)"
    )
    expect(page.get_by_test_id("last-activity")).to_contain_text("Last activity")

    # The first part of the page: her team, then what is due and the latest records. Above the team there is
    # only her summary, the 42 CFR 2.32 notice (a Part 2 record is shown), the page's actions and its jump links.
    headings = page.locator("main h2").all_inner_texts()
    assert headings[:3] == ["Records protected by 42 CFR Part 2 are shown on this page", "On this page", "Care team"]
    assert top_of(page, "team-heading") < 1.2 * 900
    team = page.get_by_test_id("care-team").locator("tbody tr")
    expect(team).to_have_count(5)
    due = page.get_by_role("region", name="What is due")
    expect(due).to_contain_text("Baby due")
    expect(due).to_contain_text("28 weeks 0 days today")
    recent = page.get_by_role("region", name="Recent records")
    expect(recent.locator("li")).to_have_count(4)
    expect(recent.locator("li").first).to_contain_text(CALLS[-1])
    members_top = top_of(page, "members-heading")
    for heading in ("team-heading", "due-heading", "recent-records-heading"):
        assert top_of(page, heading) < members_top
    # Desktop: what is due sits beside the recent records, both within the first two screens.
    assert abs(top_of(page, "due-heading") - top_of(page, "recent-records-heading")) < 40
    assert top_of(page, "recent-records-heading") < 2 * 900
    # Court orders, restrictions and the timeline come after everything a coordinator needs first.
    for later in ("court-orders-heading", "restrictions-heading", "timeline-heading"):
        assert top_of(page, later) > members_top
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    shoot("desktop")

    # "On this page": a named navigation landmark with a link to every section, in the page's order.
    nav = page.get_by_role("navigation", name="On this page")
    expect(nav.get_by_role("link")).to_have_text([label for label, _ in JUMP_LINKS])
    for label, target in JUMP_LINKS:
        expect(nav.get_by_role("link", name=label, exact=True)).to_have_attribute("href", f"#{target}")

    # By keyboard: Enter on a jump link brings its section's heading into view.
    nav.get_by_role("link", name="Court orders").focus()
    assert page.evaluate(FOCUSED_JS) == "a: Court orders"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#court-orders-heading$"))
    expect(page.locator("#court-orders-heading")).to_be_in_viewport()
    expect(page.locator("#team-heading")).not_to_be_in_viewport()
    shoot("jumped-to-court-orders")

    # From the recent records to all of them.
    page.goto(family_url)
    recent.get_by_role("link", name="See all 9 records").click()
    expect(page).to_have_url(re.compile(r"#records-heading$"))
    expect(page.locator("#records-heading")).to_be_in_viewport()
    expect(page.get_by_test_id("records").locator("tbody tr")).to_have_count(9)

    # A phone: the same order top to bottom; the team reads as short cards, the jump links in two columns.
    page.set_viewport_size(PHONE_VIEWPORT)
    page.goto(family_url)
    expect(nav.get_by_role("link", name="Timeline")).to_be_visible()
    assert top_of(page, "team-heading") < top_of(page, "due-heading") < top_of(page, "recent-records-heading")
    assert top_of(page, "recent-records-heading") < top_of(page, "members-heading")
    team_box = page.get_by_test_id("care-team").bounding_box()
    assert team_box is not None and team_box["height"] < 5 * 160, "each team member fits in a short card"
    no_overflow = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert no_overflow, "nothing on the page is wider than the phone"
    shoot("phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    browser_log.assert_clean()

    # Without JavaScript: every section is on the page, open, and every jump link works.
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        plain = context.new_page()
        plain.goto("/accounts/login/")
        plain.get_by_label("Username", exact=True).fill(world.coordinator.user.username)
        plain.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
        plain.get_by_role("button", name="Sign in").click()
        expect(plain).to_have_url(re.compile(r"/families/$"))
        plain.goto(family_url)
        for label, target in JUMP_LINKS:
            plain.get_by_role("navigation", name="On this page").get_by_role("link", name=label, exact=True).click()
            expect(plain).to_have_url(re.compile(rf"#{target}$"))
            expect(plain.locator(f"#{target}")).to_be_visible()
            expect(plain.locator(f"#{target}")).to_be_in_viewport()
        expect(plain.get_by_test_id("timeline")).to_contain_text("Created the family of Maria Lopez")
    finally:
        context.close()
