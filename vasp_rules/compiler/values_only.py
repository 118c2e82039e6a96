"""Value-only closures for projecting facts: what durable-rules needs, nothing else.

Projection (plain and derived fields of a fact) uses only the *value* of each expression, never
the facts it read or why it is unknown: those are built later, and only for the rules that fired
(see `closures.py`). So these closures return bare engine values (UNKNOWN when unknown), skip
the right side of `and`/`or` once the left settles it, stop a quantifier at its first decisive
item, and compute a sub-expression that does not depend on a quantifier's variable once per
document instead of once per item (and one that reads a batch document alone once per batch,
whichever document evaluates it: `_shared`). Each shape gives the same value as the reference
interpreter (`engine.reference.Evaluator`), which the agreement tests check: both decide with the
one definition of the language's semantics (`engine.semantics`). A quantifier over the batch
takes its documents from the reference interpreter (`Evaluator.items`: its keyed plan), then
runs its compiled `where` and body on them; other batch look-ups (`x in batch.KIND.path`, batch
paths) are evaluated by the reference interpreter itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from ..engine.reference import Context, Evaluator
from ..engine.semantics import (
    COMPARE,
    DECIDING,
    aggregate,
    arithmetic,
    builtin,
    decisive,
    engine_value,
    kleene,
    kleene_not,
    member_of,
    membership,
    skips_unknown_where,
    step,
    walk_objects,
)
from ..engine.values import (
    LIST,
    MAPPING,
    MODEL,
    MONEY,
    PLAIN_ENGINE,
    SHAPES,
    UNKNOWN,
    date_to_engine,
)
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
)
from .memo import free_names, over_batch

_MISSING = object()


class Env:
    """One document's projection: the document, its context, bound variables, a cache."""

    __slots__ = ("doc", "ctx", "vars", "cache", "_ev")

    def __init__(self, ctx: Context) -> None:
        self.doc = ctx.document
        self.ctx = ctx
        self.vars: dict[str, Any] = {}
        self.cache: dict[Any, Any] = {}
        self._ev: Evaluator | None = None

    def evaluator(self) -> Evaluator:
        """The reference interpreter for this document, values only (made on first use)."""
        if self._ev is None:
            self._ev = Evaluator(self.ctx, record=False)
        return self._ev

    def scope(self) -> dict[str, tuple[Any, str]]:
        """The bound variables as a reference scope (labels are not recorded: names do)."""
        return {name: (raw, name) for name, raw in self.vars.items()}

    def reference(self, node: Expr) -> Any:
        """The reference interpreter's value for a node (batch look-ups), in the same scope."""
        return self.evaluator().evaluate_in(node, self.scope()).value


ValueFn = Callable[[Env], Any]


def compile_value(node: Expr) -> ValueFn:
    """A closure computing the reference interpreter's value of `node` (no scope)."""
    return _Compiler().compile(node, frozenset())


def _mentions(node: Expr, names: frozenset[str]) -> bool:
    if isinstance(node, Path):
        return node.parts[0] in names or node.parts[0] == "batch"
    if isinstance(node, Quantifier):
        inner = names - {node.var}
        return (
            _mentions(node.source, names)
            or (node.where is not None and _mentions(node.where, inner))
            or (node.body is not None and _mentions(node.body, inner))
        )
    return any(_mentions(c, names) for c in children(node))


def _leaves(start: Any, parts: tuple[str, ...]) -> tuple[list[Any], bool]:
    """Raw leaves of a path from `start` (as `Evaluator.resolve`, without the paths)."""
    current = [start]
    mapped = False
    for part in parts:
        nxt: list[Any] = []
        for value in current:
            if value is None:
                nxt.append(None)
            elif SHAPES[type(value)] == LIST:
                mapped = True
                nxt.extend(step(item, part) for item in value)
            else:
                nxt.append(step(value, part))
        current = nxt
    if mapped:
        flat: list[Any] = []
        for value in current:
            if isinstance(value, list):
                flat.extend(value)
            else:
                flat.append(value)
        current = flat
    return current, mapped


