"""A referral's response deadline: N business days after sending (2 by default, per need from the data file),
due at 17:00 local time, skipping weekends, US federal holidays (observed days) and the county's own
holidays. The calendar facts are spelled out; Hypothesis checks the invariants against an independent
count of business days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinfold.directory.models import Need
from kinfold.referrals import deadlines
from kinfold.referrals.deadlines import (
    DEADLINES_PATH,
    DeadlineTableError,
    add_business_days,
    business_days_for,
    is_business_day,
    load_deadline_table,
    response_due,
)
from kinfold.referrals.models import CountyHoliday

NEW_YORK = ZoneInfo("America/New_York")
COUNTY = "Lakeview County"


@pytest.fixture(autouse=True)
def _new_york(settings):
    settings.TIME_ZONE = "America/New_York"


def local(year: int, month: int, day: int, hour: int = 10, minute: int = 0, tz: ZoneInfo = NEW_YORK) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz)


def due_local(sent_at: datetime, need: str = Need.HOUSING, county: str = "") -> datetime:
    return response_due(sent_at, need, county=county).astimezone(NEW_YORK)


# --- the calendar --------------------------------------------------------------------------------------------


def test_weekends_and_federal_holidays_are_not_business_days():
    assert is_business_day(date(2026, 3, 6))  # a Friday
    assert not is_business_day(date(2026, 3, 7))  # Saturday
    assert not is_business_day(date(2026, 3, 8))  # Sunday
    assert not is_business_day(date(2026, 11, 26))  # Thanksgiving
    assert is_business_day(date(2026, 11, 27))  # the day after is not a federal holiday
    assert not is_business_day(date(2026, 6, 19))  # Juneteenth
    # Independence Day 2026 is a Saturday: observed on Friday 3 July.
    assert not is_business_day(date(2026, 7, 3))
    # New Year's Day 2022 was a Saturday: observed on Friday 31 December 2021, in the year before.
    assert not is_business_day(date(2021, 12, 31))


def test_adding_business_days_skips_the_weekend_and_counts_from_the_next_day():
    friday = date(2026, 3, 6)
    assert add_business_days(friday, 0) == friday
    assert add_business_days(friday, 1) == date(2026, 3, 9)
    assert add_business_days(friday, 2) == date(2026, 3, 10)
    assert add_business_days(date(2026, 3, 7), 1) == date(2026, 3, 9)  # from a Saturday
    with pytest.raises(ValueError, match="cannot be negative"):
        add_business_days(friday, -1)


# --- the deadline --------------------------------------------------------------------------------------------


def test_sent_on_a_friday_morning_it_is_due_on_tuesday_at_five_in_the_afternoon():
    # The weekend between is also the start of daylight saving time (8 March 2026): still 17:00 local.
    due = response_due(local(2026, 3, 6, 10), Need.HOUSING)
    assert due == local(2026, 3, 10, 17)
    assert due.tzinfo == UTC and due.hour == 21  # 17:00 EDT


def test_thanksgiving_is_skipped():
    assert due_local(local(2026, 11, 25, 10)) == local(2026, 11, 30, 17)  # Wed -> (Thu) Fri, Mon


def test_independence_day_on_a_saturday_is_observed_on_the_friday_before():
    assert due_local(local(2026, 7, 2, 10)) == local(2026, 7, 7, 17)  # Thu -> (Fri 3 Jul) Mon, Tue


def test_sent_on_a_holiday_it_counts_from_the_next_business_day():
    assert due_local(local(2026, 11, 26, 10)) == local(2026, 12, 1, 17)  # Thanksgiving -> Fri; +2 = Tue


@pytest.mark.django_db
def test_the_countys_own_holiday_is_skipped_for_that_county_only():
    CountyHoliday.objects.create(county=COUNTY, day=date(2026, 3, 9), name="County founders' day")
    sent = local(2026, 3, 6, 10)
    assert due_local(sent, county=COUNTY) == local(2026, 3, 11, 17)  # Fri -> (Mon) Tue, Wed
    assert due_local(sent, county="  lakeview county ") == local(2026, 3, 11, 17)  # as people type it
    assert due_local(sent, county="Other County") == local(2026, 3, 10, 17)
    assert due_local(sent) == local(2026, 3, 10, 17)
    assert not is_business_day(date(2026, 3, 9), COUNTY)
    assert is_business_day(date(2026, 3, 9))


def test_medication_and_safety_referrals_are_answered_the_next_business_day():
    sent = local(2026, 3, 6, 10)
    assert business_days_for(Need.MOUD) == 1
    assert business_days_for(Need.IPV_SERVICES) == 1
    assert due_local(sent, Need.MOUD) == local(2026, 3, 9, 17)
    assert due_local(sent, Need.IPV_SERVICES) == local(2026, 3, 9, 17)
    assert due_local(sent, Need.FOOD) == local(2026, 3, 10, 17)


def test_a_need_the_county_gives_more_days_follows_its_data_file(tmp_path: Path, monkeypatch):
    adapted = tmp_path / "response_deadlines.yaml"
    adapted.write_text(
        'version: 2\nend_of_business_day: "16:30"\ndefault_business_days: 3\nneeds:\n  housing: 5\n', encoding="utf-8"
    )
    monkeypatch.setattr(deadlines, "deadline_table", lambda: load_deadline_table(adapted))
    sent = local(2026, 3, 6, 10)
    assert due_local(sent, Need.HOUSING) == local(2026, 3, 13, 16, 30)  # five business days, at 16:30
    assert due_local(sent, Need.FOOD) == local(2026, 3, 11, 16, 30)  # not listed: the default, three
    # Sent at 16:45, after that county's business day ends: it counts from Monday.
    assert due_local(local(2026, 3, 6, 16, 45), Need.FOOD) == local(2026, 3, 12, 16, 30)


def test_sent_after_the_end_of_the_business_day_it_counts_from_the_next_one():
    assert due_local(local(2026, 3, 6, 16, 59)) == local(2026, 3, 10, 17)
    assert due_local(local(2026, 3, 6, 17, 0)) == local(2026, 3, 11, 17)
    assert due_local(local(2026, 3, 6, 23, 30)) == local(2026, 3, 11, 17)
    assert due_local(local(2026, 3, 9, 7, 0)) == local(2026, 3, 11, 17)  # before opening counts that day


def test_sent_on_a_weekend_it_counts_from_monday():
    assert due_local(local(2026, 3, 7, 10)) == local(2026, 3, 11, 17)
    assert due_local(local(2026, 3, 8, 22)) == local(2026, 3, 11, 17)


def test_the_business_day_is_the_regions_own(settings):
    # 23:30 UTC on Friday 6 March is 18:30 in New York (after hours) but 15:30 in Los Angeles.
    sent = datetime(2026, 3, 6, 23, 30, tzinfo=UTC)
    assert response_due(sent, Need.HOUSING) == local(2026, 3, 11, 17)
    settings.TIME_ZONE = "America/Los_Angeles"
    la = ZoneInfo("America/Los_Angeles")
    assert response_due(sent, Need.HOUSING) == datetime(2026, 3, 10, 17, tzinfo=la)


def test_a_naive_time_or_an_unknown_need_is_refused():
    with pytest.raises(ValueError, match="naive"):
        response_due(datetime(2026, 3, 6, 10), Need.HOUSING)
    with pytest.raises(ValueError, match="unknown need 'haircut'"):
        response_due(local(2026, 3, 6), "haircut")


# --- the data file -------------------------------------------------------------------------------------------


def test_the_shipped_deadlines_cover_every_need_with_a_sensible_number():
    table = load_deadline_table()
    assert set(table.needs) == set(Need)
    assert table.default_business_days == 2
    assert all(1 <= days <= 5 for days in table.needs.values())
    assert table.end_of_business_day.hour == 17


def test_a_mistake_in_the_deadlines_file_names_the_file_line_and_field(tmp_path: Path):
    lines = DEADLINES_PATH.read_text(encoding="utf-8").splitlines()
    at_time = next(i for i, row in enumerate(lines) if row.startswith("end_of_business_day:"))
    at_food = next(i for i, row in enumerate(lines) if row.startswith("  food:"))
    lines[at_time] = "end_of_business_day: 17:00"  # unquoted: YAML reads the number 1020
    lines[at_food] = "  fod: 2"
    bad = tmp_path / "response_deadlines.yaml"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DeadlineTableError) as caught:
        load_deadline_table(bad)
    message = str(caught.value)
    assert message.startswith(f"{bad}: ")
    assert f'line {at_time + 1}, end_of_business_day: Value error, write a time of day as "HH:MM"' in message
    assert f"line {at_food + 1}, needs.fod" in message


def test_zero_business_days_is_refused(tmp_path: Path):
    bad = tmp_path / "deadlines.yaml"
    bad.write_text('version: 1\nend_of_business_day: "17:00"\ndefault_business_days: 0\n', encoding="utf-8")
    with pytest.raises(DeadlineTableError, match=r"line 3, default_business_days: Input should be greater than"):
        load_deadline_table(bad)


# --- the invariants ------------------------------------------------------------------------------------------

FEDERAL = holidays.country_holidays("US", years=range(2019, 2038), observed=True)
COUNTY_DAYS = (date(2026, 3, 9), date(2026, 12, 28), date(2027, 1, 4), date(2030, 8, 16))


def oracle_business_day(day: date, county_days: tuple[date, ...] = ()) -> bool:
    return day.weekday() < 5 and day not in FEDERAL and day not in county_days


def business_days_between(after: date, through: date, county_days: tuple[date, ...] = ()) -> int:
    """Business days d with after < d <= through, counted one by one."""
    return sum(
        oracle_business_day(after + timedelta(days=i), county_days) for i in range(1, (through - after).days + 1)
    )


instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2036, 12, 31), timezones=st.just(UTC))
needs = st.sampled_from(Need.values)


def check_invariants(sent_at: datetime, need: str, county: str, county_days: tuple[date, ...]) -> None:
    due = response_due(sent_at, need, county=county)
    due_here = due.astimezone(NEW_YORK)
    sent_here = sent_at.astimezone(NEW_YORK)
    assert due > sent_at
    assert (due_here.hour, due_here.minute) == (17, 0)
    assert oracle_business_day(due_here.date(), county_days)
    # Counted from the day of sending, or from the next business day when sent after 17:00 or on a day off.
    counts_that_day = oracle_business_day(sent_here.date(), county_days) and sent_here.hour < 17
    expected = business_days_for(need) + (0 if counts_that_day else 1)
    assert business_days_between(sent_here.date(), due_here.date(), county_days) == expected


@given(sent_at=instants, need=needs)
def test_the_due_time_is_a_business_days_end_after_sending_and_exactly_n_business_days_on(sent_at, need):
    check_invariants(sent_at, need, "", ())


@given(first=instants, second=instants, need=needs)
def test_a_later_sending_is_never_due_earlier(first, second, need):
    early, late = sorted((first, second))
    assert response_due(early, need) <= response_due(late, need)


@pytest.fixture
def county_holidays(db) -> tuple[date, ...]:
    CountyHoliday.objects.bulk_create(CountyHoliday(county=COUNTY, day=d, name="County holiday") for d in COUNTY_DAYS)
    return COUNTY_DAYS


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sent_at=st.one_of(
        instants,
        # Near the county's holidays, where they matter.
        st.sampled_from(COUNTY_DAYS).flatmap(
            lambda d: st.integers(min_value=-4 * 24, max_value=2 * 24).map(
                lambda hours: datetime(d.year, d.month, d.day, 12, tzinfo=UTC) + timedelta(hours=hours)
            )
        ),
    ),
    need=needs,
)
def test_the_countys_holidays_hold_the_same_invariants(county_holidays, sent_at, need):
    check_invariants(sent_at, need, COUNTY, county_holidays)
