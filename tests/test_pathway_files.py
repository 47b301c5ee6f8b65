"""Pathway files (the data layer of ``kinfold.pathways``): the three shipped pathways load and name only roles,
instruments, needs, organisation types and kinds Kinfold knows; a file with a mistake is refused naming its file,
line and field in plain words; due dates count calendar days or the county's business days (weekends, federal
holidays and their observed days, the county's own holidays), before or after an anchor, with repeats; a county's
copy loads beside the original; a stored snapshot reads back as it was. Hypothesis checks the business-day
arithmetic against an independent count."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import holidays
import pytest
from hypothesis import assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from kinfold.access.vocabulary import kind_of
from kinfold.directory.models import Need
from kinfold.organizations.models import OrganizationType, Role
from kinfold.pathways.definitions import (
    ANCHORS,
    BUILT_IN_DIR,
    PATHWAY_KINDS,
    REFERRAL_PROGRESS,
    Pathway,
    PathwayFileError,
    Step,
    catalogue,
    check_pathway_files,
    due_dates,
    latest,
    load_pathway_file,
    order,
    pathway,
    referral_reached,
)
from kinfold.referrals.models import CountyHoliday, ReferralStatus
from kinfold.referrals.services import TRANSITIONS
from kinfold.screening.instruments import catalogue as instrument_catalogue

SHIPPED = ("start", "plan_of_safe_care", "perinatal_year")
COUNTY = "Lakeview County"


@pytest.fixture
def own_dir(tmp_path: Path, settings: Any) -> Iterator[Path]:
    """A county's own directory of pathway files, named by KINFOLD_PATHWAY_DIRS."""
    settings.KINFOLD_PATHWAY_DIRS = [str(tmp_path)]
    catalogue.cache_clear()
    yield tmp_path
    catalogue.cache_clear()


def make_step(days: int, *, working: bool = False, anchor: str = "enrolment", repeat: Any = ()) -> Step:
    return Step.model_validate(
        {
            "key": "a_step",
            "title": {"en": "A step"},
            "role": "care_coordinator",
            "completed_by": {"type": "form"},
            "due": {"from": anchor, "days": days, "working": working},
            "repeat": list(repeat),
        }
    )


# --- the shipped files ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", SHIPPED)
def test_each_shipped_file_loads_and_names_only_what_kinfold_knows(key: str) -> None:
    loaded = load_pathway_file(BUILT_IN_DIR / f"{key}.yaml")
    assert loaded.key == key and loaded.version == 1
    assert loaded.sources and loaded.assumptions and loaded.title.es and loaded.summary.es
    instruments = instrument_catalogue()
    for step in loaded.steps:
        assert step.role in Role.values, step.key
        assert step.title.es, f"{key}.{step.key} has no Spanish title"
        assert all(i in instruments for i in step.completed_by.instruments), step.key
        assert all(n in Need.values for n in step.completed_by.needs), step.key
        if step.completed_by.type == "referral":
            assert step.completed_by.status in ReferralStatus.values
        anchor = step.due.step_key
        assert step.due.anchor in ANCHORS or (anchor is not None and loaded.step(anchor))
    for org_type in loaded.enrolled_by:
        assert org_type in OrganizationType.values
        kind = loaded.kind_for(org_type)
        assert kind is not None and (kind in PATHWAY_KINDS or kind_of(kind) is not None)
    # The file tells people why: a header comment with its sources and assumptions.
    text = (BUILT_IN_DIR / f"{key}.yaml").read_text(encoding="utf-8")
    assert text.startswith("#") and "# Sources" in text and "# Assumptions" in text


@pytest.mark.parametrize("key", SHIPPED)
def test_the_shipped_files_use_person_first_words(key: str) -> None:
    text = (BUILT_IN_DIR / f"{key}.yaml").read_text(encoding="utf-8").lower()
    # (A law's or an agency's own name may keep its words: "Comprehensive Addiction and Recovery Act".)
    for word in ("addicts?", "abusers?", "clean", "dirty", "drug bab(y|ies)", "substance-exposed infants?", "junkies?"):
        assert not re.search(rf"\b{word}\b", text), f"{key}.yaml says {word!r}"


