"""Real-browser journey (issue 14): START's steps with their deadlines, and a Plan of Safe Care, on a test clock.

Wednesday 11 March 2026 (the site's clock travels there; ``time-machine`` moves every clock of this process, and
the live server is a thread of it). Tamara Owens, a CPS caseworker at Lakeview County Child Protective Services
who coordinates Danielle Brooks's family, records the day of the report to child protective services (Monday
9 March) on the family page, and enrols the family in START, pairing herself with Gloria Banks, a family mentor:
the enrolment page lists the steps, those whose days are known with their due dates. She records her intake
screen and the START referral done (Tuesday 10 March), which gives the mentor's steps their dates.

Gloria signs in, finds the joint home visit under "My steps" (due within the week) and records it done; she
records the shared decision-making conversation with Danielle (one topic ticked, Danielle's decision in her
words), and the pathway's "First shared decision-making meeting" is done by that record.

Ten days later (Saturday 21 March) Tamara's caseload shows the family's overdue steps, "My steps" lists her
overdue step, and the daily reminders email her (a real SMTP server on loopback): an email that names no family
and no programme. Her supervisor hears of the steps overdue past the grace period.

Danielle's baby was born the day before. Sofia Reyes, the hospital social worker on her care team (Danielle's
team-wide consent lets the hospital read her contact and health records), starts a Plan of Safe Care before
discharge (expected in two days), adds a need for the baby and one for Danielle, agrees it with her, and prints
it: the print view, and the PDF downloaded and read back.

Headless Debian Chromium (Playwright, sync API) against pytest-django's live server. Every page state is shot and
each shot runs axe-core (WCAG 2.1 A/AA) at 1280 px and at a phone's 375 px; the caseload, "My steps" and a step
page are also shot at a phone's width and must not scroll sideways there. Screenshots go to var/screenshots/
(prefix ``pathways-``). Names are invented.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import expect
from pypdf import PdfReader

from kinfold import clock
from kinfold.families import services as family_services
from kinfold.families.models import CareTeamMember, PregnancyEpisode
from kinfold.organizations.models import Organization, OrganizationType, Role
from kinfold.pathways import services as pathway_services
from kinfold.pathways.models import (
    ChildWelfareEvent,
    NeedStatus,
    PathwayEnrolment,
    PathwayStep,
    PlanOfSafeCare,
    PlanStatus,
    SharedDecisionRecord,
    StepStatus,
)
from tests.browser.conftest import PHONE_VIEWPORT, SCREENSHOT_DIR, watched_page
from tests.browser.test_coordinator_journey import UNLABELLED_CONTROLS_JS, sign_in
from tests.browser.test_referral_journey import emails_to, shooting
from tests.factories import consent_team_wide, staff, viewer_of

pytestmark = pytest.mark.browser

ZONE = ZoneInfo("America/New_York")  # KINFOLD_TIME_ZONE: "today" on every page is the date here
DAY_ONE = datetime(2026, 3, 11, 9, 30, tzinfo=ZONE)  # a Wednesday; no federal holiday within the journey's weeks
LATER = timedelta(days=10)  # Saturday 21 March 2026
REPORT_ON = date(2026, 3, 9)  # Monday: the report to child protective services
SCREENED_ON = date(2026, 3, 10)  # Tuesday: the intake screen, and the referral to START
BORN_ON = date(2026, 3, 20)  # the day before the hospital's part
PARENT = "Danielle Brooks"
BABY = "Jayden Brooks"
START_TITLE = "START — Sobriety Treatment and Recovery Teams"
JOINT_VISIT = "First home visit by the caseworker and the family mentor together"
SDM_MEETING = "First shared decision-making meeting"
TREATMENT_REFERRAL = "Referral to substance use treatment"
HER_DECISION = (
    "I want to stay on buprenorphine through the birth and after, at Hope Recovery Center, and go to my "
    "appointments with Gloria."
)
HER_GOALS = "Take my baby home from the hospital, and keep my apartment."
BABY_NEED = "A safe place for the baby to sleep: a crib of his own, on his back, with nothing else in it"
PARENT_NEED = "Her buprenorphine dose continues without a gap after discharge"
FOOTER = "Shared only as her consent allows."
# How far the page reaches past the window's right edge (0 when nothing widens it).
OVERFLOW_JS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def long_day(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def step_rows(page: Any) -> Any:
    return page.get_by_test_id("steps").locator('[data-testid="step-row"]')


def step_row(page: Any, key: str, container: str = "steps") -> Any:
    return page.get_by_test_id(container).locator(f'[data-testid="step-row"][data-step="{key}"]')


def status_message(page: Any, words: str) -> Any:
    return page.get_by_role("status").filter(has_text=words).first


def phone_shot(page: Any, name: str) -> Path:
    """The page as a phone shows it (a full-page screenshot at 375 px): it must not scroll sideways there."""
    desktop = page.viewport_size
    page.set_viewport_size(PHONE_VIEWPORT)
    try:
        page.evaluate("() => new Promise((resolve) => requestAnimationFrame(() => resolve()))")
        assert page.evaluate(OVERFLOW_JS) <= 0, f"{name}: the page is wider than a phone's screen"
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"pathways-phone-{name}.png"
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(desktop)
    return path


def unlabelled_controls(page: Any, scope: str = "main") -> list[str]:
    """The visible form controls inside ``scope`` that no label names (``UNLABELLED_CONTROLS_JS``, scoped)."""
    everywhere = "main input, main select, main textarea, main button"
    assert everywhere in UNLABELLED_CONTROLS_JS
    within = ", ".join(f"{scope} {tag}" for tag in ("input", "select", "textarea", "button"))
    found: list[str] = page.evaluate(UNLABELLED_CONTROLS_JS.replace(everywhere, within))
    return found


def record_done(page: Any, on: date, note: str) -> None:
    form = page.get_by_test_id("done-form")
    form.get_by_label("Done on").fill(on.isoformat())
    form.get_by_label("Note (optional)").fill(note)
    form.get_by_role("button", name="Record it done").click()


def pdf_words(path: Path) -> str:
    reader = PdfReader(path)
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def test_start_steps_and_their_deadlines_then_a_plan_of_safe_care_on_a_test_clock(
    page: Any,
    browser_log: Any,
    shoot: Any,
    browser: Any,
    live_server: Any,
    smtp_server: Any,
    settings: Any,
) -> None:
    shoot.prefix = "pathways-"
    settings.KINFOLD_SITE_URL = live_server.url  # the reminder emails link here
    # The browser keeps real time; the site's clock is the test's. A CSRF cookie dated a year after the test
    # clock's day could already have expired on the browser's: keep it for the browser's session instead.
    settings.CSRF_COOKIE_AGE = None

    with time_machine.travel(DAY_ONE, tick=True) as traveller:
        today = clock.today()
        assert today == date(2026, 3, 11), "the site's clock follows the test clock"

        cps = Organization.objects.create(
            name="Lakeview County Child Protective Services", type=OrganizationType.CHILD_WELFARE
        )
        hospital = Organization.objects.create(name="Lakeview Birthing Center", type=OrganizationType.HOSPITAL)
        tamara = staff(cps, Role.CPS_CASEWORKER, user__first_name="Tamara", user__last_name="Owens")
        gloria = staff(cps, Role.FAMILY_MENTOR, user__first_name="Gloria", user__last_name="Banks")
        dale = staff(cps, Role.CPS_SUPERVISOR, user__first_name="Dale", user__last_name="Fischer")
        sofia = staff(hospital, Role.SOCIAL_WORKER, user__first_name="Sofia", user__last_name="Reyes")
        danielle = family_services.family_create(
            viewer=viewer_of(tamara),
            given_name="Danielle",
            family_name="Brooks",
            phone="859-555-0143",
            estimated_due_on=date(2026, 3, 19),
        )
        # Tamara coordinates the family; the hospital where Danielle will give birth is on her team, and her
        # team-wide consent lets its organisations share her contact and health records with each other.
        coordinator = CareTeamMember.objects.get(care_team__family=danielle, is_coordinator=True)
        assert coordinator.membership == tamara
        family_services.care_team_member_add(
            viewer=viewer_of(tamara), family=danielle, membership=sofia, role=Role.SOCIAL_WORKER
        )
        consent_team_wide(danielle, by=tamara)
        family_url = f"/families/{danielle.pk}/"
        pathways_section = page.get_by_test_id("pathways-section")

        # --- 1. Tamara records the report date and enrols the family in START, with Gloria ---------------------
        sign_in(page, tamara.user.username, shoot)
        page.goto(family_url)
        expect(pathways_section.get_by_role("heading", level=2)).to_have_text("Pathways")
        expect(pathways_section).to_contain_text("Not on a pathway.")
        shoot("family-not-on-a-pathway")
        pathways_section.get_by_role("link", name="Record a date").click()

        expect(page.get_by_role("heading", level=1)).to_have_text("Record a child-welfare date")
        page.get_by_label("What happened").select_option(label="Report to child protective services")
        page.get_by_label("On", exact=True).fill(REPORT_ON.isoformat())
        assert unlabelled_controls(page) == []
        shoot("record-the-report-date")
        page.get_by_role("button", name="Save").click()

        expect(page).to_have_url(re.compile(rf"{re.escape(family_url)}$"))
        expect(status_message(page, "Date recorded.")).to_be_visible()
        expect(pathways_section.get_by_test_id("child-welfare-dates")).to_have_text(
            re.compile(r"Report to child protective services: 9 Mar 2026")
        )
        pathways_section.get_by_role("link", name="Enrol in a pathway").click()

        expect(page.get_by_role("heading", level=1)).to_have_text("Enrol in a pathway")
        expect(page.get_by_role("radio", name=re.compile(rf"^{re.escape(START_TITLE)}"))).to_be_checked()
        expect(page.get_by_label("Enrolled on")).to_have_value(today.isoformat())
        page.get_by_label("CPS caseworker (optional)").select_option(label="Tamara Owens (CPS caseworker)")
        page.get_by_label("Family mentor (optional)").select_option(label="Gloria Banks (family mentor)")
        expect(page.get_by_text("No pair has families yet.")).to_be_visible()
        assert unlabelled_controls(page) == []
        shoot("enrol-in-start")
        page.get_by_role("button", name="Enrol").click()

        # The enrolment: each step, the ones whose anchor is known with their due dates, and who is responsible.
        expect(page).to_have_url(re.compile(r"/pathways/\d+/$"))
        expect(page.get_by_role("heading", level=1)).to_have_text(START_TITLE)
        expect(status_message(page, f"Enrolled in {START_TITLE}. Its steps and due dates are below.")).to_be_visible()
        expect(page.get_by_role("main")).to_contain_text("Caseworker: Tamara Owens; family mentor: Gloria Banks.")
        enrolment = PathwayEnrolment.objects.get(family=danielle)
        enrolment_url = f"/pathways/{enrolment.pk}/"
        intake = step_row(page, "intake_screen")
        expect(intake.locator('[data-label="Due"]')).to_have_text("Wed 11 Mar 2026")  # 2 working days after Monday
        expect(intake.locator('[data-label="Status"]')).to_have_text("Due soon")
        expect(intake.locator('[data-label="Responsible"]')).to_have_text("Tamara Owens")
        referral = step_row(page, "start_referral")
        expect(referral.locator('[data-label="Due"]')).to_have_text("Wed 8 Apr 2026")  # 30 days after the report
        expect(referral.locator('[data-label="Status"]')).to_have_text("Upcoming")
        fifth = step_row(page, "fifth_treatment_session")
        expect(fifth.locator('[data-label="Due"]')).to_have_text("Fri 8 May 2026")  # 60 days after the report
        joint = step_row(page, "joint_home_visit")
        expect(joint.locator('[data-label="Due"]')).to_have_text("when its date is known")
        expect(joint.locator('[data-label="Status"]')).to_have_text("Waiting for a date")
        expect(joint.locator('[data-label="Responsible"]')).to_have_text("Gloria Banks")
        expect(step_rows(page)).to_have_count(PathwayStep.objects.filter(enrolment=enrolment).count())
        shoot("enrolment")

        # She screened Danielle and referred her to START yesterday: she records both, which dates the mentor's steps.
        intake.get_by_role("link", name="Substance use screening at intake").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Substance use screening at intake")
        expect(page.get_by_test_id("step-state")).to_have_text("Due soon")
        expect(page.get_by_role("main")).to_contain_text("Wednesday 11 March 2026")
        expect(page.get_by_role("main")).to_contain_text("Done when one of these screenings is completed here")
        # Every control on the step page has its own label (each form has its own ids).
        page.locator("details summary").first.click()  # open "does not apply": its reason is labelled too
        assert unlabelled_controls(page) == []
        shoot("step-intake-screen")
        record_done(page, SCREENED_ON, "UNCOPE offered at the first visit; she agreed to an assessment.")
        expect(status_message(page, "Step recorded as done.")).to_be_visible()
        expect(page.get_by_test_id("step-state")).to_have_text("Done on time")
        expect(page.get_by_role("button", name="Undo: open this step again")).to_be_visible()
        shoot("step-intake-screen-done")

        page.goto(enrolment_url)
        step_row(page, "start_referral").get_by_role("link", name="Referral to START").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Referral to START")
        record_done(page, SCREENED_ON, "Referred to the START team; Gloria Banks is her family mentor.")
        expect(page.get_by_test_id("step-state")).to_have_text("Done on time")

        page.goto(enrolment_url)
        # Counted from the referral to START (Tuesday 10 March): 2 and 5 working days, and a week.
        expect(step_row(page, "first_sdm_meeting").locator('[data-label="Due"]')).to_have_text("Thu 12 Mar 2026")
        expect(step_row(page, "joint_home_visit").locator('[data-label="Due"]')).to_have_text("Tue 17 Mar 2026")
        expect(step_row(page, "mentor_visits").first.locator('[data-label="Due"]')).to_have_text("Tue 17 Mar 2026")
        expect(step_row(page, "intake_screen").locator('[data-label="Status"]')).to_have_text(
            "Done on time 10 Mar 2026"
        )
        shoot("enrolment-dated")

        # --- 2. Gloria, the family mentor: her steps this week, the joint home visit, the conversation ----------
        with watched_page(browser, live_server, browser_log) as mentor, shooting(shoot, mentor):
            sign_in(mentor, gloria.user.username)
            mentor.get_by_role("navigation", name="Primary navigation").get_by_role("link", name="My steps").click()
            expect(mentor).to_have_url(re.compile(r"/pathways/steps/$"))
            expect(mentor.get_by_role("heading", level=1)).to_have_text("My steps")
            expect(mentor.get_by_test_id("none-overdue")).to_have_text("Nothing overdue.")
            week = mentor.get_by_test_id("this-week").locator('[data-testid="step-row"]')
            expect(week).to_have_count(3)
            expect(week.nth(0)).to_contain_text(SDM_MEETING)
            expect(week.nth(0).locator('[data-label="Due"]')).to_have_text("Thu 12 Mar 2026")
            expect(week.nth(0).locator('[data-label="Status"]')).to_have_text("Due soon")
            visit_row = step_row(mentor, "joint_home_visit", "this-week")
            expect(visit_row.locator("th a")).to_have_text(JOINT_VISIT)
            expect(visit_row.locator("th .text-base")).to_have_text(PARENT)  # the family, under the step
            expect(step_row(mentor, "mentor_visits", "this-week")).to_contain_text("Family mentor visit")
            shoot("mentor-my-steps")
            phone_shot(mentor, "mentor-my-steps")

            step_row(mentor, "joint_home_visit", "this-week").get_by_role("link", name=JOINT_VISIT).click()
            expect(mentor.get_by_role("heading", level=1)).to_have_text(JOINT_VISIT)
            expect(mentor.get_by_test_id("step-state")).to_have_text("Upcoming")
            expect(mentor.get_by_role("main")).to_contain_text("Tuesday 17 March 2026")
            expect(mentor.get_by_role("main")).to_contain_text("Tick it done when it has happened.")
            expect(mentor.get_by_test_id("done-form").get_by_label("Done on")).to_have_value(today.isoformat())
            shoot("mentor-joint-home-visit")
            phone_shot(mentor, "step-page")
            form = mentor.get_by_test_id("done-form")
            form.get_by_label("Note (optional)").fill(
                "Met Danielle at home with Tamara; she showed us the baby's room."
            )
            form.get_by_role("button", name="Record it done").click()
            expect(status_message(mentor, "Step recorded as done.")).to_be_visible()
            expect(mentor.get_by_test_id("step-state")).to_have_text("Done on time")
            expect(mentor.locator(".kf-facts dd").filter(has_text="by Gloria Banks")).to_have_text(
                re.compile(r"^11 March 2026 by Gloria Banks")
            )
            shoot("mentor-joint-home-visit-done")

            # The shared decision-making conversation, from the family page.
            mentor.goto(family_url)
            mentor_section = mentor.get_by_test_id("pathways-section")
            expect(mentor_section.get_by_test_id("enrolment")).to_have_attribute("data-pathway", "start")
            expect(mentor_section).to_contain_text("No conversation recorded yet.")
            shoot("mentor-family-page")
            mentor_section.get_by_role("link", name="Record a conversation").click()
            expect(mentor.get_by_role("heading", level=1)).to_have_text("Record a shared decision-making conversation")
            expect(mentor.get_by_label("Day of the conversation")).to_have_value(today.isoformat())
            mentor.get_by_label("Who took part (optional)").fill("Danielle, Tamara Owens and Gloria Banks")
            moud = mentor.get_by_test_id("topic-moud")
            expect(moud.locator("legend")).to_have_text("Medication for opioid use disorder: risks and benefits")
            moud.locator("label").filter(has_text="We talked about this").click()
            expect(moud.get_by_role("checkbox", name="We talked about this")).to_be_checked()
            moud.get_by_label("Her decision, in her words").fill(HER_DECISION)
            mentor.get_by_label("Her own goals, in her words").fill(HER_GOALS)
            assert unlabelled_controls(mentor) == []
            shoot("mentor-record-a-conversation")
            mentor.get_by_role("button", name="Save the conversation").click()

            expect(mentor).to_have_url(re.compile(r"/pathways/decisions/\d+/$"))
            expect(status_message(mentor, "Conversation recorded.")).to_be_visible()
            expect(mentor.get_by_role("heading", level=1)).to_have_text("Shared decision-making, 11 March 2026")
            topic = mentor.get_by_test_id("topic").filter(has_text="Medication for opioid use disorder")
            expect(topic).to_contain_text(f"Her decision: {HER_DECISION}")
            expect(mentor.get_by_test_id("topic").filter(has_text="Not talked about this time.")).to_have_count(5)
            expect(mentor.get_by_role("main")).to_contain_text(HER_GOALS)
            shoot("mentor-conversation")

            # The record is the meeting the pathway waits for: its step is done by it.
            mentor.goto(family_url)
            mentor_section.get_by_role("link", name=START_TITLE).click()
            expect(mentor).to_have_url(re.compile(rf"{re.escape(enrolment_url)}$"))
            sdm = step_row(mentor, "first_sdm_meeting")
            expect(sdm).to_have_attribute("data-state", "done_on_time")
            expect(sdm.locator('[data-label="Status"]')).to_have_text("Done on time 11 Mar 2026")
            expect(step_row(mentor, "joint_home_visit")).to_have_attribute("data-state", "done_on_time")
            # Her choice of treatment dates Tamara's referral to it: the next working day.
            expect(step_row(mentor, "treatment_referral").locator('[data-label="Due"]')).to_have_text("Thu 12 Mar 2026")
            shoot("mentor-enrolment")

        record = SharedDecisionRecord.objects.get(family=danielle)
        assert record.topics["moud"] == {
            "discussed": True,
            "questions": "",
            "preferences": "",
            "decision": HER_DECISION,
        }
        sdm_step = PathwayStep.objects.get(enrolment=enrolment, step_key="first_sdm_meeting")
        assert sdm_step.status == StepStatus.DONE and sdm_step.evidence == f"SharedDecisionRecord:{record.pk}"

        # --- 3. Ten days later: what is overdue, and the daily reminders ----------------------------------------
        traveller.shift(LATER)
        later = clock.today()
        assert later == date(2026, 3, 21)

        # Her session ended while she was away (idle sign-out): she signs in again and lands on her caseload.
        sign_in(page, tamara.user.username)
        expect(page.get_by_role("heading", level=1)).to_have_text("My caseload")
        row = page.locator("#caseload-table tbody tr").filter(has_text=PARENT)
        steps_cell = row.locator('[data-label="Pathway steps"]')
        # Her agency's steps for the family: the referral to treatment (due 12 March) and Gloria's first visit
        # (17 March) overdue; her second visit (24 March) due this week.
        expect(steps_cell.get_by_test_id("steps-overdue")).to_have_text("2 overdue")
        expect(steps_cell.get_by_test_id("steps-this-week")).to_have_text("1 due this week")
        shoot("caseload-overdue")
        phone_shot(page, "caseload")

        page.get_by_role("navigation", name="Primary navigation").get_by_role("link", name="My steps").click()
        overdue = page.get_by_test_id("overdue").locator('[data-testid="step-row"]')
        expect(overdue).to_have_count(1)
        expect(overdue).to_have_attribute("data-step", "treatment_referral")
        expect(overdue.locator("th a")).to_have_text(TREATMENT_REFERRAL)
        expect(overdue.locator("th .text-base")).to_have_text(PARENT)
        expect(overdue.locator('[data-label="Due"]')).to_have_text("Thu 12 Mar 2026")
        expect(overdue.locator('[data-label="Status"]')).to_have_text("Overdue")
        expect(page.get_by_role("heading", name=re.compile(r"^Overdue"))).to_contain_text("1")
        expect(page.get_by_test_id("this-week")).to_have_count(0)
        shoot("my-steps-overdue")

        # The daily job: each responsible person once; the supervisor of the steps past the 3-day grace.
        treatment_referral = PathwayStep.objects.get(enrolment=enrolment, step_key="treatment_referral")
        first_visit = PathwayStep.objects.get(enrolment=enrolment, step_key="mentor_visits", occurrence=1)
        told = pathway_services.remind_due_steps()
        assert told.told == {tamara.pk: [treatment_referral.pk], gloria.pk: [first_visit.pk]}
        assert {who: sorted(steps) for who, steps in told.escalated.items()} == {
            dale.pk: sorted([treatment_referral.pk, first_visit.pk])
        }
        assert smtp_server.received.wait(timeout=10), "no reminder email arrived"
        (email,) = emails_to(smtp_server, tamara.user.email, count=1)
        assert email["Subject"] == "Kinfold: 1 step on your caseload is overdue"
        body = email.get_content()
        assert f"{live_server.url}/pathways/steps/" in body
        assert "This email names no family on purpose." in body
        for word in ("Danielle", "Brooks", "START", "Sobriety", "substance", "Gloria"):
            assert word.lower() not in f"{email['Subject']} {body}".lower(), word
        (escalation,) = emails_to(smtp_server, dale.user.email, count=1)
        assert escalation["Subject"] == "Kinfold: 2 steps overdue for more than 3 days"
        assert f"{live_server.url}/pathways/steps/?scope=organization" in escalation.get_content()
        emails_to(smtp_server, gloria.user.email, count=1)
        # Run again the same day: nobody is told twice.
        again = pathway_services.remind_due_steps()
        assert again.people == 0

        # --- 4. The hospital: a Plan of Safe Care before discharge, agreed and printed --------------------------
        # Danielle's baby was born yesterday at the hospital (Sofia recorded the birth).
        family_services.delivery_record(
            viewer=viewer_of(sofia),
            episode=PregnancyEpisode.objects.get(family=danielle),
            delivered_on=BORN_ON,
            outcome="live_birth",
            infants=[{"given_name": "Jayden"}],
        )
        discharge = later + timedelta(days=2)
        with watched_page(browser, live_server, browser_log) as hospital_page, shooting(shoot, hospital_page):
            sw = hospital_page
            sign_in(sw, sofia.user.username)
            sw.locator("#caseload-table tbody tr").get_by_role("link", name=PARENT).click()
            expect(sw).to_have_url(re.compile(rf"{re.escape(family_url)}$"))
            sw_section = sw.get_by_test_id("pathways-section")
            expect(sw_section).to_contain_text("No Plan of Safe Care.")
            # START is her case with child welfare: the consent does not share it with the hospital.
            expect(sw_section.get_by_test_id("enrolment")).to_have_count(0)
            shoot("hospital-family-page")
            sw_section.get_by_role("link", name="Start a Plan of Safe Care").click()

            expect(sw.get_by_role("heading", level=1)).to_have_text("Start a Plan of Safe Care")
            expect(sw.get_by_test_id("notification-explained")).to_contain_text(
                "this is a notification, not a report of abuse or neglect"
            )
            expect(sw.get_by_role("radio", name=f"{BABY}, born {long_day(BORN_ON)}")).to_be_checked()
            expect(sw.get_by_label("Day the baby was identified")).to_have_value(later.isoformat())
            for reason in (
                "Medication for opioid use disorder taken as prescribed in pregnancy",
                "Signs of neonatal opioid withdrawal",
            ):
                sw.locator("label").filter(has_text=reason).click()
                expect(sw.get_by_role("checkbox", name=reason)).to_be_checked()
            sw.get_by_label("Expected discharge day").fill(discharge.isoformat())
            assert unlabelled_controls(sw) == []
            shoot("plan-start")
            sw.get_by_role("button", name="Start the plan").click()

            expect(sw).to_have_url(re.compile(r"/pathways/plans/\d+/$"))
            plan = PlanOfSafeCare.objects.get(family=danielle)
            plan_url = f"/pathways/plans/{plan.pk}/"
            expect(status_message(sw, "The Plan of Safe Care is started.")).to_be_visible()
            expect(sw.get_by_test_id("plan-for")).to_contain_text(f"For {BABY} and {PARENT}.")
            expect(sw.get_by_test_id("plan-status")).to_have_text("Being written")
            expect(sw.get_by_test_id("plan-facts")).to_contain_text(long_day(discharge))
            expect(sw.get_by_test_id("late")).to_have_count(0)
            expect(sw.locator("[data-domain]")).to_have_count(10)
            shoot("plan-started")

            # A need for the baby: safe sleep.
            sw.get_by_role("link", name=re.compile(r"^Add a need\s+for baby: Safe sleep$")).click()
            expect(sw.get_by_role("heading", level=1)).to_have_text("Add a need to the plan")
            expect(sw.get_by_label("What it is about")).to_have_value("safe_sleep")
            sw.get_by_label("The need, in plain words").fill(BABY_NEED)
            sw.get_by_label("Who is responsible").fill("Hospital social worker")
            sw.get_by_label("The service (optional)").fill("A crib from Bridges Family Resource Center")
            expect(sw.get_by_role("radio", name="Planned")).to_be_checked()
            assert unlabelled_controls(sw) == []
            shoot("plan-add-a-baby-need")
            sw.get_by_role("button", name="Add the need").click()
            expect(sw).to_have_url(re.compile(rf"{re.escape(plan_url)}#domain-safe_sleep$"))
            expect(status_message(sw, "Need added under “Baby: safe sleep”.")).to_be_visible()
            baby_row = sw.locator('[data-domain="safe_sleep"] tbody tr')
            expect(baby_row.locator('[data-label="The need"]')).to_have_text(BABY_NEED)
            expect(baby_row.get_by_test_id("need-status")).to_have_text("Planned")

            # A need for Danielle: her treatment goes on without a gap.
            parent_domain = r"^Add a need\s+for parent and family: Substance use treatment and MOUD continuity$"
            sw.get_by_role("link", name=re.compile(parent_domain)).click()
            expect(sw.get_by_label("What it is about")).to_have_value("sud_treatment")
            sw.get_by_label("The need, in plain words").fill(PARENT_NEED)
            sw.get_by_label("Who is responsible").fill("Hope Recovery Center")
            sw.locator("label").filter(has_text=NeedStatus.IN_PROGRESS.label).click()
            sw.get_by_role("button", name="Add the need").click()
            expect(sw).to_have_url(re.compile(rf"{re.escape(plan_url)}#domain-sud_treatment$"))
            parent_row = sw.locator('[data-domain="sud_treatment"] tbody tr')
            expect(parent_row.locator('[data-label="The need"]')).to_have_text(PARENT_NEED)
            expect(parent_row.get_by_test_id("need-status")).to_have_text("Under way")
            shoot("plan-with-needs")

            # She goes through it with Danielle, who agrees, two days before discharge.
            sw.get_by_role("link", name="Agree the plan with her").click()
            expect(sw.get_by_role("heading", level=1)).to_have_text("Agree the plan with her")
            summary = sw.get_by_test_id("agree-summary")
            expect(summary).to_contain_text("Baby: 1 need")
            expect(summary).to_contain_text("Parent and family: 1 need")
            expect(sw.get_by_label("Day she agreed")).to_have_value(later.isoformat())
            sw.locator("label").filter(has_text="She has gone through the plan with me and agrees to it").click()
            shoot("plan-agree")
            sw.get_by_role("button", name="Agree the plan").click()
            expect(sw).to_have_url(re.compile(rf"{re.escape(plan_url)}$"))
            expect(status_message(sw, "The plan is agreed with her, before discharge.")).to_be_visible()
            expect(sw.get_by_test_id("plan-status")).to_have_text("Agreed with her")
            expect(sw.get_by_test_id("agreed")).to_have_text(long_day(later))
            shoot("plan-agreed")

            # The print view, then the PDF.
            sw.get_by_role("link", name="Print view").click()
            expect(sw).to_have_url(re.compile(rf"{re.escape(plan_url)}print/$"))
            printed = sw.get_by_test_id("printed-plan")
            expect(printed.get_by_role("heading", level=1)).to_have_text("Plan of Safe Care")
            expect(sw.get_by_test_id("printed-names")).to_have_text(f"{PARENT} and {BABY}")
            for heading in ("Baby", "Parent and family", "Safe sleep", "Substance use treatment and MOUD continuity"):
                expect(printed.get_by_role("heading", name=heading, exact=True)).to_be_visible()
            expect(printed).to_contain_text(BABY_NEED)
            expect(printed).to_contain_text(PARENT_NEED)
            expect(sw.get_by_test_id("printed-footer")).to_have_text(re.compile(rf"^{re.escape(FOOTER)}"))
            shoot("plan-print-view")
            with sw.expect_download() as downloading:
                sw.get_by_test_id("print-actions").get_by_role("link", name="Download it as a PDF").click()
            download = downloading.value
            assert download.suggested_filename == f"plan-of-safe-care-{plan.pk}.pdf"
            words = pdf_words(Path(download.path()))

        for expected in (
            "Plan of Safe Care",
            f"{PARENT} and {BABY}",
            "Baby",
            "Safe sleep",
            "Parent and family",
            "Substance use treatment and MOUD continuity",
            BABY_NEED,
            PARENT_NEED,
            "Hope Recovery Center",
            "Agreed with her",
            FOOTER,
        ):
            assert expected in words, f"the PDF does not say {expected!r}"

        browser_log.assert_clean()

        plan.refresh_from_db()
        assert plan.status == PlanStatus.AGREED and plan.agreed_on == later
        assert plan.expected_discharge_on == discharge and plan.infant is not None
        assert ChildWelfareEvent.objects.get(family=danielle).occurred_on == REPORT_ON
