"""Date arithmetic and effective-dated parameters, at their edges."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vasp_rules.engine.reference import add_months, add_working_days
from vasp_rules.pack.params import value_on
from vasp_rules.pack.schema import ParamSpec


def d(text: str) -> int:
    return date.fromisoformat(text).toordinal()


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2026-01-31", 1, "2026-02-28"),  # clamped to the month's end
        ("2028-01-31", 1, "2028-02-29"),  # leap year
        ("2026-03-03", 6, "2026-09-03"),
        ("2026-08-31", -6, "2026-02-28"),
        ("2025-12-15", 3, "2026-03-15"),  # across the year
    ],
)
def test_add_months(start: str, months: int, expected: str) -> None:
    assert add_months(d(start), months) == d(expected)


def test_working_days_skip_weekends_and_holidays() -> None:
    friday = d("2026-03-20")
    assert add_working_days(friday, 1, frozenset()) == d("2026-03-23")  # Monday
    pakistan_day = frozenset({d("2026-03-23")})
    assert add_working_days(friday, 1, pakistan_day) == d("2026-03-24")
    assert add_working_days(d("2026-03-24"), -1, pakistan_day) == friday
    assert add_working_days(friday, 7, frozenset()) == d("2026-03-31")


@given(st.dates(date(2018, 1, 1), date(2032, 1, 1)), st.integers(0, 40))
def test_working_days_land_on_working_days_and_are_monotonic(start: date, n: int) -> None:
    day = add_working_days(start.toordinal(), n, frozenset())
    assert n == 0 or date.fromordinal(day).weekday() < 5
    assert day >= start.toordinal() + n  # never fewer calendar days than working days
    assert add_working_days(start.toordinal(), n + 1, frozenset()) > day


def spec(*values: dict[str, object]) -> ParamSpec:
    return ParamSpec.model_validate({"type": "int", "description": "x", "values": list(values)})


def test_parameter_value_in_force_on_each_day() -> None:
    p = spec(
        {"from": date(2025, 1, 1), "to": date(2025, 6, 30), "value": 1, "source": "a",
         "confidence": "A"},
        {"from": date(2025, 9, 1), "value": 2, "source": "b", "confidence": "S"},
    )
    assert value_on(p, date(2024, 12, 31)) is None
    assert value_on(p, date(2025, 1, 1)).value == 1  # type: ignore[union-attr]
    assert value_on(p, date(2025, 6, 30)).value == 1  # type: ignore[union-attr]
    assert value_on(p, date(2025, 7, 1)) is None  # a gap: 'to' is the last day in force
    assert value_on(p, date(2025, 9, 1)).value == 2  # type: ignore[union-attr]
    assert value_on(p, date(2031, 1, 1)).source == "b"  # type: ignore[union-attr]
