"""deadlines.py — when a receiving organisation's answer to a referral is due: a number of business days after
sending (per need, from ``data/response_deadlines.yaml``), at the end of the last business day in the region's
time zone. Business days skip weekends, US federal holidays (their observed days, from the ``holidays``
package) and a county's own holidays (``CountyHoliday`` rows). It reads the calendar and never writes.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import holidays
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from kinfold import clock
from kinfold.datafiles import load_data_file
from kinfold.directory.models import Need
from kinfold.referrals.models import CountyHoliday

__all__ = [
    "DEADLINES_PATH",
    "DeadlineTable",
    "DeadlineTableError",
    "add_business_days",
    "business_days_for",
    "deadline_table",
    "is_business_day",
    "load_deadline_table",
    "response_due",
]

DEADLINES_PATH = Path(__file__).parent / "data" / "response_deadlines.yaml"

_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _clock_time(value: Any) -> time:
    # Only a quoted "HH:MM": YAML 1.1 reads an unquoted 17:00 as the number 1020 (base 60).
    if not isinstance(value, str) or not _HH_MM.match(value):
        raise ValueError('write a time of day as "HH:MM" in quotes, e.g. "17:00"')
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


BusinessDays = Annotated[int, Field(strict=True, ge=1, le=30)]


class DeadlineTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    end_of_business_day: Annotated[time, BeforeValidator(_clock_time)]
    default_business_days: BusinessDays
    needs: dict[Need, BusinessDays] = Field(default_factory=dict)


class DeadlineTableError(Exception):
    pass


def load_deadline_table(path: Path = DEADLINES_PATH) -> DeadlineTable:
    return load_data_file(path, DeadlineTable, what="the referral response deadlines", error=DeadlineTableError)


@cache
def deadline_table() -> DeadlineTable:
    return load_deadline_table()


def business_days_for(need: str) -> int:
    """How many business days the receiving organisation has to answer a referral for ``need``."""
    if need not in Need.values:
        raise ValueError(f"unknown need {need!r}")
    table = deadline_table()
    return table.needs.get(Need(need), table.default_business_days)


# --- the calendar ------------------------------------------------------------------------------------------


@cache
def _federal_holidays(year: int) -> frozenset[date]:
    # Each year's list includes an observed day that falls in it for the next year's holiday (New Year's Day
    # on a Saturday is observed on Friday 31 December), so looking a day up in its own year is enough.
    return frozenset(holidays.country_holidays("US", years=year, observed=True))


class _Calendar:
    """One county's business days; its holidays are read once per year asked about."""

    def __init__(self, county: str) -> None:
        self.county = county.strip()
        self._county_days: dict[int, frozenset[date]] = {}

    def _county_holidays(self, year: int) -> frozenset[date]:
        if not self.county:
            return frozenset()
        if year not in self._county_days:
            self._county_days[year] = frozenset(
                CountyHoliday.objects.filter(county__iexact=self.county, day__year=year).values_list("day", flat=True)
            )
        return self._county_days[year]

    def is_business_day(self, day: date) -> bool:
        return (
            day.weekday() < 5 and day not in _federal_holidays(day.year) and day not in self._county_holidays(day.year)
        )

    def next_business_day(self, day: date) -> date:
        """The first business day strictly after ``day``."""
        day += timedelta(days=1)
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def add_business_days(self, day: date, n: int) -> date:
        if n < 0:
            raise ValueError(f"a number of business days cannot be negative, got {n}")
        for _ in range(n):
            day = self.next_business_day(day)
        return day


def is_business_day(day: date, county: str = "") -> bool:
    """Whether ``day`` is a business day: a weekday that is neither a US federal holiday (nor its observed
    day) nor one of ``county``'s own holidays."""
    return _Calendar(county).is_business_day(day)


def add_business_days(day: date, n: int, county: str = "") -> date:
    """The ``n``-th business day after ``day`` (``day`` itself does not count; ``n = 0`` gives ``day``)."""
    return _Calendar(county).add_business_days(day, n)


def response_due(sent_at: datetime, need: str, *, county: str = "") -> datetime:
    """When the answer to a referral for ``need`` sent at ``sent_at`` is due (an instant in UTC).

    The end of the business day (``end_of_business_day``, local time) of the N-th business day after the day
    of sending. A referral sent after the end of a business day, or on a weekend or holiday, counts as sent
    on the next business day: sent Friday at 10:00 it is due Tuesday at 17:00; sent Friday at 18:00 or on
    Saturday, Wednesday at 17:00. Naive datetimes are refused with ``ValueError``.
    """
    table = deadline_table()
    days = business_days_for(need)
    zone = clock.zone()
    local_day = clock.local_date(sent_at, zone)
    calendar = _Calendar(county)
    end_of_day = datetime.combine(local_day, table.end_of_business_day, tzinfo=zone)
    if not calendar.is_business_day(local_day) or sent_at >= end_of_day:
        local_day = calendar.next_business_day(local_day)
    due_day = calendar.add_business_days(local_day, days)
    return datetime.combine(due_day, table.end_of_business_day, tzinfo=zone).astimezone(UTC)
