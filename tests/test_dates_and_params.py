"""Date arithmetic and effective-dated parameters, at their edges."""

from __future__ import annotations

import functools
import os
import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.packs import make_pack, rule_yaml
from support.repo import AS_OF, EXAMPLES, PK, example

from vasp_rules import PackError, RulePack
from vasp_rules.cli import main
from vasp_rules.interp.reference import add_months, add_working_days
from vasp_rules.lang.dates import STAMP_MAX, STAMP_MIN, Duration, calendar_of, shift
from vasp_rules.model.decision import Decision, Finding, Outcome
from vasp_rules.pack.params import DEFAULT_RANGES, value_on, value_range
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


# -- date arithmetic never crashes: out of range is unknown --------------------------------


def test_shifts_outside_the_representable_range_are_no_value() -> None:
    last, first = date.max.toordinal(), date.min.toordinal()
    assert shift(last, Duration("days", 1), 1) is None
    assert shift(first, Duration("days", 1), -1) is None
    assert shift(last - 1, Duration("days", 1), 1) == last
    assert shift(d("9999-12-15"), Duration("months", 1), 1) is None
    assert shift(d("0001-01-31"), Duration("months", 1), -1) is None
    assert shift(d("2026-01-01"), Duration("years", 10**20), 1) is None
    assert shift(d("9999-12-28"), Duration("working_days", 7), 1) is None
    assert shift(d("2026-01-01"), Duration("working_days", 3_000_000), 1) is None
    assert shift(STAMP_MAX, Duration("hours", 1), 1) is None
    assert shift(STAMP_MIN, Duration("hours", 1), -1) is None
    assert add_months(d("9999-12-31"), 1) is None and add_months(d("9999-11-30"), 1) == last - 1


def test_a_working_day_count_past_the_calendar_is_no_value() -> None:
    cal = calendar_of([[d("2040-12-25")], [d("2040-03-26"), d("2031-01-01")]], ["a", "b"])
    assert cal.until == d("2040-12-31")  # the last year every holiday parameter covers
    assert shift(d("2040-12-20"), Duration("working_days", 3), 1, cal) == d("2040-12-26")
    assert shift(d("2040-12-20"), Duration("working_days", 8), 1, cal) is None
    assert shift(d("2041-01-02"), Duration("working_days", -1), 1, cal) is None
    assert "param.a and param.b (the holiday calendar ends on 2040-12-31)" == cal.gap


@given(st.dates(), st.integers(-400, 400))
def test_week_jumps_count_as_stepping_day_by_day(start: date, n: int) -> None:
    holidays = frozenset({d("2026-03-23"), d("2026-08-14"), d("2027-12-24")})

    def plain(day: int) -> int | None:
        remaining, step = abs(n), (1 if n >= 0 else -1)
        while remaining:
            day += step
            if not 1 <= day <= date.max.toordinal():
                return None
            if date.fromordinal(day).weekday() < 5 and day not in holidays:
                remaining -= 1
        return day

    assert add_working_days(start.toordinal(), n, holidays) == plain(start.toordinal())


def test_a_working_day_count_before_the_calendar_is_no_value() -> None:
    cal = calendar_of([[d("2018-02-05"), d("2040-12-25")], [d("2027-03-10")]], ["a", "b"])
    assert cal.since == d("2018-01-01")  # the first year any holiday parameter lists
    assert shift(d("2018-01-01"), Duration("working_days", 3), 1, cal) == d("2018-01-04")
    # 2017-12-29 (a Friday) + 1 working day steps through 2017-12-30, which the calendar does
    # not cover: unknown, never counted on weekdays only
    assert shift(d("2017-12-29"), Duration("working_days", 1), 1, cal) is None
    assert shift(d("2018-01-03"), Duration("working_days", 3), -1, cal) is None
    assert "param.a and param.b (the holiday calendar starts on 2018-01-01)" == cal.early_gap


@given(
    st.dates(date(2017, 6, 1), date(2041, 6, 1)),
    st.integers(-600, 600),
    st.sampled_from([(None, None), ("2018-01-01", "2040-12-31"), ("2026-03-02", "2026-12-31")]),
)
def test_bounded_counts_step_only_through_the_calendar(
    start: date, n: int, bounds: tuple[str | None, str | None]
) -> None:
    """Week jumps never carry a count across a calendar bound: the count has a value exactly
    when every day stepped through lies within the calendar (from far past its end, backwards
    included)."""
    holidays = frozenset({d("2026-03-23"), d("2026-08-14"), d("2027-12-24")})
    since, until = (None if b is None else d(b) for b in bounds)
    first, last = since or 1, until or date.max.toordinal()

    def plain(day: int) -> int | None:
        remaining, step = abs(n), (1 if n >= 0 else -1)
        while remaining:
            day += step
            if not first <= day <= last:
                return None
            if date.fromordinal(day).weekday() < 5 and day not in holidays:
                remaining -= 1
        return day

    got = add_working_days(start.toordinal(), n, holidays, until, since)
    assert got == plain(start.toordinal())


