"""The family page puts what a coordinator needs first (issue 11): a summary of who she is and where she is,
"On this page", then her care team, what is due and the latest records; the rest (her family, pregnancy, all
records, consents, court orders and restrictions, timeline) below, each reachable from a jump link. The new
layout reads nothing the page had not already loaded, and shows nothing the door had not already let through.
"""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kinfold import clock
from kinfold.access.rules import REDISCLOSURE_NOTICE_TEXT
from kinfold.consent import services as consent_services
from kinfold.families import selectors
from kinfold.families import services as family_services
from kinfold.families.sections import FAMILY_PAGE_LAYOUT, family_sections
from kinfold.notes import services as note_services
from kinfold.organizations.models import Role
from tests.factories import make_family, staff, viewer_of
from tests.support import client_for, text
from tests.test_access_pages import (
    ATTENDANCE,
    COURT_NOTE,
    OB_VISIT,
    OTP_VISIT,
    World,
    bridges_officer,
    build_world,
    family_url,
    record_order,
    request_restriction,
)

pytestmark = pytest.mark.django_db

# The headings of the page's sections, in the order a coordinator meets them.
PAGE_ORDER = [
    "team-heading",
    "due-heading",
    "recent-records-heading",
    "members-heading",
    "pregnancy-heading",
    "records-heading",
    "consents-heading",
    "court-orders-heading",
    "restrictions-heading",
    "timeline-heading",
]


class Page(HTMLParser):
    """The parts of a family page the layout promises: every id (in document order), the sections (each
    ``<section aria-labelledby>``), the "On this page" links, and where each element starts."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.sections: list[str] = []
        self.jump_links: list[tuple[str, str]] = []
        self.position: dict[str, int] = {}  # id -> index in the document
        self._in_nav = 0
        self._link: str | None = None
        self._link_text: list[str] = []
        self._count = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self._count += 1
        if a.get("id"):
            self.ids.append(a["id"] or "")
            self.position.setdefault(a["id"] or "", self._count)
        if tag == "section" and a.get("aria-labelledby"):
            self.sections.append(a["aria-labelledby"] or "")
        if tag == "nav" and a.get("data-testid") == "page-nav":
            self._in_nav = 1
        elif tag == "nav" and self._in_nav:
            self._in_nav += 1
        if self._in_nav and tag == "a":
            self._link, self._link_text = a.get("href") or "", []

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._link is not None:
            self.jump_links.append((self._link, " ".join("".join(self._link_text).split())))
            self._link = None
        if tag == "nav" and self._in_nav:
            self._in_nav -= 1

    def handle_data(self, data: str) -> None:
        if self._link is not None:
            self._link_text.append(data)

    def before(self, first: str, then: str) -> bool:
        return self.position[first] < self.position[then]


def page_of(client, url: str) -> tuple[str, Page]:
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    return html, Page(html)


def first_part(html: str) -> str:
    """What the page shows before the rest: everything above her family members' section."""
    return " ".join(html.split('id="members-heading"', 1)[0].split())


@pytest.fixture
def world(coordinator, caseworker, treatment_org) -> World:
    w = build_world(coordinator, caseworker, treatment_org)
    family_services.pregnancy_start(
        viewer=viewer_of(coordinator), family=w.family, estimated_due_on=clock.today() + timedelta(weeks=9)
    )
    return w


# --- the order ----------------------------------------------------------------------------------------


def test_the_care_team_comes_before_court_orders_restrictions_and_the_timeline(world):
    html, page = page_of(client_for(world.coordinator), family_url(world))
    assert page.before("team-heading", "court-orders-heading")
    assert page.before("team-heading", "restrictions-heading")
    assert page.before("team-heading", "timeline-heading")
    assert [i for i in page.ids if i in PAGE_ORDER] == PAGE_ORDER
    # The summary of who she is comes first of all, above "On this page".
    assert page.before("page-nav-heading", "team-heading")
    assert html.index('data-testid="stage"') < html.index('data-testid="page-nav"')


def test_the_layout_names_every_section_the_apps_register():
    """A section an app adds without a place in the layout would have no jump link: the test names it."""
    registered = {s.name for s in family_sections()}
    assert registered == set(FAMILY_PAGE_LAYOUT), "add the section (and its heading id) to FAMILY_PAGE_LAYOUT"
    assert [s.name for s in family_sections()] == list(FAMILY_PAGE_LAYOUT)


