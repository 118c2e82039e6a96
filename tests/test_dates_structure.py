"""Dates share what they compile by structure (issue 22): a rule that does not read `as_of` is
compiled once for every date with the same parameter values, and a decision never depends on
which dates the pack compiled before."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from support.repo import AS_OF, example

from vasp_rules import RulePack
from vasp_rules.compiler.compile import CompileCache, compile_pack
from vasp_rules.pack.loader import PackError

KINDS = ("licence_application", "transfer", "customer", "amnesty_declaration")


def test_rules_that_do_not_read_as_of_are_compiled_once_for_both_dates(pk: RulePack) -> None:
    cache = CompileCache()
    first = compile_pack(pk.loaded, AS_OF, cache)
    second = compile_pack(pk.loaded, AS_OF + timedelta(days=1), cache)
    assert [r.key for r in first.rules] == [r.key for r in second.rules]
    shared = [a.key for a, b in zip(first.rules, second.rules, strict=True) if a is b]
    own = [a.key for a, b in zip(first.rules, second.rules, strict=True) if a is not b]
    assert own and all(cache.reads(r.rule)[1] for r in second.rules if r.key in own)
    assert len(shared) > 3 * len(own)
    assert not any(cache.reads(r.rule)[1] for r in second.rules if r.key in shared)
    # the same patterns as compiling the date alone, hoisted fields included
    alone = compile_pack(pk.loaded, AS_OF + timedelta(days=1))
    for a, b in zip(second.rules, alone.rules, strict=True):
        assert (a.lowered.true, a.lowered.unknown) == (b.lowered.true, b.lowered.unknown)
        assert [(m.name, m.pattern, m.text) for m in a.match_rules] == [
            (m.name, m.pattern, m.text) for m in b.match_rules
        ]
    assert second.plans.keys() == alone.plans.keys()
    for kind, plan in second.plans.items():
        assert plan.fields == alone.plans[kind].fields
        assert plan.hoisted == alone.plans[kind].hoisted


@settings(max_examples=6, deadline=None)
@given(
    before=st.lists(st.integers(-400, 900), min_size=1, max_size=6),
    target=st.integers(-400, 900),
)
def test_a_decision_does_not_depend_on_the_dates_compiled_before(
    before: list[int], target: int
) -> None:
    day = AS_OF + timedelta(days=target)
    docs = [example(kind) for kind in KINDS]
    fresh = RulePack.load("pk")
    try:
        expected = [fresh.evaluate(doc, day).to_json() for doc in docs]
    except PackError:
        return  # a date the pack does not cover fails alike either way
    warm = RulePack.load("pk")
    for offset in before:
        try:
            warm.compiled(AS_OF + timedelta(days=offset))
        except PackError:
            pass
    assert [warm.evaluate(doc, day).to_json() for doc in docs] == expected


def test_parameter_values_key_the_compiled_rules(pk: RulePack) -> None:
    """Two dates either side of a parameter change do not share the rules that read it."""
    cache = CompileCache()
    changes = sorted(
        {v.from_ for spec in pk.loaded.params.values() for v in spec.values if v.from_ > AS_OF}
    )
    if not changes:
        return
    after = changes[0]
    before = after - timedelta(days=1)
    a = compile_pack(pk.loaded, before, cache)
    b = compile_pack(pk.loaded, after, cache)
    moved = {n for n in a.params if n in b.params and a.params[n] is not b.params[n]}
    assert moved
    by_key = {r.key: r for r in a.rules}
    for rule in b.rules:
        if rule.rule.params & moved and rule.key in by_key:
            assert by_key[rule.key] is not rule
