"""Real-browser journey (issue 12, "What it must show"): closed-loop referrals over the service directory.

A coordinator searches the directory for her family: buprenorphine, within 15 miles of her home ZIP code (40508,
Lexington KY), accepting pregnant people. She sees the one provider that fits and why, opens it, sees what the
referral will carry under the parent's consent, and sends it. The provider (a Part 2 opioid treatment programme)
has Kinfold accounts: its intake nurse finds the referral under "Referrals waiting on us" and accepts it. The
coordinator then refers the family to a housing agency that has no Kinfold accounts: the test reads the one-time
link from the email a real SMTP server received, opens it in a fresh browser with no session, and declines with a
reason and words; the same link then shows "This link cannot be used". Last, the coordinator sees both loops on
the family page and on each referral's page: the programme's answer first only as "Answered" (what a Part 2
programme says reaches her organisation only under the parent's consent), then, once that consent is recorded,
"Accepted"; and the housing agency's decline with its reason.

Headless Debian Chromium (Playwright, sync API) against pytest-django's live server. Every page visited is shot,
and each shot runs axe-core (WCAG 2.1 A/AA) at the desktop width and at a phone's. Screenshots go to
var/screenshots/ (prefix ``referral-``). Names are invented.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from kinfold import clock
from kinfold.consent import services as consent_services
from kinfold.consent.models import Disclosure
from kinfold.directory import geo
from kinfold.directory.models import DirectoryOrganization, Location, Need, Service, ServiceAtLocation
from kinfold.directory.services import service_refresh_search_text
from kinfold.families.models import Family, Insurance
from kinfold.organizations.models import Membership, Organization, OrganizationType, Role
from kinfold.referrals.models import Referral, ReferralEvent, ReferralLink, ReferralStatus
from tests.browser.conftest import DEFAULT_TIMEOUT_MS, watched_page
from tests.browser.test_consent_journey import log_out
from tests.browser.test_coordinator_journey import UNLABELLED_CONTROLS_JS, sign_in
from tests.factories import make_family, staff, viewer_of

pytestmark = pytest.mark.browser

HOME_ZIP = "40508"  # Lexington, KY
COUNTY = "Lakeview County"
PARENT = "Renee Carter"
HOUSING_INTAKE_EMAIL = "intake@bluegrass-housing.example.org"
HOUSING_CONTACT = "Rosa Delgado"
DECLINE_WORDS = "Our family units are full until March. We have put her on our waiting list."
MOUD_HOPE = "She wants to start buprenorphine before the baby comes."
HOUSING_HOPE = "A safe place to live with her baby; her lease ends next month."
EN_DASH = "\N{EN DASH}"  # the result count says "Showing 1<en dash>3 of 3 services"
ANSWER_LINK = re.compile(r"https?://[^\s/]+/referrals/answer/[A-Za-z0-9_-]{43}/")
WITHHELD = (
    "Hope Recovery Center answered. What it said is protected by federal law (42 CFR Part 2); her consent does not "
    "let it reach your organisation."
)


# --- the world ---------------------------------------------------------------------------------------------


def listing(
    key: str,
    *,
    organization_name: str,
    service_name: str,
    point: tuple[float, float],
    address: str,
    city: str,
    postal_code: str,
    needs: list[str],
    kinfold_org: Organization | None = None,
    intake_contact_name: str = "",
    intake_email: str = "",
    **attributes: Any,
) -> Service:
    """One directory listing, made with the ORM as an import would: its organisation, the service, one place."""
    directory_org = DirectoryOrganization.objects.create(
        hsds_id=f"org-{key}",
        name=organization_name,
        organization=kinfold_org,
        intake_contact_name=intake_contact_name,
        intake_email=intake_email,
    )
    service = Service.objects.create(
        hsds_id=f"svc-{key}",
        organization=directory_org,
        name=service_name,
        needs=needs,
        assured_date=clock.today() - timedelta(days=30),  # checked by its organisation a month ago: not stale
        **attributes,
    )
    location = Location.objects.create(
        hsds_id=f"loc-{key}",
        organization=directory_org,
        name=organization_name,
        address_1=address,
        city=city,
        county=COUNTY,
        state_province="KY",
        postal_code=postal_code,
        latitude=point[0],
        longitude=point[1],
    )
    ServiceAtLocation.objects.create(hsds_id=f"sal-{key}", service=service, location=location)
    service_refresh_search_text(service=service)
    return service


def miles_from_home(service: Service) -> float:
    home = geo.zip_centroid(HOME_ZIP)
    assert home is not None
    location = service.at_locations.get().location
    assert location.latitude is not None and location.longitude is not None
    return geo.haversine_miles(home, (location.latitude, location.longitude))


def buprenorphine_listing(key: str, **kwargs: Any) -> Service:
    defaults: dict[str, Any] = {
        "needs": [Need.MOUD, Need.SUD_TREATMENT],
        "moud_buprenorphine": True,
        "accepts_medicaid": True,
        "languages": ["en", "es"],
        "counties": [COUNTY],
    }
    return listing(key, **{**defaults, **kwargs})


def consent(family: Family, *, by: Membership, title: str, **terms: Any) -> None:
    """A consent she has just signed with her coordinator (recorded through the consent service)."""
    consent_services.consent_record(
        viewer=viewer_of(by),
        family=family,
        title=title,
        terms=consent_services.ConsentTerms(
            expires_at=clock.now() + timedelta(days=365),
            signer_name=PARENT,
            signature_typed=PARENT,
            **terms,
        ),
    )


# --- the browser -------------------------------------------------------------------------------------------


@contextmanager
def shooting(shoot: Any, other: Any) -> Iterator[None]:
    """Point ``shoot`` (screenshots and axe) at another page for a while, keeping one numbered series."""
    page, checked = shoot.page, shoot.accessibility.page
    shoot.page = shoot.accessibility.page = other
    try:
        yield
    finally:
        shoot.page, shoot.accessibility.page = page, checked


def emails_to(smtp_server: Any, address: str, *, count: int) -> list[Any]:
    """The messages the SMTP server received for ``address``, once ``count`` of them have arrived (they are sent
    when the request's transaction commits, so they may trail the page by a moment)."""
    deadline = time.monotonic() + DEFAULT_TIMEOUT_MS / 1000
    while len(smtp_server.to(address)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    messages = smtp_server.to(address)
    assert len(messages) == count, f"{address} received {len(messages)} emails, expected {count}"
    return messages


def referral_rows(page: Any) -> Any:
    return page.get_by_test_id("referrals-section").locator("tbody tr")


def history(page: Any) -> Any:
    return page.get_by_test_id("referral-history").locator("li")


def test_coordinator_refers_to_a_buprenorphine_provider_and_a_housing_agency_and_sees_both_loops(
    page: Any,
    browser_log: Any,
    shoot: Any,
    browser: Any,
    live_server: Any,
    smtp_server: Any,
    settings: Any,
) -> None:
    shoot.prefix = "referral-"
    settings.KINFOLD_SITE_URL = live_server.url  # the emailed link points at this server

    bridges = Organization.objects.create(name="Bridges Family Resource Center", type=OrganizationType.COMMUNITY)
    hope = Organization.objects.create(
        name="Hope Recovery Center", type=OrganizationType.OPIOID_TREATMENT, is_part2_program=True
    )
    assert hope.is_part2_program
    ana = staff(bridges, Role.CARE_COORDINATOR, user__first_name="Ana", user__last_name="Rivera")
    nina = staff(hope, Role.NURSE, user__first_name="Nina", user__last_name="Brooks")
    renee = make_family(
        ana,
        given_name="Renee",
        family_name="Carter",
        phone="859-555-0142",
        postal_code=HOME_ZIP,
        county=COUNTY,
        insurance=Insurance.MEDICAID,
        estimated_due_on=clock.today() + timedelta(weeks=20),  # 20 weeks pregnant today
        first_pregnancy=True,
    )

    # The directory: the provider that fits, two that do not (too far; does not say it takes pregnant people),
    # and a housing agency with no Kinfold accounts, reached by its intake email.
    provider = buprenorphine_listing(
        "hope",
        organization_name="Hope Recovery Center",
        kinfold_org=hope,
        service_name="Buprenorphine care for pregnant and parenting women",
        description="Outpatient buprenorphine treatment with prenatal care coordination and counselling.",
        point=(38.0102, -84.4274),
        address="400 Winchester Road",
        city="Lexington",
        postal_code="40509",
        accepts_pregnant=True,
        moud_continued_in_hospital=True,
        intake_contact_name="Nina Brooks",
    )
    far = buprenorphine_listing(
        "far",
        organization_name="Capital City Recovery",
        service_name="Capital City buprenorphine clinic",
        point=(38.2281, -84.8697),
        address="12 River Street",
        city="Frankfort",
        postal_code="40601",
        accepts_pregnant=True,
    )
    no_pregnant = buprenorphine_listing(
        "southside",
        organization_name="Southside Medical Group",
        service_name="Southside buprenorphine clinic",
        point=(37.9849, -84.4816),
        address="2100 Nicholasville Road",
        city="Lexington",
        postal_code="40517",
        accepts_pregnant=False,
    )
    housing = listing(
        "bluegrass-housing",
        organization_name="Bluegrass Family Housing Partners",
        service_name="Family housing help",
        description="Help finding and keeping a home for families with a baby on the way.",
        point=(38.0932, -84.5007),
        address="75 North Broadway",
        city="Lexington",
        postal_code="40511",
        needs=[Need.HOUSING],
        languages=["en"],
        counties=[COUNTY],
        accepts_pregnant=True,
        intake_contact_name=HOUSING_CONTACT,
        intake_email=HOUSING_INTAKE_EMAIL,
    )
    assert housing.organization.organization is None  # no Kinfold organisation, no accounts
    assert miles_from_home(provider) < 15 and miles_from_home(no_pregnant) < 15 < miles_from_home(far)

    # Her consents, signed with Ana: Bridges may send Hope the referral (its kind: her MOUD) and her contact
    # details, for treatment; and the referral and her contact details to a community programme such as the housing
    # agency, for care coordination. (The agency has no Kinfold organisation a consent could name before a
    # referral reaches it, so this one names the group it belongs to.) Neither covers her pregnancy.
    consent(
        renee,
        by=ana,
        title="Referral to Hope Recovery Center",
        discloser_orgs=[bridges],
        recipient_orgs=[hope],
        purposes=["treatment"],
        kinds=["identity", "medication"],
    )
    consent(
        renee,
        by=ana,
        title="Referral for housing help",
        discloser_orgs=[bridges],
        recipient_classes=["community_supports"],
        purposes=["care_coordination"],
        kinds=["identity", "social_needs"],
    )
    family_url = f"/families/{renee.pk}/"
    provider_miles = f"{miles_from_home(provider):.1f} miles"

    # --- 1. Ana searches the directory from Renee's page ---------------------------------------------------------
    sign_in(page, ana.user.username, shoot)
    page.goto(family_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(PARENT)
    expect(page.get_by_test_id("referrals-section")).to_contain_text("No referrals yet.")
    shoot("family-before")
    page.get_by_test_id("referrals-section").get_by_role("link", name="Find a service").click()

    expect(page).to_have_url(re.compile(rf"/directory/\?family={renee.pk}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Find a service")
    expect(page.get_by_role("status").filter(has_text="Searching for a family")).to_contain_text(
        "she is at 20 weeks of pregnancy"
    )
    near = page.get_by_label("Near", exact=False)
    expect(near).to_have_value(HOME_ZIP)  # her home, to start with
    shoot("directory-for-her")

    page.get_by_label("What she needs").fill("buprenorphine")
    page.get_by_role("group", name="Medication for opioid use disorder").locator("label").filter(
        has_text="Buprenorphine"
    ).click()
    page.get_by_role("button", name="Search", exact=True).click()
    results = page.locator("li.usa-collection__item")
    expect(results).to_have_count(3)
    expect(page.get_by_test_id("result-count")).to_have_text(
        f"Showing 1{EN_DASH}3 of 3 services, nearest to {HOME_ZIP} (Lexington, KY) first."
    )
    southside = results.filter(has_text="Southside buprenorphine clinic")
    expect(southside.get_by_test_id("fit")).to_contain_text("To ask: does not say it accepts pregnant people")
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    shoot("directory-buprenorphine")

    # Within 15 miles, accepting pregnant people: the provider alone.
    page.get_by_label("Within (miles)").fill("15")
    page.get_by_role("group", name="Who it takes and how").locator("label").filter(
        has_text="Accepts pregnant people"
    ).click()
    expect(page.get_by_role("checkbox", name="Accepts pregnant people")).to_be_checked()
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"radius=15"))
    expect(page).to_have_url(re.compile(r"accepts_pregnant=on"))
    expect(page.get_by_test_id("result-count")).to_have_text(
        f"Showing 1{EN_DASH}1 of 1 service, nearest to {HOME_ZIP} (Lexington, KY) first."
    )
    expect(results).to_have_count(1)
    found = results.first
    expect(found.get_by_role("heading", level=3)).to_have_text(provider.name)
    expect(found).to_contain_text(f"Hope Recovery Center · {provider_miles}")
    expect(found).not_to_contain_text(far.name)
    fit = found.get_by_test_id("fit")
    expect(fit).to_contain_text("Fits her")
    for reason in (
        f"serves {COUNTY}",
        "speaks English",
        "takes Medicaid",
        "offers buprenorphine",
        "keeps her medication going through the birth and any NICU stay",
        "accepts pregnant people",
    ):
        expect(fit).to_contain_text(reason)
    expect(page.get_by_text(no_pregnant.name)).to_have_count(0)
    expect(page.get_by_text(far.name)).to_have_count(0)
    shoot("directory-fits-her")

    # She opens it: why it fits, how far it is, and "Refer her here".
    found.get_by_role("link", name=provider.name, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/directory/services/{provider.pk}/\?family={renee.pk}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(provider.name)
    why = page.get_by_test_id("fit")
    expect(why.get_by_role("heading")).to_have_text("It fits her")
    expect(why).to_contain_text(f"Serves {COUNTY}")
    expect(why).to_contain_text("Takes Medicaid")
    expect(why).to_contain_text("Accepts pregnant people")
    expect(page.get_by_text(f"{provider_miles} from her home ZIP code")).to_be_visible()
    shoot("provider")
    page.get_by_role("link", name="Refer her here").click()

    # What will be sent: the referral and her contact details; her pregnancy is left out, and she is told why.
    expect(page).to_have_url(re.compile(rf"/referrals/new/\?family={renee.pk}&service={provider.pk}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Refer her to {provider.name}")
    expect(page.get_by_label("What she needs")).to_have_value(Need.MOUD)
    preview = page.get_by_test_id("send-preview").locator("li")
    expect(preview).to_have_count(3)
    expect(preview.filter(has_text="The referral")).to_have_attribute("data-sent", "yes")
    expect(preview.filter(has_text="Her name and contact details")).to_have_attribute("data-sent", "yes")
    pregnancy = preview.filter(has_text="Her pregnancy")
    expect(pregnancy).to_have_attribute("data-sent", "no")
    expect(pregnancy).to_contain_text(
        "left out: no consent in force lets Bridges Family Resource Center send this to Hope Recovery Center for "
        "treatment (“your pregnancy (due date and birth)”, in her consent's words)"
    )
    page.get_by_label("What she is hoping for").fill(MOUD_HOPE)
    page.get_by_label("Warm hand-off note").fill("Best reached by text after 3 pm.")
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    shoot("refer-to-provider")
    page.get_by_role("button", name="Send the referral").click()

    expect(page).to_have_url(re.compile(r"/referrals/\d+/$"))
    expect(page.get_by_role("status").filter(has_text="Referral sent to Hope Recovery Center.")).to_contain_text(
        "1 item left out: her consent does not cover them."
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"^Referral: Medication for opioid use disorder")
    )
    expect(page.get_by_test_id("referral-status")).to_have_text("Status: Sent, waiting for an answer")
    expect(page.get_by_test_id("left-out")).to_contain_text("Her pregnancy (due date, birth)")
    expect(page.get_by_text("Answer due by")).to_be_visible()
    shoot("provider-referral-sent")
    moud_referral = Referral.objects.get(receiving_org=hope)
    assert moud_referral.status == ReferralStatus.REQUESTED
    log_out(page)

    # --- 2. Hope's intake nurse accepts it in Kinfold ---------------------------------------------------------
    sign_in(page, nina.user.username)
    page.get_by_role("navigation", name="Primary navigation").get_by_role(
        "link", name=re.compile(r"^Referrals")
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Referrals waiting on us")
    expect(page.get_by_role("link", name="A new referral for Hope Recovery Center")).to_be_visible()
    waiting = page.get_by_test_id("inbox").locator("tbody tr")
    expect(waiting).to_have_count(1)
    expect(waiting.locator('[data-label="Need"]')).to_have_text("Medication for opioid use disorder (MOUD)")
    expect(waiting.locator('[data-label="From"]')).to_have_text("Bridges Family Resource Center")
    expect(waiting.locator('[data-label="Status"]')).to_have_text("Sent, waiting for an answer")
    shoot("inbox")
    waiting.get_by_role("link", name=PARENT).click()

    expect(page).to_have_url(re.compile(rf"/referrals/{moud_referral.pk}/$"))
    received = page.get_by_role("main")
    expect(received).to_contain_text("What you received")
    expect(received).to_contain_text(f"Name: {PARENT}")
    expect(received).to_contain_text("Phone: 859-555-0142")
    expect(received).to_contain_text("Preferred language: English")
    expect(received).to_contain_text(HOME_ZIP)
    expect(received).to_contain_text(MOUD_HOPE)
    expect(received).not_to_contain_text("pregnancy")  # left out: her consent does not cover it
    shoot("provider-receives")
    page.get_by_role("button", name="Mark “accepted”").click()
    expect(page.get_by_role("status").filter(has_text="Referral marked “accepted”.")).to_be_visible()
    expect(page.get_by_test_id("referral-status")).to_have_text("Status: Accepted")
    expect(history(page).last).to_contain_text("Nina Brooks, Hope Recovery Center")
    shoot("provider-accepted")
    log_out(page)

    # --- 3. Ana refers Renee to the housing agency, which has no accounts ------------------------------------
    sign_in(page, ana.user.username)
    page.goto(family_url)
    page.get_by_test_id("referrals-section").get_by_role("link", name="Find a service").click()
    page.get_by_label("What she needs").fill("housing")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(results).to_have_count(1)
    expect(results.first.get_by_role("heading", level=3)).to_have_text(housing.name)
    shoot("directory-housing")
    results.first.get_by_role("link", name=re.compile(rf"^Refer her here\W+{housing.name}$")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Refer her to {housing.name}")
    expect(page.get_by_text("This organisation has no Kinfold accounts")).to_contain_text(
        "its intake contact gets a one-time link by email to answer"
    )
    expect(page.get_by_label("What she needs")).to_have_value(Need.HOUSING)
    # She sees what will be sent before she sends, as for any referral (docs/referrals.md, section 5).
    preview = page.get_by_test_id("send-preview").locator("li")
    expect(preview.filter(has_text="The referral")).to_have_attribute("data-sent", "yes")
    expect(preview.filter(has_text="Her name and contact details")).to_have_attribute("data-sent", "yes")
    expect(preview.filter(has_text="Her pregnancy")).to_have_attribute("data-sent", "no")
    page.get_by_label("What she is hoping for").fill(HOUSING_HOPE)
    shoot("refer-to-housing")
    page.get_by_role("button", name="Send the referral").click()

    expect(
        page.get_by_role("status").filter(has_text="Referral sent to Bluegrass Family Housing Partners.")
    ).to_be_visible()
    expect(page.get_by_test_id("referral-status")).to_have_text("Status: Sent, waiting for an answer")
    shoot("housing-referral-sent")
    housing_referral = Referral.objects.get(need=Need.HOUSING)

    # The agency's intake contact gets the one-time link by email; the email names no one.
    (email,) = emails_to(smtp_server, HOUSING_INTAKE_EMAIL, count=1)
    assert email["Subject"] == "A referral is waiting for your answer"
    body = email.get_content()
    assert PARENT not in body and "Carter" not in body
    found_link = ANSWER_LINK.search(body)
    assert found_link is not None, body
    link = found_link.group(0)
    assert link.startswith(live_server.url)

    with watched_page(browser, live_server, browser_log) as outside, shooting(shoot, outside):
        assert outside.context.cookies() == []  # no session: whoever holds the link
        outside.goto(link)
        expect(outside.get_by_role("heading", level=1)).to_have_text("A referral for Bluegrass Family Housing Partners")
        expect(outside.get_by_role("main")).to_contain_text("From Bridges Family Resource Center (Ana Rivera)")
        sent = outside.get_by_test_id("sent-items")
        expect(sent).to_contain_text(PARENT)
        expect(sent).not_to_contain_text("pregnancy")
        expect(outside.get_by_role("main")).to_contain_text(HOUSING_HOPE)
        expect(outside.get_by_role("button", name="Accept the referral")).to_be_visible()
        expect(outside.get_by_role("link", name="My caseload")).to_have_count(0)  # not signed in
        assert outside.evaluate(UNLABELLED_CONTROLS_JS) == []
        shoot("link-answer")
        outside.get_by_label("Reason").select_option(label="No space or waiting list full")
        outside.get_by_label("In a few words").fill(DECLINE_WORDS)
        outside.get_by_role("button", name="Decline the referral").click()
        expect(outside.get_by_role("heading", level=1)).to_have_text("Thank you: your answer was recorded")
        expect(outside.get_by_role("main")).to_contain_text(
            "Bridges Family Resource Center can now see that the referral is “declined”."
        )
        shoot("link-answered")

        # The same link again: one page that reveals nothing.
        browser_log.allow_console_error(r"status of 404")
        again = outside.goto(link)
        assert again is not None and again.status == 404
        expect(outside.get_by_role("heading", level=1)).to_have_text("This link cannot be used")
        for word in ("Renee", "Carter", "Bridges", "Bluegrass", "housing"):
            expect(outside.get_by_role("main")).not_to_contain_text(word)
        shoot("link-used-again")

    # --- 4. Ana sees both loops -----------------------------------------------------------------------------
    page.goto(family_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(PARENT)
    rows = referral_rows(page)
    expect(rows).to_have_count(2)
    housing_row = rows.filter(has_text="Bluegrass Family Housing Partners")
    expect(housing_row.locator('[data-label="Status"]')).to_contain_text("Declined")
    expect(housing_row.locator('[data-label="Status"]')).to_contain_text(
        f"No space or waiting list full: {DECLINE_WORDS}"
    )
    moud_row = rows.filter(has_text="Hope Recovery Center")
    # What a Part 2 programme said reaches her organisation only as Renee's consent allows: not yet.
    expect(moud_row.locator('[data-label="Status"]')).to_have_text("Answered")
    expect(moud_row).not_to_contain_text("Accepted")
    shoot("family-loops-answered")

    moud_row.get_by_role("link", name="Medication for opioid use disorder (MOUD)").click()
    expect(page.get_by_test_id("referral-status")).to_have_text("Status: Answered")
    expect(page.get_by_text(WITHHELD)).to_be_visible()
    expect(history(page).filter(has_text="1 answer you may not see")).to_have_count(1)
    expect(page.get_by_role("main")).not_to_contain_text("Nina Brooks")
    shoot("provider-answer-protected")

    # Renee signs a consent letting Hope tell Bridges about her MOUD, for care coordination.
    consent(
        renee,
        by=ana,
        title="Hope may tell Bridges how her treatment is going",
        discloser_orgs=[hope],
        recipient_orgs=[bridges],
        purposes=["care_coordination"],
        kinds=["medication"],
    )
    page.reload()
    expect(page.get_by_test_id("referral-status")).to_have_text("Status: Accepted")
    expect(page.get_by_text(WITHHELD)).to_have_count(0)
    accepted = history(page).filter(has_text="Accepted")
    expect(accepted).to_have_count(1)
    expect(accepted).to_contain_text("Nina Brooks, Hope Recovery Center")
    shoot("provider-answer-accepted")

    page.get_by_role("link", name=PARENT).click()  # the breadcrumb, back to her page
    rows = referral_rows(page)
    expect(rows.filter(has_text="Hope Recovery Center").locator('[data-label="Status"]')).to_have_text("Accepted")
    expect(rows.filter(has_text="Bluegrass Family Housing Partners").locator('[data-label="Status"]')).to_contain_text(
        "Declined"
    )
    shoot("family-loops")

    rows.filter(has_text="Bluegrass Family Housing Partners").get_by_role("link", name="Housing").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Referral: Housing")
    expect(page.get_by_test_id("referral-status")).to_have_text("Status: Declined")
    declined = history(page).filter(has_text="Declined")
    expect(declined).to_have_count(1)
    expect(declined).to_contain_text(f"{HOUSING_CONTACT}, Bluegrass Family Housing Partners (from the emailed link)")
    expect(declined).to_contain_text("No space or waiting list full")
    expect(declined).to_contain_text(f"“{DECLINE_WORDS}”")
    expect(page.get_by_role("button", name=re.compile("^Mark"))).to_have_count(0)  # a closed loop stays closed
    shoot("housing-declined")

    browser_log.assert_clean()

    # Who was told, by email: Hope's nurse of the new referral, Ana of each answer. No email names Renee.
    (new_referral,) = emails_to(smtp_server, nina.user.email, count=1)
    assert new_referral["Subject"] == "A new referral for Hope Recovery Center"
    answered = emails_to(smtp_server, ana.user.email, count=2)
    assert {m["Subject"] for m in answered} == {"A referral you sent was answered"}
    for _recipients, message in smtp_server.messages:
        assert "Carter" not in message.get_content()

    # The database agrees: one accepted loop, one declined from the link (recorded as the listing's intake
    # contact), each send in her accounting; the link's decline is spent.
    moud_referral.refresh_from_db()
    housing_referral.refresh_from_db()
    assert moud_referral.status == ReferralStatus.ACCEPTED and moud_referral.assigned_to_id == nina.pk
    assert housing_referral.status == ReferralStatus.REJECTED and housing_referral.closed_at is not None
    decline = ReferralEvent.objects.get(referral=housing_referral, to_status=ReferralStatus.REJECTED)
    assert decline.via_link and decline.actor_name == HOUSING_CONTACT and decline.reason_code == "no_capacity"
    assert ReferralLink.objects.get(referral=housing_referral).used_actions == ["reject"]
    assert set(Disclosure.objects.filter(channel="referral").values_list("recipient_org__name", flat=True)) == {
        "Hope Recovery Center",
        "Bluegrass Family Housing Partners",
    }