def _unknown(decision: Decision, rule_id: str) -> Finding:
    (finding,) = [f for f in decision.findings if f.rule_id == rule_id]
    assert finding.outcome == Outcome.REQUIRE_DOCUMENTS
    return finding


def _both(pk: RulePack, doc: dict[str, Any], as_of: date = AS_OF) -> Decision:
    fast, slow = (pk.evaluate(doc, as_of, engine=e) for e in ("durable", "reference"))
    assert fast.to_json() == slow.to_json()
    return fast


def test_a_flag_near_the_end_of_time_asks_for_the_input(pk: RulePack) -> None:
    doc = example("customer") | {"suspicion_flagged_on": "9999-12-28"}
    doc.pop("str_filed_on", None)
    finding = _unknown(_both(pk, doc), "VER-10")
    assert finding.missing == [
        "suspicion_flagged_on + working_days(param.str_working_days) "
        "(outside the dates 0001-01-01 to 9999-12-31)"
    ]
    assert "suspicion_flagged_on + working_days(param.str_working_days) falls outside" in (
        finding.reason
    )
    assert finding.facts["suspicion_flagged_on"] == "9999-12-28"
    explained = pk.evaluate(doc, date.max, explain=True)  # the counterfactual search too
    assert explained.outcome == Outcome.REQUIRE_DOCUMENTS


def test_a_form_received_on_the_last_day_decides_without_a_crash(pk: RulePack) -> None:
    doc = example("licence_application")
    for item in doc["documents"]:
        if item["type"] == "FORM_A1":
            item["received_on"] = "9999-12-31"
    decision = _both(pk, doc, date(2026, 6, 1))
    # 60 days after it is past any representable date: the due date is unknown and LIC-11
    # (on_missing: require_documents) asks for the date it was computed from
    finding = next(f for f in decision.findings if f.rule_id == "LIC-11")
    assert finding.outcome == Outcome.REQUIRE_DOCUMENTS
    assert any("received_on" in m for m in finding.missing), finding.missing
    assert "0001-01-01 to 9999-12-31" in finding.reason
    ordinary = _both(pk, example("licence_application"), date(2026, 6, 1))
    assert "LIC-11" in ordinary.fired


def test_extreme_parameter_overrides_are_refused_with_one_line(pk: RulePack) -> None:
    for name, value, words in [
        ("str_working_days", "3000000", "3000000 is above its maximum 260"),
        ("act_transition_months", "99999999999999999999", "is above its maximum 120"),
        ("noc_decision_days", "-5", "-5 is below its minimum 0"),
    ]:
        result = CliRunner().invoke(
            main,
            ["evaluate", str(EXAMPLES / "customer.json"), "--as-of", "2026-06-01",
             "--set-param", f"{name}={value}"],
        )
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output and result.stderr.count("\n") == 1
        assert name in result.stderr and words in result.stderr
        assert "parameters/" in result.stderr  # the file and line that declare it
        with pytest.raises(PackError, match=name):
            RulePack.load("pk", overrides={name: int(value)})


def test_overrides_within_range_still_decide(pk: RulePack) -> None:
    doc = example("customer") | {"suspicion_flagged_on": "2026-05-01"}
    doc.pop("str_filed_on", None)
    longer = RulePack.load("pk", overrides={"str_working_days": 260})
    assert "VER-10" in pk.evaluate(doc, AS_OF).fired
    assert "VER-10" not in _both(longer, doc).fired


