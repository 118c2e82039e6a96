"""The code generator (vasp_rules/compiler/codegen.py): generated functions give the reference
interpreter's values, rule text never becomes code, and a new date reuses the compiled code of
a known structure with its own constants."""

from __future__ import annotations

import ast
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from vasp_rules import RulePack
from vasp_rules.compiler.codegen import (
    Env,
    compile_effects,
    compile_recording,
    compile_result,
    compile_value,
    source_of,
)
from vasp_rules.interp.reference import Context, Evaluator
from vasp_rules.lang.ast import Binary, Const, Expr, Literal, Path
from vasp_rules.lang.parser import parse_condition
from vasp_rules.lang.values import UNKNOWN


def _values(text: str, document: dict[str, Any]) -> tuple[Any, Any]:
    """(generated, reference) values of a condition on a plain mapping document."""
    node = parse_condition(text)
    ctx = Context(document=document, as_of=date(2026, 6, 1))  # type: ignore[arg-type]
    return compile_value(node)(Env(ctx)), Evaluator(ctx, record=False).evaluate(node).value


CASES = pytest.mark.parametrize(
    "text, document",
    [
        ("a > 1 and b < 2", {"a": 3, "b": 1}),
        ("a > 1 and b < 2", {"a": 3}),  # unknown
        ("a > 1 and b < 2", {"a": 0}),  # false settles it: b not needed
        ("a > 1 or b < 2", {"b": 1}),
        ("not (a == 1)", {}),
        ("any(x in xs: x > 2)", {"xs": [1, 2, 3]}),
        ("all(x in xs: x > 2)", {"xs": [3, None]}),
        ("none(x in xs where x > 1: x == 5)", {"xs": [None, 5]}),
        ("count(x in xs where x > 1)", {"xs": [1, 2, 3]}),
        ("sum(x in xs where x > 1: x * 2)", {"xs": [1, 2, 3]}),
        ("max(x in xs: x - k)", {"xs": [1, 2, 3], "k": 1}),
        ("min(x in xs: x)", {"xs": []}),
        ("select(x in xs where x != 2)", {"xs": [1, 2, 3]}),
        (
            "any(p in people: any(q in people: p.n == q.n + k))",
            {"people": [{"n": 1}, {"n": 2}], "k": 1},
        ),
        ("any(p in people where p.n is present: p.n > k)", {"people": [{"n": 1}, {}], "k": 0}),
        ('a in ["x", "y"]', {"a": "y"}),
        ("a in bs", {"a": 2, "bs": [1, None]}),
        ("a / b", {"a": 1, "b": 0}),
        ("people.n", {"people": [{"n": 1}, {"n": 2}]}),
        ("people.n is missing", {"people": [{"n": 1}, {}]}),
        ("len(xs) + max(a, 2)", {"xs": [1], "a": 5}),
        ("len(xs) + max(a, 2)", {"xs": [1]}),
        ("any(x in ys: x > 1)", {}),  # an absent list: read as absent, missing
        ("[a, b, 1]", {"a": 1}),
        ("count(x in xs where x > 1)", {"xs": [1, None, 3]}),
        ("select(x in xs where x != 2)", {"xs": [1, 2, None]}),
        ("all(p in people: p.n is missing or p.n > 0)", {"people": [{"n": 1}, {}, {"m": 2}]}),
    ],
)


@CASES
def test_generated_values_are_the_reference_values(text: str, document: dict[str, Any]) -> None:
    generated, reference = _values(text, document)
    assert generated == reference and type(generated) is type(reference)


@CASES
def test_recording_and_three_valued_modes_record_what_the_reference_records(
    text: str, document: dict[str, Any]
) -> None:
    """Recording mode gives the value, three-valued mode the value and the missing facts, and
    they and the effects-only mode (a held condition) record the same facts read (labels and
    first-recorded order) and found absent as the reference interpreter evaluating the whole
    condition."""
    node = parse_condition(text)
    ctx = Context(document=document, as_of=date(2026, 6, 1))  # type: ignore[arg-type]
    reference = Evaluator(ctx)
    expected = reference.evaluate(node)
    recording, three, effects = Evaluator(ctx), Evaluator(ctx), Evaluator(ctx)
    value = compile_recording(node)(Env(ctx), recording, {})
    result = compile_result(node)(Env(ctx), three, {})
    assert compile_effects(node)(Env(ctx), effects, {}) is None  # what it records only
    assert value == expected.value and type(value) is type(expected.value)
    assert result.value == expected.value and result.missing == expected.missing
    for ev in (recording, three, effects):
        assert list(ev.reads.items()) == list(reference.reads.items())
        assert ev.absent == reference.absent


