"""The why-trace from one evaluation (issue 25): the reference interpreter reports every node it
evaluates to a hook, and the tracer builds the whole tree from that one run.

The oracle is the tracer as it was before (tests/support/why_oracle.py: a fresh interpreter on
every traced node, one run per subtree): on generated documents of every kind, alone and in
batches, on the example applicants and on every pack the tests keep (the bundled pack, the
explanation pack, the construct and batch-shape packs), both traces of every rule in force are
the same JSON, byte for byte. Also: the hook sees each node's own result and reads without
changing the evaluation, and the tracer evaluates a deep rule's nodes about once each.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.explain import MANIFEST, PARAMETERS, _rule, application, explain_pack
from support.packs import pack
from support.strategies import documents
from support.why_oracle import PerSubtreeTracer

from vasp_rules import RulePack
from vasp_rules.compiler.compile import CompiledPack
from vasp_rules.explain import why
from vasp_rules.explain.api import make_item
from vasp_rules.explain.why import Tracer
from vasp_rules.interp.reference import Context, Evaluator, Result
from vasp_rules.lang.ast import Expr, Quantifier
from vasp_rules.lang.values import Scope
from vasp_rules.runtime.evaluate import Item, batch_view, context_for

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
KINDS = ["licence_application", "customer", "amnesty_declaration", "transfer"]
DATES = st.sampled_from([date(2025, 6, 1), date(2026, 6, 1), date(2031, 1, 15)])
PACKS = st.sampled_from(["pk", "explain", "constructs", "batchshapes"])
#: hypothesis examples (VASP_RULES_FUZZ=1 for a long run)
SETTINGS = settings(
    max_examples=1000 if os.environ.get("VASP_RULES_FUZZ") else 40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _pack(name: str) -> RulePack:
    return explain_pack() if name == "explain" else pack(name)


def _check_same_traces(rules_pack: RulePack, items: Sequence[Item], as_of: date) -> int:
    """Both tracers give the same JSON for every rule in force for each item (evaluated in
    the batch of `items`); the number of traces compared."""
    view = batch_view(list(items))
    compared = 0
    with rules_pack.using(as_of) as compiled:
        for item in items:
            ctx = context_for(compiled, item, view)
            new, old = Tracer(compiled, ctx), PerSubtreeTracer(compiled, ctx)
            for rule in compiled.rules_for(item.kind):
                assert new.trace(rule).model_dump_json() == old.trace(rule).model_dump_json(), (
                    rule.id
                )
                compared += 1
    return compared


def _check_hook_changes_nothing(rules_pack: RulePack, items: Sequence[Item], as_of: date) -> None:
    """Evaluating a rule with a hook gives the plain evaluation's result and reads."""
    view = batch_view(list(items))
    with rules_pack.using(as_of) as compiled:
        for item in items:
            ctx = context_for(compiled, item, view)
            for rule in compiled.rules_for(item.kind):
                plain, hooked = Evaluator(ctx), Evaluator(ctx, hook=lambda *_: None)
                a, b = plain.evaluate(rule.condition), hooked.evaluate(rule.condition)
                assert (a.value, a.missing) == (b.value, b.missing), rule.id
                assert plain.reads == hooked.reads and plain.absent == hooked.absent, rule.id


@SETTINGS
@given(PACKS, st.sampled_from(KINDS).flatmap(documents), DATES)
def test_one_pass_traces_are_the_per_subtree_traces(
    name: str, doc: dict[str, Any], as_of: date
) -> None:
    rules_pack, item = _pack(name), make_item(doc)
    _check_same_traces(rules_pack, [item], as_of)
    _check_hook_changes_nothing(rules_pack, [item], as_of)