def _copy_pk(tmp_path: Path) -> Path:
    root = tmp_path / "pk"
    shutil.copytree(PK, root)
    return root


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        # a duration parameter whose declared range lets months(...) overflow
        ("  act_transition_months:\n    type: int\n    min: 0\n    max: 120\n",
         "  act_transition_months:\n    type: int\n    max: 200000\n",
         "'act_transition_months' is used as months(param.act_transition_months) by LIC-"),
        # without a declared max, a duration parameter is held to its unit's limit
        ("  act_transition_months:\n    type: int\n    min: 0\n    max: 120\n    description:"
         " Months the Act gives existing operators to apply for a licence or stop.\n    values:\n"
         "      - from: 2026-03-03\n        value: 6\n",
         "  act_transition_months:\n    type: int\n    description: x\n    values:\n"
         "      - from: 2026-03-03\n        value: 120000\n",
         "120000 is above its maximum 119988"),
        ("  str_working_days:\n    type: int\n    min: 0\n    max: 260\n",
         "  str_working_days:\n    type: int\n    min: 0\n    max: 99999999999999999999\n",
         "lets working_days(...) reach past any representable date"),
        # a value outside its declared range
        ("        value: 6\n", "        value: 600\n", "600 is above its maximum 120"),
    ],
)
def test_check_refuses_a_pack_whose_parameters_can_overflow(
    tmp_path: Path, old: str, new: str, words: str
) -> None:
    root = _copy_pk(tmp_path)
    files = [p for p in (root / "parameters").glob("*.yaml") if old in p.read_text()]
    assert len(files) == 1
    files[0].write_text(files[0].read_text().replace(old, new, 1))
    result = CliRunner().invoke(main, ["check", str(root)])
    assert result.exit_code == 2, result.output
    (line,) = [x for x in result.stderr.splitlines() if words in x]  # one line per problem
    assert line.startswith(f"parameters/{files[0].name}:")  # file and line
    with pytest.raises(PackError, match=re.escape(words)):
        RulePack.load(root)


def test_a_range_must_fit_its_type() -> None:
    base = {"description": "x", "values": [{"from": date(2025, 1, 1), "value": 1,
                                            "source": "a", "confidence": "A"}]}
    with pytest.raises(ValueError, match="min .* is above max"):
        ParamSpec.model_validate(base | {"type": "int", "min": 5, "max": 1})
    with pytest.raises(ValueError, match="has no min"):
        ParamSpec.model_validate(base | {"type": "string", "min": 1})
    with pytest.raises(ValueError, match="must be a date"):
        ParamSpec.model_validate(base | {"type": "date", "max": 5})
    spec = ParamSpec.model_validate(base | {"type": "table of int"})
    assert value_range(spec) == DEFAULT_RANGES["int"]


# -- a property: no exception escapes, and the engine agrees with the reference ------------

EXTREME_DATES = st.one_of(
    st.dates(),
    st.sampled_from([date.min, date.max, date(9999, 12, 28), date(2040, 12, 24), date(2041, 1, 1)]),
)


@functools.cache
def _constructs() -> RulePack:
    """One load for every example: each example then reuses the matcher built for its date
    rather than compiling the pack again (the documents vary, the pack and dates do not)."""
    return RulePack.load(Path(__file__).parent / "packs" / "constructs")


