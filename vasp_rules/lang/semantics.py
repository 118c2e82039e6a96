"""The semantics of the condition language, defined once.

Every evaluator of a rule (the reference interpreter, the compiled closures, the code generator)
decides with these functions, and the Z3 encoder's tests check its encoding against them
(tests/test_semantics.py): what a value is to the engine, the three-valued (Kleene) operators,
when a quantifier leaves out an item whose `where` is unknown, how items make a quantifier's
value, membership, comparison, arithmetic and the built-in functions.

All are small pure functions of engine values (`values.py`): UNKNOWN stands for a value that
depends on an absent fact. What was read and why a value is unknown (the missing facts) is the
evaluator's business; where a definition decides a reason too (`arithmetic_gap`,
`engine_value_gap`), it is here beside it.

It sits just above `values.py` and `dates.py` (engine values, date shifts) and below the
reference interpreter and the compiler; it imports nothing else of the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ..entities.common import WalletAddress
from . import regex
from .dates import Calendar, Duration, shift, shift_gap
from .values import (
    LIST,
    MAPPING,
    MODEL,
    MONEY,
    PLAIN_ENGINE,
    SHAPES,
    UNKNOWN,
    date_to_engine,
    datetime_to_engine,
    money_to_paisa,
)

# -- engine values -------------------------------------------------------------------------


def engine_value(raw: Any, fx_to_pkr: Mapping[str, Any]) -> Any:
    """A document's raw value as the engine compares it: dates as day numbers, datetimes as
    epoch seconds, money as PKR paisa at the pack's reference rate (UNKNOWN without a rate), an
    address in its canonical form, a list item by item; None (absent) is UNKNOWN."""
    kind = type(raw)
    if kind in PLAIN_ENGINE:  # the usual case, by exact type (an address is a str subclass)
        return raw
    if kind is date:
        return raw.toordinal()
    if raw is None:
        return UNKNOWN
    if kind is datetime:  # then the other common ones by exact type, before the general tests
        return datetime_to_engine(raw)
    if SHAPES[kind] == MONEY:
        paisa = money_to_paisa(raw.amount, raw.currency, fx_to_pkr)
        return UNKNOWN if paisa is None else paisa
    if isinstance(raw, WalletAddress):  # addresses compare as their chain writes them
        return raw.canonical
    if isinstance(raw, bool | int | str | Decimal):
        return raw
    if isinstance(raw, datetime):
        return datetime_to_engine(raw)
    if isinstance(raw, date):
        return date_to_engine(raw)
    if isinstance(raw, list):  # most lists hold text: their items are their values
        return [v if type(v) in PLAIN_ENGINE else engine_value(v, fx_to_pkr) for v in raw]
    return raw


def engine_value_gap(raw: Any, path: str) -> str | None:
    """The missing fact that makes `engine_value(raw)` UNKNOWN: the path itself when absent,
    the pack's exchange rate for the currency of an amount it cannot convert; None for a value
    that was UNKNOWN already (an item of a computed list)."""
    if raw is None:
        return path
    if SHAPES[type(raw)] == MONEY:
        return f"param.fx_to_pkr[{raw.currency}]"
    return None


def step(value: Any, part: str) -> Any:
    """One step of a field path through a document object or a mapping; None (absent) from
    anything else. Lists are the path resolver's business (it maps the step over the items)."""
    shape = SHAPES[type(value)]
    if shape == MODEL or shape == MONEY:
        return getattr(value, part, None)
    if shape == MAPPING:
        return value.get(part)
    return None


def walk_objects(value: Any, parts: tuple[str, ...]) -> tuple[Any, int] | None:
    """Follow `parts` through objects from `value`: (leaf, number of steps that produced a
    value), stopping at the first absent step; None when the path passes through a list (the
    general resolver maps it over the items)."""
    taken = 0
    for part in parts:
        if value is None:
            return None, taken
        shape = SHAPES[type(value)]
        if shape == LIST:
            return None
        if shape == MODEL or shape == MONEY:  # `step`, inline: the hot path of every finding
            value = getattr(value, part, None)
        elif shape == MAPPING:
            value = value.get(part)
        else:
            value = None
        taken += 1
    return value, taken


# -- three-valued logic (Kleene) -----------------------------------------------------------


def kleene_not(a: Any) -> Any:
    """`not a`: UNKNOWN stays UNKNOWN."""
    return a if a is UNKNOWN else not a


def decisive(op: str) -> bool:
    """The operand value that settles `and` (False) or `or` (True) whatever the other one is:
    `false and X` is false and `true or X` is true even when X is unknown."""
    return op == "or"


def kleene(op: str, a: Any, b: Any) -> Any:
    """`a and b` / `a or b` on True, False and UNKNOWN: the decisive value if either side has
    it, else UNKNOWN if either side is unknown, else the other truth value."""
    settles = op == "or"
    if a is settles or b is settles:
        return settles
    if a is UNKNOWN or b is UNKNOWN:
        return UNKNOWN
    return not settles


def kleene_and(a: Any, b: Any) -> Any:
    """`a and b` in three-valued logic."""
    return kleene("and", a, b)


def kleene_or(a: Any, b: Any) -> Any:
    """`a or b` in three-valued logic."""
    return kleene("or", a, b)


# -- quantifiers ---------------------------------------------------------------------------

#: the quantifiers whose value is a truth value
TESTS = frozenset({"any", "all", "none", "count"})
#: per truth-valued quantifier, the item value that decides it, and what it then is: one true
#: item makes `any` true and `none` false, one false item makes `all` false
DECIDING: Mapping[str, tuple[bool, bool]] = {
    "any": (True, True),
    "none": (True, False),
    "all": (False, False),
}


