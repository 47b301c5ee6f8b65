"""Real-browser journey (issue 16): multi-factor sign-in and staff who join and leave.

The deployment requires a second sign-in step. The programme lead of a peer recovery organisation signs in with
her password and a code from her authenticator app, opens Staff and invites a new peer recovery coach (first with
a mistyped email address, which the form points out next to the field). The test reads the invitation from the
email a real SMTP server received and opens its link in a fresh browser: the coach chooses her username and
password (a too-short one first), sets up her authenticator app from the key shown under the QR code (a wrong code
first), sees her recovery codes once, and reaches her caseload. She then holds two places: she coordinates a family
of her own, and she is on the care team of a community organisation's family. Later she leaves: her lead, signed
in with a recovery code, closes her account. Closing it without naming who takes over the family she coordinates
is refused; with a colleague named for it (and her other place simply ending) it goes through, each family's
timeline says so, and the coach's open browser is sent to the sign-in page on its next click.

Headless Debian Chromium (Playwright, sync API) against pytest-django's live server. Every page state is shot, and
each shot runs axe-core (WCAG 2.1 A/AA) at the desktop width and at a phone's. Screenshots go to var/screenshots/
(prefix ``staff-``). Names are invented.
"""

from __future__ import annotations

import base64
import re
import time
from typing import Any

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from kinfold.families import services as family_services
from kinfold.families.models import CareTeamMember, Family, FamilyActivity
from kinfold.organizations.models import Membership, Organization, OrganizationType, Role
from kinfold.staff import mfa
from kinfold.staff.models import Invitation
from tests.browser.conftest import DEFAULT_TIMEOUT_MS, watched_page
from tests.browser.test_consent_journey import log_out
from tests.browser.test_coordinator_journey import UNLABELLED_CONTROLS_JS, caseload_rows
from tests.browser.test_referral_journey import emails_to, shooting
from tests.factories import TEST_PASSWORD, consent_team_wide, make_family, staff, viewer_of

pytestmark = pytest.mark.browser

PIA_EMAIL = "pia@example.org"
PIA_USERNAME = "pia.morales"
PIA_PASSWORD = "lantern meadow 7 rivers"
ORG = "Hope Peer Recovery Network"
WRONG_CODE = re.compile(r"^That code did not work\. Check the time on your phone")


def app_code(key: bytes) -> str:
    """What her authenticator app shows now."""
    return f"{totp(key):06d}"


def not_a_code(key: bytes) -> str:
    """Six digits the app shows neither now nor in the windows either side (which the server also accepts)."""
    valid = {f"{totp(key, drift=d):06d}" for d in (-1, 0, 1)}
    return next(c for c in ("123456", "654321", "000000") if c not in valid)


def key_on_screen(page: Any) -> bytes:
    """The key as she would type it into her app: base32 in groups of four."""
    typed = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    return base64.b32decode(typed + "=" * (-len(typed) % 8))


def wait_until_app_may_try_again(user: Any) -> None:
    """After a wrong code the app refuses another try for a second (django-otp's throttling); a person takes
    longer than that to read the next code. Wait as she would, no longer."""
    deadline = time.monotonic() + DEFAULT_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        device = TOTPDevice.objects.get(user=user, confirmed=False)
        if device.verify_is_allowed()[0]:
            return
        time.sleep(0.1)
    raise AssertionError("the authenticator app stayed throttled")


def sign_in_with_second_step(page: Any, username: str, code: str, shoot: Any, name: str) -> None:
    """Password first, then the second step's page, which shows no menu until she gives her code."""
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/accounts/second-factor/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your code")
    expect(page.get_by_role("link", name="My caseload")).to_have_count(0)
    expect(page.get_by_role("link", name="Staff", exact=True)).to_have_count(0)
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    page.get_by_label("Code", exact=True).fill(code)
    shoot(name)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/families/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My caseload")


def field_error(page: Any, field_id: str) -> Any:
    """A field's error message, next to it and tied to it for a screen reader."""
    control = page.locator(f"#{field_id}")
    expect(control).to_have_attribute("aria-invalid", "true")
    expect(control).to_have_attribute("aria-describedby", re.compile(rf"\b{field_id}_error\b"))
    return page.locator(f"#{field_id}_error")


