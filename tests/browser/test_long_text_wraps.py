"""Long text wraps (issue 11, "limits on every text field; long text wraps"): a note whose details are one word
of 2,000 characters, a summary and a relative's description without a space, and a name at its limit do not
widen the family page, on a desktop or on a phone. Headless Debian Chromium against the live server."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from kinfold.families import services as family_services
from kinfold.notes import services as note_services
from kinfold.organizations.models import OrganizationType, Role
from tests.browser.conftest import PHONE_VIEWPORT
from tests.browser.test_coordinator_journey import sign_in
from tests.factories import OrganizationFactory, make_family, staff, viewer_of

pytestmark = pytest.mark.browser

# How far the page reaches past the window's right edge (0 when nothing widens it).
OVERFLOW_JS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def test_a_two_thousand_character_word_does_not_widen_the_family_page(page: Any, browser_log: Any, shoot: Any) -> None:
    bridges = OrganizationFactory(name="Bridges Family Resource Center", type=OrganizationType.COMMUNITY)
    ana = staff(bridges, Role.CARE_COORDINATOR, user__first_name="Ana", user__last_name="Rivera")
    family = make_family(ana, given_name="M" * 100, family_name="Lopez")
    viewer = viewer_of(ana)
    family_services.family_member_add(
        viewer=viewer, family=family, given_name="Rosa", family_name="", category="friend", description="d" * 200
    )
    word = "https://example.org/" + "x" * 1_980
    note_services.note_add(viewer=viewer, family=family, kind="contact_log", summary="s" * 300, body=word)

    sign_in(page, ana.user.username)
    page.goto(f"/families/{family.pk}/")
    expect(page.get_by_test_id("records")).to_contain_text(word[:40])
    for viewport in ({"width": 1280, "height": 900}, PHONE_VIEWPORT):
        page.set_viewport_size(viewport)
        page.evaluate("() => new Promise((resolve) => requestAnimationFrame(() => resolve()))")
        assert page.evaluate(OVERFLOW_JS) <= 0, f"the page is wider than a {viewport['width']}px window"
        records = page.get_by_test_id("records").bounding_box()
        assert records is not None and records["x"] + records["width"] <= viewport["width"]
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^M{100} Lopez$"))
    shoot("family-with-long-text")
    browser_log.assert_clean()
