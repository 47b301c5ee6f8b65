"""Real-browser check of issue 11's "consent expiring a century out": a coordinator types 2126 for 2026, the
capture page stops her beside the end date with the date in words and a box to confirm; she ticks it, reads,
and the consent is signed with the far date. Every page passes axe-core (the ``shoot`` helper).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from kinfold import clock
from kinfold.consent.models import ConsentDirective
from kinfold.consent.summaries import long_date
from kinfold.families import services as family_services
from kinfold.organizations.models import OrganizationType, Role
from tests.browser.test_coordinator_journey import UNLABELLED_CONTROLS_JS, sign_in
from tests.factories import OrganizationFactory, consent_team_wide, make_family, staff, viewer_of

pytestmark = pytest.mark.browser


def test_a_century_long_consent_needs_a_ticked_box(page: Any, browser_log: Any, shoot: Any) -> None:
    shoot.prefix = "consent-horizon-"
    bridges = OrganizationFactory(name="Bridges Family Resource Center", type=OrganizationType.COMMUNITY)
    cps = OrganizationFactory(name="Lakeview County Child Protective Services", type=OrganizationType.CHILD_WELFARE)
    hope = OrganizationFactory(name="Hope Recovery Center", type=OrganizationType.OPIOID_TREATMENT)
    ana = staff(bridges, Role.CARE_COORDINATOR, user__first_name="Ana", user__last_name="Rivera")
    carl = staff(cps, Role.CPS_CASEWORKER)
    tess = staff(hope, Role.SUD_COUNSELOR)
    maria = make_family(ana, given_name="Maria", family_name="Lopez")
    for member, role in ((carl, Role.CPS_CASEWORKER), (tess, Role.SUD_COUNSELOR)):
        family_services.care_team_member_add(viewer=viewer_of(ana), family=maria, membership=member, role=role)
    consent_team_wide(maria, by=ana)

    sign_in(page, ana.user.username)
    page.goto(f"/families/{maria.pk}/consents/new/?template=cps_status&lang=en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your consent: who may share your information")
    # A slip of the year: a hundred years out.
    century = clock.today() + timedelta(days=36525)
    page.get_by_label("End date").fill(century.isoformat())
    browser_log.allow_console_error(r"status of 400")
    page.get_by_role("button", name="Next: read it and sign").click()

    expect(page.locator("#id_expires_on_error")).to_have_text(
        f"This consent would last until {long_date(century, 'en')}, more than 5 years from now. Check the date. "
        "If it is right, tick the box to confirm."
    )
    expect(page.locator("#form-error-summary")).to_contain_text("Please fix 1 thing below.")
    confirm = page.get_by_label("Yes, the end date is right.")
    expect(confirm).not_to_be_checked()
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    shoot("far-end-date")
    assert not ConsentDirective.objects.filter(family=maria, title="CPS status updates").exists()

    page.get_by_text("Yes, the end date is right.").click()
    expect(confirm).to_be_checked()
    page.get_by_role("button", name="Next: read it and sign").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Read it and sign")
    expect(page.get_by_test_id("consent-summary")).to_contain_text(f"until {long_date(century, 'en')}.")
    shoot("far-end-date-read")
    page.get_by_label("Full name of the person signing").fill("Maria Lopez")
    page.get_by_label("Type your full name to sign").fill("Maria Lopez")
    page.get_by_role("button", name="Sign", exact=True).click()

    expect(page.get_by_role("status").filter(has_text="The consent is signed and recorded.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/consents/\d+/$"))
    version = ConsentDirective.objects.get(family=maria, title="CPS status updates").versions.get()
    assert version.expires_at is not None and clock.local_date(version.expires_at) == century
    browser_log.assert_clean()
