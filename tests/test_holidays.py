"""Pakistan's public holidays in the pk pack: a complete calendar for every year the pack
covers (2018 to 2040), cross-checked against the `holidays` package so that gaps cannot come
back. The pack, not the library, is the source at evaluation time."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from support.repo import example

from vasp_rules import RulePack
from vasp_rules.pack.params import value_on

holidays = pytest.importorskip("holidays")

YEARS = range(2018, 2041)
MOON_SIGHTED = ("Eid al-Fitr", "Eid al-Adha", "Ashura", "Prophet's Birthday")


def _calendar(pk: RulePack) -> tuple[dict[str, date], dict[str, date]]:
    params = pk.loaded.params
    day = date(2026, 6, 1)
    notified = value_on(params["pk_public_holidays"], day)
    estimated = value_on(params["pk_public_holidays_estimated"], day)
    assert notified is not None and estimated is not None
    return dict(notified.value), dict(estimated.value)


def test_the_holidays_are_the_packs_working_day_calendar(pk: RulePack) -> None:
    assert pk.loaded.manifest.holidays_parameters == [
        "pk_public_holidays",
        "pk_public_holidays_estimated",
    ]


def test_every_year_has_its_fixed_and_moon_sighted_holidays(pk: RulePack) -> None:
    notified, estimated = _calendar(pk)
    labels = list(notified) + list(estimated)
    for year in YEARS:
        names = " | ".join(label for label in labels if label.startswith(f"{year} "))
        for name in ("Kashmir Solidarity Day", "Pakistan Day", "Independence Day",
                     "Quaid-e-Azam Day", *MOON_SIGHTED):
            assert name in names, (year, name)


def test_estimates_are_tagged_a_and_labelled(pk: RulePack) -> None:
    params = pk.loaded.params
    spec = params["pk_public_holidays_estimated"]
    assert spec.illustrative and "ESTIMATES" in spec.description
    assert all(v.confidence == "A" for v in spec.values)
    _notified, estimated = _calendar(pk)
    assert estimated and all(label.endswith("(estimate)") for label in estimated)
    assert all(any(m in label for m in MOON_SIGHTED) for label in estimated)
    assert {d.year for d in estimated.values()} == set(range(2027, 2041))
    assert params["pk_public_holidays"].values[0].confidence == "S"


def test_the_pack_holds_every_holiday_the_library_knows(pk: RulePack) -> None:
    """Every day the `holidays` package lists for Pakistan is in the pack; an estimated
    moon-sighted day may sit up to two days away (the sighting decides)."""
    notified, estimated = _calendar(pk)
    ours = set(notified.values()) | set(estimated.values())
    for year in YEARS:
        known = holidays.country_holidays("PK", years=year)
        for day, name in sorted(known.items()):
            if day in ours:
                continue
            assert "estimated" in name, f"{day} {name} is missing from the pack"
            near = {day + timedelta(days=k) for k in range(-2, 3)}
            assert near & set(estimated.values()), f"{day} {name}: no estimate near it"


def test_the_pack_lists_no_day_the_library_does_not(pk: RulePack) -> None:
    notified, _estimated = _calendar(pk)
    for label, day in notified.items():
        known = holidays.country_holidays("PK", years=day.year)
        assert day in known, f"{label} ({day}) is not a Pakistani public holiday"


@pytest.mark.parametrize(
    ("flagged", "due"),
    [
        (date(2019, 6, 3), date(2019, 6, 18)),  # Eid al-Fitr 2019
        (date(2026, 5, 18), date(2026, 6, 1)),  # Eid al-Adha 2026
        (date(2027, 3, 8), date(2027, 3, 22)),  # estimated Eid al-Fitr 2027
        (date(2025, 12, 22), date(2026, 1, 1)),  # Quaid-e-Azam Day, across the year end
    ],
)
def test_str_deadline_skips_the_holidays(pk: RulePack, flagged: date, due: date) -> None:
    doc = example("customer")
    doc["suspicion_flagged_on"] = flagged.isoformat()
    as_of = max(due + timedelta(days=1), date(2025, 7, 8))
    doc["str_filed_on"] = due.isoformat()
    assert "VER-10" not in pk.evaluate(doc, as_of).fired
    doc["str_filed_on"] = (due + timedelta(days=1)).isoformat()
    (finding,) = [f for f in pk.evaluate(doc, as_of).findings if f.rule_id == "VER-10"]
    assert f"due by {due.isoformat()}" in finding.reason


def test_fixed_statutory_holidays_are_notified_every_year(pk: RulePack) -> None:
    notified, _estimated = _calendar(pk)
    for year in YEARS:
        for name, month, day in (("Kashmir Solidarity Day", 2, 5), ("Pakistan Day", 3, 23),
                                 ("Labor Day", 5, 1), ("Independence Day", 8, 14),
                                 ("Quaid-e-Azam Day", 12, 25)):
            assert notified[f"{year} {name}"] == date(year, month, day)


def test_the_calendar_ends_with_the_last_year_it_lists(pk: RulePack) -> None:
    calendar = pk.compiled(date(2026, 6, 1)).calendar
    assert calendar.until == date(2040, 12, 31).toordinal()  # from the data, not a literal
    assert calendar.names == ("pk_public_holidays", "pk_public_holidays_estimated")


@pytest.mark.parametrize("engine", ["durable", "reference"])
def test_a_count_past_the_calendar_asks_for_the_calendar(pk: RulePack, engine: str) -> None:
    doc = example("customer")
    doc["suspicion_flagged_on"] = "2040-12-27"  # Thursday: 7 working days reach into 2041
    doc["str_filed_on"] = "2041-01-31"
    decision = pk.evaluate(doc, date(2041, 2, 1), engine=engine)  # type: ignore[arg-type]
    (finding,) = [f for f in decision.findings if f.rule_id == "VER-10"]
    assert finding.outcome == "REQUIRE_DOCUMENTS"
    assert finding.missing == [
        "param.pk_public_holidays and param.pk_public_holidays_estimated "
        "(the holiday calendar ends on 2040-12-31)"
    ]
    assert "the working-day count reaches past the pack's holiday calendar" in finding.reason
    assert "which ends on 2040-12-31" in finding.reason
    assert "extend the holiday calendar" in finding.remediation
    # inside the calendar the deadline is counted as ever (Eid al-Adha's third day, an
    # estimate, and Quaid-e-Azam Day skipped)
    doc["suspicion_flagged_on"] = "2040-12-14"
    doc["str_filed_on"] = "2040-12-28"
    inside = pk.evaluate(doc, date(2041, 2, 1), engine=engine)  # type: ignore[arg-type]
    (finding,) = [f for f in inside.findings if f.rule_id == "VER-10"]
    assert finding.outcome == "REFER" and "due by 2040-12-27" in finding.reason


@pytest.mark.parametrize("engine", ["durable", "reference"])
def test_a_count_before_the_calendar_asks_for_the_calendar(pk: RulePack, engine: str) -> None:
    """The calendar starts with the first year it lists (2018): a count through earlier days
    would skip weekends only, so it is unknown and VER-10 asks for the calendar."""
    doc = example("customer")
    doc["suspicion_flagged_on"] = "2017-12-27"  # Wednesday: the count steps through 2017
    doc.pop("str_filed_on", None)
    decision = pk.evaluate(doc, date(2026, 6, 1), engine=engine)  # type: ignore[arg-type]
    (finding,) = [f for f in decision.findings if f.rule_id == "VER-10"]
    assert finding.outcome == "REQUIRE_DOCUMENTS"
    assert finding.missing == [
        "param.pk_public_holidays and param.pk_public_holidays_estimated "
        "(the holiday calendar starts on 2018-01-01)"
    ]
    assert "reaches before the pack's holiday calendar" in finding.reason
    assert "which starts on 2018-01-01" in finding.reason
    # from the calendar's first day on, the deadline is counted as ever
    doc["suspicion_flagged_on"] = "2017-12-31"  # a Sunday: the count starts on 2018-01-01
    inside = pk.evaluate(doc, date(2026, 6, 1), engine=engine)  # type: ignore[arg-type]
    (finding,) = [f for f in inside.findings if f.rule_id == "VER-10"]
    assert finding.outcome == "REFER" and "due by 2018-01-09" in finding.reason