class _Compiler:
    def __init__(self) -> None:
        #: the bound variables that range over the batch's documents (`x in batch.KIND`)
        self.documents: frozenset[str] = frozenset()

    def compile(self, node: Expr, bound: frozenset[str]) -> ValueFn:
        fn = self._compile(node, bound)
        if not bound or isinstance(node, Const | Literal):
            return fn
        if not isinstance(node, Path) and not _mentions(node, bound):
            return _cached(fn)  # loop-invariant inside a quantifier: once per document
        heads = free_names(node) - {"as_of"}
        if len(heads) == 1 and heads <= self.documents & bound:
            (var,) = heads
            return _shared(fn, var)  # reads one batch document alone: once per batch
        free = heads & bound
        if len(free) == 1 and free <= self.documents and not isinstance(node, Path):
            (var,) = free
            return _cached(fn, var)  # once per document and batch document `var`
        return fn

    def _compile(self, node: Expr, bound: frozenset[str]) -> ValueFn:
        if isinstance(node, Const):
            value = node.value
            return lambda env: value
        if isinstance(node, Literal):
            lit = node.value
            value = date_to_engine(lit) if isinstance(lit, date) else lit
            return lambda env: value
        if isinstance(node, ListLiteral):
            items = [self.compile(i, bound) for i in node.items]
            return lambda env: [f(env) for f in items]
        if isinstance(node, Path):
            return self._path(node, bound)
        if isinstance(node, Param):
            return self._param(node, bound)
        if isinstance(node, Presence):
            return self._presence(node, bound)
        if isinstance(node, Unary):
            return self._unary(node, bound)
        if isinstance(node, Binary):
            return self._binary(node, bound)
        if isinstance(node, Call):
            return self._call(node, bound)
        return self._quantifier(node, bound)

    # -- paths -----------------------------------------------------------------------------
    def _path(self, node: Path, bound: frozenset[str]) -> ValueFn:
        head = node.parts[0]
        if head in ("as_of", "batch") and head not in bound:
            return lambda env: env.reference(node)
        from_var = head in bound
        parts = node.parts[1:] if from_var else node.parts

        def run(env: Env) -> Any:
            value: Any = env.vars[head] if from_var else env.doc
            for part in parts:
                if value is None:
                    return UNKNOWN
                shape = SHAPES[type(value)]
                if shape == MODEL or shape == MONEY:
                    value = getattr(value, part, None)
                elif shape == LIST:  # through a list: every item's value, flattened
                    fx = env.ctx.fx_to_pkr
                    start = env.vars[head] if from_var else env.doc
                    return [engine_value(raw, fx) for raw in _leaves(start, parts)[0]]
                elif shape == MAPPING:
                    value = value.get(part)
                else:
                    return UNKNOWN
            if type(value) in PLAIN_ENGINE:
                return value
            return engine_value(value, env.ctx.fx_to_pkr)

        return run

    def _presence(self, node: Presence, bound: frozenset[str]) -> ValueFn:
        head = node.path.parts[0]
        if head in ("as_of", "batch") and head not in bound:
            return lambda env: env.reference(node)
        from_var = head in bound
        parts = node.path.parts[1:] if from_var else node.path.parts
        present = node.present

        def run(env: Env) -> Any:
            leaves, _ = _leaves(env.vars[head] if from_var else env.doc, parts)
            absent = any(v is None for v in leaves)
            return (not absent) if present else absent

        return run

    def _param(self, node: Param, bound: frozenset[str]) -> ValueFn:
        name = node.name
        key_fn = self.compile(node.key, bound) if node.key is not None else None

        def run(env: Env) -> Any:
            value = env.ctx.params.get(name, UNKNOWN)
            if value is UNKNOWN or key_fn is None:
                return value
            key = key_fn(env)
            if key is UNKNOWN or key not in value:
                return UNKNOWN
            return value[key]

        return run

    # -- operators -------------------------------------------------------------------------
    def _unary(self, node: Unary, bound: frozenset[str]) -> ValueFn:
        operand = self.compile(node.operand, bound)
        if node.op == "not":
            return lambda env: kleene_not(operand(env))

        def minus(env: Env) -> Any:
            v = operand(env)
            return v if v is UNKNOWN else -v

        return minus

    def _binary(self, node: Binary, bound: frozenset[str]) -> ValueFn:
        op = node.op
        right = node.right
        if (
            op in ("in", "not in")
            and isinstance(right, Path)
            and right.parts[0] == "batch"
            and "batch" not in bound
            and len(right.parts) > 2
        ):
            return lambda env: env.reference(node)
        lf = self.compile(node.left, bound)
        rf = self.compile(node.right, bound)
        if op in ("and", "or"):
            settles = decisive(op)

            def logic(env: Env) -> Any:
                a = lf(env)
                if a is settles:  # the right side cannot change it: not evaluated
                    return settles
                return kleene(op, a, rf(env))

            return logic
        if op in ("in", "not in"):
            want = op == "in"
            words = constant_words(right)
            if words is not None:  # a list of text fixed for this date: a set look-up

                def among(env: Env) -> Any:
                    a = lf(env)
                    if a is UNKNOWN:
                        return UNKNOWN
                    return member_of(a, words) is want  # no item is UNKNOWN: constants

                return among

            def member(env: Env) -> Any:
                a = lf(env)
                container = rf(env)
                if a is UNKNOWN or container is UNKNOWN:
                    return UNKNOWN
                found = membership(a, container)
                return found if want else kleene_not(found)

            return member
        if op in COMPARE:
            compare: Callable[[Any, Any], bool] = COMPARE[op]

            def comparison(env: Env) -> Any:
                a = lf(env)
                if a is UNKNOWN:
                    return UNKNOWN
                b = rf(env)
                if b is UNKNOWN:
                    return UNKNOWN
                return compare(a, b)

            return comparison

        def arith(env: Env) -> Any:
            a = lf(env)
            b = rf(env)
            if a is UNKNOWN or b is UNKNOWN:
                return UNKNOWN
            return arithmetic(op, a, b, env.ctx.calendar)

        return arith

    def _call(self, node: Call, bound: frozenset[str]) -> ValueFn:
        if node.name == "linked":
            return lambda env: env.reference(node)  # the batch's components
        args = [self.compile(a, bound) for a in node.args]
        name = node.name

        def run(env: Env) -> Any:
            values = [f(env) for f in args]
            for v in values:
                if v is UNKNOWN:
                    return UNKNOWN
            return builtin(name, values)

        return run

    # -- quantifiers -------------------------------------------------------------------------
    def _quantifier(self, node: Quantifier, bound: frozenset[str]) -> ValueFn:
        source = node.source
        kind, var = node.kind, node.var
        inner = bound | {var}
        in_batch = isinstance(source, Path) and source.parts[0] == "batch"
        documents = self.documents
        # as memo.inner_names: `var` ranges over the batch's documents, or shadows one that did
        self.documents = (documents | {var}) if over_batch(node) else (documents - {var})
        try:
            where = self.compile(node.where, inner) if node.where is not None else None
            body = self.compile(node.body, inner) if node.body is not None else None
        finally:
            self.documents = documents
        select_item = node.body is None and kind == "select"
        deciding = DECIDING.get(kind)  # the item value that decides the quantifier, if any
        if in_batch and "batch" not in bound:
            items_of = _batch_items(node)
        else:
            items_of = self._items(source, bound)

        def run(env: Env) -> Any:
            items = items_of(env)
            if items is UNKNOWN:
                return UNKNOWN
            fx = env.ctx.fx_to_pkr
            names = env.vars
            saved = names.get(var, _MISSING)
            unknown = False
            values: list[Any] = []
            try:
                for item in items:
                    names[var] = item
                    keep: Any = True
                    if where is not None:
                        keep = where(env)
                        if keep is False:
                            continue
                    if select_item:
                        v = UNKNOWN if keep is UNKNOWN else engine_value(item, fx)
                    elif body is None:
                        v = keep
                    else:
                        v = body(env)
                        if keep is UNKNOWN:
                            if skips_unknown_where(kind, v):
                                continue
                            v = UNKNOWN
                    if v is UNKNOWN:
                        unknown = True
                        continue
                    if deciding is not None and v is deciding[0]:
                        return deciding[1]
                    values.append(v)
            finally:
                if saved is _MISSING:
                    names.pop(var, None)
                else:
                    names[var] = saved
            return aggregate(kind, values, unknown)  # no decisive item: it returned above

        return run

    def _items(self, source: Expr, bound: frozenset[str]) -> ValueFn:
        """The items a quantifier ranges over: raw values from a path, engine values from
        anything else; UNKNOWN when the source is absent."""
        if isinstance(source, Path) and not (source.parts[0] == "as_of" and "as_of" not in bound):
            head = source.parts[0]
            from_var = head in bound
            parts = source.parts[1:] if from_var else source.parts

            def from_path(env: Env) -> Any:
                start = env.vars[head] if from_var else env.doc
                walked = walk_objects(start, parts)  # through objects only, the usual case
                if walked is None:  # through a list: every item's leaves, flattened
                    return _leaves(start, parts)[0]
                raw = walked[0]
                return UNKNOWN if raw is None else raw

            return from_path
        return self.compile(source, bound)


