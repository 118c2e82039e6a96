"""The one definition of the language's semantics (vasp_rules.lang.semantics), and the Z3
encoder (vasp_rules.solver.symbolic) checked against it exhaustively.

The encoder cannot call Python functions, so these tests feed it every combination of true,
false and unknown operands (and small lists of items) and compare what its formulas say with
what the semantics module decides: Kleene `and`/`or`/`not`, the quantifier rule that leaves out
an item whose `where` is unknown, aggregates, membership, comparisons and arithmetic.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from vasp_rules.entities.common import Money
from vasp_rules.lang import semantics
from vasp_rules.lang.ast import Binary, Call, Expr, ListLiteral, Path, Quantifier, Unary
from vasp_rules.lang.dates import DATE_MAX, DATE_MIN, Duration
from vasp_rules.lang.semantics import (
    COMPARE,
    aggregate,
    arithmetic,
    kleene_and,
    kleene_not,
    kleene_or,
    membership,
    skips_unknown_where,
)
from vasp_rules.lang.values import UNKNOWN, datetime_to_engine
from vasp_rules.solver.symbolic import Encoder, SymDoc, V

T, F, U = True, False, UNKNOWN
TRUTH = (T, F, U)

# -- the definitions themselves, as the language documents them -----------------------------

AND_TABLE = {
    (T, T): T, (T, F): F, (T, U): U,
    (F, T): F, (F, F): F, (F, U): F,
    (U, T): U, (U, F): F, (U, U): U,
}  # fmt: skip
OR_TABLE = {
    (T, T): T, (T, F): T, (T, U): T,
    (F, T): T, (F, F): F, (F, U): U,
    (U, T): T, (U, F): U, (U, U): U,
}  # fmt: skip


@pytest.mark.parametrize(("a", "b"), list(itertools.product(TRUTH, TRUTH)))
def test_kleene_and_or_are_the_documented_truth_tables(a: Any, b: Any) -> None:
    assert kleene_and(a, b) is AND_TABLE[(a, b)]
    assert kleene_or(a, b) is OR_TABLE[(a, b)]


def test_not_keeps_unknown_unknown() -> None:
    assert [kleene_not(v) for v in TRUTH] == [F, T, U]


def test_an_unknown_where_is_skipped_only_when_the_body_cannot_change_the_verdict() -> None:
    skipped = {
        (kind, body)
        for kind in ("any", "all", "none", "count", "sum", "max", "min", "select")
        for body in (T, F, U, 0, 5)
        if skips_unknown_where(kind, body)
    }
    assert skipped == {("any", F), ("none", F), ("count", F), ("all", T)}


def test_aggregates() -> None:
    assert aggregate("any", [F, T], unknown=True) is T  # a true item decides despite unknowns
    assert aggregate("any", [F], unknown=True) is U
    assert aggregate("none", [T], unknown=True) is F
    assert aggregate("all", [F], unknown=True) is F
    assert aggregate("all", [], unknown=False) is T
    assert aggregate("count", [T, F, T], unknown=False) == 2
    assert aggregate("count", [T], unknown=True) is U
    assert aggregate("sum", [], unknown=False) == 0
    assert aggregate("max", [], unknown=False) is U  # at least one item
    assert aggregate("min", [3, 1, 2], unknown=False) == 1


def test_membership_in_a_list_with_an_unknown_item() -> None:
    assert membership(1, [2, U, 1]) is T
    assert membership(1, [2, U]) is U  # the unknown item might have been 1
    assert membership(1, [2]) is F
    assert membership("a", {"a": 1}) is T


def test_arithmetic_edges_are_unknown() -> None:
    assert arithmetic("/", 1, 0, None) is U
    assert arithmetic("+", DATE_MAX, Duration("days", 1), None) is U
    assert arithmetic("-", DATE_MIN, Duration("days", 1), None) is U
    assert arithmetic("+", DATE_MAX - 1, Duration("days", 1), None) == DATE_MAX
    assert semantics.arithmetic_gap("/", 1, 0, None, "a / b") == "(division by zero)"


# -- the Z3 encoding against the definitions -------------------------------------------------


class _Pair(Encoder):
    """The encoder, with items that are pairs of symbolic values: `x.w` and `x.b` of an item
    `x` are its `where` and body values (every other construct is the encoder's own)."""

    def _step(self, v: V, part: str) -> V:
        if v.tag == "pair":
            found: V = v.const[part]
            return found
        return super()._step(v, part)


def _encoder() -> _Pair:
    compiled: Any = SimpleNamespace(param_values={})
    return _Pair(SymDoc("customer"), compiled, alone=True)


def _sym(value: Any) -> V:
    """A constant symbolic value: a truth value, an integer, or unknown."""
    if value is UNKNOWN:
        return V("bool", z3.BoolVal(False), z3.BoolVal(False))
    if isinstance(value, bool):
        return V("bool", z3.BoolVal(value))
    return V("int", z3.IntVal(value))


def _unknown_int() -> V:
    return V("int", z3.IntVal(0), z3.BoolVal(False))


def _value(v: V) -> Any:
    """What a constant symbolic value is, as an engine value."""
    known = z3.simplify(v.known)
    assert z3.is_true(known) or z3.is_false(known), known
    if z3.is_false(known):
        return UNKNOWN
    e = z3.simplify(v.expr)
    if z3.is_true(e) or z3.is_false(e):
        return z3.is_true(e)
    if z3.is_int_value(e):
        return e.as_long()
    fraction = e.as_fraction()
    return fraction.numerator if fraction.denominator == 1 else fraction


def _run(node: Expr, scope: dict[str, V]) -> Any:
    return _value(_encoder().expr(node, scope))


A, B = Path(("a",)), Path(("b",))


@pytest.mark.parametrize(("a", "b"), list(itertools.product(TRUTH, TRUTH)))
def test_z3_and_or_not_are_the_kleene_operators(a: Any, b: Any) -> None:
    scope = {"a": _sym(a), "b": _sym(b)}
    assert _run(Binary("and", A, B), scope) is kleene_and(a, b)
    assert _run(Binary("or", A, B), scope) is kleene_or(a, b)
    assert _run(Unary("not", A), scope) is kleene_not(a)


def _expected(kind: str, items: tuple[tuple[Any, Any], ...], has_body: bool) -> Any:
    """A quantifier's value over items (where, body), by the semantics module's rules."""
    values: list[Any] = []
    unknown = False
    for keep, body in items:
        if keep is False:
            continue
        value = body if has_body else keep
        if keep is UNKNOWN and has_body:
            if skips_unknown_where(kind, body):
                continue
            value = UNKNOWN
        if value is UNKNOWN:
            unknown = True
        else:
            values.append(value)
    return aggregate(kind, values, unknown)


def _quantifier(kind: str, items: tuple[tuple[Any, Any], ...], has_body: bool) -> Any:
    scope: dict[str, V] = {}
    for i, (keep, body) in enumerate(items):
        b = _unknown_int() if body is UNKNOWN and kind in ("sum", "max", "min") else _sym(body)
        scope[f"i{i}"] = V("pair", const={"w": _sym(keep), "b": b})
    source = ListLiteral(tuple(Path((f"i{i}",)) for i in range(len(items))))
    body_expr = Path(("x", "b")) if has_body else None
    return _run(Quantifier(kind, "x", source, Path(("x", "w")), body_expr), scope)


def _item_lists(bodies: tuple[Any, ...]) -> list[tuple[tuple[Any, Any], ...]]:
    pairs = list(itertools.product(TRUTH, bodies))
    return [(), *((p,) for p in pairs), *itertools.product(pairs, pairs)]


@pytest.mark.parametrize("kind", ["any", "all", "none", "count"])
def test_z3_quantifiers_follow_the_skip_rule_on_every_pair_of_items(kind: str) -> None:
    checked = 0
    for items in _item_lists(TRUTH):
        for has_body in (True, False):
            expected = _expected(kind, items, has_body)
            got = _quantifier(kind, items, has_body)
            assert got is expected or got == expected, (kind, items, has_body, got, expected)
            checked += 1
    assert checked == 2 * (1 + 9 + 81)


@pytest.mark.parametrize("kind", ["sum", "max", "min"])
def test_z3_numeric_aggregates_follow_the_skip_rule(kind: str) -> None:
    for items in _item_lists((1, 2, UNKNOWN)):
        expected = _expected(kind, items, True)
        got = _quantifier(kind, items, True)
        assert got is expected or got == expected, (kind, items, got, expected)


INTS = (1, 2, UNKNOWN)


@pytest.mark.parametrize("left", INTS)
def test_z3_membership_is_the_semantics_membership(left: Any) -> None:
    lists = [(), *((i,) for i in INTS), *itertools.product(INTS, INTS)]
    for items in lists:
        scope = {"a": _unknown_int() if left is UNKNOWN else _sym(left)}
        for i, item in enumerate(items):
            scope[f"i{i}"] = _unknown_int() if item is UNKNOWN else _sym(item)
        container = ListLiteral(tuple(Path((f"i{i}",)) for i in range(len(items))))
        found = UNKNOWN if left is UNKNOWN else membership(left, list(items))
        assert _run(Binary("in", A, container), scope) is found, (left, items)
        assert _run(Binary("not in", A, container), scope) is kleene_not(found), (left, items)


@pytest.mark.parametrize(("a", "b"), list(itertools.product((0, 1, 2, UNKNOWN), repeat=2)))
def test_z3_comparisons_and_arithmetic_are_the_semantics_ones(a: Any, b: Any) -> None:
    scope = {
        "a": _unknown_int() if a is UNKNOWN else _sym(a),
        "b": _unknown_int() if b is UNKNOWN else _sym(b),
    }
    for op, compare in COMPARE.items():
        expected = UNKNOWN if UNKNOWN in (a, b) else compare(a, b)
        assert _run(Binary(op, A, B), scope) is expected, (op, a, b)
    for op in ("+", "-", "*", "/"):
        expected = UNKNOWN if UNKNOWN in (a, b) else arithmetic(op, a, b, None)
        assert _run(Binary(op, A, B), scope) == expected, (op, a, b)


@pytest.mark.parametrize(
    ("day", "amount"),
    [(DATE_MAX - 1, 1), (DATE_MAX, 1), (DATE_MAX, 0), (DATE_MIN + 1, -1), (DATE_MIN, -1)],
)
def test_z3_date_shift_out_of_range_is_unknown_as_in_the_semantics(day: int, amount: int) -> None:
    scope = {"a": _sym(day)}
    node = Binary("+", A, Call("days", (Path(("n",)),)))
    scope["n"] = _sym(amount)
    assert _run(node, scope) == arithmetic("+", day, Duration("days", amount), None)


# -- engine values: the fast forms against their plain definitions --------------------------


@given(
    moment=st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
        timezones=st.builds(
            timezone, st.integers(-1439, 1439).map(lambda m: timedelta(minutes=m))
        ),
    )
)
@settings(max_examples=2000, deadline=None)
def test_datetime_engine_values_are_whole_seconds_rounded_down(moment: datetime) -> None:
    """`datetime_to_engine` adds up the timedelta's days and seconds instead of dividing by a
    timedelta: the same number for any offset and any microseconds, before 1970 too."""
    since = moment - datetime(1970, 1, 1, tzinfo=UTC)
    assert datetime_to_engine(moment) == since // timedelta(seconds=1)
    assert semantics.engine_value(moment, {}) == since // timedelta(seconds=1)


def test_engine_values_of_common_types_take_their_exact_type_first() -> None:
    """Money and datetimes are converted before the general isinstance tests: the same
    values as the general path (a datetime subclass and a naive one included)."""
    class Later(datetime):
        pass

    at = datetime(2026, 3, 4, 5, 6, 7, 999_999, tzinfo=UTC)
    sub = Later(2026, 3, 4, 5, 6, 7, 999_999, tzinfo=UTC)
    assert semantics.engine_value(at, {}) == semantics.engine_value(sub, {}) == 1772600767
    with pytest.raises(ValueError, match="naive"):
        semantics.engine_value(datetime(2026, 3, 4), {})
    money = Money(amount=Decimal("12.345"), currency="USD")
    assert semantics.engine_value(money, {"USD": Decimal("280")}) == 345660
    assert semantics.engine_value(money, {}) is UNKNOWN
