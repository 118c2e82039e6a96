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


def test_a_new_date_of_the_bundled_pack_compiles_nothing_new() -> None:
    """Dates are arguments: the rules that read `as_of` are the same compiled rules on the
    next day, with the same facts' fields and the same durable-rules rulesets; only the date
    slots' values differ."""
    pack = RulePack.load("pk")
    one = pack.compiled(date(2026, 6, 1))
    other = pack.compiled(date(2026, 6, 2))
    assert any(rule.rule.condition != rule.condition for rule in one.rules)
    assert [id(rule) for rule in other.rules] == [id(rule) for rule in one.rules]
    for kind, plan in one.plans.items():
        assert [key for key, _ in other.plans[kind].getters] == [key for key, _ in plan.getters]
    assert one.matcher() is other.matcher()
    assert one.slots.keys() == other.slots.keys() and one.slots != other.slots
    assert {one.param_values[name] - other.param_values[name] for name in one.slots} == {-1}


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


# -- code the entity schema types ---------------------------------------------------------------
def _example(name: str) -> dict[str, Any]:
    import json
    from pathlib import Path as FilePath

    return json.loads((FilePath(__file__).resolve().parent.parent / "examples" / name).read_text())


def _transfer_variants() -> list[dict[str, Any]]:
    """The example transfer with optional objects present, absent and partly filled."""
    base = _example("transfer.json")
    out = [base]
    no_vasp = {**base, "counterparty_type": "UNHOSTED"}
    no_vasp.pop("counterparty_vasp")
    out.append(no_vasp)
    screened = {
        **base,
        "originator": {
            **base["originator"],
            "sanctions_screening": {"result": "POTENTIAL_MATCH", "screened_on": "2026-02-01"},
            "joint_holders": [
                {"name": "Sana Qureshi"},
                {
                    "name": "Omar Qureshi",
                    "sanctions_screening": {"result": "CLEAR", "screened_on": "2026-02-02"},
                },
            ],
        },
    }
    out.append(screened)
    bare = {**base, "originator": {"customer_id": "CUST-1"}, "beneficiary": {}}
    out.append(bare)
    return out


TYPED_TRANSFER = [
    "counterparty_vasp.name is missing",
    "counterparty_vasp.licensed == false or counterparty_vasp.due_diligence_on is missing",
    'originator.sanctions_screening.result == "POTENTIAL_MATCH"',
    "originator.sanctions_screening.result is present",
    "originator.name is missing and beneficiary.name is missing",
    'any(j in originator.joint_holders: j.sanctions_screening.result == "CLEAR")',
    "count(j in originator.joint_holders where j.sanctions_screening is missing)",
    "select(j in originator.joint_holders where j.sanctions_screening.result is missing: j.name)",
    "value > 100 and executed_at > settled_at",
    '"Sana Qureshi" in originator.joint_holders.name',
    "count(n in originator.joint_holders.name where n is present)",
    "originator.joint_holders.sanctions_screening",
    "select(j in originator.joint_holders where j.name is present)",
]
TYPED_LICENCE = [
    'any(p in firm.people where "PK" not in p.nationalities: "UBO" in p.roles)',
    'select(p in firm.people where "DIRECTOR" in p.roles or p.ownership_pct > 10: p.full_name)',
    'any(p in firm.people: any(c in p.convictions: c.category in ["FRAUD", "TAX"]))',
    "all(p in firm.people: p.fit_and_proper_declared_on is present)",
    "count(p in firm.people where p.id_document.expires_on < as_of)",
    '"EXCHANGE" not in activities and firm.noc_status != "GRANTED"',
    "sum(p in firm.people: p.ownership_pct)",
    "firm.annual_fixed_overheads is missing or firm.annual_fixed_overheads > 5",
    '"MLRO" not in firm.people.roles or "CEO" in firm.people.roles',
    "select(r in firm.people.roles where r != \"UBO\")",
    'count(t in firm.policies.type where t == "AML_CFT") + len(firm.people.ownership_pct)',
    "any(d in firm.people.fit_and_proper_declared_on: d < as_of)",
    "len(firm.people.convictions)",
    '"FORM_A1" in documents.type and "CAPITAL_DETAILS" not in documents.type',
    # items of lists the schema types, read themselves: scalars and objects
    'any(c in firm.data_locations: c != "PK")',
    'select(c in firm.data_locations where c != "PK")',
    'select(p in firm.people: count(n in p.nationalities where n != "PK"))',
    'any(p in firm.people: select(n in p.nationalities where n == "AE") == ["AE"])',
    "select(p in firm.people where p.ownership_pct > 10)",
    'select(r in firm.people.roles where r != "UBO")',
]


