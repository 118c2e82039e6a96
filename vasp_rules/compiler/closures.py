"""Compile checked expressions into Python closures, once per pack and date.

The reference interpreter (`engine.reference.Evaluator`) walks the syntax tree on every call:
a dictionary dispatch per node, the general path resolver for every field, the source text of a
quantifier rendered again for every evaluation. Here each node becomes a closure whose children,
constants, concrete paths and operator are bound once, when the pack is compiled for a date.

A compiled expression is called as `fn(ev, scope)` with the same `Evaluator` (its context, its
`record` flag and the `reads`/`absent`/`computed` it records into) and scope as the reference,
and returns the same `Result`: same value, same missing facts, same reads. Shapes the closures do
not specialise (batch look-ups, paths that pass through lists or absent objects, parameters)
delegate to the reference interpreter's own method for that node, so their semantics are shared,
not copied. Inside a quantifier, a node that reads no quantifier variable, or only one over the
batch's documents, is evaluated once per finding, or once per finding and document
(`memo.py`). Nothing here parses or evaluates rule text: the input is the checked, folded tree.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from ..engine.reference import (
    COMPARE,
    NONE,
    Evaluator,
    Result,
    _from_document,
    _is_model,
    _union,
)
from ..engine.values import (
    LIST,
    MAPPING,
    MODEL,
    MONEY,
    SHAPES,
    UNKNOWN,
    date_to_engine,
    to_json_value,
)
from ..entities.common import WalletAddress
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
from .codegen import builtin, walk_objects
from .memo import Names, inner_names, memoised

Scope = dict[str, tuple[Any, str]]
Fn = Callable[[Evaluator, Scope], Result]

_SKIP = object()
_SPECIAL = frozenset({"as_of", "batch"})
_SCALARS = (str, int, bool)  # engine values as they are (bool is an int; listed for clarity)


def compile_expr(node: Expr) -> Fn:
    """A closure equivalent to `Evaluator._eval(node, scope)`."""
    return _compile(node, Names(frozenset(), frozenset()))


def _compile(node: Expr, names: Names) -> Fn:
    """Inside a quantifier, memoised per finding (and batch document) where it can be."""
    return memoised(node, names, _COMPILERS[type(node)](node, names), share=False)


def _delegate(method: Callable[[Evaluator, Any, Scope], Result], node: Expr) -> Fn:
    def run(ev: Evaluator, scope: Scope) -> Result:
        return method(ev, node, scope)

    return run


def _const(node: Const, names: Names) -> Fn:
    value = node.value

    def run(ev: Evaluator, scope: Scope) -> Result:
        return Result(value)

    return run


def _literal(node: Literal, names: Names) -> Fn:
    value = date_to_engine(node.value) if isinstance(node.value, date) else node.value

    def run(ev: Evaluator, scope: Scope) -> Result:
        return Result(value)

    return run


def _list(node: ListLiteral, names: Names) -> Fn:
    items = [_compile(i, names) for i in node.items]

    def run(ev: Evaluator, scope: Scope) -> Result:
        results = [f(ev, scope) for f in items]
        return Result([r.value for r in results], _union(r.missing for r in results))

    return run


_NAMED_MAX = 4096
Located = tuple[Any, str, bool]  # raw value (None: absent), concrete path, a document fact?


Locate = Callable[[Evaluator, Scope], Located | None]


def locator(parts: tuple[str, ...], *, presence: bool) -> Locate:
    """Where a path leads through objects only (the common case): its raw value, the concrete
    path exactly as the general resolver names it (up to the first absent step), and whether
    that names a fact of a document; None when the general resolver must take it (through a
    list, from `as_of` or `batch`, or from an absent variable unless testing presence). Shared
    by these closures and the recording closures (recorder.py)."""
    head, rest = parts[0], parts[1:]
    doc_paths = [".".join(parts[: i + 1]) for i in range(len(parts))]
    var_suffixes = ["." + ".".join(rest[: i + 1]) for i in range(len(rest))]
    doc_from = [_from_document(p) for p in doc_paths]
    # (label of the variable, steps taken) -> (concrete path, a document fact?): the same
    # item's path is named once, and the same string object is then hashed once
    named: dict[tuple[str, int], tuple[str, bool]] = {}
    step = rest[0] if len(rest) == 1 else None  # `p.roles`: one step from a variable
    named_step: dict[str, tuple[str, bool]] = {}  # label -> (label.step, a document fact?)

    def locate(ev: Evaluator, scope: Scope) -> Located | None:
        if head in scope:
            start, label = scope[head]
            if step is not None and start is not None:  # `walk_objects` of one step, inline
                shape = SHAPES[type(start)]
                if shape == MODEL or shape == MONEY:
                    raw = getattr(start, step, None)
                elif shape == MAPPING:
                    raw = start.get(step)
                elif shape == LIST:
                    return None
                else:
                    raw = None
                known = named_step.get(label)
                if known is None:
                    path = label + var_suffixes[0]
                    known = (path, _from_document(path))
                    if len(named_step) >= _NAMED_MAX:
                        named_step.clear()
                    named_step[label] = known
                return raw, known[0], known[1]
            if isinstance(start, list) or (start is None and not presence):
                return None
            walked = walk_objects(start, rest)
            if walked is None:
                return None
            raw, taken = walked
            key = (label, taken)
            known = named.get(key)
            if known is None:
                path = label + var_suffixes[taken - 1] if taken else label
                known = (path, _from_document(path))
                if len(named) >= _NAMED_MAX:  # items of very long lists: start again
                    named.clear()
                named[key] = known
            return raw, known[0], known[1]
        if head in _SPECIAL:
            return None
        walked = walk_objects(ev.ctx.document, parts)
        if walked is None or not walked[1]:
            return None
        raw, taken = walked
        return raw, doc_paths[taken - 1], doc_from[taken - 1]

    return locate


ItemsOf = Callable[[Evaluator, Scope], tuple[list[tuple[Any, str]] | None, frozenset[str]]]
_LABELS: dict[str, list[str]] = {}  # a list's path -> its items' labels, `path[i]`
_LABELS_MAX = 8192


def items_of(node: Quantifier) -> ItemsOf:
    """A quantifier's items as `Evaluator._items` gives them (each with its label, the concrete
    path of the item), taking a source path through objects only directly (`locator`) and
    naming the items of a list once per list path; anything else is the reference's."""
    general = Evaluator._items
    source = node.source
    if not isinstance(source, Path):
        return lambda ev, scope: general(ev, node, scope)
    locate = locator(source.parts, presence=False)

    def run(ev: Evaluator, scope: Scope) -> tuple[list[tuple[Any, str]] | None, frozenset[str]]:
        found = locate(ev, scope)
        if found is None or (found[0] is not None and type(found[0]) is not list):
            return general(ev, node, scope)
        raw, path, _ = found
        if raw is None:
            ev.reads.setdefault(path, None)
            return None, frozenset({path})
        labels = _LABELS.get(path)
        if labels is None or len(labels) < len(raw):
            labels = [f"{path}[{i}]" for i in range(len(raw))]
            if len(_LABELS) >= _LABELS_MAX:
                _LABELS.clear()
            _LABELS[path] = labels
        return list(zip(raw, labels, strict=False)), NONE  # labels may run longer

    return run