def _batch_items(node: Quantifier) -> ValueFn:
    """The documents a batch quantifier visits, exactly as the reference interpreter takes
    them (`Evaluator.items`: the other documents of the kind, narrowed by the quantifier's
    keyed plan, `candidates`, in batch order; `_batch_items` without the labels, which
    projection does not need); its `where` and body are then the compiled closures."""
    assert isinstance(node.source, Path)
    if len(node.source.parts) != 2:  # a path into the batch's documents: their values

        def leaves(env: Env) -> Any:
            items, _ = env.evaluator().items(node, env.scope())
            return UNKNOWN if items is None else [raw for raw, _label in items]

        return leaves
    kind = node.source.parts[1]

    def run(env: Env) -> Any:
        view = env.ctx.batch
        if view is None:
            return []
        positions = env.evaluator().candidates(node, kind, env.scope())
        docs = view.by_kind.get(kind, [])
        mine = env.doc
        chosen = range(len(docs)) if positions is None else positions
        return [docs[i] for i in chosen if docs[i] is not mine]

    return run


def constant_words(node: Expr) -> frozenset[str] | None:
    """The items of a constant list of text (a folded parameter or literal list), for `x in
    LIST`: membership by hash gives what the scan gives (`==` on text, no UNKNOWN item)."""
    if isinstance(node, Const) and isinstance(node.value, list):
        items = node.value
    elif isinstance(node, ListLiteral) and all(isinstance(i, Literal) for i in node.items):
        items = [i.value for i in node.items if isinstance(i, Literal)]
    else:
        return None
    if not items or any(type(v) is not str for v in items):
        return None
    return frozenset(items)


