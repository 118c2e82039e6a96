"""Dates share what they compile by structure (issue 22): dates are arguments, so a rule is
compiled once for every date with the same parameter values (one that reads `as_of` too), and
a decision never depends on which dates the pack compiled before."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.packs import make_pack, rule_yaml
from support.repo import AS_OF, example

from vasp_rules import RulePack
from vasp_rules.compiler.compile import CompileCache, compile_pack
from vasp_rules.compiler.lower import SLOT
from vasp_rules.pack.loader import PackError

KINDS = ("licence_application", "transfer", "customer", "amnesty_declaration")


def test_two_dates_share_every_compiled_rule_those_that_read_as_of_too(pk: RulePack) -> None:
    """Dates are arguments: a rule that reads `as_of` compiles its date slots as parameters,
    so the next day reuses every compiled rule; only the slots' values are the date's."""
    cache = CompileCache()
    first = compile_pack(pk.loaded, AS_OF, cache)
    second = compile_pack(pk.loaded, AS_OF + timedelta(days=1), cache)
    assert [id(r) for r in first.rules] == [id(r) for r in second.rules]
    dated = [r for r in second.rules if cache.reads(r.rule)[1]]
    parts = [repr((r.condition, r.values, r.reason, r.remediation)) for r in dated]
    assert len(dated) >= 8 and sum(SLOT in text for text in parts) >= len(dated) - 1
    assert first.slots.keys() == second.slots.keys()
    assert all(second.slots[n] == first.slots[n] + 1 for n in first.slots)
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
    assert alone.slots == second.slots


def test_a_slot_that_folds_to_a_truth_value_compiles_one_form_per_value(pk: RulePack) -> None:
    """LIC-01 holds only after the Act's transition (`as_of > param.act_2026_date +
    months(...)`): that slot is folded (the rest of the condition is simplified with it), so
    the rule has one compiled form before the end of the transition and one after, each
    shared by all the dates on its side, and each decides as a fresh compile does."""
    cache = CompileCache()
    days = [date(2026, 3, 3) + timedelta(days=30 * n) for n in range(24)]
    forms: dict[int, list[date]] = {}
    for day in days:
        compiled = compile_pack(pk.loaded, day, cache)
        (rule,) = [r for r in compiled.rules if r.id == "LIC-01"]
        forms.setdefault(id(rule), []).append(day)
    assert len(forms) == 2
    early, late = sorted(forms.values())
    assert max(early) < min(late)
    doc = example("licence_application")
    doc["firm"]["noc_status"] = "NONE"
    for day in (max(early), min(late)):
        assert pk.evaluate(doc, day).to_json() == RulePack.load("pk").evaluate(doc, day).to_json()
    ids = [{f.rule_id for f in pk.evaluate(doc, day).findings} for day in (max(early), min(late))]
    assert "LIC-01" not in ids[0] and "LIC-01" in ids[1]


def test_a_slot_out_of_range_on_a_date_compiles_for_that_date_alone(tmp_path: Path) -> None:
    """`as_of + days(30)` has no value in the last days of 9999: there the slot does not fold,
    and the rule compiles as before for that date alone (the sum stays in the code and is
    unknown); elsewhere one form serves every date. Decisions equal the reference's."""
    when = "submitted_on < as_of + days(30)"
    root = make_pack(tmp_path, "rules:\n" + rule_yaml("T-01", "licence_application", when))
    pack = RulePack.load(root)
    days = [date(2026, 6, 1), date(2026, 6, 2), date(9999, 12, 20), date(9999, 12, 21)]
    forms = [[r for r in pack.compiled(day).rules if r.id == "T-01"][0] for day in days]
    assert forms[0] is forms[1] and len({id(f) for f in forms}) == 3
    assert SLOT in repr(forms[0].condition) and SLOT not in repr(forms[2].condition)
    doc = example("licence_application")
    for day in days:
        decision = pack.evaluate(doc, day)
        assert decision.to_json() == pack.evaluate(doc, day, engine="reference").to_json()
        outcomes = {f.rule_id: f.outcome.value for f in decision.findings}
        assert outcomes["T-01"] == ("REJECT" if day.year < 9999 else "REQUIRE_DOCUMENTS")


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


#: date slots of unusual shapes: a truth value inside `or`, a list of dates, a slot inside a
#: quantifier's body, month arithmetic, holes in the texts, a slot beside working days
ODD_SLOTS = "rules:\n" + "".join(
    rule_yaml(rule_id, "licence_application", when, **extra)
    for rule_id, when, extra in [
        ("T-01", 'submitted_on < as_of - days(30) or as_of > date("2026-07-01")', {}),
        ("T-02", "submitted_on in [as_of, as_of - days(1), as_of + days(1)]", {}),
        ("T-03", "any(d in documents: d.received_on > as_of - months(2))",
         {"reason": "received after {as_of - months(2)}, on or before {as_of}"}),
        ("T-04", "submitted_on + working_days(3) < as_of", {"on_missing": "skip"}),
    ]
)


@settings(max_examples=25, deadline=None)
@given(
    offsets=st.lists(st.integers(-500, 500), min_size=2, max_size=6),
    submitted=st.integers(-60, 60),
)
def test_slots_of_any_shape_decide_as_the_reference_and_as_a_fresh_compile(
    tmp_path_factory: pytest.TempPathFactory, offsets: list[int], submitted: int
) -> None:
    """Whatever a slot folds to (a date, a truth value, a list), a pack that compiled other
    dates first decides as the reference interpreter and as a pack compiling the date alone."""
    root = make_pack(tmp_path_factory.mktemp("odd"), ODD_SLOTS)
    warm = RulePack.load(root)
    doc = example("licence_application")
    for offset in offsets:
        day = date(2026, 6, 1) + timedelta(days=offset)
        doc["submitted_on"] = str(day + timedelta(days=submitted))
        got = warm.evaluate(doc, day).to_json()
        assert got == warm.evaluate(doc, day, engine="reference").to_json()
        assert got == RulePack.load(root).evaluate(doc, day).to_json()