def _path(node: Path, names: Names) -> Fn:
    """A field path: through objects only it reads attributes directly (`locator`); anything
    else is left to the reference interpreter."""
    general = Evaluator._path
    locate = locator(node.parts, presence=False)

    def run(ev: Evaluator, scope: Scope) -> Result:
        found = locate(ev, scope)
        if found is None:
            return general(ev, node, scope)
        raw, path, from_document = found
        if ev.record and from_document and path not in ev.computed and not _is_model(raw):
            ev.reads.setdefault(path, to_json_value(raw))
        if isinstance(raw, list):  # a list field at the end of the path: its items' values
            return Result([v if type(v) is str else ev._engine_value(v, path)[0] for v in raw])
        if raw is None:
            return Result(UNKNOWN, frozenset({path}))
        if (isinstance(raw, _SCALARS) or isinstance(raw, Decimal)) and not isinstance(
            raw, WalletAddress
        ):  # an address compares in its canonical form (below)
            return Result(raw)
        value, gaps = ev._engine_value(raw, path)
        return Result(value, frozenset(gaps) if value is UNKNOWN else NONE)

    return run


def _presence(node: Presence, names: Names) -> Fn:
    """`PATH is missing|present` over objects only; through lists, the reference method."""
    present = node.present
    general = Evaluator._presence
    locate = locator(node.path.parts, presence=True)

    def run(ev: Evaluator, scope: Scope) -> Result:
        found = locate(ev, scope)
        if found is None:
            return general(ev, node, scope)
        raw, path, from_document = found
        if ev.record and from_document and not _is_model(raw):
            ev.reads.setdefault(path, to_json_value(raw))
        absent = raw is None
        if present:
            return Result(not absent)
        if absent:
            ev.absent.add(path)
        return Result(absent)

    return run


def _unary(node: Unary, names: Names) -> Fn:
    operand = _compile(node.operand, names)
    negate = node.op == "not"

    def run(ev: Evaluator, scope: Scope) -> Result:
        inner = operand(ev, scope)
        if inner.value is UNKNOWN:
            return inner
        return Result((not inner.value) if negate else -inner.value)

    return run


