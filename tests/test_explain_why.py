"""Why and why not: condition trees, verdicts, the values and parameters they read."""

from __future__ import annotations

import json
from datetime import date

import pytest
from support.explain import (
    AS_OF,
    application,
    check_tree,
    document_value,
    explain_pack,
    nodes,
    same_value,
    transfer,
)

from vasp_rules import Decision, parse_document
from vasp_rules.explain import explain
from vasp_rules.explain.api import ExplainError
from vasp_rules.model.explanation import RuleTrace


def _trace(decision: Decision, rule_id: str) -> RuleTrace:
    assert decision.explanation is not None
    trace = decision.explanation.rule(rule_id)
    assert trace is not None, f"no trace for {rule_id}"
    return trace


def test_decision_json_has_no_explanation_unless_asked() -> None:
    pack = explain_pack()
    doc = application(**{"firm.people[1].outsourced": True})
    plain = pack.evaluate(doc, AS_OF)
    text = plain.to_json()
    assert "explanation" not in json.loads(text)
    assert Decision.model_validate_json(text).to_json() == text
    explained = pack.evaluate(doc, AS_OF, explain=True)
    assert explained.findings == plain.findings and explained.outcome == plain.outcome
    data = json.loads(explained.to_json())
    assert data.pop("explanation")["rules"][0]["rule_id"] == "X-MLRO"
    assert data == json.loads(text)


def test_evaluate_explain_traces_every_finding_in_order() -> None:
    pack = explain_pack()
    doc = application(
        **{
            "firm.people[1].outsourced": True,
            "firm.data_locations": ["PK", "AE"],
            "firm.paid_up_capital": {"amount": "1000", "currency": "PKR"},
        }
    )
    decision = pack.evaluate(doc, AS_OF, explain=True)
    assert decision.explanation is not None
    assert [r.rule_id for r in decision.explanation.rules] == decision.fired
    assert {"X-MLRO", "X-CAP", "X-DATA"} <= set(decision.fired)
    for trace in decision.explanation.rules:
        assert trace.status == "fired" and trace.verdict == "true"
        assert trace.tree.decisive and trace.tree.verdict == "true"


def test_quantifier_names_the_person_that_made_the_difference() -> None:
    decision = explain(explain_pack(), application(**{"firm.people[1].outsourced": True}), AS_OF)
    trace = _trace(decision, "X-MLRO")
    quantifier = trace.tree
    assert quantifier.kind == "quantifier"
    items = {i.path: i for i in quantifier.items}
    assert list(items) == ["firm.people[0]", "firm.people[1]", "firm.people[2]"]
    assert items["firm.people[1]"].label == "Omar Malik"
    assert items["firm.people[1]"].verdict == "true" and items["firm.people[1]"].decisive
    assert not items["firm.people[0]"].included and not items["firm.people[0]"].decisive
    key = {(k.item, k.condition): k for k in trace.key_conditions}
    outsourced = key[("firm.people[1] (Omar Malik)", "p.outsourced")]
    assert outsourced.verdict == "true"
    assert outsourced.values == {"firm.people[1].outsourced": "true"}
    assert trace.reads["firm.people[1].outsourced"] is True


def test_parameters_read_carry_effective_dates_and_sources() -> None:
    pack = explain_pack()
    doc = application(**{"firm.paid_up_capital": {"amount": "1000000", "currency": "AED"}})
    trace = _trace(explain(pack, doc, AS_OF), "X-CAP")
    params = {p.label: p for p in trace.params}
    floor = params["param.capital_floor[EXCHANGE]"]
    assert floor.value == {"amount": 1500000, "currency": "AED"}
    assert floor.display == "AED 1,500,000 = PKR 114,375,000"
    assert (floor.effective_from, floor.effective_to) == (date(2026, 1, 1), None)
    assert floor.source == "Test floors modelled on VARA"
    assert floor.url == "https://example.org/floors" and floor.confidence == "A"
    assert floor.illustrative
    assert params["param.fx_to_pkr[AED]"].value == "76.25"
    assert "param.capital_floor[CUSTODY]" in params
    # an earlier as_of reads the earlier entry, with its end date
    earlier = _trace(explain(pack, doc, date(2025, 6, 1), rules=["X-CAP"]), "X-CAP")
    assert earlier.status == "not_fired"  # 1,000,000 AED is not below the old floor
    old = {p.label: p for p in earlier.params}["param.capital_floor[EXCHANGE]"]
    assert old.value == {"amount": 1000000, "currency": "AED"}
    assert (old.effective_from, old.effective_to) == (date(2018, 1, 1), date(2025, 12, 31))


def test_why_not_shows_the_false_subcondition_and_its_value() -> None:
    decision = explain(explain_pack(), application(), AS_OF, rules=["X-CUST"])
    trace = _trace(decision, "X-CUST")
    assert trace.status == "not_fired" and trace.verdict == "false"
    assert trace.finding_outcome is None
    assert [(k.condition, k.verdict) for k in trace.key_conditions] == [
        ('firm.custody_model == "IN_HOUSE"', "false")
    ]
    assert trace.key_conditions[0].values == {"firm.custody_model": "THIRD_PARTY_LICENSED"}
    left, right = trace.tree.children
    assert left.decisive and left.verdict == "false"
    assert not right.decisive and right.verdict == "true"  # true, so not why it failed


