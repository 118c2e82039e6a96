"""Date and duration arithmetic of the rule language, in one overflow-safe place.

Dates are day numbers (`date.toordinal()`: 0001-01-01 is 1) and datetimes are seconds since
1970-01-01T00:00:00Z. Every evaluator (the reference interpreter, the compiled closures, the
projection, constant folding, the counterfactual search) shifts a date or datetime by a duration
through `shift` alone, so they agree on one semantics: a result outside the representable range
(0001-01-01 to 9999-12-31), or a working-day count that steps through a day the pack's holiday
calendar does not cover (past its last day or before its first), is no value (`None`), which
the evaluators read as an unknown fact. Nothing here raises on an extreme date or amount.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DATE_MIN = date.min.toordinal()  # 1: 0001-01-01
DATE_MAX = date.max.toordinal()  # 9999-12-31
STAMP_MIN = int((datetime.min.replace(tzinfo=UTC) - EPOCH) // timedelta(seconds=1))
STAMP_MAX = int((datetime.max.replace(tzinfo=UTC) - EPOCH) // timedelta(seconds=1))

#: The largest amount of each duration unit that can still give a representable date (from
#: 0001-01-01 to 9999-12-31, or back): a pack whose parameter used as `months(param.x)` can go
#: beyond, or a rule with a literal beyond, is refused.
DURATION_LIMITS: dict[str, int] = {
    "days": DATE_MAX - DATE_MIN,
    "working_days": (DATE_MAX - DATE_MIN) * 5 // 7,
    "months": 9999 * 12,
    "years": 9999,
    "hours": (STAMP_MAX - STAMP_MIN) // 3600,
}


#: the tail of the label an out-of-range date or datetime adds to an unknown result's missing
#: facts, after the expression that computed it
OUT_OF_RANGE = "(outside the dates 0001-01-01 to 9999-12-31)"


@dataclass(frozen=True)
class Duration:
    """A duration value of the language: `days(n)`, `months(n)`, `years(n)`, `hours(n)`,
    `working_days(n)`."""

    unit: str
    amount: int


@dataclass(frozen=True)
class Calendar:
    """The working-day calendar: the holidays (day numbers) and the first and last days it
    covers (`since`, `until`; None for a pack without a holiday calendar, whose working days
    are weekdays). `names` are the holiday parameters, named when a count steps outside the
    calendar."""

    holidays: frozenset[int] = frozenset()
    until: int | None = None
    names: tuple[str, ...] = ()
    since: int | None = None

    @property
    def gap(self) -> str:
        """The missing-fact label of a working-day count that reaches past the calendar."""
        last = date.fromordinal(self.until).isoformat() if self.until is not None else "?"
        return f"{self._names} {CALENDAR_ENDS} {last}{CALENDAR_TAIL}"

    @property
    def early_gap(self) -> str:
        """The missing-fact label of a working-day count that reaches before the calendar."""
        first = date.fromordinal(self.since).isoformat() if self.since is not None else "?"
        return f"{self._names} {CALENDAR_STARTS} {first}{CALENDAR_TAIL}"

    @property
    def _names(self) -> str:
        return " and ".join(f"param.{n}" for n in self.names) or "param.(holiday calendar)"


CALENDAR_ENDS = "(the holiday calendar ends on"
CALENDAR_STARTS = "(the holiday calendar starts on"
CALENDAR_TAIL = ")"


def calendar_of(values: Iterable[Iterable[int]], names: Iterable[str]) -> Calendar:
    """The calendar of the holiday parameters' values (day numbers, one collection per
    parameter). It covers every year from the first year any parameter lists a holiday up to
    the last year in which each parameter lists one (the fixed statutory holidays run every
    year, so that is the calendar's last complete year; estimates of later years start late):
    derived from the data, never a literal."""
    days: set[int] = set()
    first_years: list[int] = []
    last_years: list[int] = []
    for days_of_one in values:
        listed = [d for d in days_of_one if in_range(d)]
        if listed:
            first_years.append(date.fromordinal(min(listed)).year)
            last_years.append(date.fromordinal(max(listed)).year)
        days.update(listed)
    until = date(min(last_years), 12, 31).toordinal() if last_years else None
    since = date(min(first_years), 1, 1).toordinal() if first_years else None
    return Calendar(frozenset(days), until, tuple(names), since)


def shift_gap(base: int, d: Duration, sign: int, cal: Calendar | None, expr: str) -> str:
    """Why `shift` had no value, as a missing-fact label: the holiday calendar (naming its
    parameters and its first or last day) when only the calendar's bounds stopped a
    working-day count, else the expression `expr` with OUT_OF_RANGE."""
    if d.unit == "working_days" and cal is not None and (cal.until, cal.since) != (None, None):
        if shift(base, d, sign, Calendar(cal.holidays)) is not None:
            if shift(base, d, sign, Calendar(cal.holidays, since=cal.since)) is not None:
                return cal.gap
            return cal.early_gap
    return f"{expr} {OUT_OF_RANGE}"


def explain_gap(label: str) -> tuple[str, str] | None:
    """For a missing-fact label made here: why the rule cannot be decided and what to do,
    as reason and remediation phrases; None for any other label."""
    if label.endswith(OUT_OF_RANGE):
        expr = label[: -len(OUT_OF_RANGE) - 1]
        return (
            f"{expr} falls outside the dates that can be represented (0001-01-01 to 9999-12-31)",
            f"check the dates {expr} is computed from",
        )
    for marker, reaches, bound, fix in (
        (CALENDAR_ENDS, "past", "ends", "extend the holiday calendar ({names}) past {day}"),
        (
            CALENDAR_STARTS,
            "before",
            "starts",
            "add the holidays before {day} to the holiday calendar ({names})",
        ),
    ):
        if marker in label:
            names, _, day = label.partition(f" {marker} ")
            day = day.removesuffix(CALENDAR_TAIL)
            return (
                f"the working-day count reaches {reaches} the pack's holiday calendar "
                f"({names}), which {bound} on {day}",
                "ask the pack's maintainers to " + fix.format(names=names, day=day),
            )
    return None


def in_range(day: int) -> bool:
    return DATE_MIN <= day <= DATE_MAX


def shift(base: int, d: Duration, sign: int, cal: Calendar | None = None) -> int | None:
    """`base + d` (sign 1) or `base - d` (sign -1), or None when the result cannot be
    represented or, for working days, lies past the calendar."""
    n = d.amount * sign
    unit = d.unit
    if unit == "hours":
        moment = base + 3600 * n
        return moment if STAMP_MIN <= moment <= STAMP_MAX else None
    if not in_range(base):
        return None
    if unit == "days":
        day = base + n
        return day if in_range(day) else None
    if unit == "months":
        return add_months(base, n)
    if unit == "years":
        return add_months(base, 12 * n)
    cal = cal or Calendar()
    return add_working_days(base, n, cal.holidays, cal.until, cal.since)


def add_months(day: int, months: int) -> int | None:
    """Calendar months from `day`, clamped to the month's end (2026-01-31 + 1 month is
    2026-02-28); None outside the representable range."""
    d = date.fromordinal(day)
    year, month = divmod(d.year * 12 + (d.month - 1) + months, 12)
    if not 1 <= year <= 9999:
        return None
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(d.day, last)).toordinal()


@lru_cache(maxsize=16)
def _bounds(holidays: frozenset[int]) -> tuple[int, int]:
    return (min(holidays), max(holidays)) if holidays else (DATE_MAX + 1, DATE_MIN - 1)


def add_working_days(
    day: int, n: int, holidays: frozenset[int], until: int | None = None, since: int | None = None
) -> int | None:
    """Step n working days (Monday to Friday, skipping holidays) from day; n may be negative.
    None when a day stepped through lies past `until` or before `since` (the calendar's last
    and first days) or outside the representable range. Runs of full weeks without holidays
    are stepped a week at a time."""
    step = 1 if n >= 0 else -1
    remaining = abs(n)
    current = day
    last = DATE_MAX if until is None else min(until, DATE_MAX)
    first = DATE_MIN if since is None else max(since, DATE_MIN)
    if remaining and not first <= day + step <= last:
        # the days stepped through run from day + step on, monotonically: the first of them
        # checked here, each later one in the loop (a week's jump lands inside or is refused)
        return None
    low, high = _bounds(holidays)
    while remaining:
        if remaining > 5:
            weeks = (remaining - 1) // 5  # every 7 days hold exactly 5 weekdays
            if step > 0 and current <= high:  # stop short of the first holiday ahead
                weeks = min(weeks, (low - 1 - current) // 7) if current < low else 0
            elif step < 0 and current >= low:
                weeks = min(weeks, (current - high - 1) // 7) if current > high else 0
            if weeks > 0:
                current += step * 7 * weeks
                remaining -= 5 * weeks
                if not first <= current <= last:
                    return None
                continue
        current += step
        if not first <= current <= last:
            return None
        if (current - 1) % 7 < 5 and current not in holidays:  # day 1 was a Monday
            remaining -= 1
    return current


def date_text(day: int) -> str:
    """A day number's ISO date; an unrepresentable one is shown as such, never raised."""
    return date.fromordinal(day).isoformat() if in_range(day) else f"(day {day}: out of range)"


def moment_text(seconds: int) -> str:
    """A timestamp's ISO form with Z; an unrepresentable one is shown as such."""
    if not STAMP_MIN <= seconds <= STAMP_MAX:
        return f"(timestamp {seconds}: out of range)"
    return (EPOCH + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")