def skips_unknown_where(kind: str, body: Any) -> bool:
    """Whether an item whose `where` is UNKNOWN is left out of a quantifier whose body has the
    value `body` for it. Whether the item is in range is not known, so it is left out exactly
    when it could not change the verdict either way: a false body counts for nothing in
    `any`, `none` and `count`, and a true one breaks no `all`. Otherwise the item's value is
    UNKNOWN (it may or may not count)."""
    if body is False:
        return kind == "any" or kind == "none" or kind == "count"
    return body is True and kind == "all"


def decides(kind: str, value: Any) -> Any:
    """The value of quantifier `kind` once one item has `value`, whatever the other items are:
    True or False (`DECIDING`), or UNKNOWN when that item decides nothing by itself."""
    deciding = DECIDING.get(kind)
    if deciding is not None and value is deciding[0]:
        return deciding[1]
    return UNKNOWN


def aggregate(kind: str, values: list[Any], unknown: bool) -> Any:
    """A quantifier's value from the values its kept items gave (`unknown`: some item's value
    was UNKNOWN; those may or may not be in `values`). A deciding item wins over unknown ones;
    otherwise any unknown item makes the quantifier UNKNOWN; `count` counts true items, `sum`
    adds (0 for none), `max`/`min` of no item is UNKNOWN (`aggregate_gap`)."""
    deciding = DECIDING.get(kind)
    if deciding is not None:
        if any(v is deciding[0] for v in values):
            return deciding[1]
        return UNKNOWN if unknown else not deciding[1]
    if unknown:
        return UNKNOWN
    if kind == "count":
        return sum(1 for v in values if v is True)
    if kind == "select":
        return values
    if kind == "sum":
        total: Any = 0
        for v in values:
            total = total + v
        return total
    if not values:
        return UNKNOWN
    return max(values) if kind == "max" else min(values)


def aggregate_gap(source: str) -> str:
    """Why `max`/`min` over `source` (its rendered text) kept no item is unknown."""
    return f"{source} (at least one item)"


# -- operators -----------------------------------------------------------------------------

#: comparison operators on known engine values
COMPARE: Mapping[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def membership(value: Any, container: Any) -> Any:
    """`value in container` for known operands: a key of a mapping, or equal (`==`) to a known
    item of a list; not found among a list with an UNKNOWN item is UNKNOWN (that item might
    have been it). `not in` is `kleene_not` of it."""
    if isinstance(container, Mapping):
        return value in container
    unknown = False
    for item in container:
        if item is UNKNOWN:
            unknown = True
        elif item == value:
            return True
    return UNKNOWN if unknown else False


def member_of(value: Any, words: frozenset[str]) -> bool:
    """`value in LIST` for a constant list of text (no UNKNOWN item), by hash: what the `==`
    scan of `membership` says (a value that cannot be hashed, a list, equals no text)."""
    try:
        return value in words
    except TypeError:
        return False


def _decimal(v: Any) -> Decimal:
    return v if isinstance(v, Decimal) else Decimal(v)


def arithmetic(op: str, a: Any, b: Any, calendar: Calendar | None) -> Any:
    """`a op b` on known values. A duration shifts a day or moment (`dates.shift`: UNKNOWN out
    of range or past the holiday calendar); `*` is exact in Decimal when either side is one;
    `/` is always Decimal, and UNKNOWN when dividing by zero (`arithmetic_gap` says why)."""
    if isinstance(b, Duration):
        value = shift(a, b, -1 if op == "-" else 1, calendar)
        return UNKNOWN if value is None else value
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        if isinstance(a, Decimal) or isinstance(b, Decimal):
            return _decimal(a) * _decimal(b)
        return a * b
    try:
        return _decimal(a) / _decimal(b)
    except (ZeroDivisionError, InvalidOperation):
        return UNKNOWN


def arithmetic_gap(op: str, a: Any, b: Any, calendar: Calendar | None, label: str) -> str:
    """Why `arithmetic(op, a, b)` is UNKNOWN: the date shift's gap (naming `label`, the
    expression's text), or a division by zero."""
    if isinstance(b, Duration):
        return shift_gap(a, b, -1 if op == "-" else 1, calendar, label)
    return "(division by zero)"


#: the built-in functions that make a duration of their (whole) argument
DURATIONS = frozenset({"days", "months", "years", "hours", "working_days"})


def builtin(name: str, values: list[Any]) -> Any:
    """A built-in function on known argument values (an UNKNOWN argument makes the call
    UNKNOWN before it gets here). `matches` is RE2: linear time on any input."""
    if name in DURATIONS:
        return Duration(name, int(values[0]))
    if name == "len":
        return len(values[0])
    if name == "max":
        return max(values[0], values[1])
    if name == "min":
        return min(values[0], values[1])
    if name == "matches":
        return regex.fullmatch(str(values[1]), str(values[0]))
    raise ValueError(f"unknown function {name}")


__all__ = [
    "COMPARE",
    "DECIDING",
    "DURATIONS",
    "TESTS",
    "aggregate",
    "aggregate_gap",
    "arithmetic",
    "arithmetic_gap",
    "builtin",
    "decides",
    "decisive",
    "engine_value",
    "engine_value_gap",
    "kleene",
    "kleene_and",
    "kleene_not",
    "kleene_or",
    "member_of",
    "membership",
    "skips_unknown_where",
    "step",
    "walk_objects",
]
