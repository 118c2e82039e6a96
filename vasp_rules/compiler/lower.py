"""Lower a folded condition to durable-rules patterns, in three-valued logic.

For every condition C the matcher gets two patterns over one fact: T(C), which holds exactly when
C is true, and U(C), which holds exactly when C is unknown because a fact it needs is absent.
They are built from T, F and U of the parts (Kleene logic), for example

    T(a and b) = T(a) and T(b)          F(a and b) = F(a) or F(b)
    U(a and b) = U(a) and (T(b) or U(b))  or  T(a) and U(b)

Comparisons of plain document fields, constants and arithmetic on them become native tests
(`$lt`, `$add`, `$m` references, `$ex`/`$nex` guards). What the matcher cannot express - list
quantifiers, sums, working days, month arithmetic, membership in a list field, other documents
of the batch - is *hoisted*: the reference interpreter computes it into a derived field of the
fact, and the pattern tests that field. A derived field that reads an absent fact is itself
absent, so unknowns flow through hoisting unchanged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from ..lang.ast import (
    Binary,
    Const,
    Expr,
    ListLiteral,
    Literal,
    Param,
    Path,
    Presence,
    Unary,
    children,
)
from ..lang.dates import DATE_MAX, DATE_MIN, DURATION_LIMITS, STAMP_MAX, STAMP_MIN, Duration
from ..lang.types import model_fields

# Limits of durable-rules 2.0.28 (see docs/engine.md): exceeding them hangs or errors.
MAX_NESTING = 15
MAX_NEX_SIBLINGS = 128
# More than 512 distinct tests under one node hangs the matcher forever (a 600-way $or did);
# no $and/$or of ours holds more than this many tests, wider ones are hoisted.
MAX_SIBLINGS = 64
# Measured here: a pattern with more than 15 $and/$or nodes (the kind test's $and included) is
# refused with error 113, e.g. an $or of 14 conjunctions. Larger conditions are hoisted.
MAX_COMPOUND = 15
MAX_IN_LIST = 64  # longer constant lists are hoisted instead of becoming a wide $or
INT64_MAX = 2**63 - 1  # what durable-rules clamps larger integers to
#: field types whose values a document may make as large as it likes (compared with another
#: field, they are hoisted: durable-rules would clamp both at INT64_MAX and tie them)
UNBOUNDED = ("int", "money", "number")

TRUE: dict[str, Any] = {"$true": 1}  # markers, simplified away before anything is emitted
FALSE: dict[str, Any] = {"$false": 1}

NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
DURABLE_OP = {"!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}
# Division is left to the reference interpreter: it yields fractions (inexact in doubles) and
# its division by zero is unknown, not an engine error.
ARITH = {"+": "$add", "-": "$sub", "*": "$mul"}


@dataclass
class Lowered:
    """The patterns for one condition and what the fact must carry for them."""

    true: dict[str, Any]
    unknown: dict[str, Any]
    fields: dict[str, str] = field(default_factory=dict)  # key -> document path
    hoisted: dict[str, Expr] = field(default_factory=dict)  # key -> expression


def field_key(path: str) -> str:
    return "f_" + path.replace(".", "__")


#: how the parameters that hold a date slot's value begin (fold.date_slots); compared with
#: a field, one is a derived field of the fact, never absent
SLOT = "as_of~"


def and_(*parts: dict[str, Any]) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for p in parts:
        if p is FALSE:
            return FALSE
        if p is TRUE:
            continue
        items.extend(p["$and"] if set(p) == {"$and"} else [p])
    if not items:
        return TRUE
    return items[0] if len(items) == 1 else {"$and": items}


def or_(*parts: dict[str, Any]) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for p in parts:
        if p is TRUE:
            return TRUE
        if p is FALSE:
            continue
        items.extend(p["$or"] if set(p) == {"$or"} else [p])
    if not items:
        return FALSE
    return items[0] if len(items) == 1 else {"$or": items}


def ex(key: str) -> dict[str, Any]:
    return {"$ex": {key: 1}}


def nex(key: str) -> dict[str, Any]:
    return {"$nex": {key: 1}}


def _measure(node: Any, seen: dict[int, tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    """What durable-rules limits, in one walk: the nesting depth of $and/$or, the number of
    $and/$or nodes, the most $nex tests side by side and the most tests in one $and/$or
    (`seen`: sub-patterns shared by several parents, measured once)."""
    if not isinstance(node, dict | list):
        return 0, 0, 0, 0
    got = seen.get(id(node))
    if got is not None:
        return got
    deepest = compound = nex_side = wide = 0
    own = 0
    if isinstance(node, dict):
        own = 1 if "$and" in node or "$or" in node else 0
        values: Any = node.values()
        for key in ("$and", "$or"):
            if key in node:
                wide = max(wide, len(node[key]))
    else:
        values = node
        nex_side = sum(1 for p in node if isinstance(p, dict) and "$nex" in p)
    for value in values:
        d, c, n, w = _measure(value, seen)
        deepest, compound = max(deepest, d), compound + c
        nex_side, wide = max(nex_side, n), max(wide, w)
    got = seen[id(node)] = (own + deepest, own + compound, nex_side, wide)
    return got


#: Patterns are built with shared sub-patterns; written out as a tree they can grow
#: exponentially with the number of optional facts a condition combines. Beyond this many
#: nodes a pattern is not measured further: the condition is hoisted.
MAX_PATTERN_NODES = 2_000


def pattern_size(pattern: Any, cap: int = MAX_PATTERN_NODES + 1) -> int:
    """Nodes of a pattern written out as a tree, counted up to `cap` (then `cap`)."""
    count = 0
    stack = [pattern]
    while stack and count < cap:
        node = stack.pop()
        count += 1
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return count


def within_limits(*patterns: dict[str, Any]) -> bool:
    """Whether durable-rules accepts these patterns (limits measured on 2.0.28): at most
    MAX_PATTERN_NODES nodes written out, $and/$or nested less than MAX_NESTING deep, at most
    MAX_COMPOUND $and/$or nodes once the matcher wraps the pattern with the kind test, at most
    MAX_NEX_SIBLINGS $nex side by side and MAX_SIBLINGS tests in one $and/$or."""
    for p in patterns:
        if p is TRUE or p is FALSE:
            continue
        if pattern_size(p) > MAX_PATTERN_NODES:  # first: measured with a cap
            return False
        deepest, compound, nex_side, wide = _measure(p, {})
        wrapped = compound + (0 if isinstance(p, dict) and set(p) == {"$and"} else 1)
        if not (
            deepest < MAX_NESTING
            and wrapped <= MAX_COMPOUND
            and nex_side <= MAX_NEX_SIBLINGS
            and wide <= MAX_SIBLINGS
        ):
            return False
    return True


def _field_keys(pattern: Any) -> set[str]:
    """The document-field keys a pattern tests or references."""
    found: set[str] = set()
    stack = [pattern]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key.startswith("f_"):
                    found.add(key)
                elif key == "$m" and isinstance(value, str):
                    found.add(value)
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return found


class Lowerer:
    """Lowers conditions of one document kind. A hoisted expression gets one derived field
    however many rules of the compiled pack use it."""

    def __init__(self, root: type[BaseModel]) -> None:
        self.root = root
        self._hoist_keys: dict[str, str] = {}

    def lower(self, condition: Expr, *, whole: bool = False) -> Lowered:
        """Lower a condition; with `whole`, or when the patterns would exceed a durable-rules
        limit, compute the whole condition as one derived field instead."""
        self._fields: dict[str, str] = {}
        self._always: set[str] = set()
        self._used_hoists: dict[str, Expr] = {}
        if not whole:
            t, _f, u = self._tfu(condition)
            whole = not within_limits(t, u)
        if whole:
            self._fields, self._always, self._used_hoists = {}, set(), {}
            t, _f, u = self._hoisted_bool(condition)
        # only the fields the final patterns test (a comparison found non-native after its
        # field was looked up is hoisted, and its field need not be projected)
        used = _field_keys(t) | _field_keys(u)
        fields = {k: v for k, v in self._fields.items() if k in used}
        return Lowered(t, u, fields, dict(self._used_hoists))

    # -- three-valued lowering -------------------------------------------------------------
    def _tfu(self, node: Expr) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        if isinstance(node, Const | Literal) and isinstance(node.value, bool):
            return (TRUE, FALSE, FALSE) if node.value else (FALSE, TRUE, FALSE)
        if isinstance(node, Unary) and node.op == "not":
            t, f, u = self._tfu(node.operand)
            return f, t, u
        if isinstance(node, Binary) and node.op in ("and", "or"):
            ta, fa, ua = self._tfu(node.left)
            tb, fb, ub = self._tfu(node.right)
            if node.op == "and":
                return (
                    and_(ta, tb),
                    or_(fa, fb),
                    or_(and_(ua, tb), and_(ua, ub), and_(ta, ub)),
                )
            return (
                or_(ta, tb),
                and_(fa, fb),
                or_(and_(ua, fb), and_(ua, ub), and_(fa, ub)),
            )
        if isinstance(node, Presence):
            key = self._plain_field(node.path)
            # a money field is absent from the fact also when present without a reference
            # rate for its currency: its presence is computed, not tested with $ex/$nex
            if key is None or self._is_money(node.path):
                return self._hoisted_bool(node)
            if key in self._always:
                present, absent = TRUE, FALSE
            else:
                present, absent = ex(key), nex(key)
            return (present, absent, FALSE) if node.present else (absent, present, FALSE)
        if isinstance(node, Binary) and node.op in NEGATE:
            return self._comparison(node)
        if isinstance(node, Binary) and node.op in ("in", "not in"):
            return self._membership(node)
        if isinstance(node, Path):  # a boolean field used as a test
            key = self._plain_field(node)
            if key is not None:
                return ({key: True}, {key: False}, FALSE if key in self._always else nex(key))
        return self._hoisted_bool(node)

    def _hoisted_bool(self, node: Expr) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        key = self._hoist(node)
        return {key: True}, {key: False}, nex(key)

    def _comparison(self, node: Binary) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        ranges = self._shift_ranges(node)
        if ranges is None:
            return self._hoisted_bool(node)
        inside, outside = ranges
        op, left, right = _isolate_field(node.op, node.left, node.right)
        lkey = self._plain_field(left) if isinstance(left, Path) else None
        if lkey is None and isinstance(right, Path):
            rkey = self._plain_field(right)
            if rkey is not None:
                op, left, right, lkey = FLIP[op], right, left, rkey
        if lkey is None:
            return self._hoisted_bool(node)
        keys = [lkey]
        operand = self._operand(right, keys)
        if operand is None:
            return self._hoisted_bool(node)
        fallible = [k for k in dict.fromkeys(keys) if k not in self._always]
        guard = and_(*(ex(k) for k in fallible))
        unknown = or_(*(nex(k) for k in fallible))
        if outside:  # a shifted date out of range is unknown (lang.dates.shift)
            unknown = or_(unknown, and_(guard, or_(*outside)))
            guard = and_(guard, *inside)
        return (
            and_(guard, _test(op, lkey, operand)),
            and_(guard, _test(NEGATE[op], lkey, operand)),
            unknown,
        )

    def _shift_ranges(self, node: Expr) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        """For each `field + days(c)` / `field - hours(c)` of a comparison (before terms are
        moved), the native tests that the shifted value is representable, and their negations:
        the reference makes an out-of-range shift unknown, so the patterns must too. None when a
        duration applies to anything but a plain field (the comparison is hoisted)."""
        inside: list[dict[str, Any]] = []
        outside: list[dict[str, Any]] = []
        stack = [node]
        while stack:
            part = stack.pop()
            stack.extend(children(part))
            if not (isinstance(part, Binary) and isinstance(part.right, Const | Literal)):
                continue
            duration = part.right.value
            if not isinstance(duration, Duration) or part.op not in ("+", "-"):
                continue
            key = self._plain_field(part.left) if isinstance(part.left, Path) else None
            if key is None or duration.unit not in ("days", "hours"):
                return None
            scale = 3600 if duration.unit == "hours" else 1
            n = duration.amount * scale * (-1 if part.op == "-" else 1)
            low, high = (STAMP_MIN, STAMP_MAX) if scale > 1 else (DATE_MIN, DATE_MAX)
            # field + n is representable iff low - n <= field <= high - n; a date field is
            # itself within [low, high], so only one end can be crossed
            if n > 0 or scale > 1:
                inside.append({"$lte": {key: high - n}})
                outside.append({"$gt": {key: high - n}})
            if n < 0 or scale > 1:
                inside.append({"$gte": {key: low - n}})
                outside.append({"$lt": {key: low - n}})
        return inside, outside

    def _membership(self, node: Binary) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        key = self._plain_field(node.left) if isinstance(node.left, Path) else None
        items = _constant_items(node.right)
        if key is None or items is None or len(items) > MAX_IN_LIST:
            return self._hoisted_bool(node)
        found = or_(*({key: v} for v in items)) if items else FALSE
        absent = and_(*({"$neq": {key: v}} for v in items)) if items else TRUE
        always = key in self._always
        t, f = (found, absent) if always else (and_(ex(key), found), and_(ex(key), absent))
        if node.op == "not in":
            t, f = f, t
        return t, f, FALSE if always else nex(key)

    # -- operands --------------------------------------------------------------------------
    def _operand(self, node: Expr, keys: list[str]) -> Any:
        """A native durable operand (literal, `$m` reference or arithmetic), or None."""
        if isinstance(node, Const | Literal):
            return _literal(node.value)
        if isinstance(node, Param) and node.name.startswith(SLOT):  # a whole number, bounded
            keys.append(slot := self._hoist(node))
            self._always.add(slot)
            return {"$m": slot}
        if isinstance(node, Path):
            key = self._plain_field(node)
            # durable-rules holds numbers in 64 bits, clamping larger ones: a field compared
            # with another field (or added to one) must be bounded, as dates and times are;
            # an amount or a count in a document is not (10**20 paisa fit in the schema)
            if key is None or self._leaf_type(node) in UNBOUNDED:
                return None
            keys.append(key)
            return {"$m": key}
        if isinstance(node, Binary) and node.op in ARITH:
            left = self._operand(node.left, keys)
            right = self._operand(node.right, keys)
            if left is None or right is None:
                return None
            return {ARITH[node.op]: {"$l": left, "$r": right}}
        return None

    def _is_money(self, path: Path) -> bool:
        return self._leaf_type(path) == "money"

    def _leaf_type(self, path: Path) -> str:
        """The type name of the field a path of objects ends at ("" when it is not one)."""
        model: type[BaseModel] | None = self.root
        for part in path.parts:
            fields = model_fields(model) if model is not None else {}
            if part not in fields:
                return ""
            tp = fields[part].type
            if tp.name == "money":
                return "money"
            model = tp.model if tp.name == "object" else None
        return tp.name

    def _plain_field(self, path: Path) -> str | None:
        """The fact key for a path of scalar fields reached through objects only; else None."""
        model: type[BaseModel] | None = self.root
        always = True  # every step required: the fact is present in every valid document
        for i, part in enumerate(path.parts):
            if model is None:
                return None
            fields = model_fields(model)
            if part not in fields:
                return None
            tp = fields[part].type
            always = always and not fields[part].optional
            last = i == len(path.parts) - 1
            if last:
                # numbers with fractions stay with the reference interpreter: durable-rules
                # computes in doubles, where 0.1 + 0.2 > 0.3
                if tp.name in ("list", "object", "map", "number"):
                    return None
                # money may still be unknown: its currency can lack a reference rate
                if tp.name == "money":
                    always = False
            elif tp.name == "object" and tp.model is not None:
                model = tp.model
            else:
                return None
        key = field_key(path.dotted)
        self._fields[key] = path.dotted
        if always:
            self._always.add(key)
        return key

    def _hoist(self, node: Expr) -> str:
        """The derived field's key: named by the expression itself (a digest of its full
        form), so that rules lowered apart, on any date, agree on it (compile.CompileCache)."""
        text = repr(node)
        key = self._hoist_keys.get(text)
        if key is None:
            key = "h_" + hashlib.blake2b(text.encode(), digest_size=10).hexdigest()
            self._hoist_keys[text] = key
        self._used_hoists[key] = node
        return key


def _isolate_field(op: str, left: Expr, right: Expr) -> tuple[str, Expr, Expr]:
    """Move added or subtracted terms to the right, so a plain field stands alone on the left
    (`a - b > c` becomes `a > c + b`): durable-rules compares a field with an expression, not
    two expressions. Exact for + and -; products and quotients are left alone (sign)."""
    for _ in range(8):
        if isinstance(left, Binary) and left.op in ("+", "-") and isinstance(left.left, Path):
            moved = left
            right = Binary("-" if moved.op == "+" else "+", right, moved.right, moved.pos)
            left = moved.left
            continue
        if (
            isinstance(right, Binary)
            and right.op in ("+", "-")
            and isinstance(right.left, Path)
            and not isinstance(left, Path)
        ):
            op = FLIP[op]
            left, right = right, left
        else:
            break
    return op, left, right


def _literal(value: Any) -> Any:
    if isinstance(value, Duration):
        if abs(value.amount) > DURATION_LIMITS.get(value.unit, 0):
            return None  # no representable date is that far: the reference decides (unknown)
        if value.unit == "days":
            return value.amount
        if value.unit == "hours":
            return value.amount * 3600
        return None
    if isinstance(value, Decimal):
        # only whole numbers go native (exact in durable-rules); fractions are hoisted
        value = int(value) if value == value.to_integral_value() else None
    if isinstance(value, int) and not isinstance(value, bool) and not abs(value) < INT64_MAX:
        # durable-rules clamps numbers beyond 64 bits (10**20 == 2**64 holds there): only a
        # constant strictly inside the range keeps every comparison with a clamped field exact
        return None
    if isinstance(value, bool | int | str):
        return value
    return None


def _constant_items(node: Expr) -> list[Any] | None:
    if isinstance(node, Const) and isinstance(node.value, list):
        items = node.value
    elif isinstance(node, ListLiteral) and all(isinstance(i, Const | Literal) for i in node.items):
        items = [i.value for i in node.items if isinstance(i, Const | Literal)]
    else:
        return None
    lowered = [_literal(v) for v in items]
    if any(v is None for v in lowered):
        return None
    return lowered


def _test(op: str, key: str, operand: Any) -> dict[str, Any]:
    if op == "==":
        return {key: operand}
    return {DURABLE_OP[op]: {key: operand}}
