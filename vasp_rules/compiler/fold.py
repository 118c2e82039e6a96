"""Specialise a checked condition for one `as_of`: parameters and `as_of` become constants, and
arithmetic on constants is computed once. The result is the intermediate form both matchers run."""

from __future__ import annotations

from collections.abc import Mapping
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
    render,
)
from ..lang.semantics import decisive
from ..lang.values import UNKNOWN
from ..pack.params import ResolvedParam


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
    becomes `param.NAME` instead, its value an argument of the compiled code (a date slot:
    compile.date_slots).
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


def _working_days(node: Expr) -> bool:
    return isinstance(node, Const | Literal) and getattr(node.value, "unit", "") == "working_days"