def test_the_catalogue_holds_the_three_shipped_pathways() -> None:
    catalogue.cache_clear()
    assert set(catalogue()) == {(key, 1) for key in SHIPPED}
    assert latest("start").ref == "start@1" and pathway("plan_of_safe_care", 1).key == "plan_of_safe_care"
    with pytest.raises(KeyError, match="no_such_pathway"):
        latest("no_such_pathway")
    with pytest.raises(KeyError, match="version 9"):
        pathway("start", 9)
    assert check_pathway_files() == []


def test_start_as_the_programme_runs_it() -> None:
    start = latest("start")
    assert start.pair_cap == 15 and start.enrolled_by == ("child_welfare",)
    assert start.kind_for("child_welfare") == "child_welfare_case" and start.kind_for("court") is None
    intake = start.step("intake_screen")
    assert intake.completed_by.instruments == ("uncope", "nida_quick_screen", "taps")
    assert (intake.due.anchor, intake.due.days, intake.due.working) == ("cps_report", 2, True)
    # The fidelity figure counts from the CPS report to the fifth treatment session.
    fifth = start.step("fifth_treatment_session")
    assert fifth.due.anchor == "cps_report" and fifth.role == "sud_counselor"
    meeting = start.step("first_sdm_meeting")
    assert meeting.completed_by.meeting == "shared_decision_making" and meeting.due.anchor == "step:start_referral"
    assessment = start.step("treatment_assessment")
    assert assessment.due.anchor == "step:treatment_referral" and assessment.due.days == 2
    assert start.step("treatment_referral").completed_by.status == "requested"
    assert start.step("trauma_screen_parent").completed_by.instruments == ("ace",)
    assert start.step("trauma_screen_child").completed_by.type == "form"
    assert any("child" in a and "instrument" in a for a in start.assumptions)
    keys = [s.key for s in order(start)]
    assert keys.index("start_referral") < keys.index("first_sdm_meeting") < keys.index("treatment_referral")
    assert keys.index("treatment_referral") < keys.index("treatment_assessment") < keys.index("first_treatment_session")
    assert keys.index("first_treatment_session") < keys.index("fifth_treatment_session")


def test_the_plan_of_safe_care_is_due_the_day_before_discharge() -> None:
    plan = latest("plan_of_safe_care")
    assert plan.enrolled_by == ("hospital", "obstetric")
    assert {plan.kind_for(t) for t in plan.enrolled_by} == {"plan_of_safe_care"}
    step = plan.step("plan_before_discharge")
    assert step.completed_by.document == "plan_of_safe_care"
    assert due_dates(step, {"discharge": date(2026, 5, 10)}) == [date(2026, 5, 9)]
    # Notified the next working day: a birth on Christmas Eve 2026 (a Thursday) is notified on Monday 28th.
    notify = plan.step("notify_child_welfare")
    assert due_dates(notify, {"delivery": date(2026, 12, 24)}) == [date(2026, 12, 28)]
    checks = due_dates(plan.step("plan_check_in"), {"discharge": date(2026, 1, 1)})
    assert checks == [date(2026, 1, 1) + timedelta(days=d) for d in (30, 60, 90, 120, 150, 180)]
    assert "plan_check_in" in plan.step("plan_closure").after
    assert [s.key for s in order(plan)][-1] == "plan_closure"


def test_the_perinatal_year_counts_pregnancy_weeks_back_from_the_due_date() -> None:
    year = latest("perinatal_year")
    edd = date(2026, 9, 1)
    # Home visiting before 28 weeks: 12 weeks before a due date at 40 weeks.
    assert due_dates(year.step("home_visiting_referral"), {"estimated_due_date": edd}) == [date(2026, 6, 9)]
    assert due_dates(year.step("birth_plan"), {"estimated_due_date": edd}) == [date(2026, 8, 4)]
    assert year.step("postpartum_mood_screen").offsets() == [14, 44, 104, 164, 224, 284, 344]
    checks = [year.step(f"moud_check_{m}") for m in ("1m", "3m", "6m", "12m")]
    assert [c.due.days for c in checks] == [30, 90, 180, 365] and {c.role for c in checks} == {"moud_prescriber"}
    assert year.step("peer_support_referral").completed_by.needs == ("peer_support",)
    birth_plan_help = year.step("birth_plan").help
    assert birth_plan_help is not None and "NICU" in birth_plan_help.en and "rooming-in" in birth_plan_help.en
    # Before the birth the postpartum steps have no due date yet.
    assert due_dates(year.step("postpartum_visit_early"), {"estimated_due_date": edd, "delivery": None}) is None