def test_why_not_for_a_quantifier_names_every_item() -> None:
    trace = _trace(explain(explain_pack(), application(), AS_OF, rules=["X-MLRO"]), "X-MLRO")
    assert trace.status == "not_fired"
    items = {k.item for k in trace.key_conditions}
    assert items == {
        "firm.people[0] (Ayesha Siddiqui)",
        "firm.people[1] (Omar Malik)",
        "firm.people[2] (Khalid Chaudhry)",
    }
    omar = [k for k in trace.key_conditions if k.item == "firm.people[1] (Omar Malik)"]
    assert ("p.outsourced", "false") in [(k.condition, k.verdict) for k in omar]
    others = [k for k in trace.key_conditions if "Omar" not in (k.item or "")]
    assert all(k.condition == '"MLRO" in p.roles' and k.verdict == "false" for k in others)


def test_unknown_condition_names_the_missing_fact() -> None:
    doc = application(**{"firm.annual_fixed_overheads": None})
    decision = explain(explain_pack(), doc, AS_OF)
    trace = _trace(decision, "X-OVH")
    assert trace.status == "unknown" and trace.verdict == "unknown"
    assert trace.finding_outcome == "REQUIRE_DOCUMENTS"
    finding = next(f for f in decision.findings if f.rule_id == "X-OVH")
    assert trace.missing == finding.missing == ["firm.annual_fixed_overheads"]
    assert [k.verdict for k in trace.key_conditions] == ["unknown"]


def test_an_unknown_rule_that_skips_is_explained_as_not_fired() -> None:
    doc = application(**{"firm.annual_fixed_overheads": None, "firm.data_locations": []})
    trace = _trace(explain(explain_pack(), doc, AS_OF, rules=["X-DATA"]), "X-DATA")
    assert trace.status == "not_fired" and trace.verdict == "false"


def test_values_read_are_the_documents_values() -> None:
    pack = explain_pack()
    doc = application(**{"firm.people[1].outsourced": True, "stage": "EOI", "documents": []})
    decision = explain(pack, doc, AS_OF, rules=pack.rule_ids(on=AS_OF, kind="licence_application"))
    validated = parse_document(doc).model_dump(mode="json")
    assert decision.explanation is not None
    for trace in decision.explanation.rules:
        check_tree(trace.tree)
        for node in nodes(trace.tree):
            for path, value in node.reads.items():
                assert same_value(value, document_value(validated, path)), (path, value)
        finding = next((f for f in decision.findings if f.rule_id == trace.rule_id), None)
        if finding is not None:  # the finding's facts include everything the condition read
            for path, value in trace.reads.items():
                assert same_value(finding.facts[path], value)


def test_items_of_a_parameter_list_are_not_reported_as_document_reads() -> None:
    doc = application(**{"stage": "EOI", "documents": []})
    trace = _trace(explain(explain_pack(), doc, AS_OF), "X-DOCS")
    assert set(trace.reads) == {"stage"}
    labels = [i.label for i in trace.tree.children[1].items]
    assert labels == ["COMPANY_PROFILE", "FOREIGN_LICENCES", "CAPITAL_DETAILS"]
    assert trace.tree.children[1].items[0].path == "param.required_documents[0]"


def test_batch_items_are_named_by_document_id() -> None:
    pack = explain_pack()
    small = transfer()
    big = transfer(**{"transfer_id": "TX-2", "value": {"amount": "9000", "currency": "USD"}})
    first, _second = pack.evaluate_many([small, big], AS_OF, explain=True)
    trace = _trace(first, "T-BIGGER")
    assert [i.path for i in trace.tree.items] == ["batch.transfer[TX-2]"]
    assert trace.tree.items[0].verdict == "true" and trace.tree.items[0].decisive
    assert trace.reads["batch.transfer[TX-2].value"] == {"amount": "9000", "currency": "USD"}


def test_evaluate_many_without_batch_explains_each_alone() -> None:
    pack = explain_pack()
    small = transfer()
    big = transfer(**{"transfer_id": "TX-2", "value": {"amount": "9000", "currency": "USD"}})
    decisions = pack.evaluate_many([small, big], AS_OF, batch=False, explain=True)
    assert all(d.fired == [] and d.explanation is not None for d in decisions)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (["NOPE-1"], "unknown rule 'NOPE-1'"),
        (["C-SOF"], "applies to customer documents, not licence_application"),
    ],
)
def test_explaining_a_rule_that_cannot_apply_is_an_error(rules: list[str], message: str) -> None:
    with pytest.raises(ExplainError, match=message):
        explain(explain_pack(), application(), AS_OF, rules=rules)


def test_explaining_a_rule_not_in_force_is_an_error() -> None:
    with pytest.raises(ExplainError, match="not in force on 2017-01-01"):
        explain(explain_pack(), application(), date(2017, 1, 1), rules=["X-CAP"])


def test_the_reference_engine_gives_the_same_explanation() -> None:
    pack = explain_pack()
    doc = application(**{"firm.people[1].outsourced": True})
    durable = explain(pack, doc, AS_OF)
    reference = explain(pack, doc, AS_OF, engine="reference")
    assert durable.explanation == reference.explanation
