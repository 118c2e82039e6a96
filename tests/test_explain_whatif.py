"""What-if: path syntax, value parsing, applying edits, and the decision difference."""

from __future__ import annotations

from typing import Any

import pytest
from support.explain import AS_OF, application, explain_pack

from vasp_rules import DocumentError
from vasp_rules.core.docpath import PathError, format_path, get_at, parse_path, set_at
from vasp_rules.explain.whatif import (
    WhatIfError,
    apply_assignments,
    parse_assignment,
    parse_value,
    whatif,
)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("stage", ("stage",)),
        ("firm.people[1].outsourced", ("firm", "people", 1, "outsourced")),
        ("holdings[0].exposure_pct.scam", ("holdings", 0, "exposure_pct", "scam")),
        ("a[1][2].b", ("a", 1, 2, "b")),
    ],
)
def test_paths_round_trip(text: str, parts: tuple[Any, ...]) -> None:
    assert parse_path(text) == parts
    assert format_path(parts) == text


@pytest.mark.parametrize("text", ["", "firm.", ".firm", "firm..x", "people[-1]", "a[b]", "1x"])
def test_malformed_paths_are_refused(text: str) -> None:
    with pytest.raises(PathError):
        parse_path(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("false", False),
        ("true", True),
        ("null", None),
        ("~", None),
        ("ACTIVE", "ACTIVE"),
        ("2026-09-30", "2026-09-30"),
        ("1500000.00", "1500000.00"),
        ("7", 7),
        ('"7"', "7"),
        ('{"amount": "5", "currency": "PKR"}', {"amount": "5", "currency": "PKR"}),
        ("{amount: 5.50, currency: PKR}", {"amount": "5.5", "currency": "PKR"}),
        ("[PK, AE]", ["PK", "AE"]),
    ],
)
def test_values_are_json_or_yaml(text: str, value: Any) -> None:
    assert parse_value(text) == value


def test_set_at_sets_appends_and_removes() -> None:
    doc: dict[str, Any] = {"a": {"b": 1}, "items": [1, 2, 3]}
    set_at(doc, parse_path("a.b"), 2)
    set_at(doc, parse_path("items[3]"), 4)  # index == length appends
    set_at(doc, parse_path("items[0]"), None)  # null removes a list item
    set_at(doc, parse_path("a.c.d"), "x")  # absent objects are created
    set_at(doc, parse_path("a.b"), None)  # null removes a field
    set_at(doc, parse_path("gone.deeper"), None)  # removing below an absent field: no-op
    assert doc == {"a": {"c": {"d": "x"}}, "items": [2, 3, 4]}
    assert get_at(doc, parse_path("items[2]")) == 4
    assert get_at(doc, parse_path("items[9]")) is None


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("items[5]", "does not exist"),
        ("a.b.c", "is not an object"),
        ("a[0]", "is not a list"),
        ("missing[0].x", "is absent"),
    ],
)
def test_set_at_refuses_paths_that_do_not_fit(path: str, message: str) -> None:
    with pytest.raises(PathError, match=message):
        set_at({"a": {"b": 1}, "items": [1]}, parse_path(path), 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("firm.goaml_registered", "expected PATH=VALUE"),
        ("firm.goaml_registered=", "no value"),
        ("firm..x=1", "invalid path"),
        ("kind=customer", "cannot be changed"),
    ],
)
def test_bad_assignments_are_refused(text: str, message: str) -> None:
    with pytest.raises(WhatIfError, match=message):
        parse_assignment(text)


def test_assignments_apply_to_a_copy() -> None:
    doc = application()
    changed = apply_assignments(doc, [parse_assignment("firm.people[1].outsourced=true")])
    assert changed["firm"]["people"][1]["outsourced"] is True
    assert doc["firm"]["people"][1]["outsourced"] is False


def test_whatif_reports_removed_findings_and_the_outcomes() -> None:
    doc = application(**{"firm.people[1].outsourced": True})
    result = whatif(explain_pack(), doc, ["firm.people[1].outsourced=false"], AS_OF)
    assert (result.outcome_before.value, result.outcome_after.value) == ("REJECT", "APPROVE")
    assert [f.rule_id for f in result.removed] == ["X-MLRO"]
    assert result.added == [] and result.changed == []
    assert result.assignments == ["firm.people[1].outsourced=false"]
    summary = result.summary()
    assert summary["outcome_before"] == "REJECT" and summary["outcome_after"] == "APPROVE"
    assert [f["rule_id"] for f in summary["removed"]] == ["X-MLRO"]


def test_whatif_reports_added_and_changed_findings() -> None:
    doc = application(**{"firm.paid_up_capital": {"amount": "1000", "currency": "PKR"}})
    result = whatif(
        explain_pack(),
        doc,
        ["firm.data_locations[1]=AE", "firm.paid_up_capital.amount=2000"],
        AS_OF,
    )
    assert [f.rule_id for f in result.added] == ["X-DATA"]
    assert [c.before.rule_id for c in result.changed] == ["X-CAP"]
    assert "PKR 2,000" in result.changed[0].after.reason


def test_whatif_null_makes_a_fact_absent() -> None:
    result = whatif(explain_pack(), application(), ["firm.annual_fixed_overheads=null"], AS_OF)
    [added] = result.added
    assert added.rule_id == "X-OVH" and added.missing == ["firm.annual_fixed_overheads"]


def test_whatif_on_an_invalid_result_raises_document_error() -> None:
    with pytest.raises(DocumentError):
        whatif(explain_pack(), application(), ["firm.goaml_registered=maybe"], AS_OF)


def test_whatif_on_a_path_that_does_not_fit_raises() -> None:
    with pytest.raises(WhatIfError, match="does not exist"):
        whatif(explain_pack(), application(), ["firm.people[7].outsourced=true"], AS_OF)
