"""Pathways (issue 14): enrolling a family creates its steps with due dates from the pathway file it joined; due
dates move when an anchor changes, and the change is on the timeline; a step is done, not applicable (with a
reason) or reassigned, and can be undone; the records that complete steps (a screening, a referral, a shared
decision-making record) complete only their own organisation's; the states at their boundaries; the caseload's
counts and "My steps"; the door on every page; the daily reminders tell each person once (a real SMTP server)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from kinfold import clock
from kinfold.families.models import FamilyActivity
from kinfold.families.services import ConcurrentEditError, delivery_record
from kinfold.organizations.models import OrganizationType, Role
from kinfold.pathways import selectors, services
from kinfold.pathways.models import ChildWelfareEvent, ChildWelfareEventType, PathwayStep, StepStatus
from kinfold.pathways.services import Evidence, StepState, step_state
from kinfold.screening import services as screening
from kinfold.screening.models import HowGiven
from tests.factories import OrganizationFactory, make_family, staff, viewer_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def mentor(cps_org):
    return staff(cps_org, Role.FAMILY_MENTOR)


@pytest.fixture
def supervisor(cps_org):
    return staff(cps_org, Role.CPS_SUPERVISOR)


@pytest.fixture
def family(caseworker):
    return make_family(caseworker, given_name="Rosa", family_name="Diaz")


def enrol_start(caseworker, mentor, family, **kwargs):
    return services.enrol(
        viewer=viewer_of(caseworker), family=family, pathway_key="start", caseworker=caseworker, mentor=mentor, **kwargs
    )


def report(caseworker, family, on):
    return services.record_child_welfare_event(
        viewer=viewer_of(caseworker), family=family, event=ChildWelfareEventType.CPS_REPORT, occurred_on=on
    )


def step_of(enrolment, key, occurrence=1):
    return PathwayStep.objects.get(enrolment=enrolment, step_key=key, occurrence=occurrence)


# --- enrolling and due dates ------------------------------------------------------------------------------------


def test_enrolling_in_start_creates_its_steps_pairs_them_and_waits_for_the_report(caseworker, mentor, family):
    enrolment = enrol_start(caseworker, mentor, family)
    assert enrolment.pathway_version >= 1 and enrolment.definition["key"] == "start"
    assert enrolment.kind == "child_welfare_case" and enrolment.sensitivity == "child_welfare"
    intake = step_of(enrolment, "intake_screen")
    assert intake.due_on is None and intake.assignee_id == caseworker.pk
    assert step_of(enrolment, "joint_home_visit").assignee_id == mentor.pk
    assert step_state(intake, today=clock.today(), due_soon_days=2) == StepState.WAITING
    assert FamilyActivity.objects.filter(family=family, verb="pathway_enrolled").exists()


def test_a_cps_report_sets_due_dates_in_working_days_and_a_correction_moves_them(caseworker, mentor, family):
    enrolment = enrol_start(caseworker, mentor, family)
    friday = date(2026, 11, 20)  # the Friday before Thanksgiving week
    record = report(caseworker, family, friday)
    intake = step_of(enrolment, "intake_screen")
    assert intake.due_on == date(2026, 11, 24)  # two business days: Monday 23, Tuesday 24
    assert step_of(enrolment, "start_referral").due_on == friday + timedelta(days=30)
    services.correct_child_welfare_event(
        viewer=viewer_of(caseworker), event_id=record.pk, occurred_on=date(2026, 11, 25), expected_version=1
    )
    # Wednesday 25 + 2 business days skips Thanksgiving (Thursday 26): Friday 27 and Monday 30.
    assert step_of(enrolment, "intake_screen").due_on == date(2026, 11, 30)
    moved = FamilyActivity.objects.filter(family=family, verb="pathway_rescheduled").order_by("-pk").first()
    assert moved is not None and "moved" in moved.summary and moved.sensitivity == "child_welfare"


def test_a_step_counted_from_another_gets_its_date_when_that_one_is_done(caseworker, mentor, family):
    enrolment = enrol_start(caseworker, mentor, family)
    report(caseworker, family, clock.today() - timedelta(days=10))
    assert step_of(enrolment, "first_sdm_meeting").due_on is None
    intake = step_of(enrolment, "intake_screen")
    services.complete_step(
        viewer=viewer_of(caseworker),
        step_id=intake.pk,
        done_on=clock.today() - timedelta(days=9),
        note="",
        expected_version=intake.version,
    )
    referral = step_of(enrolment, "start_referral")
    services.complete_step(
        viewer=viewer_of(caseworker),
        step_id=referral.pk,
        done_on=clock.today() - timedelta(days=3),
        note="",
        expected_version=referral.version,
    )
    sdm = step_of(enrolment, "first_sdm_meeting")
    assert sdm.due_on is not None and sdm.due_on > clock.today() - timedelta(days=3)
    visits = PathwayStep.objects.filter(enrolment=enrolment, step_key="mentor_visits").order_by("occurrence")
    gaps = [(b.due_on - a.due_on).days for a, b in zip(visits, list(visits)[1:], strict=False)]
    assert gaps[:7] == [7] * 7 and gaps[-1] == 30  # weekly for 60 days, then monthly


# --- doing steps ------------------------------------------------------------------------------------------------


def test_done_not_applicable_and_undo(caseworker, mentor, family):
    enrolment = enrol_start(caseworker, mentor, family)
    report(caseworker, family, clock.today() - timedelta(days=1))
    viewer = viewer_of(caseworker)
    child = step_of(enrolment, "trauma_screen_child")
    with pytest.raises(ValidationError) as raised:
        services.mark_not_applicable(viewer=viewer, step_id=child.pk, reason="  ", expected_version=child.version)
    assert "Say why" in str(raised.value)
    done = services.mark_not_applicable(
        viewer=viewer, step_id=child.pk, reason="Her child is 3 months old.", expected_version=child.version
    )
    assert done.status == StepStatus.NOT_APPLICABLE
    with pytest.raises(ConcurrentEditError):
        services.reopen_step(viewer=viewer, step_id=child.pk, expected_version=child.version)
    reopened = services.reopen_step(viewer=viewer, step_id=child.pk, expected_version=done.version)
    assert reopened.status == StepStatus.OPEN and reopened.done_on is None
    with pytest.raises(ValidationError):
        services.complete_step(
            viewer=viewer,
            step_id=child.pk,
            done_on=clock.today() + timedelta(days=1),
            note="",
            expected_version=reopened.version,
        )
    assert step_of(enrolment, "trauma_screen_child").status == StepStatus.OPEN


def test_a_step_waiting_on_another_cannot_be_done_first(caseworker, mentor, family):
    enrolment = enrol_start(caseworker, mentor, family)
    later = next((s for s in services.pathway_of(enrolment).steps if s.after), None)
    if later is None:
        pytest.skip("START has no step that must wait for another")
    row = step_of(enrolment, later.key)
    with pytest.raises(ValidationError) as raised:
        services.complete_step(
            viewer=viewer_of(caseworker), step_id=row.pk, done_on=clock.today(), note="", expected_version=row.version
        )
    assert "Do this first" in str(raised.value)


def test_states_at_their_boundaries(caseworker, mentor, family):
    today = date(2026, 12, 7)
    row = PathwayStep(due_on=today, status=StepStatus.OPEN)
    assert step_state(row, today=today, due_soon_days=2) == StepState.DUE_SOON  # due today: not overdue yet
    row.due_on = today - timedelta(days=1)
    assert step_state(row, today=today, due_soon_days=2) == StepState.OVERDUE  # due yesterday
    row.due_on = today + timedelta(days=3)
    assert step_state(row, today=today, due_soon_days=2) == StepState.UPCOMING
    row.due_on, row.status, row.done_on = today, StepStatus.DONE, today
    assert step_state(row, today=today, due_soon_days=2) == StepState.DONE_ON_TIME
    row.done_on = today + timedelta(days=1)  # done the day after
    assert step_state(row, today=today, due_soon_days=2) == StepState.DONE_LATE


def test_the_pair_cap_is_enforced(caseworker, mentor, cps_org):
    cap = services.pathway_of.__globals__["definitions"].latest("start").pair_cap
    assert cap is not None
    for n in range(cap):
        enrol_start(caseworker, mentor, make_family(caseworker, given_name=f"Ana{n}"))
    with pytest.raises(ValidationError) as raised:
        enrol_start(caseworker, mentor, make_family(caseworker, given_name="Bea"))
    assert f"cap of {cap}" in str(raised.value)


def test_only_the_enrolling_kind_of_organisation_enrols(coordinator):
    family = make_family(coordinator)
    with pytest.raises(ValidationError):
        services.enrol(viewer=viewer_of(coordinator), family=family, pathway_key="start")


# --- records that complete steps ----------------------------------------------------------------------------------


def test_a_screening_by_the_enrolling_organisation_completes_its_step(caseworker, mentor, family):
    enrolment = enrol_start(caseworker, mentor, family)
    response = screening.start_screening(
        viewer=viewer_of(caseworker),
        family=family,
        instrument_key="uncope",
        language="en",
        how_given=HowGiven.WITH_STAFF,
    )
    viewer = viewer_of(caseworker)
    response = screening.save_answers(
        viewer=viewer,
        response=response,
        raw=dict.fromkeys(("used", "neglected", "cut_down", "objected", "preoccupied", "emotional"), 0),
        version=response.version,
    )
    screening.complete(viewer=viewer, response=response, version=response.version)
    intake = step_of(enrolment, "intake_screen")
    assert intake.status == StepStatus.DONE and intake.evidence == f"ScreeningResponse:{response.pk}"
    assert intake.done_on == clock.today()


def test_another_organisations_record_does_not_complete_the_step(caseworker, mentor, family):
    enrolment = enrol_start(caseworker, mentor, family)
    other = OrganizationFactory(type=OrganizationType.SUD_TREATMENT)
    services.evidence_recorded(
        viewer=None,
        family_id=family.pk,
        evidence=Evidence(type="screening", key="uncope", on=clock.today(), organization_id=other.pk, record="X:1"),
    )
    assert step_of(enrolment, "intake_screen").status == StepStatus.OPEN


def test_a_sent_referral_completes_its_step_on_the_day_it_was_sent(caseworker, mentor, family):
    enrolment = enrol_start(caseworker, mentor, family)
    sent = clock.today() - timedelta(days=2)
    services.evidence_recorded(
        viewer=viewer_of(caseworker),
        family_id=family.pk,
        evidence=Evidence(
            type="referral",
            key="peer_support",
            status="accepted",
            on=clock.today(),
            sent_on=sent,
            organization_id=caseworker.organization_id,
            record="Referral:7",
        ),
    )
    row = step_of(enrolment, "start_referral")
    assert row.status == StepStatus.DONE and row.done_on == sent


def test_a_shared_decision_record_completes_the_meeting_step(caseworker, mentor, family):
    enrolment = enrol_start(caseworker, mentor, family)
    topics = {"moud": {"discussed": True, "questions": "Will my baby need treatment?", "decision": "Stay on my dose"}}
    with pytest.raises(ValidationError):
        services.record_shared_decision(viewer=viewer_of(mentor), family=family, met_on=clock.today(), topics={})
    record = services.record_shared_decision(
        viewer=viewer_of(mentor), family=family, met_on=clock.today(), topics=topics, goals="Bring my baby home"
    )
    assert record.topics["moud"]["decision"] == "Stay on my dose" and not record.topics["dose_changes"]["discussed"]
    assert step_of(enrolment, "first_sdm_meeting").status == StepStatus.DONE


def test_a_delivery_moves_the_perinatal_steps(coordinator):
    obstetric = OrganizationFactory(type=OrganizationType.OBSTETRIC)
    clinician = staff(obstetric, Role.OB_CLINICIAN)
    edd = clock.today() + timedelta(days=60)
    family = make_family(clinician, given_name="Lena", estimated_due_on=edd)
    enrolment = services.enrol(viewer=viewer_of(clinician), family=family, pathway_key="perinatal_year")
    anchored = [s for s in services.pathway_of(enrolment).steps if s.due.anchor == "delivery"]
    assert anchored
    assert step_of(enrolment, anchored[0].key).due_on is None
    pregnancy = family.pregnancies.get()
    delivery_record(
        viewer=viewer_of(clinician),
        episode=pregnancy,
        delivered_on=clock.today(),
        outcome="live_birth",
        infants=[{"given_name": "Luz"}],
    )
    assert step_of(enrolment, anchored[0].key).due_on is not None


# --- pages and the door -----------------------------------------------------------------------------------------


def test_the_step_page_records_done_and_refuses_a_stale_form(client: Client, caseworker, mentor, family):
    enrolment = enrol_start(caseworker, mentor, family)
    row = step_of(enrolment, "joint_home_visit")
    client.force_login(mentor.user)
    page = client.get(f"/pathways/steps/{row.pk}/")
    assert b"Record it done" in page.content and row.title.encode() in page.content
    posted = client.post(
        f"/pathways/steps/{row.pk}/done/", {"version": row.version, "done_on": clock.today().isoformat(), "note": "ok"}
    )
    assert posted.status_code == 302
    stale = client.post(f"/pathways/steps/{row.pk}/reopen/", {"version": row.version})
    assert stale.status_code == 400 and b"Someone else changed this step" in stale.content
    assert step_of(enrolment, "joint_home_visit").status == StepStatus.DONE


def test_an_outsider_gets_a_404_on_every_pathway_page(client: Client, caseworker, mentor, family, outsider):
    enrolment = enrol_start(caseworker, mentor, family)
    row = step_of(enrolment, "intake_screen")
    client.force_login(outsider.user)
    for url in (
        f"/pathways/steps/{row.pk}/",
        f"/pathways/{enrolment.pk}/",
        f"/pathways/family/{family.pk}/enrol/",
        f"/pathways/family/{family.pk}/dates/new/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/pathways/steps/{row.pk}/done/", {"version": 1, "done_on": "2026-12-01"}).status_code == 404
    assert step_of(enrolment, "intake_screen").status == StepStatus.OPEN


def test_my_steps_and_the_caseload_show_what_is_overdue_and_due_this_week(client: Client, caseworker, mentor, family):
    enrolment = enrol_start(caseworker, mentor, family)
    report(caseworker, family, clock.today() - timedelta(days=10))  # intake screen overdue
    client.force_login(caseworker.user)
    page = client.get("/pathways/steps/")
    assert b"Rosa" in page.content and b'data-testid="overdue"' in page.content
    due = selectors.due_steps(viewer=viewer_of(caseworker))
    assert [d.view.step.step_key for d in due.overdue] == ["intake_screen"]
    counts = selectors.caseload_step_counts(viewer_of(caseworker), [family.pk])
    assert counts[family.pk]["overdue"] == 1
    caseload = client.get("/families/")
    assert b'data-testid="steps-overdue"' in caseload.content
    assert enrolment.pk


# --- the daily reminders ----------------------------------------------------------------------------------------


def test_the_daily_reminders_tell_each_person_once_and_the_supervisor_after_the_grace(
    caseworker, mentor, supervisor, family, smtp_server, settings, django_capture_on_commit_callbacks
):
    settings.KINFOLD_PATHWAY_GRACE_DAYS = 3
    for n, member in enumerate((caseworker, mentor, supervisor)):
        member.user.email = f"person{n}@example.org"
        member.user.save()
    enrol_start(caseworker, mentor, family)
    report(caseworker, family, clock.today() - timedelta(days=4))
    today = clock.today()

    def run(on):
        with django_capture_on_commit_callbacks(execute=True):
            return services.remind_due_steps(today=on)

    first = run(today)
    assert caseworker.pk in first.told and supervisor.pk not in first.escalated
    again = run(today)
    assert again.told == {} and again.escalated == {}
    later = run(today + timedelta(days=5))
    assert supervisor.pk in later.escalated and caseworker.pk not in later.told
    assert run(today + timedelta(days=6)).people == 0
    to_caseworker = smtp_server.to("person0@example.org")
    assert len(to_caseworker) == 1
    body = to_caseworker[0].get_content()
    assert "passed its due date" in body and "Rosa" not in body and "Diaz" not in body and "START" not in body
    assert len(smtp_server.to("person2@example.org")) == 1


def test_a_steps_escalation_goes_to_who_may_read_it(caseworker, mentor, family, settings, cps_org):
    settings.KINFOLD_PATHWAY_GRACE_DAYS = 0
    lead = staff(cps_org, Role.PROGRAMME_LEAD)  # her role reads contact details only: not told of a case's steps
    enrolment = enrol_start(caseworker, mentor, family)
    report(caseworker, family, clock.today() - timedelta(days=10))
    told = services.remind_due_steps(today=clock.today())
    assert lead.pk not in told.escalated
    # No CPS supervisor here: the family's coordinator hears, if her role may read the steps.
    assert set(told.escalated) <= {caseworker.pk}
    assert enrolment.pk


def test_a_county_copy_is_offered_in_its_county_instead_of_the_original(tmp_path, settings, cps_org):
    from kinfold.pathways import definitions

    original = (definitions.BUILT_IN_DIR / "start.yaml").read_text(encoding="utf-8")
    copy = original.replace("key: start\n", "key: start_lakeview\n", 1).replace(
        "version: 1\n", 'version: 1\nadapts: "start@1"\ncounty: "Lakeview County"\n', 1
    )
    (tmp_path / "start_lakeview.yaml").write_text(copy, encoding="utf-8")
    settings.KINFOLD_PATHWAY_DIRS = [str(tmp_path)]
    definitions.catalogue.cache_clear()
    try:
        cps_org.region = "Lakeview County"
        assert [p.key for p in services.offered_to(cps_org)] == ["start_lakeview"]
        cps_org.region = "Hill County"
        assert [p.key for p in services.offered_to(cps_org)] == ["start"]
    finally:
        settings.KINFOLD_PATHWAY_DIRS = []
        definitions.catalogue.cache_clear()


def test_a_family_stays_on_the_version_she_was_enrolled_in(tmp_path, settings, caseworker, mentor, family):
    from kinfold.pathways import definitions

    enrolment = enrol_start(caseworker, mentor, family)
    original = (definitions.BUILT_IN_DIR / "start.yaml").read_text(encoding="utf-8")
    newer = original.replace("version: 1\n", "version: 2\n", 1).replace("days: 30}", "days: 20}", 1)
    assert newer != original
    (tmp_path / "start_v2.yaml").write_text(newer, encoding="utf-8")
    settings.KINFOLD_PATHWAY_DIRS = [str(tmp_path)]
    definitions.catalogue.cache_clear()
    try:
        report(caseworker, family, date(2026, 11, 2))
        # Her enrolment keeps version 1's rule (30 days from the report), though version 2 now says 20.
        assert step_of(enrolment, "start_referral").due_on == date(2026, 12, 2)
        other = make_family(caseworker, given_name="Iris")
        later = enrol_start(caseworker, mentor, other)
        assert later.pathway_version == 2
        report(caseworker, other, date(2026, 11, 2))
        assert step_of(later, "start_referral").due_on == date(2026, 11, 22)
    finally:
        settings.KINFOLD_PATHWAY_DIRS = []
        definitions.catalogue.cache_clear()


def test_my_steps_says_when_more_wait_than_it_lists(client: Client, caseworker, mentor, family, monkeypatch):
    enrol_start(caseworker, mentor, family)
    report(caseworker, family, clock.today() - timedelta(days=40))
    monkeypatch.setattr(selectors, "DUE_LIST_LIMIT", 1)
    due = selectors.due_steps(viewer=viewer_of(caseworker))
    assert due.more and len(due.overdue) + len(due.this_week) == 1
    client.force_login(caseworker.user)
    assert b'data-testid="more-steps"' in client.get("/pathways/steps/").content
    monkeypatch.setattr(selectors, "DUE_LIST_LIMIT", 400)
    assert not selectors.due_steps(viewer=viewer_of(caseworker)).more


def test_the_organisation_view_lists_the_agencys_steps_unassigned_included(caseworker, mentor, supervisor, family):
    enrolment = enrol_start(caseworker, mentor, family)
    report(caseworker, family, clock.today() - timedelta(days=40))
    unassigned = step_of(enrolment, "fifth_treatment_session")
    assert unassigned.assignee_id is None and unassigned.due_on is not None
    mine = selectors.due_steps(viewer=viewer_of(supervisor))
    assert not mine.overdue and not mine.this_week  # nothing is hers
    agency = selectors.due_steps(viewer=viewer_of(supervisor), scope="organization")
    listed = {d.view.step.step_key for d in agency.overdue + agency.this_week}
    assert {"intake_screen", "start_referral"} <= listed


def test_dates_moved_by_another_organisations_change_leave_no_line_in_its_name(caseworker, mentor, family):
    clinic = OrganizationFactory(type=OrganizationType.OBSTETRIC)
    clinician = staff(clinic, Role.OB_CLINICIAN)
    enrolment = enrol_start(caseworker, mentor, family)
    report(caseworker, family, clock.today() - timedelta(days=3))
    before = FamilyActivity.objects.filter(family=family, verb="pathway_rescheduled").count()
    # Kinfold moves the dates for the clinic's write; the line would be the clinic's record of CPS's pathway.
    services.reschedule_family(viewer=viewer_of(clinician), family_id=family.pk, why="estimated due date corrected")
    event = ChildWelfareEvent.objects.get(family=family)
    ChildWelfareEvent.objects.filter(pk=event.pk).update(occurred_on=clock.today() - timedelta(days=5))
    moved = services.reschedule_family(viewer=viewer_of(clinician), family_id=family.pk, why="a change")
    assert moved > 0
    lines = FamilyActivity.objects.filter(family=family, verb="pathway_rescheduled")
    assert lines.count() == before and not lines.filter(created_by_org=clinic).exists()
    assert enrolment.pk
