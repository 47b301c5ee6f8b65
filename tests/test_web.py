"""What a signed-in person meets in the pages: caseload, family page, forms, sign-in and its safeguards."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from kinfold import clock
from kinfold.audit.models import AuditEvent
from kinfold.families.models import CareTeamMember, Family
from kinfold.organizations.models import Role
from tests.factories import TEST_PASSWORD, UserFactory, make_family, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_for():
    def make(membership):
        client = Client()
        client.force_login(membership.user)
        return client

    return make


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_caseload_lists_her_families_with_stage_coordinator_and_organisations(coordinator, caseworker, client_for):
    family = make_family(
        coordinator, given_name="Pia", family_name="Nguyen", estimated_due_on=clock.today() + timedelta(weeks=9)
    )
    from kinfold.families import services
    from tests.factories import viewer_of

    services.care_team_member_add(
        viewer=viewer_of(coordinator), family=family, membership=caseworker, role=Role.CPS_CASEWORKER
    )
    page = text(client_for(coordinator).get(reverse("families:caseload")))
    assert "Pia Nguyen" in page
    assert "31 weeks pregnant" in page
    assert "Ana Rivera" in page
    assert "Bridges Family Resource Center, Lakeview County Child Protective Services" in page


def test_caseload_is_paginated_searchable_and_sortable(coordinator, client_for):
    for i in range(30):
        make_family(coordinator, given_name=f"Parent{i:02d}", family_name="Zed" if i % 2 else "Abbot")
    client = client_for(coordinator)
    first = text(client.get(reverse("families:caseload")))
    assert "30 families" in first
    assert "Parent00 Abbot" in first and "Parent29 Zed" not in first  # Abbots sort first; 25 a page
    second = text(client.get(reverse("families:caseload"), {"page": 2}))
    assert "Parent29 Zed" in second and "Parent00 Abbot" not in second
    searched = text(client.get(reverse("families:caseload"), {"q": "parent07"}))
    assert "1 family" in searched and "Parent07 Zed" in searched
    newest_first = text(client.get(reverse("families:caseload"), {"sort": "-activity"}))
    assert newest_first.index("Parent29") < newest_first.index("Parent28")


def test_caseload_search_with_no_match_says_so(coordinator, client_for):
    make_family(coordinator)
    page = text(client_for(coordinator).get(reverse("families:caseload"), {"q": "nobody-by-this-name"}))
    assert "No families match “nobody-by-this-name”" in page


def test_empty_caseload_explains_how_families_arrive(outsider, client_for):
    page = text(client_for(outsider).get(reverse("families:caseload")))
    assert "Your caseload is empty" in page


def test_htmx_search_returns_only_the_table(coordinator, client_for):
    make_family(coordinator, given_name="Wren")
    response = client_for(coordinator).get(reverse("families:caseload"), {"q": "wren"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "Wren Lopez" in body and "<html" not in body


def test_caseload_page_makes_the_same_number_of_queries_for_5_or_25_families(
    coordinator, caseworker, client_for, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(coordinator)

    def count() -> int:
        client.get(reverse("families:caseload"))  # the idle clock is written at most every half-minute
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("families:caseload")).status_code == 200
        return len(ctx.captured_queries)

    for _ in range(5):
        make_family(coordinator, estimated_due_on=clock.today() + timedelta(days=90))
    small = count()
    for _ in range(20):
        make_family(coordinator, estimated_due_on=clock.today() + timedelta(days=90))
    assert count() == small


def test_family_page_shows_members_pregnancy_team_and_timeline(coordinator, client_for):
    family = make_family(coordinator, estimated_due_on=clock.today() + timedelta(weeks=9))
    from kinfold.families import services
    from tests.factories import viewer_of

    services.family_member_add(
        viewer=viewer_of(coordinator),
        family=family,
        given_name="Dolores",
        family_name="Vega",
        category="support_person",
        description="the lady who drives me",
    )
    page = text(client_for(coordinator).get(reverse("families:detail", args=[family.pk])))
    assert "“the lady who drives me”" in page
    assert "31 weeks 0 days (trimester 3)" in page
    assert "Coordinator" in page and "Bridges Family Resource Center" in page and "Community organisation" in page
    assert "Added Dolores Vega to the family (the lady who drives me)" in page
    assert "Ana Rivera, Bridges Family Resource Center" in page


def test_unrelated_organisation_gets_404_and_the_attempt_is_audited(coordinator, outsider, client_for):
    family = make_family(coordinator, given_name="Secret", family_name="Person")
    response = client_for(outsider).get(reverse("families:detail", args=[family.pk]))
    assert response.status_code == 404
    assert "Secret" not in response.content.decode()
    denied = AuditEvent.objects.get(actor_id=outsider.user.pk, outcome="denied")
    assert (denied.record_type, denied.record_id, denied.action) == ("Family", str(family.pk), "view")


def test_superuser_without_a_role_sees_no_family_in_the_normal_ui(coordinator):
    make_family(coordinator)
    admin = UserFactory(is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(admin)
    assert client.get(reverse("families:caseload")).status_code == 403
    assert client.get(reverse("families:detail", args=[Family.objects.get().pk])).status_code == 403


def test_create_family_form_explains_errors_and_keeps_input(coordinator, client_for):
    response = client_for(coordinator).post(
        reverse("families:create"),
        {"given_name": "Mia", "family_name": "", "estimated_due_on": "not a date", "preferred_language": "en"},
    )
    page = text(response)
    assert response.status_code == 400
    assert "This field is required." in page
    assert "Enter a valid date." in page
    assert 'value="Mia"' in page
    assert 'aria-invalid="true"' in page
    assert Family.objects.count() == 0


def test_create_family_then_land_on_its_page_as_coordinator(coordinator, client_for):
    client = client_for(coordinator)
    edd = clock.today() + timedelta(days=100)
    response = client.post(
        reverse("families:create"),
        {"given_name": "Mia", "family_name": "Santos", "preferred_language": "es", "estimated_due_on": edd.isoformat()},
        follow=True,
    )
    page = text(response)
    assert "Family created. You are its designated coordinator." in page
    assert "Mia Santos" in page and "weeks pregnant" in page


def test_add_member_handover_and_then_only_the_new_coordinator_manages_the_team(coordinator, caseworker, client_for):
    """CONSENT-RULES ruling 7 through the pages: the coordinator adds and hands over; once she has handed the
    role over she can no longer remove anyone (not even the new coordinator), but she may leave."""
    from tests.factories import consent_team_wide

    family = make_family(coordinator)
    consent_team_wide(family, by=coordinator)  # so Carl, once on the team, may open her family
    client = client_for(coordinator)
    picker = text(client.get(reverse("families:team_add", args=[family.pk]), {"q": "jensen"}))
    assert "Carl Jensen — CPS caseworker, Lakeview County Child Protective Services" in picker
    response = client.post(
        reverse("families:team_add", args=[family.pk]),
        {"membership": caseworker.pk, "role": Role.CPS_CASEWORKER},
        follow=True,
    )
    assert "Carl Jensen is now on the care team." in text(response)
    carl = CareTeamMember.objects.get(membership=caseworker, left_at__isnull=True)
    response = client.post(reverse("families:coordinator", args=[family.pk, carl.pk]), follow=True)
    assert "Carl Jensen is now the designated coordinator." in text(response)
    ana = CareTeamMember.objects.get(membership=coordinator, left_at__isnull=True)

    # Ana is now an ordinary member: no way to add or remove, only to leave.
    page = text(client.get(reverse("families:detail", args=[family.pk])))
    assert "Add a team member" not in page and "Make coordinator" not in page and "Leave the team" in page
    assert client.get(reverse("families:team_add", args=[family.pk])).status_code == 403
    response = client.post(reverse("families:team_remove", args=[family.pk, carl.pk]), follow=True)
    assert (
        "You cannot remove this: only her designated coordinator manages her care team (anyone may leave it)."
        in text(response)
    )
    assert CareTeamMember.objects.get(pk=carl.pk).left_at is None
    assert AuditEvent.objects.filter(
        actor_id=coordinator.user_id, record_type="CareTeamMember", record_id=str(carl.pk), outcome="denied"
    ).exists()

    # The new coordinator cannot leave before handing the role on.
    carl_page = client_for(caseworker).post(reverse("families:team_remove", args=[family.pk, carl.pk]), follow=True)
    assert "The designated coordinator cannot be removed" in text(carl_page)

    response = client.post(reverse("families:team_remove", args=[family.pk, ana.pk]), follow=True)
    # Ana left the team; she lands on her caseload.
    assert "You left her care team." in text(response)
    assert response.redirect_chain[-1][0] == reverse("families:caseload")
    assert not CareTeamMember.objects.filter(membership=coordinator, left_at__isnull=True).exists()
    # Her organisation made the family's records, so she still opens them (rule 1).
    assert client.get(reverse("families:detail", args=[family.pk])).status_code == 200


def test_add_member_form_without_choices_explains_what_is_missing(coordinator, client_for):
    family = make_family(coordinator)
    response = client_for(coordinator).post(reverse("families:team_add", args=[family.pk]), {})
    page = text(response)
    assert response.status_code == 400
    assert page.count("This field is required.") == 2


def test_destructive_actions_need_post_and_confirm(coordinator, caseworker, client_for):
    from kinfold.families import services
    from tests.factories import viewer_of

    family = make_family(coordinator)
    member = services.care_team_member_add(
        viewer=viewer_of(coordinator), family=family, membership=caseworker, role=Role.CPS_CASEWORKER
    )
    client = client_for(coordinator)
    assert client.get(reverse("families:team_remove", args=[family.pk, member.pk])).status_code == 405
    page = text(client.get(reverse("families:detail", args=[family.pk])))
    assert 'data-confirm="Remove Carl Jensen from this family\'s care team?"' in page
    assert CareTeamMember.objects.get(pk=member.pk).left_at is None


def test_forms_reject_posts_without_a_csrf_token(coordinator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(coordinator.user)
    response = client.post(reverse("families:create"), {"given_name": "A", "family_name": "B"})
    assert response.status_code == 403
    assert Family.objects.count() == 0


def test_security_headers_are_sent(coordinator, client_for):
    response = client_for(coordinator).get(reverse("families:caseload"))
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_sign_in_page_signs_in_and_audits(coordinator):
    client = Client()
    response = client.post(reverse("login"), {"username": coordinator.user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302 and response.url == reverse("families:caseload")
    assert AuditEvent.objects.filter(action="login", actor_id=coordinator.user.pk).exists()


def test_passwords_are_hashed_with_argon2(coordinator):
    assert coordinator.user.password.startswith("argon2")


def test_repeated_failures_lock_the_account_out(coordinator, settings):
    client = Client(REMOTE_ADDR="10.9.9.9")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": coordinator.user.username, "password": "wrong password!"})
    response = client.post(reverse("login"), {"username": coordinator.user.username, "password": TEST_PASSWORD})
    assert response.status_code == 429
    assert "Sign-in paused" in response.content.decode()
    assert AuditEvent.objects.filter(action="login_failed").count() >= settings.AXES_FAILURE_LIMIT


def test_session_ends_after_idle_minutes(coordinator, settings, monkeypatch):
    import time as time_module

    client = Client()
    client.post(reverse("login"), {"username": coordinator.user.username, "password": TEST_PASSWORD})
    assert client.get(reverse("families:caseload")).status_code == 200
    real_time = time_module.time
    monkeypatch.setattr(time_module, "time", lambda: real_time() + settings.IDLE_TIMEOUT_MINUTES * 60 + 5)
    response = client.get(reverse("families:caseload"))
    assert response.status_code == 302 and reverse("login") in response.url
    assert AuditEvent.objects.filter(action="logout", detail__reason="idle timeout").exists()


def test_a_page_read_within_the_idle_stamp_writes_no_session_and_a_later_one_moves_its_end(
    coordinator, settings, monkeypatch
):
    """The idle clock is written at most every IDLE_STAMP_SECONDS: reading pages in the same half-minute writes
    nothing to the session table, and the next request after it writes the clock and moves the session's end."""
    import time as time_module

    from django.contrib.sessions.models import Session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kinfold.web.middleware import IDLE_KEY, IDLE_STAMP_SECONDS

    client = Client()
    client.post(reverse("login"), {"username": coordinator.user.username, "password": TEST_PASSWORD})
    assert client.get(reverse("families:caseload")).status_code == 200
    key = client.session.session_key
    stamped, ends = client.session[IDLE_KEY], Session.objects.get(session_key=key).expire_date

    real_time = time_module.time
    monkeypatch.setattr(time_module, "time", lambda: real_time() + IDLE_STAMP_SECONDS - 5)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("families:caseload")).status_code == 200
    assert not [q for q in queries if "django_session" in q["sql"] and not q["sql"].startswith("SELECT")]
    assert client.session[IDLE_KEY] == stamped

    monkeypatch.setattr(time_module, "time", lambda: real_time() + IDLE_STAMP_SECONDS + 5)
    assert client.get(reverse("families:caseload")).status_code == 200
    assert client.session[IDLE_KEY] > stamped
    assert Session.objects.get(session_key=key).expire_date > ends
    # Idle for the configured minutes after the written clock: signed out.
    later = client.session[IDLE_KEY] + settings.IDLE_TIMEOUT_MINUTES * 60 + 1
    monkeypatch.setattr(time_module, "time", lambda: later)
    response = client.get(reverse("families:caseload"))
    assert response.status_code == 302 and reverse("login") in response.url