@settings(SETTINGS, max_examples=SETTINGS.max_examples // 2)
@given(
    PACKS,
    st.sampled_from(["transfer", "amnesty_declaration"]).flatmap(
        lambda kind: st.lists(documents(kind), min_size=2, max_size=4)
    ),
    DATES,
)
def test_one_pass_traces_in_batches(name: str, docs: list[dict[str, Any]], as_of: date) -> None:
    rules_pack, items = _pack(name), [make_item(d) for d in docs]
    _check_same_traces(rules_pack, items, as_of)
    _check_hook_changes_nothing(rules_pack, items, as_of)


@pytest.mark.parametrize(
    "path",
    sorted(EXAMPLES.glob("*.json")) + sorted((EXAMPLES / "batches").glob("*.json")),
    ids=lambda p: p.name,
)
def test_one_pass_traces_of_the_examples(pk: RulePack, path: Path) -> None:
    found = json.loads(path.read_text(encoding="utf-8"))
    items = [make_item(d) for d in (found if isinstance(found, list) else [found])]
    as_of = date(2026, 6, 1)
    assert sum(_check_same_traces(_pack(n), items, as_of) for n in ("pk", "batchshapes")) > 0


# -- the hook and the cost ---------------------------------------------------------------------


_DEEP_TESTS = (
    "any(p in firm.people: p.outsourced or p.regulatory_ban)",
    '"EXCHANGE" in activities',
)


@functools.cache
def _deep_pack(depth: int) -> RulePack:
    """A pack of one licence rule nested `depth` levels deep (and/or, quantifiers)."""
    text = "firm.paid_up_capital < param.fera_limit"
    for i in range(depth - 1, 0, -1):
        test = _DEEP_TESTS[i % 2]
        text = f"{test} {'and' if i % 2 else 'or'} ({text})"
    root = Path(tempfile.mkdtemp(prefix="why-deep-"))
    (root / "parameters").mkdir()
    (root / "rules").mkdir()
    (root / "pack.yaml").write_text(MANIFEST)
    (root / "parameters" / "test.yaml").write_text(PARAMETERS)
    rule = _rule("X-DEEP", "licence_application", text, "REFER")
    (root / "rules" / "test.yaml").write_text("rules:\n" + rule + "\n")
    return RulePack.load(root)


class _Seen:
    """A hook keeping every report."""

    def __init__(self) -> None:
        self.seen: list[tuple[Expr, Scope, Result, dict[str, Any]]] = []

    def __call__(self, node: Expr, scope: Scope, result: Result, reads: dict[str, Any]) -> None:
        self.seen.append((node, scope, result, reads))


def _check_reports_are_fresh_evaluations(ctx: Context, condition: Expr) -> int:
    """Each node the hook reports has the result and reads of a fresh evaluation of that
    node alone in its scope; the root comes last. The number of reports."""
    hook = _Seen()
    result = Evaluator(ctx, hook=hook).evaluate(condition)
    assert hook.seen[-1][0] is condition and hook.seen[-1][2] == result
    for node, scope, found, reads in hook.seen:
        fresh = Evaluator(ctx)
        assert fresh.evaluate_in(node, scope) == found
        assert fresh.reads == reads
    return len(hook.seen)


def _deep(depth: int) -> tuple[CompiledPack, Context]:
    rules_pack, item = _deep_pack(depth), make_item(application())
    compiled = rules_pack.compiled(date(2026, 6, 1))
    return compiled, context_for(compiled, item, [item])


def test_the_hook_reports_each_node_as_evaluated_alone() -> None:
    compiled, ctx = _deep(12)
    condition = compiled.rules_for("licence_application")[0].rule.condition
    # and/or, `in` and quantifiers with their items' bodies: more reports than levels
    assert _check_reports_are_fresh_evaluations(ctx, condition) > 12 * 2
    assert "_eval" not in vars(Evaluator(ctx))  # without a hook the plain method runs


@settings(SETTINGS, max_examples=SETTINGS.max_examples // 3)
@given(PACKS, st.sampled_from(KINDS).flatmap(documents), DATES)
def test_hook_reports_on_generated_documents(name: str, doc: dict[str, Any], as_of: date) -> None:
    item = make_item(doc)
    with _pack(name).using(as_of) as compiled:
        ctx = context_for(compiled, item, [item])
        for rule in compiled.rules_for(item.kind):
            _check_reports_are_fresh_evaluations(ctx, rule.rule.condition)


class _Counting(why._Recorder):
    calls = [0]

    def __call__(self, node: Expr, scope: Scope, result: Result, reads: dict[str, Any]) -> None:
        self.calls[0] += 1
        super().__call__(node, scope, result, reads)


def test_a_deep_rule_is_traced_in_about_one_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled, ctx = _deep(60)
    rule = compiled.rules_for("licence_application")[0]
    once = _Seen()
    Evaluator(ctx, hook=once).evaluate(rule.rule.condition)
    monkeypatch.setattr(why, "_Recorder", _Counting)
    _Counting.calls[0] = 0
    traced = Tracer(compiled, ctx).trace(rule).model_dump_json()
    # one evaluation, plus each quantifier's source (a path the interpreter resolves itself)
    sources = sum(isinstance(node, Quantifier) for node, *_ in once.seen)
    assert _Counting.calls[0] <= len(once.seen) + sources
    assert traced == PerSubtreeTracer(compiled, ctx).trace(rule).model_dump_json()