def _shared(fn: ValueFn, var: str) -> ValueFn:
    """`fn` for a node that reads nothing but the batch document `var` names (no field of the
    evaluating document, no other name): its value is the same whoever evaluates it, so the
    batch view keeps it, per closure (one pack's, on one date) and document (the view holds
    the documents, so their ids are not reused while it lives)."""

    def run(env: Env) -> Any:
        view = env.ctx.batch
        if view is None:
            return fn(env)
        store = view.shared
        mine: dict[int, Any] | None = store.get(fn)
        if mine is None:
            mine = store[fn] = {}
        key = id(env.vars[var])
        value = mine.get(key, _MISSING)
        if value is _MISSING:
            value = mine[key] = fn(env)
        return value

    return run


def _cached(fn: ValueFn, var: str | None = None) -> ValueFn:
    """`fn` computed once per document (projection's `env.cache`): for a node that reads no
    quantifier variable, or (`var`) once per document and batch document `var` names, for a
    node whose only quantifier variable ranges over the batch's documents (the batch view holds
    them: their ids are not reused meanwhile)."""
    fid = id(fn)

    def run(env: Env) -> Any:
        key = fid if var is None else (fid, id(env.vars[var]))
        cache = env.cache
        value = cache.get(key, _MISSING)
        if value is _MISSING:
            value = cache[key] = fn(env)
        return value

    return run


__all__ = ["Env", "ValueFn", "compile_value", "constant_words"]