def test_anonymous_visitors_are_sent_to_sign_in():
    response = Client().get(reverse("families:caseload"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_programme_lead_sees_organisations_and_their_staff(cps_org, treatment_org, client_for):
    lead = staff(None, Role.PROGRAMME_LEAD)
    nurse = staff(treatment_org, Role.NURSE, placed_at=cps_org, user__first_name="Nia", user__last_name="Cole")
    client = client_for(lead)
    listing = text(client.get(reverse("organizations:list")))
    assert "Lakeview County Child Protective Services" in listing and "Hope Recovery Center" in listing
    assert "42 CFR Part 2 programme" in listing
    detail = text(client.get(reverse("organizations:detail", args=[cps_org.pk])))
    assert "Nia Cole" in detail and "Embedded or co-located here" in detail
    assert nurse.organization.name in detail


def test_caseload_shows_the_part2_notice_only_where_a_part2_name_is_shown_outside_its_programme(
    client, treatment_org, caseworker
):
    """A family enrolled by a Part 2 programme: her name is itself a Part 2 record. The caseworker who
    sees it under her consent gets the 42 CFR 2.32 notice on the caseload; the programme's own staff do not."""
    from datetime import timedelta

    from kinfold import clock
    from kinfold.consent import services as consent_services
    from kinfold.families import services as family_services
    from tests.factories import make_family, staff, viewer_of

    counsellor = staff(treatment_org, Role.SUD_COUNSELOR, user__first_name="Rosa", user__last_name="Delgado")
    family = make_family(counsellor, given_name="Hannah", family_name="Reyes")
    family_services.care_team_member_add(
        viewer=viewer_of(counsellor), family=family, membership=caseworker, role=Role.CPS_CASEWORKER
    )
    consent_services.consent_record(
        viewer=viewer_of(counsellor),
        family=family,
        title="CPS contact",
        terms=consent_services.ConsentTerms(
            discloser_orgs=[treatment_org],
            recipient_orgs=[caseworker.organization],
            purposes=["child_welfare_case"],
            categories=["contact"],
            expires_at=clock.now() + timedelta(days=90),
            signer_name="Hannah Reyes",
            signature_typed="Hannah Reyes",
        ),
    )
    client.force_login(caseworker.user)
    page = client.get(reverse("families:caseload")).content.decode()
    assert "Hannah Reyes" in page
    assert 'data-testid="redisclosure-notice"' in page
    assert "42 CFR part 2" in page

    client.force_login(counsellor.user)
    own = client.get(reverse("families:caseload")).content.decode()
    assert "Hannah Reyes" in own
    assert 'data-testid="redisclosure-notice"' not in own


def test_a_write_saved_before_the_database_went_away_asks_her_to_check_not_to_retry(rf: Any) -> None:
    """Django answers 400 when the session cannot be saved after the view ran (SessionInterrupted, seen in the crash
    drill as PostgreSQL restarted): her write may be saved, so the page says to check before entering it again."""
    from django.contrib.sessions.exceptions import SessionInterrupted

    from kinfold.web.views import bad_request

    interrupted = bad_request(rf.post("/families/new/"), SessionInterrupted())
    assert interrupted.status_code == 503 and b"Check that it was saved" in interrupted.content
    plain = bad_request(rf.get("/families/"), ValueError())
    assert plain.status_code == 400 and b"could not read that request" in plain.content
    api = bad_request(rf.post("/api/families"), SessionInterrupted())
    assert api.status_code == 503 and b"saved" in api.content


@pytest.mark.django_db
def test_pages_without_a_session_are_not_stored_either(client: Any) -> None:
    # A one-time link's page (no session) shows what a referral carried: it must not stay in a shared cache.
    for path in ("/accounts/login/", "/accounts/join/" + "A" * 43 + "/", "/referrals/answer/" + "A" * 43 + "/"):
        assert "no-store" in client.get(path).headers["Cache-Control"], path