def test_a_computed_value_is_read_from_the_calling_scope() -> None:
    """In a rule's values and templates, a name of an earlier value reads the scope (not the
    document), and is not recorded as a fact read."""
    node = parse_condition("total > 1 and a > 0")
    ctx = Context(document={"a": 1, "total": 0}, as_of=date(2026, 6, 1))  # type: ignore[arg-type]
    scope = {"total": (5, "total")}
    reference = Evaluator(ctx)
    reference.computed.add("total")
    expected = reference.evaluate_in(node, scope).value
    ev = Evaluator(ctx)
    ev.computed.add("total")
    assert compile_recording(node, frozenset({"total"}))(Env(ctx), ev, scope) is expected is True
    assert ev.reads == reference.reads == {"a": 1}


def test_a_quantifier_stops_at_its_first_decisive_item() -> None:
    # the second item would fail (text > number raises): the generated loop never reaches it
    node = parse_condition("any(x in xs: x > 1)")
    ctx = Context(document={"xs": [5, "text"]}, as_of=date(2026, 6, 1))  # type: ignore[arg-type]
    assert compile_value(node)(Env(ctx)) is True


def test_rule_text_never_becomes_code() -> None:
    hostile = '"); __import__("os").system("echo owned"); ("'
    node = Binary("==", Path(("a",)), Literal(hostile))
    ctx = Context(document={"a": "b"}, as_of=date(2026, 6, 1))  # type: ignore[arg-type]
    fn = compile_value(node)
    recording = compile_recording(node)
    three = compile_result(node)
    for generated in (fn, recording, three, compile_effects(node)):
        source = source_of(generated)
        assert "__import__" not in source and "owned" not in source
        ast.parse(source)  # the source is the generated function alone
    assert fn(Env(ctx)) is False
    assert recording(Env(ctx), Evaluator(ctx), {}) is False
    assert three(Env(ctx), Evaluator(ctx), {}).value is False
    # a hostile field name or quantifier variable is a string constant, never a name
    named = parse_condition("any(x in xs: x.b == 1)")
    for make in (compile_value, compile_recording, compile_result, compile_effects):
        source = source_of(make(named))
        assert "xs" not in source.replace("'xs'", "")


def test_a_tree_of_the_same_structure_reuses_the_code_with_its_own_constants() -> None:
    def limit(value: Decimal) -> Expr:
        return Binary(">", Path(("a",)), Const(value, "number", "param.limit"))

    first, second = compile_value(limit(Decimal(5))), compile_value(limit(Decimal(50)))
    assert first.__code__ is second.__code__  # compiled once
    ctx = Context(document={"a": Decimal(10)}, as_of=date(2026, 6, 1))  # type: ignore[arg-type]
    assert first(Env(ctx)) is True and second(Env(ctx)) is False


def test_a_new_date_of_the_bundled_pack_compiles_no_new_code() -> None:
    pack = RulePack.load("pk")
    one = pack.compiled(date(2026, 6, 1))
    other = pack.compiled(date(2026, 6, 2))
    for kind, plan in one.plans.items():
        # fields of rules that read as_of are named anew on each date (their folded tree
        # names its date), but their code is the structure's: nothing new is compiled
        codes = {fn.__code__ for _, fn in plan.getters}
        again = {fn.__code__ for _, fn in other.plans[kind].getters}
        assert again <= codes, kind


def test_an_unknown_parameter_key_is_unknown() -> None:
    node = parse_condition("param.limits[kind]")
    ctx = Context(
        document={"kind": "b"},  # type: ignore[arg-type]
        as_of=date(2026, 6, 1),
        params={"limits": {"a": 1}},
    )
    assert compile_value(node)(Env(ctx)) is UNKNOWN


def test_a_tree_sharing_a_node_object_binds_each_place_of_another_tree() -> None:
    shared = Const(Decimal(5), "number", "param.limit")
    first = Binary("and", Binary(">", Path(("a",)), shared), Binary("<", Path(("b",)), shared))
    other = Binary(
        "and",
        Binary(">", Path(("a",)), Const(Decimal(5), "number", "param.limit")),
        Binary("<", Path(("b",)), Const(Decimal(1), "number", "param.other")),
    )
    compile_value(first)
    ctx = Context(document={"a": 10, "b": 3}, as_of=date(2026, 6, 1))  # type: ignore[arg-type]
    assert compile_value(other)(Env(ctx)) is False  # b < 1 does not hold