@settings(max_examples=int(os.environ.get("DATES_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(
    flagged=EXTREME_DATES,
    filed=st.none() | EXTREME_DATES,
    received=EXTREME_DATES,
    as_of=EXTREME_DATES,
    working=st.sampled_from([0, 1, 7, 260]),
    months=st.sampled_from([0, 6, 120]),
    days=st.sampled_from([0, 60, 3650]),
)
def test_extreme_dates_and_parameters_never_crash_and_engines_agree(
    flagged: date, filed: date | None, received: date, as_of: date, working: int, months: int,
    days: int,
) -> None:
    pack = _extreme_pack(working, months, days)
    customer = example("customer") | {"suspicion_flagged_on": flagged.isoformat()}
    customer.pop("str_filed_on", None)
    if filed is not None:
        customer["str_filed_on"] = filed.isoformat()
    licence = example("licence_application")
    for item in licence["documents"]:
        if item["type"] == "FORM_A1":
            item["received_on"] = received.isoformat()
    docs = [customer, licence, example("transfer"), example("amnesty_declaration")]
    fast = [x.to_json() for x in pack.evaluate_many(docs, as_of, engine="durable")]
    slow = [x.to_json() for x in pack.evaluate_many(docs, as_of, engine="reference")]
    assert fast == slow


_PACKS: dict[tuple[int, int, int], RulePack] = {}


def _extreme_pack(working: int, months: int, days: int) -> RulePack:
    key = (working, months, days)
    if key not in _PACKS:
        _PACKS[key] = RulePack.load("pk", overrides={
            "str_working_days": working, "act_transition_months": months,
            "full_application_due_months": months, "noc_decision_days": days,
            "amnesty_settlement_days": {"PK-VA-AMNESTY-2026": days},
            "enforcement_lookback_years": 100 if months == 120 else 5,
        })
    return _PACKS[key]


# -- the service answers, never 500 ---------------------------------------------------------


def test_the_service_decides_extreme_dates(tmp_path: Path, pk: RulePack) -> None:
    from support.service import start_server

    server = start_server(tmp_path)
    try:
        customer = example("customer") | {"suspicion_flagged_on": "9999-12-28"}
        customer.pop("str_filed_on", None)
        licence = example("licence_application")
        for item in licence["documents"]:
            if item["type"] == "FORM_A1":
                item["received_on"] = "9999-12-31"
        for doc in (customer, licence):
            for as_of in ("2026-06-01", "9999-12-31"):
                status, _headers, body = server.request(
                    "POST", f"/v1/evaluate?as_of={as_of}", doc, key=None
                )
                assert status == 200, body
                expected = pk.evaluate(doc, date.fromisoformat(as_of)).to_json()
                assert body == expected.encode()
    finally:
        server.stop()


def test_a_value_in_force_to_the_last_day_loads_and_has_a_timeline(tmp_path: Path) -> None:
    from vasp_rules.analysis.analyze import timeline

    root = _copy_pk(tmp_path)
    path = root / "parameters" / "verification.yaml"
    old = "      - from: 2010-03-26\n        value: 7\n"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(
        old, "      - from: 2010-03-26\n        to: 9999-12-31\n        value: 7\n", 1))
    result = CliRunner().invoke(main, ["check", str(root)])
    assert result.exit_code == 0, result.output
    assert not [g for g in timeline(RulePack.load(root).loaded) if g["type"] == "parameter_gap"]


EXTREME_MOMENTS = st.sampled_from([
    "0001-01-01T00:00:00Z", "0001-01-01T01:59:59Z", "0001-01-01T02:00:00Z",
    "0001-01-01T12:00:00-05:00", "0001-01-02T00:00:00+14:00", "2026-03-01T14:32:05+05:00",
    "9999-12-31T23:59:59Z", "9999-12-31T22:00:00-12:00",
])


@functools.cache
def _constructs() -> RulePack:
    """One load for every example: each example then reuses the matcher built for its date
    rather than compiling the pack again (the documents vary, the pack and dates do not)."""
    return RulePack.load(Path(__file__).parent / "packs" / "constructs")


@settings(max_examples=int(os.environ.get("DATES_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(submitted=EXTREME_DATES, migrated=EXTREME_DATES, executed=EXTREME_MOMENTS,
       settled=EXTREME_MOMENTS, as_of=st.sampled_from([date(2026, 6, 1), date.max]))
def test_native_shifts_of_fields_agree_at_the_ends_of_time(
    submitted: date, migrated: date, executed: str, settled: str, as_of: date
) -> None:
    """`migrated_on > submitted_on + days(90)` and `settled_at - hours(2) > executed_at` run
    natively in durable-rules with range tests on the field: unknown exactly where the
    reference's shift has no value."""
    constructs = _constructs()
    amnesty = example("amnesty_declaration") | {
        "submitted_on": submitted.isoformat(), "migrated_on": migrated.isoformat()}
    transfer = example("transfer") | {"executed_at": executed, "settled_at": settled}
    transfer.pop("data_transmitted_at", None)
    docs = [amnesty, transfer]
    fast = [x.to_json() for x in constructs.evaluate_many(docs, as_of, engine="durable")]
    slow = [x.to_json() for x in constructs.evaluate_many(docs, as_of, engine="reference")]
    assert fast == slow


def test_a_literal_duration_beyond_any_date_is_refused(tmp_path: Path) -> None:
    rules = "rules:\n" + rule_yaml(
        "T-FAR", "customer", "suspicion_flagged_on + months(200000) < as_of"
    ) + rule_yaml("T-NEAR", "customer", "suspicion_flagged_on + days(3000000) < as_of")
    root = make_pack(tmp_path, rules)
    result = CliRunner().invoke(main, ["check", str(root)])
    assert result.exit_code == 2
    (line,) = [x for x in result.stderr.splitlines() if "T-FAR" in x]
    assert line.startswith("rules/test.yaml:") and "months(200000) reaches past any" in line
    assert "T-NEAR" not in result.stderr  # 3,000,000 days fit between 0001 and 9999
    near = RulePack.load(make_pack(tmp_path, "rules:\n" + rule_yaml(
        "T-NEAR", "customer", "suspicion_flagged_on + days(3000000) < as_of")))
    doc = example("customer") | {"suspicion_flagged_on": "2026-05-01"}
    finding = _unknown(_both(near, doc), "T-NEAR")  # past 9999-12-31: unknown, asked for
    assert finding.missing == [
        "suspicion_flagged_on + days(3000000) (outside the dates 0001-01-01 to 9999-12-31)"
    ]
    early = doc | {"suspicion_flagged_on": "0010-01-01"}
    assert "T-NEAR" not in _both(near, early).fired  # 8223-... is a date, and not before as_of
