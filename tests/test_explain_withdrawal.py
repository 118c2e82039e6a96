"""Withdrawing a choice: an activity applied for, a person's role or a place where data is kept
may be taken back, so "remove it" is a suggestion; an entry of a list of facts (a person, a
holding, a conviction) is never suggested away."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from support.repo import AS_OF, example
from support.strategies import documents

from vasp_rules import RulePack
from vasp_rules.core.docpath import edited, parse_path
from vasp_rules.entities.facts import marks_at
from vasp_rules.entities.licence import LicenceApplication
from vasp_rules.explain import explain
from vasp_rules.model.explanation import Suggestion


def _suggestion(decision: Any, rule_id: str) -> Suggestion:
    explanation = decision.explanation
    assert explanation is not None
    return next(s for s in explanation.suggestions if s.rule_id == rule_id)


def test_the_markers_say_which_lists_hold_choices() -> None:
    def withdrawable(path: str) -> bool:
        return marks_at(LicenceApplication, parse_path(path)).withdrawable

    assert withdrawable("activities[1]")
    assert withdrawable("firm.people[0].roles[2]")
    assert withdrawable("firm.data_locations[0]")
    assert not withdrawable("activities")  # the list itself is not an entry
    assert not withdrawable("firm.people[0]")  # a person is a fact
    assert not withdrawable("firm.people[0].nationalities[0]")  # of record
    assert not withdrawable("firm.enforcement_history[0]")
    assert not withdrawable("documents[0]")


def test_an_activity_not_permitted_at_noc_is_withdrawn(pk: RulePack) -> None:
    doc = example("licence_application")
    assert doc["stage"] == "NOC"
    doc["activities"] = [*doc["activities"], "ASSET_MANAGEMENT"]
    decision = explain(pk, doc, AS_OF)
    assert "LIC-05" in decision.fired
    suggestion = _suggestion(decision, "LIC-05")
    assert suggestion.status == "clearable", suggestion.reason
    [change] = suggestion.changes
    assert change.kind == "remove"
    assert change.path == f"activities[{len(doc['activities']) - 1}]"
    assert change.text == f"remove ASSET_MANAGEMENT ({change.path})"
    # and it is true: without that activity the finding is gone
    after = pk.evaluate(edited(doc, [(parse_path(change.path), None)]), AS_OF)
    assert "LIC-05" not in after.fired


def test_only_the_entries_needed_are_withdrawn(pk: RulePack) -> None:
    doc = example("licence_application")
    permitted = list(doc["activities"])
    doc["activities"] = ["ASSET_MANAGEMENT", *permitted, "LENDING_BORROWING"]
    suggestion = _suggestion(explain(pk, doc, AS_OF), "LIC-05")
    assert suggestion.status == "clearable", suggestion.reason
    removed = sorted(c.before for c in suggestion.changes if c.kind == "remove")
    assert removed == ["ASSET_MANAGEMENT", "LENDING_BORROWING"]
    # removals are listed from the end, so applying them in order keeps each index right
    after_doc = edited(doc, [(parse_path(c.path), None) for c in suggestion.changes])
    assert after_doc["activities"] == permitted


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(documents("licence_application"))
def test_nothing_but_a_choice_is_ever_suggested_away(pk: RulePack, doc: dict[str, Any]) -> None:
    decision = explain(pk, doc, AS_OF)
    assert decision.explanation is not None
    for suggestion in decision.explanation.suggestions:
        for change in suggestion.changes:
            if change.kind == "remove":
                assert marks_at(LicenceApplication, parse_path(change.path)).withdrawable


def test_three_entries_are_withdrawn_when_fewer_would_not_do(pk: RulePack) -> None:
    doc = example("licence_application")
    permitted = list(doc["activities"])
    outside = ["ADVISORY", "ASSET_MANAGEMENT", "LENDING_BORROWING"]
    doc["activities"] = [outside[0], *permitted, *outside[1:]]
    suggestion = _suggestion(explain(pk, doc, AS_OF), "LIC-05")
    assert suggestion.status == "clearable", suggestion.reason
    assert sorted(c.before for c in suggestion.changes) == outside
    after_doc = edited(doc, [(parse_path(c.path), None) for c in suggestion.changes])
    assert after_doc["activities"] == permitted