def test_a_referral_step_is_done_at_its_status_or_a_later_one() -> None:
    assert set(REFERRAL_PROGRESS) <= set(ReferralStatus.values)
    # Each status of the ladder is reachable from the one before through the referral's own transitions.
    for before, after in pairwise(REFERRAL_PROGRESS):
        reachable, frontier = {before}, [before]
        while frontier:
            current = frontier.pop()
            for frm, to in TRANSITIONS:
                if frm == current and to not in reachable:
                    reachable.add(to)
                    frontier.append(to)
        assert after in reachable, f"{after} cannot follow {before}"
    assert referral_reached("accepted", ["requested", "received", "accepted", "in-progress"])
    assert referral_reached("requested", ["requested", "completed"])
    assert not referral_reached("in-progress", ["requested", "accepted", "on-hold", "failed"])
    assert not referral_reached("requested", ["draft", "cancelled"])


# --- mistakes in a file --------------------------------------------------------------------------------------------

MINIMAL = """\
key: demo
version: 1
title: {en: "A demo pathway"}
summary: {en: "For a test."}
sources: ["Invented for a test."]
enrolled_by: [community]
filing: {community: care_pathway}
steps:
  - key: first
    title: {en: "First step", es: "Primer paso"}
    role: care_coordinator
    completed_by: {type: form}
    due: {from: enrolment, days: 7}
  - key: second
    title: {en: "Second step"}
    role: home_visitor
    completed_by: {type: referral, needs: [home_visiting], status: requested}
    after: [first]
    due: {from: "step:first", days: 3}
"""


def test_the_minimal_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    demo = load_pathway_file(path)
    assert [s.key for s in demo.steps] == ["first", "second"] and demo.due_soon_days == 3 and demo.pair_cap is None
    assert demo.step("second").depends_on == ("first",)


MISTAKES = [
    # (what is written instead, line, field, the plain words)
    ('from: "step:first"', 'from: "step:nope"', 19, "steps.1.due.from", "no step `nope` in this file"),
    ("from: enrolment", "from: birthday", 13, "steps.0.due.from", "no anchor `birthday`"),
    ("after: [first]", "after: [frist]", 18, "steps.1.after.0", "no step `frist` in this file"),
    ("role: home_visitor", "role: home_vistor", 16, "steps.1.role", "no role `home_vistor`"),
    ('{en: "Second step"}', '{es: "Segundo paso"}', 15, "steps.1.title.en", "Field required"),
    ("key: second", "key: first", 14, "steps.1.key", "two steps are called `first`"),
    ("status: requested", "status: sent", 17, "steps.1.completed_by.status", "write `requested`"),
    ("status: requested", "status: rejected", 17, "steps.1.completed_by.status", "`rejected` is no step forward"),
    ("needs: [home_visiting]", "needs: [rehab]", 17, "steps.1.completed_by.needs.0", "no need `rehab`"),
    ("{type: form}", "{type: screening, instruments: [phq99]}", 12, "steps.0.completed_by.instruments.0", "`phq99`"),
    ("{type: form}", "{type: form, meeting: shared_decision_making}", 12, "steps.0.completed_by.meeting", "a form"),
    ("{type: form}", "{type: meeting}", 12, "steps.0.completed_by.meeting", "names its meeting"),
    (
        "{type: form}",
        "{type: document, document: court_order}",
        12,
        "steps.0.completed_by.document",
        "plan_of_safe_care",
    ),
    ('"step:first", days: 3', '"step:second", days: 3', 19, "steps.1.due.from", "timed from its own completion"),
    ("days: 7}", 'days: "7"}', 13, "steps.0.due.days", "integer"),
    ("version: 1", "version: 0", 2, "version", "greater than or equal to 1"),
    ("filing: {community: care_pathway}", "filing: {community: care_plan}", 7, "filing.community", "no kind"),
    ("filing: {community: care_pathway}", "filing: {hospital: care_pathway}", 7, "filing", "no kind for `community`"),
    ("enrolled_by: [community]", "enrolled_by: [daycare]", 6, "enrolled_by.0", "no organisation type `daycare`"),
    ('sources: ["Invented for a test."]', "sources: []", 5, "sources", "at least 1"),
    ("key: demo", "key: Demo-Pathway", 1, "key", "pattern"),
]


