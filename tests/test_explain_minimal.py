"""The counterfactual search on the Z3 model: each suggestion changes the fewest facts, and what
an applicant cannot change (declared on the entity fields, read by path) is never changed.

Minimality is checked independently of the optimiser that found the suggestion: a plain
satisfiability check with a cardinality constraint finds no document with fewer changed facts
on which the rule's condition is false (for rules the model encodes exactly), and the engine
confirms that dropping any one change brings the finding back.
"""

from __future__ import annotations

import functools
from datetime import date
from typing import Annotated, Any

import z3
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from support.explain import AS_OF, application, explain_pack, transfer
from support.strategies import documents

from vasp_rules import RulePack, parse_document
from vasp_rules.core.docpath import edited, parse_path
from vasp_rules.entities.facts import EVENT, OfRecord, marks_at
from vasp_rules.entities.registry import ID_FIELD, KINDS
from vasp_rules.explain import explain
from vasp_rules.explain.api import _rule_of
from vasp_rules.model.explanation import Change, Suggestion
from vasp_rules.runtime.evaluate import Item, context_for
from vasp_rules.solver.nearest import count_at_most
from vasp_rules.solver.symbolic import Encoder, Inexact, SymDoc

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
KIND_NAMES = ["licence_application", "customer", "amnesty_declaration", "transfer"]
DATES = st.sampled_from([date(2025, 6, 1), date(2026, 6, 1)])


@functools.cache
def bundled() -> RulePack:
    return RulePack.load("pk")


def _without(doc: dict[str, Any], changes: list[Change], dropped: int) -> dict[str, Any]:
    """The document with every change but one; entries added after a dropped one move up."""
    steps = []
    shift: dict[str, int] = {}
    for i, change in enumerate(changes):
        parts = parse_path(change.path)
        base = change.path.rsplit("[", 1)[0]
        if change.kind == "add":
            if i == dropped:
                shift[base] = shift.get(base, 0) + 1
                continue
            index = parts[-1]
            assert isinstance(index, int)
            parts = parts[:-1] + (index - shift.get(base, 0),)
        elif i == dropped:
            continue
        steps.append((parts, change.value))
    return edited(doc, steps)


def _check_minimal(pack: RulePack, doc: dict[str, Any], as_of: date) -> None:
    decision = explain(pack, doc, as_of)
    assert decision.explanation is not None
    validated = parse_document(doc).model_dump(mode="json")
    kind = str(validated["kind"])
    model = parse_document(validated)
    item = Item(model, kind, str(getattr(model, ID_FIELD[kind])))
    findings = {f.rule_id: f for f in decision.findings}
    with pack.using(as_of) as compiled:
        ctx = context_for(compiled, item, [item])
        for s in decision.explanation.suggestions:
            event(f"{s.rule_id}: {s.status}")
            if s.status != "clearable":
                continue
            _check_reach(kind, validated, s, as_of)
            rule = _rule_of(compiled, ctx, kind, findings[s.rule_id])
            try:
                Encoder(SymDoc(kind), compiled, alone=True).condition(rule)
            except (Inexact, z3.Z3Exception, TypeError):
                continue  # not encoded exactly: minimality is not claimed
            fewer = len(s.changes) - 1
            assert not count_at_most(compiled, rule, validated, fewer, alone=True), s
            for dropped in range(len(s.changes)):  # every change is needed (the engine says)
                after = pack.evaluate(_without(validated, s.changes, dropped), as_of)
                assert s.rule_id in after.fired, (s, dropped)


def _check_reach(kind: str, doc: dict[str, Any], s: Suggestion, as_of: date) -> None:
    """No change touches a fact of record or the date of an event already on record (except
    inside an entry being added)."""
    for change in s.changes:
        if change.kind == "add":
            continue
        marks = marks_at(KINDS[kind], parse_path(change.path))
        assert marks.record is None, (change, marks)
        if marks.event and change.before is not None:
            assert str(change.before)[:10] > as_of.isoformat(), change


@SETTINGS
@given(st.sampled_from(KIND_NAMES).flatmap(documents), DATES)
def test_suggestions_change_the_fewest_facts(doc: dict[str, Any], as_of: date) -> None:
    _check_minimal(explain_pack(), doc, as_of)


@settings(SETTINGS, max_examples=10)
@given(st.sampled_from(KIND_NAMES).flatmap(documents), DATES)
def test_suggestions_change_the_fewest_facts_in_the_bundled_pack(
    doc: dict[str, Any], as_of: date
) -> None:
    _check_minimal(bundled(), doc, as_of)


# -- facts of record are read by path, not by name -----------------------------------------------


class _Leg(BaseModel):
    value: int  # the same name as a fixed field elsewhere, not fixed here


class _Executed(BaseModel):
    value: Annotated[int, OfRecord("a fact of the executed transfer")]
    on: Annotated[date, EVENT]


class _Doc(BaseModel):
    executed: _Executed
    legs: list[_Leg]


def test_markers_are_read_by_path() -> None:
    assert marks_at(_Doc, ("executed", "value")).record == (
        ("executed", "value"),
        "a fact of the executed transfer",
    )
    assert marks_at(_Doc, ("legs", 0, "value")).record is None
    assert marks_at(_Doc, ("executed", "on")).event
    # in the entities: the amount of a money value is editable; the transfer's amount is not
    licence, transfer_kind = KINDS["licence_application"], KINDS["transfer"]
    assert marks_at(licence, ("firm", "paid_up_capital", "amount")).record is None
    assert marks_at(transfer_kind, ("amount",)).record is not None
    # everything inside a fact of record is fixed with it
    conviction = ("firm", "people", 0, "convictions", 0, "category")
    assert marks_at(licence, conviction).record == (
        ("firm", "people", 0, "convictions"),
        "a criminal conviction on record",
    )


def test_an_amount_is_editable_where_it_is_not_a_fact_of_record() -> None:
    doc = application(**{"firm.paid_up_capital": {"amount": "1", "currency": "PKR"}})
    s = explain(explain_pack(), doc, AS_OF).explanation
    assert s is not None
    cap = s.suggestion("X-CAP")
    assert cap is not None and cap.status == "clearable"
    assert [c.path for c in cap.changes] == ["firm.paid_up_capital.amount"]


def test_a_transfer_of_record_is_never_changed() -> None:
    doc = transfer(**{"originator.name": None})
    s = explain(explain_pack(), doc, AS_OF).explanation
    assert s is not None
    tr = s.suggestion("T-TR")
    assert tr is not None and tr.status == "clearable"
    # lowering the value below the threshold or turning the direction would clear it in one
    # change too, but the transfer was executed: only the missing fact is asked for
    assert [c.path for c in tr.changes] == ["originator.name"]