# --- "On this page" -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["coordinator", "caseworker", "counsellor", "ob_clinician"])
def test_every_section_has_a_jump_link_and_every_jump_link_reaches_a_heading_on_the_page(world, who):
    html, page = page_of(client_for(getattr(world, who)), family_url(world))
    targets = [href for href, _ in page.jump_links]
    assert all(href.startswith("#") for href in targets), targets
    ids = [href[1:] for href in targets]
    for target in ids:
        assert page.ids.count(target) == 1, f"#{target} must be exactly one element of the page"
    # Every section of the page is reachable from the list, in the order the page shows them.
    assert set(page.sections) == set(ids)
    assert ids == [i for i in page.ids if i in set(ids)]
    assert [label for _, label in page.jump_links] == [
        "Care team",
        "What is due",
        "Recent records",
        "Referrals",
        "Pathways",
        "Screening",
        "Family members",
        "Pregnancy",
        "All records",
        "Her consents",
        "Court orders",
        "Requests to restrict sharing",
        "Timeline",
    ]
    # A landmark with a name a screen reader announces, whose links are real anchors (no script needed).
    assert '<nav class="kinfold-page-nav" aria-labelledby="page-nav-heading" data-testid="page-nav">' in html
    assert '<h2 id="page-nav-heading"' in html


# --- the first part: team, what is due, recent records ------------------------------------------------


def test_a_coordinator_sees_her_team_what_is_due_and_the_latest_records_first(world):
    more = [f"Phone call {n}: confirmed the next appointment" for n in range(1, 7)]
    for summary in more:
        note_services.note_add(
            viewer=viewer_of(world.coordinator), family=world.family, kind="contact_log", summary=summary
        )
    html, _page = page_of(client_for(world.coordinator), family_url(world))
    top = first_part(html)
    # The summary: who she is, where she is, who coordinates and what happened last.
    assert "31 weeks pregnant · coordinated by Ana Rivera (Bridges Family Resource Center)" in top
    assert 'data-testid="last-activity"' in top and "Last activity <time datetime=" in top
    assert "Phone call 6: confirmed the next appointment" in top.split('data-testid="last-activity"', 1)[1]
    # Her team, each person and organisation.
    for name in ("Ana Rivera", "Carl Jensen", "Tess Okafor", "Omar Baptiste", "Cora Vance"):
        assert name in top
    assert "Lakeview Family Treatment Court" in top
    # What is due: the baby's due date, with a link to the pregnancy section.
    due = top.split('data-testid="due"', 1)[1].split("</section>", 1)[0]
    due_on = clock.today() + timedelta(weeks=9)
    assert f"Baby due {due_on.day} {due_on:%B %Y}" in due and "(31 weeks 0 days today)" in due
    assert 'href="#pregnancy-heading"' in due
    # The latest four records she may see, newest first, and a link to all of them.
    recent = top.split('data-testid="recent-records"', 1)[1].split("</section>", 1)[0]
    shown = sorted((s for s in [*more, OB_VISIT, OTP_VISIT, COURT_NOTE] if s in recent), key=recent.index)
    assert shown == more[:1:-1]  # calls 6, 5, 4 and 3
    assert "Phone call 2:" not in recent
    assert 'href="#records-heading">See all 9 records</a>' in recent
    assert reverse("notes:add", args=[world.family.pk]) in recent
    # Court orders, restrictions and the timeline come later.
    assert "Court orders" not in top.split('data-testid="page-nav"', 1)[1].split("</nav>", 1)[1]


def test_the_recent_records_are_only_those_the_door_lets_her_see(world):
    """The summary and the full list are one load: a record the viewer may not read is in neither."""
    html, _page = page_of(client_for(world.caseworker), family_url(world))
    recent = html.split('data-testid="recent-records"', 1)[1].split("</section>", 1)[0]
    # Her consent shares general health with the team, not treatment records or the coordinator's court note.
    assert OB_VISIT in recent and OTP_VISIT in recent
    assert ATTENDANCE not in html and COURT_NOTE not in html
    # The treatment programme's note keeps its Part 2 tag in the summary as in the full list.
    otp_line = recent.split(OTP_VISIT, 1)[1].split("</li>", 1)[0]
    assert "Part 2</span>" in otp_line


def test_a_family_with_no_records_or_dates_says_so_plainly(coordinator):
    family = make_family(coordinator, given_name="Jasmine", family_name="Ortiz")
    html = text(client_for(coordinator).get(reverse("families:detail", args=[family.pk])))
    assert "No records you may see yet." in html
    assert 'data-testid="recent-records"' in html and "See all" not in html
    # No consent yet: the first thing to do with her is on the due list.
    assert 'data-due="no-consent"' in html and "No consent you may see yet" in html
    assert "Last activity" in html and "Created the family of Jasmine Ortiz" in html


