"""Dates worth deciding on: a fixed, representative sample instead of every day.

A pack decides alike on every day between two of its changes, so properties that draw `as_of`
draw it from this sample: each day a rule or parameter value starts or ends (and the day
before), the public holidays and month ends near those changes, leap days, and a few seeded
random days. Each date is compiled once per pack and reused by every later example."""

from __future__ import annotations

import calendar
import random
from collections.abc import Iterator
from datetime import date, timedelta

from hypothesis import strategies as st

from vasp_rules import RulePack


def change_dates(pack: RulePack) -> set[date]:
    """Every day a rule or a parameter value of `pack` comes into force or stops being in force
    (the first day after its end)."""
    days: set[date] = set()
    for rule in pack.loaded.rules:
        days.add(rule.spec.effective_from)
        if rule.spec.effective_to:
            days.add(rule.spec.effective_to + timedelta(days=1))
    for spec in pack.loaded.params.values():
        for entry in spec.values:
            days.add(entry.from_)
            if entry.to:
                days.add(entry.to + timedelta(days=1))
    return days


def holidays(pack: RulePack) -> set[date]:
    """The days of the pack's holiday calendars."""

    def flat(value: object) -> Iterator[date]:
        if isinstance(value, date):
            yield value
        elif isinstance(value, dict | list):
            for item in value.values() if isinstance(value, dict) else value:
                yield from flat(item)

    days: set[date] = set()
    for name in pack.loaded.manifest.holidays_parameters:
        for entry in pack.loaded.params[name].values:
            days.update(flat(entry.value))
    return days


def sample_dates(
    lo: date, hi: date, *packs: RulePack, random_days: int = 8, seed: int = 25
) -> list[date]:
    """The representative dates of `packs` between `lo` and `hi` (both included), sorted."""
    days = {lo, hi}
    changes = set().union(*(change_dates(p) for p in packs))
    for day in changes:
        days |= {day - timedelta(days=1), day}
    for year in range(lo.year, hi.year + 1):
        days.add(date(year, 12, 31))
        days.add(date(year, 2, calendar.monthrange(year, 2)[1]))  # 29 in a leap year
    near = {d.replace(day=1) for d in changes}  # the months the pack changes in
    for day in set().union(*(holidays(p) for p in packs)):
        if day.replace(day=1) in near:
            days |= {day, day + timedelta(days=1)}
    for month in near:
        days.add(month.replace(day=calendar.monthrange(month.year, month.month)[1]))
    rng = random.Random(seed)
    span = (hi - lo).days
    days |= {lo + timedelta(days=rng.randrange(span + 1)) for _ in range(random_days)}
    return sorted(d for d in days if lo <= d <= hi)


def as_of_dates(lo: date, hi: date, *names: str) -> st.SearchStrategy[date]:
    """A hypothesis strategy drawing from the sample of the shared packs `names` (support.packs),
    loaded when first drawn from."""
    from .packs import pack

    return st.deferred(lambda: st.sampled_from(sample_dates(lo, hi, *map(pack, names))))


__all__ = ["as_of_dates", "change_dates", "holidays", "sample_dates"]