def _typed_cases() -> list[tuple[str, dict[str, Any]]]:
    licences = [_example(n) for n in ("licence_application.json", "licence_application_full.json")]
    stripped = _example("licence_application.json")
    stripped["firm"]["people"][0]["roles"] = []
    stripped["firm"]["people"][0]["nationalities"] = ["AE"]
    stripped["firm"]["people"][0].pop("fit_and_proper_declared_on", None)
    stripped["firm"].pop("annual_fixed_overheads", None)
    licences.append(stripped)
    cases = [(text, doc) for text in TYPED_TRANSFER for doc in _transfer_variants()]
    cases += [(text, doc) for text in TYPED_LICENCE for doc in licences]
    return cases


@pytest.mark.parametrize("text, document", _typed_cases())
def test_code_the_schema_types_gives_and_records_what_the_reference_does(
    text: str, document: dict[str, Any]
) -> None:
    """With the document's model given (as a compiled pack gives it), paths through objects
    are read attribute by attribute: values, facts read (with their concrete paths, also where
    an optional object is absent), facts found absent and three-valued results are still the
    reference interpreter's, in every mode."""
    from vasp_rules.entities.registry import KINDS, parse_document

    model = parse_document(document)
    root = KINDS[document["kind"]]
    node = parse_condition(text)
    ctx = Context(document=model, as_of=date(2026, 6, 1), fx_to_pkr={"USD": Decimal("280")})
    reference = Evaluator(ctx)
    expected = reference.evaluate(node)
    plain = Evaluator(ctx, record=False).evaluate(node).value
    assert compile_value(node, root)(Env(ctx)) == plain
    recording, three, effects = Evaluator(ctx), Evaluator(ctx), Evaluator(ctx)
    value = compile_recording(node, root=root)(Env(ctx), recording, {})
    result = compile_result(node, root=root)(Env(ctx), three, {})
    assert compile_effects(node, root=root)(Env(ctx), effects, {}) is None
    assert value == expected.value and type(value) is type(expected.value)
    assert result.value == expected.value and result.missing == expected.missing
    for ev in (recording, three, effects):
        assert list(ev.reads.items()) == list(reference.reads.items())
        assert ev.absent == reference.absent


def test_typed_reads_are_generated_for_schema_paths() -> None:
    """The schema's paths are read as attributes (no shape test per value), a path through one
    list of objects by one call over the list; a path the schema does not type (through two
    lists) keeps the general code."""
    from vasp_rules.entities.registry import KINDS

    root = KINDS["licence_application"]
    typed = source_of(
        compile_recording(parse_condition('any(p in firm.people: "UBO" in p.roles)'), root=root)
    )
    assert ".roles" in typed and "_SHAPES" not in typed
    mapped = source_of(compile_value(parse_condition('"UBO" in firm.people.roles'), root))
    assert "_mapped_values" in mapped and "_SHAPES" not in mapped
    general = source_of(compile_value(parse_condition("firm.people.convictions.category"), root))
    assert "_SHAPES" in general  # through two lists: the general walk


def test_values_are_kept_per_finding_only_where_a_finding_asks_again() -> None:
    """A rule's value restating its condition's quantifier finds it kept; what lies inside a
    kept node is not kept again; a node inside a quantifier over an item it does not read is
    evaluated again with the same items, so it is kept."""
    from vasp_rules.compiler.codegen import worth_keeping
    from vasp_rules.lang.ast import Quantifier

    condition = parse_condition("any(t in ts: none(p in ps: p.a == t and p.b > 1))")
    value = parse_condition("select(t in ts where none(p in ps: p.a == t and p.b > 1))")
    kept = worth_keeping([condition, value])
    assert isinstance(condition, Quantifier) and isinstance(condition.body, Quantifier)
    inner = condition.body
    assert inner in kept and inner.body not in kept and condition not in kept
    varying = parse_condition("any(t in ts: any(p in ps: p.a > 1 and p.b > 1))")
    assert isinstance(varying, Quantifier) and isinstance(varying.body, Quantifier)
    assert varying.body.body in worth_keeping([varying])  # the same p for every t
    assert worth_keeping([parse_condition("any(p in ps: p.a > 1 and p.b > 1)")]) == frozenset()