@pytest.mark.parametrize(("old", "new", "line", "field", "words"), MISTAKES, ids=[m[4] for m in MISTAKES])
def test_a_mistake_names_the_file_line_and_field(
    tmp_path: Path, old: str, new: str, line: int, field: str, words: str
) -> None:
    assert old in MINIMAL
    path = tmp_path / "demo.yaml"
    path.write_text(MINIMAL.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PathwayFileError) as raised:
        load_pathway_file(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: ")
    assert f"line {line}, {field}: " in message and words in message, message


def test_steps_that_wait_for_each_other_in_a_circle_are_refused(tmp_path: Path) -> None:
    circle = MINIMAL.replace(
        "    due: {from: enrolment, days: 7}", "    after: [second]\n    due: {from: enrolment, days: 7}"
    )
    path = tmp_path / "demo.yaml"
    path.write_text(circle, encoding="utf-8")
    with pytest.raises(PathwayFileError) as raised:
        load_pathway_file(path)
    message = str(raised.value)
    # `second` waits for `first` (after, line 19), which waits for `second` (line 13).
    assert "line 19, steps.1.after.0: steps wait for each other in a circle: `first` → `second` → `first`" in message


def test_a_longer_circle_through_a_step_anchor_is_named(tmp_path: Path) -> None:
    third = (
        "  - key: third\n"
        '    title: {en: "Third step"}\n'
        "    role: care_coordinator\n"
        "    completed_by: {type: form}\n"
        '    due: {from: "step:second", days: 1}\n'
    )
    circle = MINIMAL.replace("due: {from: enrolment, days: 7}", 'due: {from: "step:third", days: 7}') + third
    path = tmp_path / "demo.yaml"
    path.write_text(circle, encoding="utf-8")
    with pytest.raises(PathwayFileError) as raised:
        load_pathway_file(path)
    assert "steps wait for each other in a circle: `first` → `third` → `second` → `first`" in str(raised.value)


def test_a_step_cannot_be_timed_from_a_repeating_step(tmp_path: Path) -> None:
    repeating = MINIMAL.replace(
        "    due: {from: enrolment, days: 7}\n",
        "    due: {from: enrolment, days: 7}\n    repeat: [{every: 7, until: 28}]\n",
    )
    path = tmp_path / "demo.yaml"
    path.write_text(repeating, encoding="utf-8")
    with pytest.raises(PathwayFileError, match=r"line 20, steps\.1\.due\.from: `first` repeats"):
        load_pathway_file(path)


@pytest.mark.parametrize(
    ("repeat", "words"),
    [
        (
            "[{every: 7, until: 60}, {every: 30, until: 60}]",
            "steps.0.repeat.1.until: each part of `repeat` goes further",
        ),
        ("[{every: 0, until: 60}]", "steps.0.repeat.0.every: Input should be greater than or equal to 1"),
        ("[{every: 30, until: 20}]", "steps.0.repeat.0: this part adds no occurrence: the next would be day 37"),
        ("[{every: 1, until: 3000}]", "steps.0.repeat: a step recurs at most 366 times"),
    ],
)
def test_a_repeat_that_cannot_be_meant_is_refused(tmp_path: Path, repeat: str, words: str) -> None:
    path = tmp_path / "demo.yaml"
    bad = MINIMAL.replace(
        "    due: {from: enrolment, days: 7}\n", f"    due: {{from: enrolment, days: 7}}\n    repeat: {repeat}\n"
    )
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(PathwayFileError) as raised:
        load_pathway_file(path)
    assert words in str(raised.value) and "line 14" in str(raised.value)


def test_several_mistakes_are_named_at_once(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(MINIMAL.replace("after: [first]", "after: [frist]").replace("step:first", "step:nope"), "utf-8")
    with pytest.raises(PathwayFileError) as raised:
        load_pathway_file(path)
    message = str(raised.value)
    assert (
        "line 18, steps.1.after.0: no step `frist`" in message
        and "line 19, steps.1.due.from: no step `nope`" in message
    )
    path.write_text(MINIMAL.replace("home_visitor", "nanny").replace("[home_visiting]", "[rehab]"), "utf-8")
    with pytest.raises(PathwayFileError) as raised:
        load_pathway_file(path)
    message = str(raised.value)
    assert "line 16, steps.1.role: no role `nanny`" in message and "line 17, steps.1.completed_by.needs.0" in message


# --- due dates -----------------------------------------------------------------------------------------------------


def test_calendar_days_after_and_before_the_anchor() -> None:
    assert due_dates(make_step(30), {"enrolment": date(2026, 1, 30)}) == [date(2026, 3, 1)]
    assert due_dates(make_step(-84, anchor="estimated_due_date"), {"estimated_due_date": date(2026, 3, 1)}) == [
        date(2025, 12, 7)
    ]
    assert due_dates(make_step(0, anchor="delivery"), {"delivery": date(2026, 2, 28)}) == [date(2026, 2, 28)]


@pytest.mark.parametrize(
    ("anchor", "days", "due", "why"),
    [
        (date(2026, 1, 9), 2, date(2026, 1, 13), "Friday + 2: Monday, Tuesday"),
        (date(2026, 1, 10), 1, date(2026, 1, 12), "from a Saturday: Monday"),
        (date(2026, 11, 25), 2, date(2026, 11, 30), "over Thanksgiving (Thursday 26 November)"),
        (date(2026, 12, 24), 1, date(2026, 12, 28), "over Christmas (Friday 25 December)"),
        (date(2027, 12, 30), 1, date(2028, 1, 3), "New Year's Day 2028 is a Saturday, observed Friday 31 December"),
        (date(2026, 7, 2), 1, date(2026, 7, 6), "Independence Day 2026 is a Saturday, observed Friday 3 July"),
        (date(2026, 11, 30), -2, date(2026, 11, 25), "two business days before a Monday: Friday, then Wednesday"),
        (date(2026, 12, 28), -1, date(2026, 12, 24), "the business day before: not Christmas"),
        (date(2026, 1, 10), 0, date(2026, 1, 10), "0 is the anchor's own day"),
    ],
)
def test_working_days_skip_weekends_and_federal_holidays(anchor: date, days: int, due: date, why: str) -> None:
    assert due_dates(make_step(days, working=True), {"enrolment": anchor}) == [due], why


@pytest.mark.django_db
def test_working_days_skip_the_countys_own_holidays() -> None:
    CountyHoliday.objects.create(county=COUNTY, day=date(2026, 3, 2), name="County founders' day")
    step = make_step(1, working=True)
    anchors = {"enrolment": date(2026, 2, 27)}  # a Friday
    assert due_dates(step, anchors, county=COUNTY) == [date(2026, 3, 3)]
    assert due_dates(step, anchors, county="Another County") == [date(2026, 3, 2)]
    assert due_dates(step, anchors) == [date(2026, 3, 2)]
    before = make_step(-1, working=True)
    assert due_dates(before, {"enrolment": date(2026, 3, 3)}, county=COUNTY) == [date(2026, 2, 27)]


def test_weekly_for_sixty_days_then_monthly() -> None:
    mentor_visits = latest("start").step("mentor_visits")
    assert mentor_visits.offsets() == [7, 14, 21, 28, 35, 42, 49, 56, 86, 116, 146, 176, 206, 236, 266, 296, 326, 356]
    referred = date(2026, 1, 5)
    dates = due_dates(mentor_visits, {"step:start_referral": referred})
    assert dates == [
        date(2026, 1, 12),
        date(2026, 1, 19),
        date(2026, 1, 26),
        date(2026, 2, 2),
        date(2026, 2, 9),
        date(2026, 2, 16),
        date(2026, 2, 23),
        date(2026, 3, 2),
        date(2026, 4, 1),
        date(2026, 5, 1),
        date(2026, 5, 31),
        date(2026, 6, 30),
        date(2026, 7, 30),
        date(2026, 8, 29),
        date(2026, 9, 28),
        date(2026, 10, 28),
        date(2026, 11, 27),
        date(2026, 12, 27),
    ]


def test_a_repeat_in_working_days_counts_each_occurrence_from_the_anchor() -> None:
    step = make_step(1, working=True, repeat=[{"every": 5, "until": 20}])
    # From Monday 23 November 2026: the 1st, 6th, 11th and 16th business days after it (Thanksgiving skipped).
    assert due_dates(step, {"enrolment": date(2026, 11, 23)}) == [
        date(2026, 11, 24),
        date(2026, 12, 2),
        date(2026, 12, 9),
        date(2026, 12, 16),
    ]


def test_an_unknown_anchor_has_no_due_date_yet_and_a_step_anchor_counts_from_its_completion() -> None:
    start = latest("start")
    meeting = start.step("first_sdm_meeting")
    assert due_dates(meeting, {}) is None
    assert due_dates(meeting, {"step:start_referral": None, "cps_report": date(2026, 1, 5)}) is None
    # Referred on Thursday 8 January 2026: the meeting is due 2 working days later, Monday 12 January.
    assert due_dates(meeting, {"step:start_referral": date(2026, 1, 8)}) == [date(2026, 1, 12)]
    assessment = start.step("treatment_assessment")  # 48 hours: calendar days
    assert due_dates(assessment, {"step:treatment_referral": date(2026, 1, 9)}) == [date(2026, 1, 11)]


def test_order_puts_a_step_after_what_it_waits_for_and_keeps_the_file_order_otherwise(tmp_path: Path) -> None:
    late_first = MINIMAL.replace(
        "  - key: first\n",
        "  - key: zero\n"
        '    title: {en: "Waits for second"}\n'
        "    role: care_coordinator\n"
        "    completed_by: {type: form}\n"
        "    after: [second]\n"
        "    due: {from: enrolment, days: 1}\n"
        "  - key: first\n",
    )
    path = tmp_path / "demo.yaml"
    path.write_text(late_first, encoding="utf-8")
    assert [s.key for s in order(load_pathway_file(path))] == ["first", "second", "zero"]


def test_due_soon_is_the_window_before_the_due_day() -> None:
    start = latest("start")  # 2 days
    due = date(2026, 3, 10)
    assert [start.due_soon(due, due - timedelta(days=d)) for d in (3, 2, 1, 0, -1)] == [False, True, True, True, False]


# --- a county's own copy -------------------------------------------------------------------------------------------


def county_copy(**changes: str) -> str:
    text = (BUILT_IN_DIR / "start.yaml").read_text(encoding="utf-8")
    text = text.replace("key: start\n", f"key: {changes.get('key', 'start_lakeview')}\n", 1)
    text = text.replace("version: 1\n", f"version: {changes.get('version', '1')}\n", 1)
    text = text.replace(
        "enrolled_by:", f"adapts: {changes.get('adapts', 'start@1')}\ncounty: {COUNTY}\nenrolled_by:", 1
    )
    return text.replace(
        "due: {from: cps_report, days: 2, working: true}", "due: {from: cps_report, days: 3, working: true}"
    )


def test_a_county_copy_loads_beside_the_original(own_dir: Path) -> None:
    (own_dir / "start_lakeview.yaml").write_text(county_copy(), encoding="utf-8")
    found = catalogue()
    assert set(found) == {("start", 1), ("start_lakeview", 1), ("plan_of_safe_care", 1), ("perinatal_year", 1)}
    copy = found[("start_lakeview", 1)]
    assert copy.adapts_ref == ("start", 1) and copy.county == COUNTY
    assert copy.step("intake_screen").due.days == 3 and found[("start", 1)].step("intake_screen").due.days == 2
    assert check_pathway_files() == []


def test_a_new_version_is_the_latest_and_the_old_one_stays(own_dir: Path) -> None:
    (own_dir / "start_v2.yaml").write_text(county_copy(key="start", version="2"), encoding="utf-8")
    assert latest("start").version == 2 and latest("start").step("intake_screen").due.days == 3
    assert pathway("start", 1).step("intake_screen").due.days == 2  # families enrolled in version 1 stay on it


def test_adapting_a_pathway_that_does_not_exist_is_refused(own_dir: Path) -> None:
    path = own_dir / "start_lakeview.yaml"
    path.write_text(county_copy(adapts="start@7"), encoding="utf-8")
    with pytest.raises(PathwayFileError) as raised:
        catalogue()
    message = str(raised.value)
    line = path.read_text(encoding="utf-8").splitlines().index("adapts: start@7") + 1
    assert message.startswith(f"{path}: line {line}, adapts: no pathway `start@7`") and "start@1" in message
    problems = check_pathway_files()
    assert len(problems) == 1 and problems[0].id == "pathways.E001" and str(path) in problems[0].msg


def test_two_files_with_the_same_key_and_version_are_refused(own_dir: Path) -> None:
    path = own_dir / "start.yaml"
    path.write_text((BUILT_IN_DIR / "start.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(PathwayFileError, match=r"`start` version 1 is already defined in .*data/pathways/start\.yaml"):
        catalogue()


def test_a_directory_that_does_not_exist_is_named(settings: Any, tmp_path: Path) -> None:
    settings.KINFOLD_PATHWAY_DIRS = [str(tmp_path / "missing")]
    catalogue.cache_clear()
    try:
        with pytest.raises(PathwayFileError, match="missing: KINFOLD_PATHWAY_DIRS names a directory that does not"):
            catalogue()
    finally:
        catalogue.cache_clear()


# --- the snapshot an enrolment keeps -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", SHIPPED)
def test_a_snapshot_reads_back_as_it_was(key: str) -> None:
    original = latest(key)
    stored = json.loads(json.dumps(original.as_json()))  # as a JSON column keeps it
    assert Pathway.from_json(stored) == original
    assert stored["steps"][0]["due"]["from"] == original.steps[0].due.anchor


def test_a_snapshot_stays_readable_after_its_vocabulary_changes() -> None:
    stored = latest("perinatal_year").as_json()
    stored["steps"][0]["completed_by"]["instruments"] = ["a_retired_instrument"]
    stored["steps"][0]["role"] = "a_retired_role"
    assert Pathway.from_json(stored).steps[0].completed_by.instruments == ("a_retired_instrument",)
    stored["steps"][1]["after"] = ["no_such_step"]
    with pytest.raises(PathwayFileError, match=r"steps\.1\.after\.0: no step `no_such_step` in this file"):
        Pathway.from_json(stored)


# --- properties of the arithmetic ----------------------------------------------------------------------------------


def federal(day: date) -> bool:
    return day in holidays.country_holidays("US", years=[day.year - 1, day.year, day.year + 1], observed=True)


def business(day: date) -> bool:
    return day.weekday() < 5 and not federal(day)


anchors = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))


@hypothesis_settings(max_examples=150, deadline=None)
@given(anchor=anchors, days=st.integers(min_value=-60, max_value=60).filter(lambda d: d != 0))
def test_a_working_day_due_date_is_a_business_day_exactly_days_business_days_away(anchor: date, days: int) -> None:
    dates = due_dates(make_step(days, working=True), {"enrolment": anchor})
    assert dates is not None and len(dates) == 1
    due = dates[0]
    assert business(due)
    if days > 0:  # counting forward, the anchor does not count and the due day does
        span = [anchor + timedelta(days=d) for d in range(1, (due - anchor).days + 1)]
    else:  # counting back, the due day counts and the anchor does not
        span = [due + timedelta(days=d) for d in range((anchor - due).days)]
    assert sum(business(d) for d in span) == abs(days)


@hypothesis_settings(max_examples=60, deadline=None)
@given(anchor=anchors, days=st.integers(min_value=-40, max_value=39))
def test_working_day_due_dates_move_forward_with_days(anchor: date, days: int) -> None:
    first = due_dates(make_step(days, working=True), {"enrolment": anchor})
    second = due_dates(make_step(days + 1, working=True), {"enrolment": anchor})
    assert first is not None and second is not None and first[0] < second[0]


segments = st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=3)


@hypothesis_settings(max_examples=100, deadline=None)
@given(anchor=anchors, first=st.integers(min_value=-30, max_value=30), everies=segments, working=st.booleans())
def test_repeats_follow_each_segment(anchor: date, first: int, everies: list[int], working: bool) -> None:
    repeat, last = [], first
    for every in everies:
        # Three more occurrences in each part; `until` falls between the third and the would-be fourth, so the next
        # part continues from the last occurrence, not from `until`.
        last += every * 3
        repeat.append({"every": every, "until": last + (every - 1) // 2})
    assume(all(a["until"] < b["until"] for a, b in pairwise(repeat)))  # the schema asks for a growing `until`
    step = make_step(first, working=working, repeat=repeat)
    offsets = step.offsets()
    assert offsets[0] == first and len(offsets) == 1 + 3 * len(everies)
    gaps = [b - a for a, b in pairwise(offsets)]
    assert gaps == [every for every in everies for _ in range(3)]
    dates = due_dates(step, {"enrolment": anchor})
    assert dates is not None and len(dates) == len(offsets) and dates == sorted(set(dates))
    if not working:
        assert dates == [anchor + timedelta(days=o) for o in offsets]
    else:  # each occurrence is the offset-th business day from the anchor, as if it were a step of its own
        alone = [due_dates(make_step(o, working=True), {"enrolment": anchor}) for o in offsets]
        assert [[d] for d in dates] == alone
