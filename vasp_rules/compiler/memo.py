"""Memoisation for the closures that build findings (recorder.py, closures.py).

Inside a quantifier, a node that reads no quantifier variable gives the same result, and
records the same reads, every time one `Evaluator` (one finding) evaluates it; a node that
reads only a variable ranging over the batch's documents does so for each document. TR-10's
nested windows re-evaluate such nodes for every pair of transfers: these wrappers evaluate them
once per finding, or once per finding and document, and (`shared`) once per batch view for a
node that reads one batch document alone, replaying what it recorded into later findings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from ..engine.reference import Evaluator
from ..lang.ast import Const, Expr, Literal, Path, Presence, Quantifier, children

Scope = dict[str, tuple[Any, str]]
F = TypeVar("F", bound=Callable[[Evaluator, Scope], Any])


@dataclass(frozen=True)
class Names:
    """The quantifier variables in scope where a node is compiled: all of them, and those
    ranging over the documents of the batch (`x in batch.KIND`)."""

    bound: frozenset[str]
    documents: frozenset[str]


def memoised(node: Expr, names: Names, fn: F, *, share: bool = True) -> F:
    """`fn`, the closure of `node` compiled where `names` are bound, memoised when it can be
    (`memo`); `share` allows sharing across the findings of a batch view."""
    if not names.bound or isinstance(node, Const | Literal):
        return fn
    heads = free_names(node)
    free = heads & names.bound
    if not free:
        return memo(fn, None)  # the same in every item of the enclosing quantifiers
    if len(free) == 1 and free <= names.documents:
        (var,) = free
        if share and heads <= {var, "as_of"}:  # that batch document alone: same in every finding
            return memo(fn, var, shared=True)
        return memo(fn, var)  # depends only on which batch document `var` is
    return fn


def free_names(node: Expr) -> frozenset[str]:
    """The heads of the paths a node reads that it does not bind itself."""
    if isinstance(node, Path):
        return frozenset({node.parts[0]})
    if isinstance(node, Presence):
        return frozenset({node.path.parts[0]})
    if isinstance(node, Quantifier):
        inner: frozenset[str] = frozenset()
        for x in (node.where, node.body):
            if x is not None:
                inner |= free_names(x)
        return free_names(node.source) | (inner - {node.var})
    out: frozenset[str] = frozenset()
    for child in children(node):
        out |= free_names(child)
    return out


_NOTHING = object()


def memo(fn: F, var: str | None, *, shared: bool = False) -> F:
    """`fn` evaluated once per finding (var None), or once per batch document bound to `var`,
    for a node inside a quantifier that reads no other quantifier variable.

    Equal results and equal recording: the node's value depends only on the document, the
    pack's parameters, the batch and the names in scope outside the quantifiers, which are the
    same for every call of this closure with one `Evaluator` (one finding: the condition, each
    value and each template part are separate closures, each called in one scope), and on the
    document `var` names (a model the batch view holds, so its `id` is not reused meanwhile).
    Evaluating it again would record the same reads (`reads.setdefault`, or fewer once a name
    is `computed`) and the same absent paths (a set) into the same `Evaluator`: nothing new.

    `shared`: the node reads nothing but the document `var` names (no field of the evaluating
    document, no other name in scope, nothing else of the batch), so its value and what it
    records are the same in every finding of the batch; the batch view keeps them (`_shared`)
    and other findings replay the recording instead of evaluating it again."""
    fid = id(fn)
    if var is None:

        def once(ev: Evaluator, scope: Scope) -> Any:
            table = ev.memo  # this finding's (recorder.py keys it by structure tuples)
            value = table.get(fid, _NOTHING)
            if value is _NOTHING:
                value = table[fid] = fn(ev, scope)
            return value

        return cast(F, once)

    def per_document(ev: Evaluator, scope: Scope) -> Any:
        table = ev.memo
        mine: dict[int, Any] | None = table.get(fid)
        if mine is None:
            mine = table[fid] = {}
        key = id(scope[var][0])  # one label per document in a batch view
        value = mine.get(key, _NOTHING)
        if value is _NOTHING:
            if shared and ev.ctx.batch is not None:
                value = mine[key] = _shared(fn, ev, scope, key)
            else:
                value = mine[key] = fn(ev, scope)
        return value

    return cast(F, per_document)


def _shared(fn: F, ev: Evaluator, scope: Scope, doc: int) -> Any:
    """`fn(ev, scope)` for a node that reads only one batch document (`doc`): evaluated once
    per batch view into an `Evaluator` of its own, then its value returned and its recording
    replayed into `ev` in the same order (`reads.setdefault`; absent paths). The view lives
    for one evaluation of one batch, and its documents (hence their ids) with it; entries are
    keyed by the closure itself (one pack's, on one date: the same parameters)."""
    view = ev.ctx.batch
    assert view is not None
    store = view.shared
    mine: dict[int, tuple[Any, tuple[tuple[str, Any], ...], frozenset[str]]] | None = store.get(fn)
    if mine is None:
        mine = store[fn] = {}
    entry = mine.get(doc)
    if entry is None:
        own = Evaluator(ev.ctx)
        value = fn(own, scope)
        entry = mine[doc] = (value, tuple(own.reads.items()), frozenset(own.absent))
    value, reads, absent = entry
    for path, json_value in reads:  # all under `batch.KIND[id]`: never a `computed` name
        ev.reads.setdefault(path, json_value)
    if absent:
        ev.absent.update(absent)
    return value


def over_batch(node: Quantifier) -> bool:
    """Whether a quantifier ranges over the batch's documents (as `Evaluator.items` says)."""
    source = node.source
    return isinstance(source, Path) and source.parts[0] == "batch" and len(source.parts) == 2


def inner_names(node: Quantifier, names: Names) -> Names:
    var = node.var
    return Names(
        names.bound | {var},
        (names.documents | {var}) if over_batch(node) else (names.documents - {var}),
    )


__all__ = ["Names", "free_names", "inner_names", "memo", "memoised", "over_batch"]
