"""Specialise a checked condition for one `as_of`: parameters and `as_of` become constants, and
arithmetic on constants is computed once. The result is the intermediate form both matchers run.
A date slot whose value is a whole number becomes a parameter instead (`date_slots`), so that
the form serves every date."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from ..interp.reference import Context, Evaluator
from ..lang.ast import (
    Binary,
    Call,
    Const,
    Expr,
    ListLiteral,
    Literal,
    Param,
    Path,
    Presence,
    Quantifier,
    Unary,
    children,
    render,
)
from ..lang.semantics import decisive
from ..lang.values import UNKNOWN
from ..pack.params import ResolvedParam
from .lower import SLOT


def fold(
    node: Expr,
    params: Mapping[str, ResolvedParam],
    as_of: date,
    types: Mapping[int, str] | None = None,
    bound: frozenset[str] = frozenset(),
    args: Mapping[int, str] | None = None,
) -> Expr:
    """Replace parameters and as_of by constants and fold constant sub-expressions.

    `bound` holds the quantifier variables in scope: a path starting with one is not constant.
    `types` maps id(node) of the original tree to its type name, for the constants' types.
    `args` maps id(node) of the original tree to a name: that node, once folded to a constant,
    becomes `param.NAME` instead, its value an argument of the compiled code (a date slot,
    `date_slots`).
    """
    return _Folder(params, as_of, types or {}, args or {}).fold(node, bound)


class _Folder:
    def __init__(
        self, params: Mapping[str, ResolvedParam], as_of: date, types: Mapping[int, str],
        args: Mapping[int, str],
    ) -> None:  # fmt: skip
        self.params, self.as_of, self.types, self.args = params, as_of, types, args
        ctx = Context(
            document=None,
            as_of=as_of,
            params={k: v.value for k, v in params.items()},
        )
        self.evaluator = Evaluator(ctx)

    def fold(self, node: Expr, bound: frozenset[str]) -> Expr:
        out = self._fold(node, bound)
        name = self.args.get(id(node))
        return Param(name) if name is not None and isinstance(out, Const) else out

    def _const(self, original: Expr, value: Any, type_name: str) -> Const:
        return Const(value, type_name, render(original), getattr(original, "pos", 0))

    def _fold(self, node: Expr, bound: frozenset[str]) -> Expr:
        tname = self.types.get(id(node), "")
        if isinstance(node, Path) and node.parts == ("as_of",) and "as_of" not in bound:
            return self._const(node, self.as_of.toordinal(), "date")
        if isinstance(node, Param):
            key = self.fold(node.key, bound) if node.key is not None else None
            if key is None or isinstance(key, Const | Literal):
                value = self.evaluator.evaluate(Param(node.name, key))
                if value.value is not UNKNOWN:
                    return self._const(node, value.value, tname)
            return Param(node.name, key, node.pos)
        if isinstance(node, Unary):
            inner = self.fold(node.operand, bound)
            out: Expr = Unary(node.op, inner, node.pos)
            return self._maybe_const(node, out, [inner], tname)
        if isinstance(node, Binary):
            left = self.fold(node.left, bound)
            right = self.fold(node.right, bound)
            out = Binary(node.op, left, right, node.pos)
            if node.op in ("and", "or"):
                return self._logic(node.op, left, right, out)
            return self._maybe_const(node, out, [left, right], tname)
        if isinstance(node, Call):
            args = tuple(self.fold(a, bound) for a in node.args)
            out = Call(node.name, args, node.pos)
            return self._maybe_const(node, out, list(args), tname)
        if isinstance(node, ListLiteral):
            items = tuple(self.fold(i, bound) for i in node.items)
            out = ListLiteral(items, node.pos)
            return self._maybe_const(node, out, list(items), tname)
        if isinstance(node, Quantifier):
            inner_bound = bound | {node.var}
            return Quantifier(
                node.kind,
                node.var,
                self.fold(node.source, bound),
                self.fold(node.where, inner_bound) if node.where is not None else None,
                self.fold(node.body, inner_bound) if node.body is not None else None,
                node.pos,
            )
        if isinstance(node, Presence):
            return node
        return node

    def _maybe_const(self, original: Expr, folded: Expr, parts: list[Expr], tname: str) -> Expr:
        if parts and all(isinstance(p, Const | Literal) for p in parts):
            if isinstance(folded, Binary) and _working_days(parts[-1]):
                return folded  # counted at evaluation, against the pack's holiday calendar
            result = self.evaluator.evaluate(folded)
            if result.value is not UNKNOWN:
                return Const(result.value, tname, render(original), getattr(original, "pos", 0))
        return folded

    @staticmethod
    def _logic(op: str, left: Expr, right: Expr, out: Expr) -> Expr:
        settles = decisive(op)  # `false and X` is false, `true and X` is X (Kleene)
        for a, b in ((left, right), (right, left)):
            if isinstance(a, Const) and a.value is settles:
                return a
            if isinstance(a, Const) and a.value is (not settles):
                return b
        return out


def _working_days(node: Expr | None) -> bool:
    """A number of working days: the constant, or the call that makes one (unfolded)."""
    if isinstance(node, Call):
        return node.name == "working_days"
    return isinstance(node, Const | Literal) and getattr(node.value, "unit", "") == "working_days"


def date_slots(trees: list[Expr], names: Iterable[str]) -> tuple[tuple[Expr, str], ...]:
    """A rule's date slots: the largest parts of its trees that read `as_of` and only
    parameters and constants besides (`as_of - years(param.lookback)`; never a sum with
    working days, `linked` or a presence test), each named by its text (`slot_key`)."""
    found: list[Expr] = []
    for tree in trees:  # a rule's condition, values and text holes (`names`: its values')
        if _scan(tree, frozenset(names), found) == (True, True):
            found.append(tree)
    return tuple((node, SLOT + render(node)) for node in found)


def _scan(node: Expr, bound: frozenset[str], found: list[Expr]) -> tuple[bool, bool]:
    """Whether `node` may be part of a date slot and whether it reads `as_of`; the slots below
    a node that may not be one are added to `found`."""
    if isinstance(node, Path):
        return (dated := node.parts == ("as_of",) and "as_of" not in bound), dated
    inner = bound | {node.var} if isinstance(node, Quantifier) else bound
    kids = [
        (c, _scan(c, bound if c is getattr(node, "source", None) else inner, found))
        for c in children(node)
    ]
    able = (
        not isinstance(node, Quantifier | Presence)
        and not (isinstance(node, Call) and node.name == "linked")
        and not _working_days(getattr(node, "right", None))
        and all(a for _c, (a, _d) in kids)
    )
    if not able:
        found.extend(c for c, got in kids if got == (True, True))
    return able, any(d for _c, (_a, d) in kids)


def slot_key(
    slots: tuple[tuple[Expr, str], ...],
    params: dict[str, ResolvedParam],
    as_of: date,
    values: dict[str, Any],
) -> tuple[tuple[Any, ...], dict[int, str]]:
    """What a rule compiled on `as_of` depends on through its date slots, and the slots it takes
    as arguments (a whole number: its value goes into `values`). Another constant keys the form
    (LIC-01: one before the transition's end, one after); a slot that does not fold, the date."""
    key: list[Any] = []
    args: dict[int, str] = {}
    for node, name in slots:
        got = None if name in values else fold(node, params, as_of)  # the same text: known
        if got is None or (
            isinstance(got, Const) and type(got.value) is int and abs(got.value) < 2**53
        ):
            if got is not None:
                values[name] = got.value
            args[id(node)] = name
        key.append(None if id(node) in args else got if isinstance(got, Const) else as_of)
    return tuple(key), args
