"""Perinatal time for Kinfold: the only place that turns dates into perinatal time; it never stores anything.

This module owns the current instant (``now``), the local calendar date in the deployment's time zone
(``local_date``/``today``), gestational age and trimester from an estimated due date, postpartum day and
month from a delivery date, a child's age in calendar terms, month arithmetic, and the short stage words
shown on a caseload. Every function is pure apart from ``now``/``today`` reading the clock; nothing here
touches the database or imports models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "DAYS_IN_TERM_PREGNANCY",
    "POSTPARTUM_YEAR_DAYS",
    "Age",
    "GestationalAge",
    "add_months",
    "age",
    "gestational_age",
    "is_before_nfp_cutoff",
    "local_date",
    "now",
    "perinatal_stage",
    "postpartum_day",
    "postpartum_month",
    "today",
    "trimester",
]

DAYS_IN_TERM_PREGNANCY = 280
"""Days from the first day of the last menstrual period to the estimated due date (40w 0d)."""

POSTPARTUM_YEAR_DAYS = 365
"""The last postpartum day still shown as ``postpartum day N``; the day after, the stage becomes parenting."""

_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def _long_date(d: date) -> str:
    """``8 March 2026``: English month names, independent of the process locale."""
    return f"{d.day} {_MONTH_NAMES[d.month - 1]} {d.year}"


# --- instants and calendar dates ---------------------------------------------------------------


def now() -> datetime:
    """The current instant, timezone-aware, in UTC (via ``django.utils.timezone.now``)."""
    from django.utils import timezone

    current = timezone.now()
    # With USE_TZ = False Django returns naive local time; ``astimezone`` reads a naive value as
    # system-local time, so either way the result is the same instant expressed in UTC.
    return current.astimezone(UTC)


def zone() -> ZoneInfo:
    """The region's time zone (``KINFOLD_TIME_ZONE``): "today" and local times on pages follow it."""
    return _zone(None)


def _zone(tz: str | ZoneInfo | None) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    if tz is None:
        from django.conf import settings

        tz = str(settings.TIME_ZONE)
    return ZoneInfo(tz)


def local_date(at: datetime | None = None, tz: str | ZoneInfo | None = None) -> date:
    """The calendar date at instant ``at`` (default: now) in ``tz`` (default: ``settings.TIME_ZONE``).

    Naive datetimes are refused with ``ValueError``: without an offset the instant is ambiguous.
    """
    if at is None:
        at = now()
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("local_date() needs a timezone-aware datetime, got a naive one")
    return at.astimezone(_zone(tz)).date()


def today(tz: str | ZoneInfo | None = None) -> date:
    """Today's calendar date in ``tz`` (default: ``settings.TIME_ZONE``)."""
    return local_date(now(), tz)


# --- pregnancy -------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class GestationalAge:
    """Completed weeks and days of pregnancy, e.g. ``31w 2d``. Orders by total days."""

    weeks: int
    days: int

    def __post_init__(self) -> None:
        if self.weeks < 0:
            raise ValueError(f"gestational weeks cannot be negative, got {self.weeks}")
        if not 0 <= self.days <= 6:
            raise ValueError(f"gestational days must be 0..6, got {self.days}")

    @property
    def total_days(self) -> int:
        return self.weeks * 7 + self.days

    def __str__(self) -> str:
        return f"{self.weeks}w {self.days}d"

    @classmethod
    def from_days(cls, total_days: int) -> GestationalAge:
        if total_days < 0:
            raise ValueError(f"gestational age cannot be negative, got {total_days} days")
        weeks, days = divmod(total_days, 7)
        return cls(weeks=weeks, days=days)


def gestational_age(*, edd: date, on: date) -> GestationalAge:
    """Gestational age on ``on`` for a pregnancy due on ``edd`` (40w 0d on the due date itself).

    Raises ``ValueError`` when ``on`` is more than 280 days before the due date.
    """
    total_days = DAYS_IN_TERM_PREGNANCY - (edd - on).days
    if total_days < 0:
        raise ValueError(f"{on.isoformat()} is before the start of a pregnancy due {edd.isoformat()}")
    return GestationalAge.from_days(total_days)


def trimester(ga: GestationalAge) -> int:
    """ACOG trimesters: 1 up to 13w 6d, 2 from 14w 0d to 27w 6d, 3 from 28w 0d."""
    if ga.weeks < 14:
        return 1
    if ga.weeks < 28:
        return 2
    return 3


def is_before_nfp_cutoff(ga: GestationalAge, cutoff_weeks: int = 28) -> bool:
    """True while ``ga`` is before ``cutoff_weeks``w 0d (Nurse-Family Partnership enrols before 28 weeks)."""
    return ga.total_days < cutoff_weeks * 7


