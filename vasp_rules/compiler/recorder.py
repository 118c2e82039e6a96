"""Recording closures for the findings of rules whose condition held.

A finding lists the facts its rule read (`Evaluator.reads`) and the facts an `is missing` test
found absent (`Evaluator.absent`), exactly as the reference interpreter records them when it
evaluates the whole condition (both sides of `and`/`or`, every item of a quantifier that passes
its `where`). When the condition held, nothing is missing, so these closures compute only the
*value* of each node, never the set of facts that would make it unknown: no `Result` per node,
no unions of missing-fact sets, one scope per quantifier instead of a copy per item. That is
where the findings of a typical licence application spent most of their time
(`closures.py`, which does carry missing facts, still builds the findings of rules that could
not be decided). Values and templates of a held rule use the same closures.

A closure is called as `fn(ev, scope)` with the `Evaluator` it records into and returns the
engine value (UNKNOWN when unknown). Batch look-ups, paths through lists or absent objects and
parameters are evaluated by the reference interpreter itself, so their recording is shared, not
copied, and operators decide with `engine.semantics`, as the reference does. Quantifiers take
their items from `Evaluator.items` (for the batch: the candidates
of its keyed plan, labelled `batch.KIND[id]`), so they visit and name what the reference does.
Inside a quantifier, a node that reads no quantifier variable, or only one that ranges over
the batch's documents, is evaluated once per finding or once per document (`memo.memo`): TR-10's
inner window re-reads the same transfers for every outer one. The agreement tests compare
every finding with the reference's.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from ..engine.reference import Evaluator, Result, is_model
from ..engine.semantics import (
    COMPARE,
    aggregate,
    arithmetic,
    builtin,
    kleene,
    kleene_not,
    member_of,
    membership,
    skips_unknown_where,
)
from ..engine.values import MODEL, PLAIN_ENGINE, SHAPES, UNKNOWN, date_to_engine, to_json_value
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
    children,
)
from .closures import is_batch_membership, items_of, locator
from .codegen import constant_words
from .memo import Names, free_names, inner_names, memoised, over_batch

Scope = dict[str, tuple[Any, str]]
Recorder = Callable[[Evaluator, Scope], Any]

_SPECIAL = frozenset({"as_of", "batch"})


def compile_recorder(node: Expr) -> Recorder:
    """A closure giving `Evaluator.evaluate_in(node, scope).value` with the same recording."""
    return _compile(node, Names(frozenset(), frozenset()))


def _compile(node: Expr, names: Names) -> Recorder:
    return memoised(node, names, _COMPILERS[type(node)](node, names))


def _reference(node: Expr, names: Names | None = None) -> Recorder:
    def run(ev: Evaluator, scope: Scope) -> Any:
        return ev.evaluate_in(node, scope).value

    return run


def _const(node: Const, names: Names) -> Recorder:
    value = node.value
    return lambda ev, scope: value


def _literal(node: Literal, names: Names) -> Recorder:
    value = date_to_engine(node.value) if isinstance(node.value, date) else node.value
    return lambda ev, scope: value


def _list(node: ListLiteral, names: Names) -> Recorder:
    items = [_compile(i, names) for i in node.items]
    return lambda ev, scope: [f(ev, scope) for f in items]


def _path(node: Path, names: Names) -> Recorder:
    """Through objects only (`closures.locator`), the value, recording the concrete path the
    general resolver would name; through lists, or from `as_of`/`batch`, the reference."""
    general = _memoised_general(node)
    locate = locator(node.parts, presence=False)

    def run(ev: Evaluator, scope: Scope) -> Any:
        found = locate(ev, scope)
        if found is None:
            return general(ev, node, scope).value
        raw, path, from_document = found
        if from_document:
            reads = ev.reads  # the first reading records: a repeat need not convert again
            if path not in reads and path not in ev.computed and not is_model(raw):
                reads[path] = to_json_value(raw)
        if raw is None:
            return UNKNOWN
        kind = type(raw)
        if kind in PLAIN_ENGINE:
            return raw
        if kind is date:  # a date compares as its day number
            return raw.toordinal()
        if isinstance(raw, list):  # a list field at the end of the path: its items' values
            return [v if type(v) is str else ev.engine_value(v, path)[0] for v in raw]
        if isinstance(raw, WalletAddress):  # an address compares in its canonical form
            return raw.canonical
        return ev.engine_value(raw, path)[0]

    return run


def _presence(node: Presence, names: Names) -> Recorder:
    present = node.present
    general = _memoised_general(node)
    locate = locator(node.path.parts, presence=True)

    def run(ev: Evaluator, scope: Scope) -> Any:
        found = locate(ev, scope)
        if found is None:
            return general(ev, node, scope).value
        raw, path, from_document = found
        if from_document:
            reads = ev.reads
            if path not in reads and not is_model(raw):
                reads[path] = to_json_value(raw)
        absent = raw is None
        if present:
            return not absent
        if absent:
            ev.absent.add(path)
        return absent

    return run


def _unary(node: Unary, names: Names) -> Recorder:
    operand = _compile(node.operand, names)
    if node.op == "not":
        return lambda ev, scope: kleene_not(operand(ev, scope))

    def minus(ev: Evaluator, scope: Scope) -> Any:
        v = operand(ev, scope)
        return v if v is UNKNOWN else -v

    return minus


def _binary(node: Binary, names: Names) -> Recorder:
    op = node.op
    right_node = node.right
    if is_batch_membership(node):
        return _reference(node)  # the batch's value index
    lf = _compile(node.left, names)
    rf = _compile(node.right, names)
    if op in ("and", "or"):

        def logic(ev: Evaluator, scope: Scope) -> Any:
            a = lf(ev, scope)
            b = rf(ev, scope)  # both sides, always: the reference records what each reads
            return kleene(op, a, b)

        if free_names(node) & names.bound and len(_recording_leaves(node)) >= 2:
            # a `where` of a quantifier: a rule's `values` often restate it for the same item
            return _memoised(node, logic)
        return logic
    if op in ("in", "not in"):
        want = op == "in"
        words = constant_words(right_node)
        if words is not None:  # a list of text fixed for this date: a set look-up

            def among(ev: Evaluator, scope: Scope) -> Any:
                a = lf(ev, scope)  # the constant list itself records nothing
                if a is UNKNOWN:
                    return UNKNOWN
                return member_of(a, words) is want

            return among

        def member(ev: Evaluator, scope: Scope) -> Any:
            a = lf(ev, scope)
            container = rf(ev, scope)
            if a is UNKNOWN or container is UNKNOWN:
                return UNKNOWN
            found = membership(a, container)
            return found if want else kleene_not(found)

        return member
    if op in COMPARE:
        compare: Callable[[Any, Any], bool] = COMPARE[op]

        def comparison(ev: Evaluator, scope: Scope) -> Any:
            a = lf(ev, scope)
            b = rf(ev, scope)
            if a is UNKNOWN or b is UNKNOWN:
                return UNKNOWN
            return compare(a, b)

        return comparison

    def arith(ev: Evaluator, scope: Scope) -> Any:
        a = lf(ev, scope)
        b = rf(ev, scope)
        if a is UNKNOWN or b is UNKNOWN:
            return UNKNOWN
        return arithmetic(op, a, b, ev.ctx.calendar)

    return arith


def _call(node: Call, names: Names) -> Recorder:
    if node.name == "linked":
        return _reference(node)  # the batch's components
    args = [_compile(a, names) for a in node.args]
    name = node.name

    def run(ev: Evaluator, scope: Scope) -> Any:
        values = [f(ev, scope) for f in args]
        for v in values:
            if v is UNKNOWN:
                return UNKNOWN
        return builtin(name, values)

    return run


# quantifiers and paths by structure (nodes compare without positions); weak, so that the
# nodes of a dropped compile do not stay alive; numbers are never reused
_STRUCTURES: weakref.WeakKeyDictionary[Expr, int] = weakref.WeakKeyDictionary()
_numbers = itertools.count()
_structures_lock = threading.Lock()
_SCALAR_TYPES = frozenset({str, int, bool, Decimal, type(None)})


def _structure(node: Expr) -> int | None:
    """A number shared by every quantifier of the same structure (None: not comparable)."""
    try:
        hash(node)
    except TypeError:  # a constant list inside
        return None
    with _structures_lock:
        number = _STRUCTURES.get(node)
        if number is None:
            number = _STRUCTURES[node] = next(_numbers)
        return number


def _memoised(node: Quantifier | Binary, run: Recorder) -> Recorder:
    """`run`, computed once per evaluation for the same structure and the same bindings of the
    names it reads (a rule's `values` often restate its condition's quantifiers and their
    `where`). Exact: in one evaluation a second run would record only reads the first already
    recorded (the set of computed names only grows), and give the same value."""
    structure = _structure(node)
    if structure is None:
        return run
    names = tuple(sorted(free_names(node) - _SPECIAL))

    def memoised(ev: Evaluator, scope: Scope) -> Any:
        key: list[Any] = [structure]
        for name in names:
            entry = scope.get(name)
            if entry is None:
                key.append(None)  # a field of the document
                continue
            raw, label = entry
            if type(raw) in _SCALAR_TYPES:
                key.append((raw, label))
            elif SHAPES[type(raw)] == MODEL:  # a document's object: alive all evaluation
                key.append((id(raw), label))
            else:
                return run(ev, scope)  # a value that may not outlive this call: no memo
        memo = ev.memo
        marker = tuple(key)
        if marker in memo:
            return memo[marker]
        value = memo[marker] = run(ev, scope)
        return value

    return memoised


def _memoised_general(node: Path | Presence) -> Callable[[Evaluator, Any, Scope], Result]:
    """The reference's general path resolver (through lists: every person's roles, ...),
    computed once per finding for the same path and the same binding of its first name: such a
    path inside a quantifier is usually loop-invariant. Exact for the reason `_memoised` is."""

    def method(ev: Evaluator, _node: Any, scope: Scope) -> Result:
        return ev.evaluate_in(node, scope)

    structure = _structure(node)
    if structure is None:
        return method
    path = node if isinstance(node, Path) else node.path
    head = path.parts[0]

    def run(ev: Evaluator, _node: Any, scope: Scope) -> Result:
        entry = scope.get(head)
        if entry is None:
            key: tuple[Any, ...] = (structure,)
        else:
            raw, label = entry
            if type(raw) in _SCALAR_TYPES:
                key = (structure, raw, label)
            elif SHAPES[type(raw)] == MODEL:
                key = (structure, id(raw), label)
            else:
                return method(ev, node, scope)
        memo = ev.memo
        if key in memo:
            result: Result = memo[key]
            return result
        result = memo[key] = method(ev, node, scope)
        return result

    return run


def _quantifier(node: Quantifier, names: Names) -> Recorder:
    kind, var = node.kind, node.var
    inside = inner_names(node, names)
    where = _compile(node.where, inside) if node.where is not None else None
    if node.body is not None:
        body: Recorder | None = _compile(node.body, inside)
    elif kind == "select":
        # the item itself, read as the reference reads it
        body = _compile(Path((var,)), inside)
    else:
        body = None
    has_body = node.body is not None
    items_from = items_of(node)
    windowed = over_batch(node)  # a sum or count over a window: running sums (engine/windows.py)

    def run(ev: Evaluator, scope: Scope) -> Any:
        if windowed:
            fast = ev.window(node, scope)
            if fast is not None:
                return fast.value
        items, _ = items_from(ev, scope)
        if items is None:
            return UNKNOWN
        inner = dict(scope)  # one scope for the loop: closures never keep it
        values: list[Any] = []
        unknown = False
        for item in items:
            inner[var] = item
            keep: Any = True
            if where is not None:
                keep = where(ev, inner)
                if keep is False:
                    continue
            if body is None:
                v = keep
            elif not has_body:  # select without a body
                v = body(ev, inner)
                if keep is UNKNOWN:
                    v = UNKNOWN
            else:
                v = body(ev, inner)
                if keep is UNKNOWN:
                    if skips_unknown_where(kind, v):
                        continue
                    v = UNKNOWN
            if v is UNKNOWN:
                unknown = True
            values.append(v)
        return aggregate(kind, values, unknown)

    return _memoised(node, run)  # values often restate the condition's quantifiers


# -- recording only ------------------------------------------------------------------------
def compile_effects(node: Expr) -> Recorder:
    """A closure recording what `compile_recorder(node)` records, for a node whose value is not
    needed (the condition of a rule that held: its finding needs only what it read).

    Same reads and absent paths, first recorded in the same order: it makes the same calls
    except some whose recording has already happened (so they would record nothing new), and
    computes no value that decides nothing. Nodes without a quantifier are the value closures
    themselves. A quantifier still evaluates `where` (it decides whether the body is read), but
    in a quantifier over the batch an item is skipped altogether once its evaluation cannot
    record anything new (`_quantifier_effects`): in TR-10 the inner window of each transfer of
    the outer one re-reads transfers whose reads are already recorded."""
    return _effects(node, Names(frozenset(), frozenset()))


def _noop(ev: Evaluator, scope: Scope) -> None:
    return None


def _has_quantifier(node: Expr) -> bool:
    return isinstance(node, Quantifier) or any(_has_quantifier(c) for c in children(node))


def _effects(node: Expr, names: Names) -> Recorder:
    if isinstance(node, Const | Literal):
        return _noop
    if isinstance(node, Quantifier):
        return memoised(node, names, _quantifier_effects(node, names))
    if (
        not isinstance(node, Binary | Unary | Call | ListLiteral)
        or not _has_quantifier(node)
        or is_batch_membership(node)
    ):
        return _compile(node, names)  # evaluating it is what records
    # an operator, call or list: its value closure evaluates every operand, in order
    parts = [_effects(child, names) for child in children(node)]

    def run(ev: Evaluator, scope: Scope) -> None:
        for part in parts:
            part(ev, scope)

    return memoised(node, names, run)


def _skippable(node: Quantifier, names: Names) -> bool:
    """Whether, in one run of a quantifier over the batch, an item's evaluation records
    nothing new once (a) one item of this run had its `where` evaluated and (b) this document
    has had its `where` and its body evaluated before, in any run (this finding).

    So when `where` always evaluates every part of itself (no quantifier inside) and each part
    that records reads either does not name the item (the same in every item of the run: done
    by (a)) or names no other quantifier variable (the same whenever this document is the
    item: done by (b)); and the body names no other quantifier variable (done by (b))."""
    var = node.var
    if node.where is None or _has_quantifier(node.where):
        return False
    outer = names.bound - {var}
    if node.body is not None and free_names(node.body) & outer:
        return False
    return all(
        var not in free_names(leaf) or not (free_names(leaf) & outer)
        for leaf in _recording_leaves(node.where)
    )


def _recording_leaves(node: Expr) -> list[Expr]:
    """The parts of an expression without quantifiers that record reads: paths, presence
    tests, parameters (their key) and batch memberships (the reference evaluates them)."""
    if isinstance(node, Path | Presence | Param) or is_batch_membership(node):
        return [node]
    out: list[Expr] = []
    for child in children(node):
        out.extend(_recording_leaves(child))
    return out


def _quantifier_effects(node: Quantifier, names: Names) -> Recorder:
    """A quantifier's recording: `_quantifier`'s calls, minus the body's value when it is
    not needed, minus the items `_skippable` proves to record nothing new."""
    var = node.var
    inside = inner_names(node, names)
    where = _compile(node.where, inside) if node.where is not None else None
    if node.body is not None:
        body: Recorder = _effects(node.body, inside)
    elif node.kind == "select":
        body = _compile(Path((var,)), inside)  # reads the item as the reference does
    else:
        body = _noop
    skippable = over_batch(node) and _skippable(node, names)
    items_from = items_of(node)
    key = object()  # this closure's set of documents already evaluated in full (per finding)
    windowed = over_batch(node)  # a sum or count over a window: running sums (engine/windows.py)

    def run(ev: Evaluator, scope: Scope) -> None:
        if windowed and ev.window(node, scope) is not None:
            return
        items, _ = items_from(ev, scope)
        if items is None:
            return
        inner = dict(scope)
        if not skippable:
            for item in items:
                inner[var] = item
                if where is None or where(ev, inner) is not False:
                    body(ev, inner)
            return
        memo = ev.memo
        done: set[int] | None = memo.get(key)
        if done is None:
            done = memo[key] = set()
        first = True  # no `where` evaluated yet in this run
        for item in items:
            doc = id(item[0])
            if not first and doc in done:
                continue
            inner[var] = item
            first = False
            if where is not None and where(ev, inner) is False:
                continue
            body(ev, inner)
            done.add(doc)

    return run


_COMPILERS: dict[type, Callable[[Any, Names], Recorder]] = {
    Const: _const,
    Literal: _literal,
    ListLiteral: _list,
    Path: _path,
    Param: _reference,
    Presence: _presence,
    Unary: _unary,
    Binary: _binary,
    Call: _call,
    Quantifier: _quantifier,
}


__all__ = ["Recorder", "compile_effects", "compile_recorder"]
