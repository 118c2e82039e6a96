"""What would change the decision: verified, minimal changes per blocking finding, and an
honest 'cannot be cleared' where the applicant cannot change the facts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from support.explain import (
    AS_OF,
    application,
    customer,
    declaration,
    explain_pack,
    person,
    transfer,
)

from vasp_rules import Decision, parse_document
from vasp_rules.core.docpath import edited, parse_path
from vasp_rules.explain import explain
from vasp_rules.explain.counterfactual import Verifier, amount_for
from vasp_rules.model.explanation import Suggestion


def _suggestion(decision: Decision, rule_id: str) -> Suggestion:
    assert decision.explanation is not None
    found = decision.explanation.suggestion(rule_id)
    assert found is not None, f"no suggestion for {rule_id}"
    return found


def _apply(doc: dict[str, Any], suggestion: Suggestion) -> dict[str, Any]:
    base = parse_document(doc).model_dump(mode="json")
    return edited(base, [(parse_path(c.path), c.value) for c in suggestion.changes])


def _clears(doc: dict[str, Any], suggestion: Suggestion) -> bool:
    after = explain_pack().evaluate(_apply(doc, suggestion), AS_OF)
    return suggestion.rule_id not in after.fired


def test_threshold_is_inverted_in_the_documents_own_currency() -> None:
    doc = application(
        **{
            "firm.paid_up_capital": {"amount": "1000000", "currency": "AED"},
            "firm.annual_fixed_overheads": {"amount": "100000", "currency": "USD"},
        }
    )
    decision = explain(explain_pack(), doc, AS_OF)
    s = _suggestion(decision, "X-CAP")
    assert s.status == "clearable" and s.outcome_after == "APPROVE"
    [change] = s.changes
    assert (change.path, change.value, change.before) == (
        "firm.paid_up_capital.amount",
        "1500000.00",
        "1000000",
    )
    assert change.kind == "threshold"
    assert change.text == (
        "firm.paid_up_capital must be at least AED 1,500,000 (PKR 114,375,000 at the reference "
        "rate)"
    )
    assert _clears(doc, s)


def test_threshold_rounds_up_so_the_change_truly_clears() -> None:
    doc = application(**{"firm.paid_up_capital": {"amount": "100", "currency": "USD"}})
    s = _suggestion(explain(explain_pack(), doc, AS_OF), "X-CAP")
    [change] = s.changes
    # 114,375,000 PKR / 280 = 408,482.142857... USD: one cent less does not reach the floor
    assert change.value == "408482.15"
    assert _clears(doc, s)
    short = application(**{"firm.paid_up_capital": {"amount": "408482.14", "currency": "USD"}})
    assert "X-CAP" in explain_pack().evaluate(short, AS_OF).fired


def test_bool_is_flipped_for_the_offending_person() -> None:
    doc = application(**{"firm.people[1].outsourced": True})
    s = _suggestion(explain(explain_pack(), doc, AS_OF), "X-MLRO")
    assert [(c.path, c.value, c.kind, c.text) for c in s.changes] == [
        ("firm.people[1].outsourced", False, "flip", "firm.people[1].outsourced must be false")
    ]
    assert s.outcome_after == "APPROVE" and _clears(doc, s)


def test_every_offending_item_is_changed_and_the_set_is_minimal() -> None:
    doc = application(**{"firm.people[1].outsourced": True})
    doc["firm"]["people"].append(person("Second MLRO", ["MLRO"], outsourced=True))
    s = _suggestion(explain(explain_pack(), doc, AS_OF), "X-MLRO")
    assert [c.path for c in s.changes] == ["firm.people[1].outsourced", "firm.people[3].outsourced"]
    assert _clears(doc, s)
    for dropped in range(len(s.changes)):
        fewer = s.model_copy(
            update={"changes": [c for i, c in enumerate(s.changes) if i != dropped]}
        )
        assert not _clears(doc, fewer)


def test_enum_is_flipped_rather_than_dropping_an_activity() -> None:
    doc = application(**{"firm.custody_model": "IN_HOUSE"})
    s = _suggestion(explain(explain_pack(), doc, AS_OF), "X-CUST")
    [change] = s.changes
    assert change.path == "firm.custody_model" and change.before == "IN_HOUSE"
    assert change.value in ("NONE", "THIRD_PARTY_LICENSED")
    assert change.text.startswith("firm.custody_model must not be IN_HOUSE (for example ")
    assert _clears(doc, s)


def test_missing_documents_are_added_as_new_entries() -> None:
    doc = application(
        **{"stage": "EOI", "documents": [{"type": "COMPANY_PROFILE", "received_on": "2025-10-02"}]}
    )
    s = _suggestion(explain(explain_pack(), doc, AS_OF), "X-DOCS")
    assert [(c.path, c.value, c.kind) for c in s.changes] == [
        ("documents[1]", {"type": "FOREIGN_LICENCES", "received_on": "2026-06-01"}, "add"),
        ("documents[2]", {"type": "CAPITAL_DETAILS", "received_on": "2026-06-01"}, "add"),
    ]
    assert s.changes[0].text == "add a FOREIGN_LICENCES entry to documents"
    assert _clears(doc, s)


def test_a_missing_entry_is_built_from_the_test_it_must_pass() -> None:
    cyber = {"type": "CYBER", "board_approved_on": "2025-01-01"}
    doc = application(**{"firm.policies[1]": cyber})  # SANCTIONS replaced by CYBER
    s = _suggestion(explain(explain_pack(), doc, AS_OF), "X-POL")
    # the CYBER policy is not re-typed: a SANCTIONS policy approved by as_of is added
    assert [(c.path, c.value, c.kind, c.text) for c in s.changes] == [
        (
            "firm.policies[2]",
            {"type": "SANCTIONS", "board_approved_on": "2026-06-01"},
            "add",
            "add a SANCTIONS entry to firm.policies",
        )
    ]
    assert _clears(doc, s)


def test_bounds_on_one_field_from_several_items_merge_to_the_strictest() -> None:
    doc = application(**{"firm.paid_up_capital": {"amount": "1", "currency": "PKR"}})
    decision = explain(explain_pack(), doc, AS_OF)
    s = _suggestion(decision, "X-CAPA")  # below both the EXCHANGE and the CUSTODY floor
    assert [(c.path, c.value) for c in s.changes] == [
        ("firm.paid_up_capital.amount", "114375000.00")
    ]
    assert s.changes[0].text == "firm.paid_up_capital must be at least PKR 114,375,000"
    assert _clears(doc, s)


def test_a_missing_fact_is_to_be_supplied() -> None:
    doc = application(**{"firm.people[0].fit_and_proper_declared_on": None})
    s = _suggestion(explain(explain_pack(), doc, AS_OF), "X-FIT")
    [change] = s.changes
    assert (change.path, change.value, change.kind) == (
        "firm.people[0].fit_and_proper_declared_on",
        "2026-06-01",
        "supply",
    )
    assert change.text.startswith("provide firm.people[0].fit_and_proper_declared_on")
    assert _clears(doc, s)


def test_an_unknown_finding_is_cleared_by_supplying_what_it_reads() -> None:
    doc = application(**{"firm.annual_fixed_overheads": None})
    decision = explain(explain_pack(), doc, AS_OF)
    s = _suggestion(decision, "X-OVH")
    assert s.status == "clearable"
    assert [c.path for c in s.changes] == ["firm.annual_fixed_overheads"]
    assert s.changes[0].kind == "supply" and _clears(doc, s)


def test_a_date_to_meet_in_the_future_is_suggested() -> None:
    doc = application(**{"firm.foreign_licences[0].expires_on": "2026-01-31"})
    s = _suggestion(explain(explain_pack(), doc, AS_OF), "X-EXP")
    [change] = s.changes
    assert (change.path, change.value, change.kind) == (
        "firm.foreign_licences[0].expires_on",
        "2026-06-01",
        "date",
    )
    assert change.text == "firm.foreign_licences[0].expires_on must be on or after 2026-06-01"
    assert _clears(doc, s)


def test_a_date_in_the_past_cannot_be_cleared() -> None:
    doc = application(**{"stage": "FULL", "submitted_on": "2026-04-01"})
    s = _suggestion(explain(explain_pack(), doc, AS_OF), "X-LATE")
    assert s.status == "not_clearable" and s.changes == []
    assert "submitted_on" in (s.reason or "")


def test_a_conviction_cannot_be_cleared() -> None:
    convicted = {"category": "FRAUD", "convicted_on": "2019-03-01", "jurisdiction": "GB"}
    doc = application(**{"firm.people[2].convictions": [convicted]})
    s = _suggestion(explain(explain_pack(), doc, AS_OF), "X-CONV")
    assert s.status == "not_clearable" and s.changes == []
    assert "firm.people[2].convictions[0].category" in (s.reason or "")
    assert "conviction" in (s.reason or "")


def test_a_rule_can_declare_itself_not_clearable() -> None:
    doc = application(**{"firm.people[0].regulatory_ban": True})
    s = _suggestion(explain(explain_pack(), doc, AS_OF), "X-BAN")
    assert s.status == "not_clearable"
    assert s.reason == "A regulatory ban is decided by a regulator."


def test_an_overdue_str_cannot_be_cleared() -> None:
    doc = customer(suspicion_flagged_on="2026-01-05")
    s = _suggestion(explain(explain_pack(), doc, AS_OF), "C-STR")
    assert s.status == "not_clearable"
    assert "str_filed_on would have to be 2026-01-14, a date in the past" in (s.reason or "")


def test_facts_of_record_are_never_changed() -> None:
    doc = customer(
        risk_rating="HIGH", outward_transfers_this_year={"amount": "200000", "currency": "USD"}
    )
    decision = explain(explain_pack(), doc, AS_OF)
    sof = _suggestion(decision, "C-SOF")  # the risk rating stays; the evidence is the fix
    assert [(c.path, c.value) for c in sof.changes] == [("source_of_funds.evidenced", True)]
    fera = _suggestion(decision, "C-FERA")
    assert fera.status == "not_clearable" and "transfers already made" in (fera.reason or "")


def test_missing_travel_rule_data_is_to_be_provided() -> None:
    doc = transfer(**{"originator.name": None})
    s = _suggestion(explain(explain_pack(), doc, AS_OF), "T-TR")
    assert [(c.path, c.kind, c.text) for c in s.changes] == [
        ("originator.name", "supply", "provide originator.name")
    ]
    assert _clears(doc, s)


def test_a_finding_that_depends_on_other_documents_cannot_be_cleared() -> None:
    pack = explain_pack()
    big = transfer(**{"transfer_id": "TX-2", "value": {"amount": "9000", "currency": "USD"}})
    first, _ = pack.evaluate_many([transfer(), big], AS_OF, explain=True)
    s = _suggestion(first, "T-BIGGER")
    assert s.status == "not_clearable"
    assert "another document of the batch (batch.transfer[TX-2].value)" in (s.reason or "")


def test_the_offending_holding_is_named_in_the_change() -> None:
    doc = declaration(**{"holdings[1].proof_of_control": "NONE"})
    s = _suggestion(explain(explain_pack(), doc, AS_OF), "A-POC")
    [change] = s.changes
    assert change.path == "holdings[1].proof_of_control" and change.before == "NONE"
    assert _clears(doc, s)


def test_one_suggestion_per_blocking_finding_and_none_for_info() -> None:
    doc = application(
        **{
            "firm.people[1].outsourced": True,
            "firm.noc_status": "GRANTED",
            "firm.data_locations": ["AE"],
        }
    )
    decision = explain(explain_pack(), doc, AS_OF)
    assert decision.explanation is not None
    assert decision.fired == ["X-MLRO", "X-GOAML", "X-DATA"]
    assert [s.rule_id for s in decision.explanation.suggestions] == ["X-MLRO", "X-GOAML"]
    goaml = _suggestion(decision, "X-GOAML")
    assert [(c.path, c.value) for c in goaml.changes] == [("firm.goaml_registered", True)]
    assert goaml.outcome_after == "REJECT"  # X-MLRO still stands with only this change


def test_an_approved_decision_has_no_suggestions() -> None:
    decision = explain(explain_pack(), application(**{"firm.data_locations": ["AE"]}), AS_OF)
    assert decision.outcome.value == "APPROVE" and decision.explanation is not None
    assert decision.explanation.suggestions == []


def test_a_change_the_engine_does_not_confirm_is_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = application(**{"firm.people[1].outsourced": True})
    original = explain_pack().evaluate(doc, AS_OF)
    monkeypatch.setattr(Verifier, "decide", lambda self, document: original)
    s = _suggestion(explain(explain_pack(), doc, AS_OF), "X-MLRO")
    assert s.status == "no_verified_change" and s.changes == []
    assert "Fix it." in (s.reason or "")  # the rule's own remediation is still given


def test_suggestions_replay_as_whatif_arguments() -> None:
    from vasp_rules.explain.whatif import whatif

    doc = application(
        **{
            "firm.paid_up_capital": {"amount": "1000000", "currency": "AED"},
            "stage": "EOI",
            "documents": [],
        }
    )
    decision = explain(explain_pack(), doc, AS_OF)
    assert decision.explanation is not None
    for s in decision.explanation.suggestions:
        result = whatif(explain_pack(), doc, s.set_arguments, AS_OF)
        assert s.rule_id in [f.rule_id for f in result.removed]
        assert result.after.outcome.value == s.outcome_after


def test_suggestions_are_deterministic() -> None:
    doc = application(**{"firm.custody_model": "IN_HOUSE", "firm.people[1].outsourced": True})
    first = explain(explain_pack(), doc, AS_OF)
    second = explain(explain_pack(), doc, AS_OF)
    assert first.to_json() == second.to_json()


@pytest.mark.parametrize(
    ("target", "op", "currency", "expected"),
    [
        (15_000_000_000, ">=", "PKR", Decimal("150000000.00")),
        (11_437_500_000, ">=", "AED", Decimal("1500000.00")),
        (11_437_500_000, ">=", "USD", Decimal("408482.15")),
        (11_437_500_000, "<=", "USD", Decimal("408482.14")),
        (100, "==", "PKR", Decimal("1.00")),
    ],
)
def test_amount_for(target: int, op: str, currency: str, expected: Decimal) -> None:
    fx = {"USD": Decimal("280.00"), "AED": Decimal("76.25")}
    assert amount_for(target, op, currency, fx) == expected


def test_amount_for_an_unknown_currency_is_none() -> None:
    assert amount_for(100, ">=", "JPY", {}) is None