# --- what is due ---------------------------------------------------------------------------------------


def test_past_her_due_date_the_due_list_asks_for_the_delivery(coordinator):
    family = make_family(coordinator, estimated_due_on=clock.today() - timedelta(days=3))
    html = text(client_for(coordinator).get(reverse("families:detail", args=[family.pk])))
    due = html.split('data-testid="due"', 1)[1].split("</section>", 1)[0]
    assert 'data-due="delivery"' in due and "Past her estimated due date" in due
    assert "record the delivery once she has given birth" in due


def test_her_restriction_request_is_due_for_the_organisation_that_decides_and_followed_by_her_coordinator(
    coordinator, caseworker, treatment_org
):
    w = build_world(coordinator, caseworker, treatment_org, consent_categories=("sud_treatment",))
    assert request_restriction(w).status_code == 302
    coordinator_due = text(client_for(w.coordinator).get(family_url(w))).split('data-testid="due"', 1)[1]
    coordinator_due = coordinator_due.split("</section>", 1)[0]
    assert "Her request to restrict sharing waits for Hope Recovery Center</strong> to agree or refuse" in (
        coordinator_due
    )
    counsellor_due = text(client_for(w.counsellor).get(family_url(w))).split('data-testid="due"', 1)[1]
    counsellor_due = counsellor_due.split("</section>", 1)[0]
    assert "Her request to restrict sharing waits for your answer" in counsellor_due
    assert 'href="#restrictions-heading"' in counsellor_due


def test_a_court_order_without_findings_is_due_for_the_privacy_officer_who_may_record_them(world):
    officer = bridges_officer(world)
    assert record_order(officer, world).status_code == 302
    due = text(client_for(officer).get(family_url(world))).split('data-testid="due"', 1)[1].split("</section>", 1)[0]
    assert "Court order FTC-2026-0142 has not both findings recorded" in due
    assert 'href="#court-orders-heading"' in due
    # The coordinator cannot record findings: nothing about it is due for her.
    coordinator_page = text(client_for(world.coordinator).get(family_url(world)))
    assert "has not both findings recorded" not in coordinator_page


# --- emergencies stay at the top ------------------------------------------------------------------------


def test_a_clinicians_way_into_an_emergency_and_its_banner_are_reachable_from_the_top(world):
    html, page = page_of(client_for(world.ob_clinician), family_url(world))
    declare = reverse("consent:emergency_declare", args=[world.family.pk])
    assert html.index(declare) < html.index('id="team-heading"')
    consent_services.emergency_declare(
        viewer=viewer_of(world.ob_clinician), family=world.family, reason="Heavy bleeding at 29 weeks"
    )
    html, page = page_of(client_for(world.ob_clinician), family_url(world))
    summary = html.split('data-testid="emergency-summary"', 1)[1].split("</div>", 1)[0]
    assert "Medical emergency access is open until" in summary
    assert 'href="#emergency-banner-heading"' in summary and "emergency-banner-heading" in page.ids
    assert html.index('data-testid="emergency-summary"') < html.index('id="team-heading"')
    assert "Medical emergency access</a>" not in html


# --- no more queries than before ----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["coordinator", "caseworker", "counsellor"])
def test_the_layout_reads_nothing_the_page_has_not_already_loaded(world, who):
    """Rendering the page from what ``family_detail`` loaded makes no query at all: the summary, the due
    list and the recent records come from the same rows as the sections below."""
    membership = getattr(world, who)
    request = RequestFactory().get(family_url(world))
    request.user = membership.user
    d = selectors.family_detail(viewer=viewer_of(membership), family_id=world.family.pk)
    with CaptureQueriesContext(connection) as queries:
        html = render_to_string(
            "families/family_detail.html",
            {"d": d, "family": d.family, "redisclosure_notice_text": REDISCLOSURE_NOTICE_TEXT},
            request=request,
        )
    assert 'data-testid="recent-records"' in html
    assert queries.captured_queries == []


def test_the_page_makes_the_same_queries_for_a_few_records_or_many(world):
    client = client_for(world.coordinator)
    url = family_url(world)

    def count() -> int:
        client.get(url)  # warm the session
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries.captured_queries)

    few = count()
    colleague = staff(world.coordinator.organization, Role.PEER_RECOVERY_COACH)
    family_services.care_team_member_add(
        viewer=viewer_of(world.coordinator), family=world.family, membership=colleague, role=Role.PEER_RECOVERY_COACH
    )
    for n in range(12):
        note_services.note_add(
            viewer=viewer_of(world.coordinator), family=world.family, kind="contact_log", summary=f"Call {n}"
        )
    assert count() == few
