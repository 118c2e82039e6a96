"""The condition language: parsing, precedence, error positions, and type checking."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from vasp_rules.entities import Customer, LicenceApplication
from vasp_rules.entities.registry import KINDS
from vasp_rules.lang.ast import Binary, Literal, Path, Presence, Quantifier, Unary, render
from vasp_rules.lang.checker import Checker, TypeCheckError
from vasp_rules.lang.parser import ConditionSyntaxError, parse_condition
from vasp_rules.lang.types import BOOL, MONEY, Type, list_of

PARAMS = {
    "floor": MONEY,
    "countries": list_of(Type("string")),
    "table": Type("map", value=MONEY),
}


def check(text: str, model: type = LicenceApplication) -> Type:
    return Checker(model, PARAMS, KINDS).check(parse_condition(text), BOOL).type


def test_and_binds_tighter_than_or() -> None:
    node = parse_condition("a or b and c")
    assert isinstance(node, Binary) and node.op == "or"
    assert isinstance(node.right, Binary) and node.right.op == "and"


def test_not_binds_tighter_than_and() -> None:
    node = parse_condition("not a and b")
    assert isinstance(node, Binary) and isinstance(node.left, Unary)


def test_arithmetic_precedence() -> None:
    node = parse_condition("a + b * 2 > c - 1")
    assert isinstance(node, Binary) and node.op == ">"
    assert isinstance(node.left, Binary) and node.left.op == "+"
    assert isinstance(node.left.right, Binary) and node.left.right.op == "*"


def test_presence_and_membership() -> None:
    node = parse_condition("x is missing or y not in [\"A\", \"B\"]")
    assert isinstance(node, Binary)
    assert isinstance(node.left, Presence) and not node.left.present
    assert isinstance(node.right, Binary) and node.right.op == "not in"


def test_quantifier_with_where_and_body() -> None:
    node = parse_condition("count(p in firm.people where p.pep != \"NONE\": p.insolvent) >= 2")
    assert isinstance(node, Binary) and isinstance(node.left, Quantifier)
    q = node.left
    assert (q.kind, q.var, q.source) == ("count", "p", Path(("firm", "people")))


def test_max_with_two_arguments_is_a_call_not_a_quantifier() -> None:
    node = parse_condition("max(a, b) > 1")
    assert isinstance(node, Binary) and not isinstance(node.left, Quantifier)


def test_numbers_are_exact() -> None:
    node = parse_condition("x > 0.1")
    assert isinstance(node, Binary) and isinstance(node.right, Literal)
    assert str(node.right.value) == "0.1"


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("a and", "expected a value", 6),
        ("a == = b", "compare with '=='", 6),
        ("a && b", "write 'and'", 3),
        ("(a == b", "expected ')'", 8),
        ("a $ b", "unexpected character '$'", 3),
        ("foo(a)", "unknown function 'foo'", 1),
        ("sum(h in holdings)", "needs ': VALUE'", 1),
        ('date("2026-02-30")', "not a valid ISO date", 6),
        ("a b", "unexpected text after the end", 3),
        ("", "empty condition", 1),
    ],
)
def test_syntax_errors_name_the_column(text: str, message: str, column: int) -> None:
    with pytest.raises(ConditionSyntaxError) as info:
        parse_condition(text)
    assert message in info.value.message
    assert info.value.offset + 1 == column


_names = st.sampled_from(["stage", "firm.goaml_registered", "x.y", "as_of"])
_atoms = st.one_of(
    _names.map(lambda n: n),
    st.integers(0, 10**6).map(str),
    st.sampled_from(['"EOI"', "true", "false", 'date("2026-03-03")', "param.floor"]),
)


@st.composite
def expressions(draw: st.DrawFn, depth: int = 3) -> str:
    if depth == 0:
        return draw(_atoms)
    kind = draw(st.sampled_from(["atom", "cmp", "bool", "not", "arith", "quant", "missing"]))
    sub = lambda: draw(expressions(depth - 1))  # noqa: E731
    if kind == "cmp":
        return f"{sub()} {draw(st.sampled_from(['==', '!=', '<', '>=']))} {sub()}"
    if kind == "bool":
        return f"({sub()} {draw(st.sampled_from(['and', 'or']))} {sub()})"
    if kind == "not":
        return f"not {sub()}"
    if kind == "arith":
        return f"({sub()} {draw(st.sampled_from(['+', '-', '*', '/']))} {sub()})"
    if kind == "quant":
        return f"any(p in firm.people: {sub()})"
    if kind == "missing":
        return f"{draw(_names)} is missing"
    return draw(_atoms)


@given(expressions())
def test_render_round_trips(text: str) -> None:
    """Rendering a parsed condition and parsing it again gives the same tree."""
    try:
        tree = parse_condition(text)
    except ConditionSyntaxError:
        assume(False)
        return
    assert parse_condition(render(tree)) == tree


def test_checker_accepts_a_typical_rule() -> None:
    assert check('stage == "NOC" and firm.paid_up_capital < param.table["EXCHANGE"]') == BOOL


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("firm.paid_up_capitol > param.floor", "did you mean 'paid_up_capital'"),
        ("submitted_on < firm.paid_up_capital", "cannot compare date with money"),
        ('stage == "FOOL"', "'FOOL' is not a possible value"),
        ("param.nope > 1", "unknown parameter 'nope'"),
        ("firm.paid_up_capital", "expected a bool expression"),
        ("stage < \"EOI\"", "does not order"),
        ("firm.paid_up_capital + 1 > param.floor", "cannot compute money + int"),
        ("any(p in stage: p == 1)", "needs a list"),
        ("submitted_on + hours(3) > submitted_on", "cannot compute date + duration in hours"),
        ("firm.legal_name in firm.paid_up_capital", "needs a list"),
        ('param.countries["x"] == "PK"', "not a table"),
        ('matches(stage, "[")', "invalid pattern"),
    ],
)
def test_type_errors_are_reported_at_load(text: str, message: str) -> None:
    with pytest.raises(TypeCheckError) as info:
        check(text)
    assert message in info.value.message


def test_type_error_position_points_at_the_offending_node() -> None:
    text = 'stage == "NOC" and firm.noc_status == "MAYBE"'
    with pytest.raises(TypeCheckError) as info:
        check(text)
    assert text[info.value.pos:].startswith('"MAYBE"')


def test_paths_through_lists_are_lists() -> None:
    checker = Checker(LicenceApplication, PARAMS, KINDS)
    assert str(checker.check(parse_condition("firm.people.roles")).type) == (
        "list of one of CEO|CFO|COMPLIANCE_OFFICER|DIRECTOR|MLRO|SHAREHOLDER|UBO")
    assert check('"MLRO" in firm.people.roles') == BOOL


def test_batch_paths_name_a_kind() -> None:
    with pytest.raises(TypeCheckError, match="batch.KIND"):
        check("any(c in batch.nothing: true)", Customer)
    checker = Checker(Customer, PARAMS, KINDS)
    result = checker.check(parse_condition("count(c in batch.customer: c.pep != \"NONE\") > 0"))
    assert result.batch_kinds == {"customer"}


def test_a_very_long_chain_is_refused_with_a_clear_error_not_a_crash() -> None:
    chain = " or ".join(f'customer_id == "C{i}"' for i in range(600))
    with pytest.raises(ConditionSyntaxError, match="nests more than 100 levels"):
        parse_condition(chain)
    with pytest.raises(ConditionSyntaxError, match="nests more than 100 levels"):
        parse_condition("(" * 5000 + "a" + ")" * 5000)
    assert parse_condition(" or ".join(["a"] * 90)) is not None