def is_batch_membership(node: Expr) -> bool:
    """`x in batch.KIND.path` (or `not in`): answered by the reference interpreter from the
    batch's value index, by every kind of closure."""
    if not isinstance(node, Binary) or node.op not in ("in", "not in"):
        return False
    right = node.right
    return isinstance(right, Path) and right.parts[0] == "batch" and len(right.parts) > 2


def _binary(node: Binary, names: Names) -> Fn:
    op = node.op
    if is_batch_membership(node):
        return _delegate(Evaluator._binary, node)  # the batch's value index (reference)
    left_fn = _compile(node.left, names)
    right_fn = _compile(node.right, names)
    if op in ("and", "or"):
        decisive = op == "or"  # the value that settles the result whatever the other is
        settled = not decisive

        def logic(ev: Evaluator, scope: Scope) -> Result:
            left = left_fn(ev, scope)
            if left.value is decisive and not ev.record:
                return Result(decisive)  # the other side cannot change it; nothing to record
            right = right_fn(ev, scope)
            if left.value is decisive or right.value is decisive:
                return Result(decisive)
            if left.value is UNKNOWN or right.value is UNKNOWN:
                return Result(UNKNOWN, left.missing | right.missing)
            return Result(settled)

        return logic
    if op in ("in", "not in"):

        def member(ev: Evaluator, scope: Scope) -> Result:
            return ev._membership(op, left_fn(ev, scope), right_fn(ev, scope))

        return member
    if op in COMPARE:
        compare: Callable[[Any, Any], bool] = COMPARE[op]

        def comparison(ev: Evaluator, scope: Scope) -> Result:
            left = left_fn(ev, scope)
            right = right_fn(ev, scope)
            a, b = left.value, right.value
            if a is UNKNOWN or b is UNKNOWN:
                return Result(UNKNOWN, left.missing | right.missing)
            return Result(compare(a, b))

        return comparison

    def arithmetic(ev: Evaluator, scope: Scope) -> Result:
        left = left_fn(ev, scope)
        right = right_fn(ev, scope)
        if left.value is UNKNOWN or right.value is UNKNOWN:
            return Result(UNKNOWN, left.missing | right.missing)
        return ev._arith(op, left.value, right.value, left.missing | right.missing, node)

    return arithmetic


def _call(node: Call, names: Names) -> Fn:
    if node.name == "linked":
        return _delegate(Evaluator._call, node)  # the batch's components (reference)
    args = [_compile(a, names) for a in node.args]
    name = node.name

    def run(ev: Evaluator, scope: Scope) -> Result:
        results = [f(ev, scope) for f in args]
        for r in results:
            if r.value is UNKNOWN:
                return Result(UNKNOWN, _union(a.missing for a in results))
        return Result(builtin(name, [a.value for a in results]))

    return run


def _quantifier(node: Quantifier, names: Names) -> Fn:
    kind, var = node.kind, node.var
    inside = inner_names(node, names)
    where = _compile(node.where, inside) if node.where is not None else None
    if node.body is not None:
        body_fn: Fn | None = _compile(node.body, inside)
    elif kind == "select":
        body_fn = _compile(Path((var,)), inside)
    else:
        body_fn = None
    source_text = render(node.source)
    items = items_of(node)
    skip_false = kind in ("any", "none", "count")

    def run(ev: Evaluator, scope: Scope) -> Result:
        found, source_missing = items(ev, scope)
        if found is None:
            return Result(UNKNOWN, source_missing)
        verdicts: list[tuple[Any, frozenset[str]]] = []
        for item in found:
            inner = dict(scope)
            inner[var] = item
            keep: Any = True
            miss: frozenset[str] = NONE
            if where is not None:
                w = where(ev, inner)
                keep, miss = w.value, w.missing
                if keep is False:
                    continue
            if body_fn is None:
                body = Result(keep, miss)
            elif node.body is None:  # select without a body: the item itself
                body = body_fn(ev, inner)
                if keep is UNKNOWN:
                    body = Result(UNKNOWN, miss)
            else:
                body = body_fn(ev, inner)
                if keep is UNKNOWN:
                    if skip_false and body.value is False:
                        continue
                    if kind == "all" and body.value is True:
                        continue
                    body = Result(UNKNOWN, miss | body.missing)
            verdicts.append((body.value, body.missing))
        return ev._aggregate(kind, verdicts, source_text)

    return run


_COMPILERS: dict[type, Callable[[Any, Names], Fn]] = {
    Const: _const,
    Literal: _literal,
    ListLiteral: _list,
    Path: _path,
    Param: lambda node, names: _delegate(Evaluator._param, node),
    Presence: _presence,
    Unary: _unary,
    Binary: _binary,
    Call: _call,
    Quantifier: _quantifier,
}


__all__ = ["Fn", "Scope", "compile_expr"]
