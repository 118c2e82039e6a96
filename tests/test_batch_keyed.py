"""Property: cross-document rules compiled to keyed plans decide exactly as their plain
definition (every batch quantifier visiting every other document of the whole batch).

Batches are small and share keys on purpose (a few wallets, originators, times an hour apart,
absent keys), so that groups, windows, unknown keys and documents filtered out all occur. The
keyed evaluation reads only the documents that can pass a filter: the facts it records from
other documents (`batch.*` paths) are those documents' only, so they are left out of the
comparison; everything else (outcomes, findings, reasons, the document's own facts) must match
byte for byte.
"""

from __future__ import annotations

import json
from datetime import date

from hypothesis import HealthCheck, given, settings
from support.batches import (
    PACKS,
    ROOT,
    SETTINGS,
    _both,
    as_of_dates,
    compiled_equals_reference,
    declaration_batches,
    pack,
    structuring_batches,
    transfer_batches,
)

from vasp_rules.interp.batchplan import plan_quantifier
from vasp_rules.lang.parser import parse_condition
from vasp_rules.runtime.evaluate import batch_view
from vasp_rules.runtime.rulepack import _item


@SETTINGS
@given(docs=transfer_batches(), as_of=as_of_dates)
def test_keyed_transfers_decide_as_the_plain_definition(docs: list[dict], as_of: date) -> None:
    for name in PACKS:
        keyed, plain = _both(pack(name), docs, as_of)
        assert keyed == plain


@SETTINGS
@given(docs=declaration_batches(), as_of=as_of_dates)
def test_keyed_declarations_decide_as_the_plain_definition(docs: list[dict], as_of: date) -> None:
    for name in PACKS:
        keyed, plain = _both(pack(name), docs, as_of)
        assert keyed == plain


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=transfer_batches())
def test_keyed_reference_engine_agrees_too(docs: list[dict]) -> None:
    keyed, plain = _both(pack("batchshapes"), docs, date(2026, 6, 1), "reference")
    assert keyed == plain


def test_plans_read_keys_windows_and_filters() -> None:
    """The plan of a structuring filter: two equality keys, a window on executed_at, and the
    conjuncts on the other transfer alone filtered once."""
    node = parse_condition(
        "sum(t in batch.transfer where t.originator.account_or_wallet is present "
        "and t.originator.account_or_wallet == originator.account_or_wallet "
        "and t.direction == direction and t.value < 100 "
        "and t.executed_at <= executed_at and executed_at - hours(24) < t.executed_at: t.value)"
    )
    plan = plan_quantifier(node)  # type: ignore[arg-type]
    assert plan is not None and plan.kind == "transfer" and plan.var == "t"
    assert len(plan.static) == 2 and len(plan.equalities) == 2
    assert [b.op for b in plan.bounds] == ["<=", ">"]


def test_unkeyed_batch_rules_are_named_with_their_cost() -> None:
    """`vasp-rules check` lists batch filters that are scanned in full (quadratic)."""
    unkeyed = pack("batchshapes").batch_plan().unkeyed
    assert {a.rule_id for a in unkeyed} == {"B-UNKEYED", "B-STATIC", "B-SEMI", "B-NESTED-OTHER"}
    assert all(a.reason for a in unkeyed)
    assert not pack("pk").batch_plan().unkeyed


def test_a_batch_quantifier_inside_another_is_keyed_by_this_documents_fields() -> None:
    """Inside `any(s in batch.transfer ...)` an inner batch quantifier is evaluated once per s:
    it is keyed when its key is compared with this document's own field (its window may be
    probed by s), not when compared with s's (TR-10 of pack 0.3.0 has the first shape)."""
    accesses = pack("batchshapes").batch_plan().accesses
    nested = [a for a in accesses if a.rule_id == "B-NESTED"]
    assert [a.var for a in nested] == ["s", "t"] and all(a.group for a in nested)
    other = [a for a in accesses if a.rule_id == "B-NESTED-OTHER"]
    assert [(a.var, a.group is None) for a in other] == [("s", False), ("t", True)]
    assert "inside another batch quantifier" in other[1].reason
    tr10 = [a for a in pack("pk").batch_plan().accesses if a.rule_id == "TR-10"]
    assert len(tr10) == 8 and all(a.group for a in tr10)
    # its windows (condition and linked_transfers) and by_chain follow linked(...)
    assert [a.var for a in tr10 if a.transitive] == ["t", "s", "t", "t", "t"]


def test_check_names_batch_rules_scanned_in_full() -> None:
    from click.testing import CliRunner

    from vasp_rules.cli import main

    result = CliRunner().invoke(main, ["check", str(PACKS["batchshapes"])])
    assert result.exit_code == 0
    assert "note: B-UNKEYED reads batch.transfer with no key" in result.output
    assert "B-WINDOW" not in result.stdout  # (warned of on stderr: an unguarded optional read)
    clean = CliRunner().invoke(main, ["check", str(PACKS["pk"])])
    assert "note:" not in clean.output


@SETTINGS
@given(docs=structuring_batches(), as_of=as_of_dates)
def test_compiled_batch_quantifiers_equal_the_reference(docs: list[dict], as_of: date) -> None:
    compiled_equals_reference(docs, as_of)


def test_recording_skips_only_items_that_would_record_nothing_new() -> None:
    """The held condition's recording (generated, effects only) skips an item of a batch
    quantifier once the document was evaluated in full before, but never in a run that has
    not yet evaluated its `where`: its parts that name the outer document (`s.transfer_id`)
    are read in every run."""
    from vasp_rules.compiler.codegen import Env, compile_effects, compile_recording
    from vasp_rules.interp.reference import Evaluator
    from vasp_rules.runtime.evaluate import context_for

    template = json.loads((ROOT / "examples" / "transfer.json").read_text())
    docs = []
    for i in range(4):
        doc = json.loads(json.dumps(template))
        doc["transfer_id"] = f"T-{i}"
        docs.append(doc)
    items = [_item(d, i) for i, d in enumerate(docs)]
    condition = parse_condition(
        "any(s in batch.transfer where s.direction == direction: "
        'count(t in batch.transfer where t.direction == direction and s.transfer_id != ""'
        ": t.amount > 0) >= 0)"
    )
    compiled = pack("pk").compiled(date(2026, 6, 1))
    view = batch_view(items)
    for item in items:
        ctx = context_for(compiled, item, view)
        expected = Evaluator(ctx)
        expected.evaluate(condition)
        assert len([p for p in expected.reads if p.endswith(".transfer_id")]) == 3
        for fn in (compile_effects(condition), compile_recording(condition)):
            ev = Evaluator(ctx)
            fn(Env(ctx), ev, {})
            assert list(ev.reads.items()) == list(expected.reads.items())