# --- after delivery --------------------------------------------------------------------------


def postpartum_day(*, delivered_on: date, on: date) -> int:
    """Days since delivery; the day of delivery is postpartum day 0."""
    days = (on - delivered_on).days
    if days < 0:
        raise ValueError(f"{on.isoformat()} is before the delivery on {delivered_on.isoformat()}")
    return days


def postpartum_month(*, delivered_on: date, on: date) -> int:
    """Completed calendar months since delivery (0 during the first month)."""
    if on < delivered_on:
        raise ValueError(f"{on.isoformat()} is before the delivery on {delivered_on.isoformat()}")
    return _completed_months(delivered_on, on)


# --- calendar arithmetic and children's ages ---------------------------------------------------


def add_months(d: date, months: int) -> date:
    """``d`` moved by ``months`` calendar months, clamped to the end of a shorter month.

    31 January + 1 month is 28 February (29 February in a leap year).
    """
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    next_month_start = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    last_day = (next_month_start - timedelta(days=1)).day
    return date(year, month, min(d.day, last_day))


def _completed_months(start: date, on: date) -> int:
    """The largest ``m`` with ``add_months(start, m) <= on`` (``on >= start``)."""
    months = (on.year - start.year) * 12 + (on.month - start.month)
    if add_months(start, months) > on:
        months -= 1
    return months


@dataclass(frozen=True)
class Age:
    """A calendar age: whole years, then whole months, then days past the last monthly anniversary."""

    years: int
    months: int
    days: int

    def __post_init__(self) -> None:
        if self.years < 0 or self.days < 0 or not 0 <= self.months <= 11:
            raise ValueError(f"not a valid age: {self.years}y {self.months}m {self.days}d")

    @property
    def total_months(self) -> int:
        return self.years * 12 + self.months

    def __str__(self) -> str:
        """``5 days``, ``3 weeks``, ``14 months`` (in months until two years), ``2 years 3 months``."""
        total = self.total_months
        if total == 0:
            if self.days < 7:
                return _plural(self.days, "day")
            return _plural(self.days // 7, "week")
        if total < 24:
            return _plural(total, "month")
        if self.months == 0:
            return _plural(self.years, "year")
        return f"{_plural(self.years, 'year')} {_plural(self.months, 'month')}"


def age(*, born_on: date, on: date) -> Age:
    """Calendar age on ``on`` of someone born on ``born_on``.

    Monthly anniversaries clamp to the end of shorter months, so a child born on 29 February turns one
    on 28 February in a common year, and a month after 31 January is 28 (or 29) February.
    """
    if on < born_on:
        raise ValueError(f"{on.isoformat()} is before the birth on {born_on.isoformat()}")
    total_months = _completed_months(born_on, on)
    days = (on - add_months(born_on, total_months)).days
    years, months = divmod(total_months, 12)
    return Age(years=years, months=months, days=days)


# --- caseload wording ------------------------------------------------------------------------


def perinatal_stage(
    *,
    on: date,
    edd: date | None = None,
    delivered_on: date | None = None,
    youngest_child_born_on: date | None = None,
) -> str:
    """The short stage words shown on a caseload on ``on``.

    * pregnant (a due date and no delivery yet on ``on``): ``31 weeks pregnant``, or ``pregnant, due
      8 March 2026`` when the due date is too far away for a gestational age;
    * within the postpartum year (postpartum day 0..365): ``postpartum day 41``;
    * later, or with a child and no pregnancy: ``parenting, child 14 months`` (the youngest child's birth
      date if known, otherwise the delivery date);
    * otherwise: ``stage not recorded``.
    """
    delivered = delivered_on is not None and delivered_on <= on

    if edd is not None and not delivered:
        total_days = DAYS_IN_TERM_PREGNANCY - (edd - on).days
        if total_days < 0:
            return f"pregnant, due {_long_date(edd)}"
        weeks = GestationalAge.from_days(total_days).weeks
        return f"{_plural(weeks, 'week')} pregnant"

    if delivered_on is not None and delivered:
        day = postpartum_day(delivered_on=delivered_on, on=on)
        if day <= POSTPARTUM_YEAR_DAYS:
            return f"postpartum day {day}"

    child_born_on: date | None = None
    if youngest_child_born_on is not None and youngest_child_born_on <= on:
        child_born_on = youngest_child_born_on
    elif delivered_on is not None and delivered:
        child_born_on = delivered_on
    if child_born_on is not None:
        return f"parenting, child {age(born_on=child_born_on, on=on)}"

    return "stage not recorded"