def test_lead_invites_a_coach_who_enrols_her_second_factor_then_leaves_and_her_families_are_handed_over(
    page: Any,
    browser_log: Any,
    shoot: Any,
    browser: Any,
    live_server: Any,
    smtp_server: Any,
    settings: Any,
) -> None:
    shoot.prefix = "staff-"
    settings.KINFOLD_REQUIRE_MFA = True  # the live server runs in this process: every sign-in has two steps
    settings.KINFOLD_SITE_URL = live_server.url  # the emailed link points at this server

    hope = Organization.objects.create(name=ORG, type=OrganizationType.PEER_RECOVERY)
    bridges = Organization.objects.create(name="Bridges Family Resource Center", type=OrganizationType.COMMUNITY)
    grace = staff(hope, Role.PROGRAMME_LEAD, user__first_name="Grace", user__last_name="Holloway")
    tamara = staff(hope, Role.PEER_RECOVERY_COACH, user__first_name="Tamara", user__last_name="Quinn")
    ana = staff(bridges, Role.CARE_COORDINATOR, user__first_name="Ana", user__last_name="Rivera")
    maria = make_family(ana, given_name="Maria", family_name="Lopez")
    consent_team_wide(maria, by=ana)  # her care team's organisations may see her name: a newcomer to it, too
    # Grace set up her authenticator app long ago, and saved her recovery codes.
    grace_app = TOTPDevice.objects.create(user=grace.user, confirmed=True, name=mfa.TOTP_NAME)
    grace_recovery_codes = mfa.new_recovery_codes(grace.user)

    # --- 1. Grace signs in (password, then her app's code) and invites Pia ------------------------------------
    sign_in_with_second_step(page, grace.user.username, app_code(grace_app.bin_key), shoot, "lead-code")
    shoot("lead-caseload")
    page.get_by_role("link", name="Staff", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Staff of {ORG}")
    expect(page.get_by_role("link", name="Staff", exact=True)).to_have_attribute("aria-current", "page")
    people = page.get_by_test_id("staff-table").locator("tbody tr")
    expect(people).to_have_count(2)
    expect(people.filter(has_text="Grace Holloway").locator('[data-label="Second step"]')).to_have_text("Set up")
    expect(people.filter(has_text="Tamara Quinn").locator('[data-label="Role"]')).to_have_text("Peer recovery coach")
    expect(page.get_by_text("No invitations are waiting.")).to_be_visible()
    shoot("list")

    page.get_by_role("link", name="Invite someone").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invite someone to your organisation")
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
    page.get_by_label("First name", exact=True).fill("Pia")
    page.get_by_label("Last name", exact=True).fill("Morales")
    page.get_by_label("Email address", exact=True).fill("pia.example.org")  # the @ forgotten
    page.get_by_label("Role", exact=True).select_option(label="Peer recovery coach")
    page.get_by_label("Job title").fill("Peer recovery coach, perinatal")
    shoot("invite")
    page.get_by_role("button", name="Send the invitation").click()
    expect(field_error(page, "id_email")).to_have_text("Enter a valid email address.")
    # Only the mistake is pointed out; what she typed elsewhere is kept.
    expect(page.locator(".usa-error-message")).to_have_count(1)
    expect(page.get_by_label("First name", exact=True)).to_have_value("Pia")
    expect(page.get_by_label("Role", exact=True)).to_have_value(Role.PEER_RECOVERY_COACH)
    assert not Invitation.objects.exists()
    shoot("invite-bad-email")
    page.get_by_label("Email address", exact=True).fill(PIA_EMAIL)
    page.get_by_role("button", name="Send the invitation").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Staff of {ORG}")
    expect(page.get_by_role("status").filter(has_text=f"Invitation sent to {PIA_EMAIL}.")).to_be_visible()
    waiting = page.get_by_role("table").filter(has_text=PIA_EMAIL).locator("tbody tr")
    expect(waiting).to_have_count(1)
    expect(waiting.locator('[data-label="Name"]')).to_have_text("Pia Morales")
    expect(waiting.locator('[data-label="Role"]')).to_have_text("Peer recovery coach")
    expect(waiting.get_by_role("button", name="Send again to Pia Morales")).to_be_visible()
    shoot("invitation-waiting")
    log_out(page)

    # --- 2. Pia opens the emailed link in her own browser ------------------------------------------------------
    (email,) = emails_to(smtp_server, PIA_EMAIL, count=1)
    assert email["Subject"] == f"Join {ORG} on Kinfold"
    body = email.get_content()
    assert f"Grace Holloway invites you to join {ORG} on Kinfold as peer recovery coach." in body
    found = re.search(rf"{re.escape(live_server.url)}/accounts/join/[A-Za-z0-9_-]+/", body)
    assert found is not None, body
    link = found.group(0)

    with watched_page(browser, live_server, browser_log) as pia_page:
        with shooting(shoot, pia_page):
            assert pia_page.context.cookies() == []
            pia_page.goto(link)
            expect(pia_page.get_by_role("heading", level=1)).to_have_text(f"Join {ORG}")
            expect(pia_page.get_by_role("main")).to_contain_text(
                "Grace Holloway invited you, Pia Morales, to work on Kinfold as peer recovery coach"
            )
            expect(pia_page.get_by_label("Username", exact=True)).to_have_value("pia")
            assert pia_page.evaluate(UNLABELLED_CONTROLS_JS) == []
            shoot("join")
            pia_page.get_by_label("Username", exact=True).fill(PIA_USERNAME)
            pia_page.get_by_label("Password", exact=True).fill("short7")
            pia_page.get_by_label("The same password again", exact=True).fill("short7")
            pia_page.get_by_role("button", name="Create my account").click()
            expect(field_error(pia_page, "id_password1")).to_contain_text(
                "This password is too short. It must contain at least 12 characters."
            )
            expect(pia_page.get_by_label("Username", exact=True)).to_have_value(PIA_USERNAME)
            assert not Membership.objects.filter(user__username=PIA_USERNAME).exists()
            shoot("join-short-password")
            pia_page.get_by_label("Password", exact=True).fill(PIA_PASSWORD)
            pia_page.get_by_label("The same password again", exact=True).fill(PIA_PASSWORD)
            pia_page.get_by_role("button", name="Create my account").click()

            # She is signed in, but goes nowhere until her authenticator app is set up.
            expect(pia_page).to_have_url(re.compile(r"/accounts/second-factor/set-up/"))
            expect(pia_page.get_by_role("heading", level=1)).to_have_text("Set up your second sign-in step")
            expect(pia_page.get_by_role("img", name=re.compile("^QR code for setting up Kinfold"))).to_be_visible()
            expect(pia_page.get_by_role("link", name="Not now")).to_have_count(0)  # required here
            expect(pia_page.get_by_role("link", name="My caseload")).to_have_count(0)
            assert pia_page.evaluate(UNLABELLED_CONTROLS_JS) == []
            shoot("coach-set-up")
            pia = Membership.objects.select_related("user").get(user__username=PIA_USERNAME)
            assert (pia.organization_id, pia.role, pia.title) == (
                hope.pk,
                Role.PEER_RECOVERY_COACH,
                "Peer recovery coach, perinatal",
            )
            pia_page.goto("/families/")  # the menu's pages wait for the second step
            expect(pia_page).to_have_url(re.compile(r"/accounts/second-factor/set-up/"))

            key = key_on_screen(pia_page)
            pia_page.get_by_label("The 6-digit code your app shows").fill(not_a_code(key))
            pia_page.get_by_role("button", name="Confirm").click()
            expect(field_error(pia_page, "id_code")).to_have_text(WRONG_CODE)
            assert key_on_screen(pia_page) == key  # the same key: the app she added still fits
            assert not mfa.has_authenticator(pia.user)
            shoot("coach-set-up-wrong-code")
            wait_until_app_may_try_again(pia.user)
            pia_page.get_by_label("The 6-digit code your app shows").fill(app_code(key))
            pia_page.get_by_role("button", name="Confirm").click()

            expect(pia_page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
            expect(pia_page.get_by_role("status")).to_have_text("Your authenticator app is set up.")
            codes = pia_page.get_by_test_id("recovery-codes").locator("li")
            expect(codes).to_have_count(mfa.RECOVERY_CODE_COUNT)
            expect(codes.first).to_have_text(re.compile(r"^[a-z0-9]{4}-[a-z0-9]{4}$"))
            expect(pia_page.get_by_role("main")).to_contain_text("they are shown only this once")
            shoot("coach-recovery-codes")
            assert mfa.has_authenticator(pia.user) and mfa.recovery_codes_left(pia.user) == mfa.RECOVERY_CODE_COUNT
            pia_page.get_by_role("link", name="I have saved them — continue").click()
            expect(pia_page).to_have_url(re.compile(r"/families/$"))
            expect(pia_page.get_by_role("heading", level=1)).to_have_text("My caseload")
            expect(pia_page.get_by_role("link", name="Staff", exact=True)).to_have_count(0)  # not a lead
            expect(caseload_rows(pia_page)).to_have_count(0)
            shoot("coach-caseload-empty")

            # She gets to work: Ana puts her on Maria's care team, and she starts coordinating a family herself.
            family_services.care_team_member_add(
                viewer=viewer_of(ana), family=maria, membership=pia, role=Role.PEER_RECOVERY_COACH
            )
            jasmine = make_family(pia, given_name="Jasmine", family_name="Okafor")
            pia_page.reload()
            expect(caseload_rows(pia_page)).to_have_count(2)
            expect(caseload_rows(pia_page).filter(has_text="Jasmine Okafor")).to_contain_text("Pia Morales")
            expect(caseload_rows(pia_page).filter(has_text="Maria Lopez")).to_contain_text("Ana Rivera")
            shoot("coach-caseload")

        # --- 3. Pia leaves: Grace hands her families over and closes her account -----------------------------
        # Her app's code was used a moment ago (one code signs in once); she types a recovery code instead.
        sign_in_with_second_step(page, grace.user.username, grace_recovery_codes[0], shoot, "lead-recovery-code")
        expect(
            page.get_by_role("status").filter(has_text="You signed in with a recovery code; 9 left.")
        ).to_be_visible()
        shoot("lead-signed-in-with-recovery-code")
        page.get_by_role("link", name="Staff", exact=True).click()
        expect(page.get_by_text("No invitations are waiting.")).to_be_visible()  # she accepted
        people = page.get_by_test_id("staff-table").locator("tbody tr")
        expect(people).to_have_count(3)
        pia_row = people.filter(has_text="Pia Morales")
        expect(pia_row.locator('[data-label="Families (coordinates)"]')).to_have_text("2 (1)")
        expect(pia_row.locator('[data-label="Second step"]')).to_have_text("Set up")
        expect(pia_row.locator('[data-label="Account"]')).to_have_text("Active")
        shoot("list-with-coach")
        pia_row.get_by_role("link", name="Pia Morales").click()

        expect(page.get_by_role("heading", level=1)).to_have_text("Pia Morales")
        expect(page.get_by_role("main")).to_contain_text("She holds a place on 2 families' care teams.")
        expect(page.get_by_role("main")).to_contain_text(f"Family {jasmine.pk} — Peer recovery coach (coordinator)")
        expect(page.get_by_role("main")).to_contain_text(f"Family {maria.pk} — Peer recovery coach")
        expect(page.get_by_role("main")).to_contain_text("She has set up an authenticator app.")
        assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
        shoot("member")
        page.get_by_role("link", name="Hand over and close her account").click()

        expect(page).to_have_url(re.compile(rf"/staff/{pia.pk}/hand-over/\?action=deactivate$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Close Pia Morales's account")
        everyone = page.get_by_label("For every family below, unless you choose otherwise")
        # Her active colleagues, the lead among them.
        expect(everyone.locator("option")).to_have_text(
            ["- Choose family by family -", "Grace Holloway (Programme lead)", "Tamara Quinn (Peer recovery coach)"]
        )
        for_jasmine = page.get_by_label(f"Who takes over family {jasmine.pk}")
        for_maria = page.get_by_label(f"Who takes over family {maria.pk}")
        # A family she coordinates cannot be left without a coordinator: no "nobody" for it.
        expect(for_jasmine.locator("option", has_text="Nobody")).to_have_count(0)
        expect(for_maria.locator("option", has_text="Nobody: her place ends")).to_have_count(1)
        assert page.evaluate(UNLABELLED_CONTROLS_JS) == []
        shoot("hand-over")

        # Her place on Maria's team may simply end; but nobody is named for Jasmine, whom she coordinates.
        for_maria.select_option(label="Nobody: her place ends")
        page.get_by_role("button", name="Hand over and close her account").click()
        refusal = page.get_by_role("alert")
        expect(refusal).to_have_text(
            f"Family {jasmine.pk}: she coordinates this family. Choose a colleague to take over, so the family is "
            "never left without a coordinator."
        )
        # What she chose for Maria is still chosen.
        expect(for_maria).to_have_value("end")
        expect(page.get_by_role("main")).to_contain_text("A family she coordinates needs a colleague to take over")
        pia.refresh_from_db()
        pia.user.refresh_from_db()
        assert pia.is_active and pia.user.is_active  # nothing happened
        assert CareTeamMember.objects.active().filter(membership=pia).count() == 2
        shoot("hand-over-refused")

        everyone.select_option(label="Tamara Quinn (Peer recovery coach)")
        page.get_by_role("button", name="Hand over and close her account").click()

        expect(page).to_have_url(re.compile(rf"/staff/{pia.pk}/$"))
        expect(
            page.get_by_role("status").filter(
                has_text="Pia Morales's account is closed and her families handed over; 1 open session(s) ended."
            )
        ).to_be_visible()
        expect(page.get_by_role("main").locator(".usa-tag")).to_have_text("Account closed")
        expect(page.get_by_role("main")).to_contain_text("She holds no place on any family's care team.")
        expect(page.get_by_role("link", name="Hand over and close her account")).to_have_count(0)
        shoot("account-closed")
        page.get_by_role("link", name="Back to staff").click()
        people = page.get_by_test_id("staff-table").locator("tbody tr")
        expect(people.filter(has_text="Pia Morales").locator('[data-label="Account"]')).to_have_text("Closed")
        expect(people.filter(has_text="Tamara Quinn").locator('[data-label="Families (coordinates)"]')).to_have_text(
            "1 (1)"
        )
        shoot("list-after")

        # Pia's browser, still open on her caseload: her session ended with her account.
        with shooting(shoot, pia_page):
            pia_page.get_by_role("link", name="Jasmine Okafor").click()
            expect(pia_page).to_have_url(re.compile(r"/accounts/login/"))
            expect(pia_page.get_by_role("heading", level=1)).to_have_text("Sign in")
            expect(pia_page.get_by_role("main")).not_to_contain_text("Jasmine")
            shoot("coach-signed-out")
            pia_page.get_by_label("Username", exact=True).fill(PIA_USERNAME)
            pia_page.get_by_label("Password", exact=True).fill(PIA_PASSWORD)
            pia_page.get_by_role("button", name="Sign in").click()
            expect(pia_page.get_by_role("alert")).to_contain_text("Please enter a correct username and password")
            expect(pia_page).to_have_url(re.compile(r"/accounts/login/"))
            shoot("coach-cannot-sign-in")

    browser_log.assert_clean()

    # --- 4. The database agrees -----------------------------------------------------------------------------
    pia.refresh_from_db()
    pia.user.refresh_from_db()
    assert not pia.is_active and not pia.user.is_active
    assert not CareTeamMember.objects.active().filter(membership=pia).exists()
    # Jasmine's family: Tamara is now its one coordinator.
    jasmine_coordinators = CareTeamMember.objects.active().filter(care_team__family=jasmine, is_coordinator=True)
    assert [m.membership_id for m in jasmine_coordinators] == [tamara.pk]
    # Maria's family: Pia's place ended, nobody took it; Ana still coordinates.
    maria_team = CareTeamMember.objects.active().filter(care_team__family=maria)
    assert {(m.membership_id, m.is_coordinator) for m in maria_team} == {(ana.pk, True)}
    assert CareTeamMember.objects.filter(care_team__family=maria, membership=pia, left_at__isnull=False).exists()
    # Each family's timeline says what happened and why.
    family: Family
    for family in (jasmine, maria):
        lines = list(FamilyActivity.objects.filter(family=family, verb="team_handed_over"))
        assert len(lines) == 1, [line.summary for line in lines]
        assert "Pia Morales" in lines[0].summary and "her account was closed" in lines[0].summary
    (to_tamara,) = FamilyActivity.objects.filter(family=jasmine, verb="team_handed_over")
    assert "Tamara Quinn" in to_tamara.summary
    assert Invitation.objects.get(email=PIA_EMAIL).accepted_user_id == pia.user_id
