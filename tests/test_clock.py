"""Tests for kinfold.clock: perinatal time from dates, with the calendar and DST edges spelled out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kinfold import clock
from kinfold.clock import (
    DAYS_IN_TERM_PREGNANCY,
    POSTPARTUM_YEAR_DAYS,
    Age,
    GestationalAge,
    add_months,
    age,
    gestational_age,
    is_before_nfp_cutoff,
    local_date,
    perinatal_stage,
    postpartum_day,
    postpartum_month,
    trimester,
)

NEW_YORK = "America/New_York"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- now / local_date / today ----------------------------------------------------------------


def test_now_returns_an_aware_utc_instant(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.utils import timezone as dj_timezone

    fixed = datetime(2026, 3, 8, 1, 30, tzinfo=ZoneInfo(NEW_YORK))  # 06:30 UTC
    monkeypatch.setattr(dj_timezone, "now", lambda: fixed)
    result = clock.now()
    assert result == fixed
    assert (result.hour, result.minute) == (6, 30)
    assert result.utcoffset() == timedelta(0)
    assert result.tzinfo is UTC


def test_local_date_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2026, 3, 8, 12, 0), tz=NEW_YORK)


def test_local_date_accepts_a_zoneinfo_as_well_as_a_name() -> None:
    at = utc(2026, 6, 1, 2, 0)
    assert local_date(at, tz=ZoneInfo(NEW_YORK)) == local_date(at, tz=NEW_YORK) == date(2026, 5, 31)


def test_local_date_of_an_instant_in_another_offset_is_the_same_instant() -> None:
    at = datetime(2026, 6, 1, 9, 0, tzinfo=timezone(timedelta(hours=10)))  # 23:00 UTC on 31 May
    assert local_date(at, tz="UTC") == date(2026, 5, 31)


def test_local_date_either_side_of_spring_forward_in_new_york() -> None:
    # Clocks go from 02:00 EST to 03:00 EDT at 2026-03-08 07:00 UTC.
    assert local_date(utc(2026, 3, 8, 6, 59), tz=NEW_YORK) == date(2026, 3, 8)  # 01:59 EST
    assert local_date(utc(2026, 3, 8, 7, 0), tz=NEW_YORK) == date(2026, 3, 8)  # 03:00 EDT
    # Local midnight moves from 05:00 UTC (EST) to 04:00 UTC (EDT).
    assert local_date(utc(2026, 3, 8, 4, 59), tz=NEW_YORK) == date(2026, 3, 7)
    assert local_date(utc(2026, 3, 8, 5, 0), tz=NEW_YORK) == date(2026, 3, 8)
    assert local_date(utc(2026, 3, 9, 3, 59), tz=NEW_YORK) == date(2026, 3, 8)
    assert local_date(utc(2026, 3, 9, 4, 0), tz=NEW_YORK) == date(2026, 3, 9)


def test_local_date_either_side_of_fall_back_in_new_york() -> None:
    # Clocks go from 02:00 EDT back to 01:00 EST at 2026-11-01 06:00 UTC.
    assert local_date(utc(2026, 11, 1, 5, 59), tz=NEW_YORK) == date(2026, 11, 1)  # 01:59 EDT
    assert local_date(utc(2026, 11, 1, 6, 0), tz=NEW_YORK) == date(2026, 11, 1)  # 01:00 EST
    # Local midnight moves from 04:00 UTC (EDT) to 05:00 UTC (EST).
    assert local_date(utc(2026, 11, 1, 3, 59), tz=NEW_YORK) == date(2026, 10, 31)
    assert local_date(utc(2026, 11, 1, 4, 0), tz=NEW_YORK) == date(2026, 11, 1)
    assert local_date(utc(2026, 11, 2, 4, 59), tz=NEW_YORK) == date(2026, 11, 1)
    assert local_date(utc(2026, 11, 2, 5, 0), tz=NEW_YORK) == date(2026, 11, 2)


def test_an_instant_at_0330_utc_is_still_the_previous_day_in_new_york() -> None:
    assert local_date(utc(2026, 3, 8, 3, 30), tz=NEW_YORK) == date(2026, 3, 7)  # 22:30 EST
    assert local_date(utc(2026, 11, 1, 3, 30), tz=NEW_YORK) == date(2026, 10, 31)  # 23:30 EDT
    assert local_date(utc(2026, 3, 8, 3, 30), tz="UTC") == date(2026, 3, 8)


def test_local_date_defaults_to_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: utc(2026, 3, 8, 3, 30))
    assert local_date(tz=NEW_YORK) == date(2026, 3, 7)


def test_today_is_the_local_date_of_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: utc(2026, 11, 1, 3, 30))
    assert clock.today(NEW_YORK) == date(2026, 10, 31)
    assert clock.today("UTC") == date(2026, 11, 1)


# --- GestationalAge --------------------------------------------------------------------------


def test_gestational_age_prints_weeks_and_days() -> None:
    assert str(GestationalAge(31, 2)) == "31w 2d"
    assert GestationalAge(31, 2).total_days == 219


def test_gestational_age_from_days_splits_into_weeks_and_days() -> None:
    assert GestationalAge.from_days(219) == GestationalAge(weeks=31, days=2)
    assert GestationalAge.from_days(0) == GestationalAge(0, 0)


def test_gestational_age_from_negative_days_is_refused() -> None:
    with pytest.raises(ValueError):
        GestationalAge.from_days(-1)


@pytest.mark.parametrize(("weeks", "days"), [(-1, 0), (10, 7), (10, -1)])
def test_gestational_age_with_out_of_range_parts_is_refused(weeks: int, days: int) -> None:
    with pytest.raises(ValueError):
        GestationalAge(weeks, days)


def test_gestational_ages_order_by_length_of_pregnancy() -> None:
    assert GestationalAge(27, 6) < GestationalAge(28, 0) < GestationalAge(28, 1)
    assert max(GestationalAge(13, 6), GestationalAge(14, 0)) == GestationalAge(14, 0)


# --- gestational_age -------------------------------------------------------------------------


def test_gestational_age_is_40_weeks_on_the_due_date() -> None:
    edd = date(2026, 6, 1)
    assert gestational_age(edd=edd, on=edd) == GestationalAge(40, 0)


def test_gestational_age_counts_back_from_the_due_date() -> None:
    edd = date(2026, 6, 1)
    assert gestational_age(edd=edd, on=edd - timedelta(days=61)) == GestationalAge(31, 2)
    assert gestational_age(edd=edd, on=edd - timedelta(days=280)) == GestationalAge(0, 0)


def test_gestational_age_before_the_pregnancy_began_is_refused() -> None:
    edd = date(2026, 6, 1)
    with pytest.raises(ValueError):
        gestational_age(edd=edd, on=edd - timedelta(days=281))


def test_post_term_pregnancy_is_41_weeks_3_days_ten_days_after_the_due_date() -> None:
    edd = date(2026, 6, 1)
    on = date(2026, 6, 11)
    assert gestational_age(edd=edd, on=on) == GestationalAge(41, 3)
    assert perinatal_stage(on=on, edd=edd) == "41 weeks pregnant"


def test_due_date_on_a_leap_day() -> None:
    edd = date(2028, 2, 29)
    assert gestational_age(edd=edd, on=date(2028, 2, 28)) == GestationalAge(39, 6)
    assert gestational_age(edd=edd, on=edd) == GestationalAge(40, 0)
    assert gestational_age(edd=edd, on=date(2028, 3, 1)) == GestationalAge(40, 1)
    assert gestational_age(edd=edd, on=date(2027, 5, 25)) == GestationalAge(0, 0)
    assert perinatal_stage(on=date(2027, 5, 24), edd=edd) == "pregnant, due 29 February 2028"


def test_corrected_due_date_gives_a_new_gestational_age_for_the_same_day() -> None:
    on = date(2026, 3, 1)
    first_edd = date(2026, 6, 1)
    corrected_edd = date(2026, 5, 20)  # dating scan: 12 days further along
    before = gestational_age(edd=first_edd, on=on)
    after = gestational_age(edd=corrected_edd, on=on)
    assert after.total_days - before.total_days == 12
    # Pure: asking again with the original due date gives the original answer.
    assert gestational_age(edd=first_edd, on=on) == before


# --- trimester and NFP cut-off ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("ga", "expected"),
    [
        (GestationalAge(0, 0), 1),
        (GestationalAge(13, 6), 1),
        (GestationalAge(14, 0), 2),
        (GestationalAge(27, 6), 2),
        (GestationalAge(28, 0), 3),
        (GestationalAge(42, 0), 3),
    ],
)
def test_trimester_boundaries_follow_acog(ga: GestationalAge, expected: int) -> None:
    assert trimester(ga) == expected


def test_nfp_cutoff_is_before_28_weeks_0_days() -> None:
    assert is_before_nfp_cutoff(GestationalAge(27, 6)) is True
    assert is_before_nfp_cutoff(GestationalAge(28, 0)) is False
    assert is_before_nfp_cutoff(GestationalAge(16, 0)) is True


def test_nfp_cutoff_can_be_moved() -> None:
    assert is_before_nfp_cutoff(GestationalAge(15, 6), cutoff_weeks=16) is True
    assert is_before_nfp_cutoff(GestationalAge(16, 0), cutoff_weeks=16) is False


# --- postpartum ------------------------------------------------------------------------------


def test_day_of_delivery_is_postpartum_day_0() -> None:
    delivered_on = date(2026, 5, 28)
    assert postpartum_day(delivered_on=delivered_on, on=delivered_on) == 0
    assert postpartum_day(delivered_on=delivered_on, on=date(2026, 7, 8)) == 41


def test_stage_on_the_day_of_delivery_is_postpartum_day_0() -> None:
    delivered_on = date(2026, 5, 28)
    stage = perinatal_stage(on=delivered_on, edd=date(2026, 6, 1), delivered_on=delivered_on)
    assert stage == "postpartum day 0"


def test_stage_the_day_before_delivery_is_still_pregnant() -> None:
    stage = perinatal_stage(on=date(2026, 5, 27), edd=date(2026, 6, 1), delivered_on=date(2026, 5, 28))
    assert stage == "39 weeks pregnant"


def test_postpartum_day_before_delivery_is_refused() -> None:
    with pytest.raises(ValueError):
        postpartum_day(delivered_on=date(2026, 5, 28), on=date(2026, 5, 27))


def test_preterm_delivery_counts_postpartum_from_delivery_not_the_due_date() -> None:
    edd = date(2026, 6, 1)
    delivered_on = date(2026, 4, 20)  # 34w 0d
    on = date(2026, 5, 1)
    assert gestational_age(edd=edd, on=delivered_on) == GestationalAge(34, 0)
    assert postpartum_day(delivered_on=delivered_on, on=on) == 11
    assert perinatal_stage(on=on, edd=edd, delivered_on=delivered_on) == "postpartum day 11"


def test_postpartum_month_counts_completed_calendar_months() -> None:
    delivered_on = date(2026, 1, 31)
    assert postpartum_month(delivered_on=delivered_on, on=delivered_on) == 0
    assert postpartum_month(delivered_on=delivered_on, on=date(2026, 2, 27)) == 0
    assert postpartum_month(delivered_on=delivered_on, on=date(2026, 2, 28)) == 1
    assert postpartum_month(delivered_on=delivered_on, on=date(2026, 3, 30)) == 1
    assert postpartum_month(delivered_on=delivered_on, on=date(2026, 3, 31)) == 2
    assert postpartum_month(delivered_on=delivered_on, on=date(2027, 1, 31)) == 12


def test_postpartum_month_before_delivery_is_refused() -> None:
    with pytest.raises(ValueError):
        postpartum_month(delivered_on=date(2026, 5, 28), on=date(2026, 5, 1))


def test_stage_switches_from_postpartum_to_parenting_after_day_365() -> None:
    delivered_on = date(2025, 3, 1)
    day_365 = delivered_on + timedelta(days=POSTPARTUM_YEAR_DAYS)
    assert perinatal_stage(on=day_365, delivered_on=delivered_on) == "postpartum day 365"
    day_366 = day_365 + timedelta(days=1)
    assert perinatal_stage(on=day_366, delivered_on=delivered_on) == "parenting, child 12 months"


# --- add_months ------------------------------------------------------------------------------


def test_add_months_clamps_to_the_end_of_february() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)


def test_add_months_keeps_the_day_when_it_exists() -> None:
    assert add_months(date(2026, 1, 15), 1) == date(2026, 2, 15)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 12, 31), 1) == date(2027, 1, 31)
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert add_months(date(2026, 3, 31), 0) == date(2026, 3, 31)


# --- age -------------------------------------------------------------------------------------


def test_child_born_on_a_leap_day_turns_one_on_28_february() -> None:
    born_on = date(2024, 2, 29)
    assert age(born_on=born_on, on=date(2025, 2, 28)) == Age(years=1, months=0, days=0)
    assert age(born_on=born_on, on=date(2025, 2, 27)) == Age(years=0, months=11, days=29)
    assert age(born_on=born_on, on=date(2025, 2, 27)).total_months == 11


def test_a_month_after_31_january_is_the_end_of_february() -> None:
    assert age(born_on=date(2026, 1, 31), on=date(2026, 2, 28)) == Age(0, 1, 0)
    assert age(born_on=date(2028, 1, 31), on=date(2028, 2, 28)) == Age(0, 0, 28)
    assert age(born_on=date(2028, 1, 31), on=date(2028, 2, 29)) == Age(0, 1, 0)


def test_age_before_birth_is_refused() -> None:
    with pytest.raises(ValueError):
        age(born_on=date(2026, 5, 28), on=date(2026, 5, 27))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Age(0, 0, 0), "0 days"),
        (Age(0, 0, 1), "1 day"),
        (Age(0, 0, 5), "5 days"),
        (Age(0, 0, 7), "1 week"),
        (Age(0, 0, 23), "3 weeks"),
        (Age(0, 1, 0), "1 month"),
        (Age(0, 11, 29), "11 months"),
        (Age(1, 0, 0), "12 months"),
        (Age(1, 2, 10), "14 months"),
        (Age(2, 0, 0), "2 years"),
        (Age(2, 1, 0), "2 years 1 month"),
        (Age(2, 3, 4), "2 years 3 months"),
        (Age(3, 0, 12), "3 years"),
    ],
)
def test_age_reads_in_days_weeks_months_then_years(value: Age, text: str) -> None:
    assert str(value) == text


def test_age_with_out_of_range_months_is_refused() -> None:
    with pytest.raises(ValueError):
        Age(1, 12, 0)


# --- perinatal_stage -------------------------------------------------------------------------


def test_stage_while_pregnant_is_whole_weeks() -> None:
    edd = date(2026, 6, 1)
    assert perinatal_stage(on=edd - timedelta(days=61), edd=edd) == "31 weeks pregnant"  # 31w 2d
    assert perinatal_stage(on=edd - timedelta(days=273), edd=edd) == "1 week pregnant"  # 1w 0d


def test_stage_when_the_due_date_is_too_far_away_names_the_due_date() -> None:
    edd = date(2026, 3, 8)
    assert perinatal_stage(on=edd - timedelta(days=281), edd=edd) == "pregnant, due 8 March 2026"
    assert perinatal_stage(on=edd - timedelta(days=301), edd=edd) == "pregnant, due 8 March 2026"


def test_stage_with_a_child_and_no_pregnancy_is_parenting() -> None:
    on = date(2026, 5, 1)
    assert perinatal_stage(on=on, youngest_child_born_on=date(2025, 3, 1)) == "parenting, child 14 months"
    assert perinatal_stage(on=on, youngest_child_born_on=date(2023, 5, 1)) == "parenting, child 3 years"
    assert perinatal_stage(on=on, youngest_child_born_on=date(2023, 12, 1)) == "parenting, child 2 years 5 months"


def test_stage_after_the_postpartum_year_prefers_the_youngest_childs_birth_date() -> None:
    on = date(2026, 5, 1)
    delivered_on = date(2024, 5, 1)
    assert perinatal_stage(on=on, delivered_on=delivered_on) == "parenting, child 2 years"
    assert (
        perinatal_stage(on=on, delivered_on=delivered_on, youngest_child_born_on=date(2025, 3, 1))
        == "parenting, child 14 months"
    )


def test_stage_while_pregnant_again_shows_the_pregnancy() -> None:
    on = date(2026, 5, 1)
    stage = perinatal_stage(on=on, edd=date(2026, 6, 1), youngest_child_born_on=date(2024, 1, 1))
    assert stage == "35 weeks pregnant"


def test_stage_with_nothing_known_is_not_recorded() -> None:
    assert perinatal_stage(on=date(2026, 5, 1)) == "stage not recorded"


# --- properties ------------------------------------------------------------------------------

dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))


@given(edd=dates, k=st.integers(min_value=0, max_value=DAYS_IN_TERM_PREGNANCY))
def test_gestational_age_is_280_days_minus_days_to_due_date(edd: date, k: int) -> None:
    ga = gestational_age(edd=edd, on=edd - timedelta(days=k))
    assert ga.total_days == DAYS_IN_TERM_PREGNANCY - k
    assert 0 <= ga.days <= 6


@given(
    born_on=dates,
    offset=st.integers(min_value=0, max_value=40 * 366),
    step=st.integers(min_value=0, max_value=5 * 366),
)
def test_age_in_months_never_goes_down_as_time_passes(born_on: date, offset: int, step: int) -> None:
    on = born_on + timedelta(days=offset)
    later = on + timedelta(days=step)
    assert age(born_on=born_on, on=on).total_months <= age(born_on=born_on, on=later).total_months


@given(d=dates, n=st.integers(min_value=0, max_value=60))
def test_add_months_never_raises_and_stays_in_the_target_month(d: date, n: int) -> None:
    result = add_months(d, n)
    assert (result.year * 12 + result.month) - (d.year * 12 + d.month) == n
    assert result.day <= d.day


@given(born_on=dates, offset=st.integers(min_value=0, max_value=40 * 366))
def test_age_adds_back_up_to_the_day(born_on: date, offset: int) -> None:
    on = born_on + timedelta(days=offset)
    result = age(born_on=born_on, on=on)
    assert add_months(born_on, result.total_months) + timedelta(days=result.days) == on
    assert add_months(born_on, result.total_months + 1) > on
