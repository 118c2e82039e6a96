"""Sums and counts over a time window of a keyed batch group, from prefix sums.

A `sum` or `count` over `batch.KIND` whose filter is a keyed plan (interp/batchplan.py:
equality and `linked` keys, one window key bounded by the evaluating scope, conjuncts on the
other document alone) plus at most one `KEY != PROBE` conjunct (TR-10's `t.transfer_id !=
s.transfer_id`) is answered without visiting the window's documents: each group of the batch is
kept sorted by the window key with running sums of the body, the window's bounds are found by
binary search, and the documents the `!=` conjunct (or the evaluating document itself, which a
batch quantifier never visits) leave out are subtracted through a per-value index. O(log k) for
a window of k documents, so TR-10's window inside a window costs O(k log k) per transfer, not
O(k^2), and its nested sum no longer runs the filter item by item.

The value is exactly the item-by-item one or the caller is told to evaluate item by item
(`window_aggregate` returns None): whenever some document of the window has an unknown key,
filter or body (an absent field, a currency without a rate), a body that is not an integer (PKR
paisa, counts: sums of integers are exact in any order), a group some document of the kind
cannot be placed in, or a bound that is unknown. What it records for an explanation is what the
item-by-item evaluation records: the evaluating document's probes, and for every document of
the window (each once per finding: a finding's windows overlap) the fields its filter reads. A
batch whose documents share an id (so two documents would record under one path, the first one
read winning) is evaluated item by item when recording.

`min`, `max` and count-distinct are not windowed here: they stay item by item over the keyed
window (O(k) per document; the pk pack has none over a window).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

from ..lang.ast import (
    Binary,
    Expr,
    Path,
    Quantifier,
    link_keys,
    render,
)
from ..lang.semantics import kleene, skips_unknown_where
from ..lang.values import UNKNOWN, Scope
from .batchplan import (
    ORDER_FLIP,
    QuantPlan,
    closed_over,
    conjuncts,
    is_link,
    mentions,
    plan_quantifier,
    reads_batch,
)
from .evaluating import Evaluating as Evaluator  # the face of reference.Evaluator (a Protocol)
from .evaluating import Result
from .keyed import _WILD, KeyedIndex, _key, read_paths

#: the quantifiers answered from a group's window (sums and counts from running sums)
WINDOWED = frozenset({"sum", "count", "select"})
#: every quantifier over a window: those whose body is not read off the window's documents
#: alone visit the window's documents, evaluating the body only (the filter is known to hold)
QUANTIFIERS = frozenset({"any", "all", "none", "count", "sum", "select", "max", "min"})


@dataclass(frozen=True)
class Shape:
    """What a windowed quantifier's filter and body are made of."""

    plan: QuantPlan
    #: expressions over the batch document alone whose evaluation records what evaluating the
    #: filter on that document records (static conjuncts, key sides, the links' key paths)
    reads: tuple[Expr, ...]
    residual: tuple[Expr, Expr] | None  # `KEY != PROBE`: KEY on the batch document alone
    body: Expr | None
    #: conjuncts that do not read the batch document (the same for every document visited)
    guards: tuple[Expr, ...] = ()
    #: whether the body records what the filter does not (then it is recorded with it: every
    #: document of the window is kept, there being no `!=` conjunct)
    body_reads: bool = False
    #: the body is evaluated on each document of the window (it reads more than that document)
    per_item: bool = False
    source: str = ""  # the quantifier's source, rendered (for an empty `max`'s reason)
    #: conjuncts reading both documents (TR-10's `by_chain`): evaluated on each visit
    filters: tuple[Expr, ...] = ()


def _key_side(node: Expr, var: str) -> bool:
    return mentions(node, var) and closed_over(node, frozenset({var})) and not reads_batch(node)


def _probe_side(node: Expr, var: str) -> bool:
    return not mentions(node, var) and not reads_batch(node)


def shape_of(node: Quantifier) -> Shape | None:
    """The windowed shape of a quantifier, or None when it must be evaluated item by item.
    Every conjunct of the filter must be one the keyed plan uses (so that a document of the
    window passes all of them), or the one `!=` conjunct."""
    if node.kind not in QUANTIFIERS or node.where is None:
        return None
    plan = plan_quantifier(node)
    if plan is None or not plan.bounds or plan.semijoins:
        return None
    var = node.var
    reads: list[Expr] = []
    guards: list[Expr] = []
    filters: list[Expr] = []
    residual: tuple[Expr, Expr] | None = None
    equalities = bounds = 0
    for c in conjuncts(node.where):
        if _probe_side(c, var):
            guards.append(c)
            continue
        if is_link(c, var):
            reads.extend(Path((var, *parts)) for parts in link_keys(c))  # type: ignore[arg-type]
            continue
        if _key_side(c, var):
            reads.append(c)
            continue
        if not (isinstance(c, Binary) and c.op in ("==", "!=", *ORDER_FLIP)):
            if reads_batch(c):
                return None
            filters.append(c)  # reads this document and the visited one: on each visit
            continue
        for key, probe in ((c.left, c.right), (c.right, c.left)):
            if _key_side(key, var) and _probe_side(probe, var):
                break
        else:
            if reads_batch(c):
                return None
            filters.append(c)
            continue
        if c.op == "!=":
            if residual is not None:
                return None
            residual = (key, probe)
        elif c.op == "==":
            equalities += 1
        elif key == plan.bounds[0].key:
            bounds += 1
        else:
            return None  # a second window key: the plan does not narrow it
        reads.append(key)
    if equalities != len(plan.equalities) or bounds != len(plan.bounds):
        return None
    body = node.body
    if body is None and node.kind not in ("count", "any", "all", "none"):
        return None
    source = render(node.source)
    if (
        node.kind not in WINDOWED
        or filters
        or (
            body is not None and not (closed_over(body, frozenset({var})) and not reads_batch(body))
        )
    ):
        return Shape(
            plan, tuple(reads), residual, body, tuple(guards), False, True, source, tuple(filters)
        )
    body_reads = False
    if body is not None:
        # the body is evaluated on the documents the filter keeps: with a `!=` conjunct it must
        # record nothing the filter did not (TR-10's `t.value`, compared with the threshold)
        read = {p for expr in reads for p in (_paths(expr) or ())}
        leaves = _paths(body)
        if leaves is None or not leaves <= read:
            if residual is not None:
                return None
            body_reads = True
    if node.kind == "select" and residual is not None:
        return None
    return Shape(plan, tuple(reads), residual, body, tuple(guards), body_reads, False, source)


def _paths(node: Expr) -> set[Path] | None:
    """The paths an expression without quantifiers or presence tests evaluates (None: it has
    one, whose recording differs)."""
    found = read_paths(node)
    return None if found is None or found[1] else found[0]


_SHAPES: dict[int, tuple[Quantifier, Shape | None]] = {}


def _cached_shape(node: Quantifier) -> Shape | None:
    hit = _SHAPES.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    if len(_SHAPES) > 4096:
        _SHAPES.clear()
    shape = _SHAPES[id(node)] = (node, shape_of(node))
    return shape[1]


@dataclass
class _Sums:
    """One group of the batch, in window-key order, with running sums."""

    positions: list[int]  # batch positions
    prefix: list[int]  # prefix[i]: the contributions of the first i documents (bad: 0)
    bad: list[int]  # bad[i]: how many of the first i documents cannot be summed
    contrib: list[int | None]  # None: bad
    index: dict[int, int]  # id(document) -> its place in the group
    #: the `!=` key's value -> (places in the group, running sums of their contributions)
    by_residual: dict[Any, tuple[list[int], list[int]]]
    residual_of: list[Any]  # each document's `!=` key (None without one)
    ordered: bool  # the window-key order is the batch order (a select lists in batch order)


class _Windows:
    """The running sums of one windowed quantifier over one batch, built per group on use."""

    def __init__(self, node: Quantifier, shape: Shape, index: KeyedIndex, ev: Evaluator) -> None:
        self.node = node
        self.shape = shape
        self.index = index
        self._probe_ev = ev.fresh(record=False)
        self._groups: dict[Any, _Sums] = {}
        self._reads: dict[int, tuple[list[tuple[str, Any]], list[str]]] = {}
        self._reads_body: dict[int, tuple[list[tuple[str, Any]], list[str]]] = {}

    def sums(self, key: Any, positions: list[int], ev: Evaluator) -> _Sums:
        found = self._groups.get(key)
        if found is None:
            found = self._groups[key] = self._build(positions, ev)
        return found

    def _build(self, positions: list[int], ev: Evaluator) -> _Sums:

        view = ev.ctx.batch
        assert view is not None
        shape, var, kind = self.shape, self.node.var, self.node.kind
        docs = view.by_kind[shape.plan.kind]
        probe = self._probe_ev
        prefix, bad, contrib, residual_of = [0], [0], [], []
        index: dict[int, int] = {}
        by_residual: dict[Any, tuple[list[int], list[int]]] = {}
        for place, pos in enumerate(positions):
            doc = docs[pos]
            index[id(doc)] = place
            scope: Scope = {var: (doc, view.label(shape.plan.kind, pos))}
            value: Any = None  # None: this document cannot be taken from the window
            if all(probe.evaluate_in(c, scope).value is True for c in shape.plan.static):
                if shape.per_item:
                    value = 1  # the body is evaluated on each visit
                elif shape.body is None:
                    value = 1
                else:
                    v = probe.evaluate_in(shape.body, scope).value
                    if kind == "count":
                        value = 1 if v is True else 0 if v is False else None
                    elif kind == "select":
                        value = None if v is UNKNOWN else v
                    elif type(v) is int:
                        value = v
            rkey: Any = None
            if shape.residual is not None:
                rkey = _key(probe.evaluate_in(shape.residual[0], scope).value)
                if rkey is _WILD:
                    value = None
            contrib.append(value)
            residual_of.append(rkey)
            summed = value if kind != "select" and value is not None else 0
            prefix.append(prefix[-1] + summed)
            bad.append(bad[-1] + (value is None))
            if value is not None and shape.residual is not None:
                places, sums = by_residual.setdefault(rkey, ([], [0]))
                places.append(place)
                sums.append(sums[-1] + summed)
        ordered = all(a < b for a, b in zip(positions, positions[1:], strict=False))
        return _Sums(positions, prefix, bad, contrib, index, by_residual, residual_of, ordered)

    def reads_at(
        self, pos: int, ev: Evaluator, body: bool
    ) -> tuple[list[tuple[str, Any]], list[str]]:
        """What evaluating the filter on the document at batch position `pos` records, and
        its body too when `body` (when the body records what the filter does not)."""
        cache = self._reads_body if body else self._reads
        found = cache.get(pos)
        if found is None:
            view = ev.ctx.batch
            assert view is not None
            kind = self.shape.plan.kind
            scope: Scope = {self.node.var: (view.by_kind[kind][pos], view.label(kind, pos))}
            rec = ev.fresh()
            for expr in self.shape.reads:
                rec.evaluate_in(expr, scope)
            if body and self.shape.body is not None:
                rec.evaluate_in(self.shape.body, scope)
            found = cache[pos] = (list(rec.reads.items()), sorted(rec.absent))
        return found

    def record(self, ev: Evaluator, positions: Any, body: bool) -> None:
        reads, absent = ev.reads, ev.absent
        for pos in positions:
            found, gone = self.reads_at(pos, ev, body)
            for path, value in found:
                reads.setdefault(path, value)
            absent.update(gone)


def window_aggregate(ev: Evaluator, node: Quantifier, scope: Scope) -> Result | None:
    """A `sum`, `count` or `select` over a window of a keyed batch group, from the group's
    running sums (a select: its window's slice), recording what the item-by-item evaluation
    records; None when it must be evaluated item by item."""

    view = ev.ctx.batch
    if view is None or not view.windows or node.kind not in QUANTIFIERS:
        return None
    shape = _cached_shape(node)
    if shape is None or not view.has_others(shape.plan.kind, ev.ctx.document):
        return None
    if ev.record and not view.unique_labels(shape.plan.kind):
        return None
    index = view.keyed_index(node, ev)
    if index is None:
        return None
    store_key = ("windows", id(node))
    held = view.shared.get(store_key)
    if held is None or held.node is not node:
        held = view.shared[store_key] = _Windows(node, shape, index, ev)
    windows: _Windows = held
    probes, lo, hi, _, complete = index.probe(ev, scope)  # what `candidates` reads
    if not complete:
        return None
    located = index.locate(probes, lo, hi)
    if located is None:
        return _unlocated(ev, windows, probes, lo, hi, scope)
    key, group, window = located
    sums = windows.sums(key, group.positions, ev)
    start, stop = window.start, window.stop
    own = sums.index.get(id(ev.ctx.document))  # a batch quantifier never visits it
    mine = own if own is not None and start <= own < stop else None
    if stop - start - (mine is not None) <= 0:
        return ev.aggregate(node.kind, [], shape.source)
    # the conjuncts that do not read the visited document: evaluated (read) once one is visited
    dead = False
    for guard in shape.guards:
        held_value = index.value(ev, guard, scope)
        if held_value is UNKNOWN:
            return None
        dead = dead or held_value is False
    other: Any = None
    if shape.residual is not None:
        other = _key(index.value(ev, shape.residual[1], scope))
        if other is _WILD:
            return None
    if dead and shape.filters:
        return None  # their reads are made on each visit
    if dead:  # no document passes the filter: their bodies are not read
        if ev.record:
            _record(ev, windows, sums, start, stop, own, False)
        return ev.aggregate(node.kind, [], shape.source)
    if sums.bad[stop] - sums.bad[start] - (mine is not None and sums.contrib[mine] is None):
        return None
    if ev.record:
        _record(ev, windows, sums, start, stop, own, shape.body_reads)
    if shape.per_item:
        return _per_item(ev, windows, sums, start, stop, mine, other, scope)
    if node.kind == "select":
        places = [p for p in range(start, stop) if p != mine]
        if not sums.ordered:
            places.sort(key=sums.positions.__getitem__)
        return _result([sums.contrib[p] for p in places])
    total = sums.prefix[stop] - sums.prefix[start]
    if shape.residual is not None:
        places, running = sums.by_residual.get(other, ([], [0]))
        a, b = bisect_left(places, start), bisect_left(places, stop)
        total -= running[b] - running[a]
        if mine is not None and sums.residual_of[mine] == other:
            mine = None  # already left out by `!=`
    if mine is not None:
        total -= sums.contrib[mine] or 0
    return _result(total)


def _per_item(
    ev: Evaluator,
    windows: _Windows,
    sums: _Sums,
    start: int,
    stop: int,
    mine: int | None,
    other: Any,
    scope: Scope,
) -> Result:
    """The quantifier's value from its body evaluated on each document of the window, in
    batch order, as the reference does for a document whose filter holds (the filter's reads
    are recorded already); those the `!=` conjunct leaves out are skipped."""
    node, shape = windows.node, windows.shape
    assert ev.ctx.batch is not None
    places = [p for p in range(start, stop) if p != mine]
    if shape.residual is not None:
        places = [p for p in places if sums.residual_of[p] != other]
    if not sums.ordered:
        places.sort(key=sums.positions.__getitem__)
    view, kind, var = ev.ctx.batch, shape.plan.kind, node.var
    docs = view.by_kind[kind]
    inner = dict(scope)
    verdicts: list[tuple[Any, frozenset[str]]] = []
    counted = node.kind in ("any", "all", "none", "count")
    for place in places:
        pos = sums.positions[place]
        inner[var] = (docs[pos], view.label(kind, pos))
        keep: Any = True
        miss: frozenset[str] = frozenset()
        for condition in shape.filters:  # as `where`, whose other conjuncts hold
            found = ev.evaluate_in(condition, inner)
            keep = kleene("and", keep, found.value)
            miss = miss | found.missing
        if keep is False:
            continue
        if shape.body is None:  # the filter alone
            body = Result(keep, miss if keep is UNKNOWN else frozenset())
        else:
            body = ev.evaluate_in(shape.body, inner)
            if keep is UNKNOWN:
                if skips_unknown_where(node.kind, body.value):
                    continue
                body = Result(UNKNOWN, miss | body.missing)
        verdicts.append(
            (UNKNOWN if counted and body.value is UNKNOWN else body.value, body.missing)
        )
    return ev.aggregate(node.kind, verdicts, shape.source)


def _unlocated(
    ev: Evaluator, windows: _Windows, probes: list[Any], lo: Any, hi: Any, scope: Scope
) -> Result | None:
    """A window that cannot be summed (a key of this document is unknown, or some document's
    key): decided only when a conjunct that does not read the visited document is false (the
    filter then keeps nothing: TR-10's `customer_id is present` for a document without one),
    recording what visiting the candidates records; else None."""

    shape, node = windows.shape, windows.node
    view = ev.ctx.batch
    assert view is not None
    if not shape.guards or shape.filters:
        return None
    candidates = windows.index.candidates_at(probes, lo, hi)
    if candidates is None:
        return None
    docs, mine = view.by_kind[shape.plan.kind], ev.ctx.document
    visited = [p for p in candidates if docs[p] is not mine]
    if not visited:
        return ev.aggregate(node.kind, [], shape.source)
    dead = False
    for guard in shape.guards:
        value = ev.evaluate_in(guard, scope).value
        if value is UNKNOWN:
            return None
        dead = dead or value is False
    if not dead:
        return None
    if shape.residual is not None:
        ev.evaluate_in(shape.residual[1], scope)
    if ev.record:
        windows.record(ev, visited, False)
    return ev.aggregate(node.kind, [], shape.source)


def _record(
    ev: Evaluator,
    windows: _Windows,
    sums: _Sums,
    start: int,
    stop: int,
    mine: int | None,
    body: bool,
) -> None:
    """Record the reads of the window's documents not recorded yet in this finding (one
    interval per quantifier, group and kind of visit: a finding's windows over a group
    overlap, so the documents recorded per finding are about those of the union)."""
    cover_key = ("windows: recorded", id(windows.node), id(sums), body)
    done = ev.memo.get(cover_key)
    todo: list[range]
    if done is None:
        todo = [range(start, stop)]
        merged = (start, stop)
    else:
        a, b = done
        if stop < a or start > b:  # apart: record it all, keep the larger interval
            todo = [range(start, stop)]
            merged = (start, stop) if stop - start > b - a else (a, b)
        else:
            todo = [range(start, min(a, stop)), range(max(b, start), stop)]
            merged = (min(a, start), max(b, stop))
    ev.memo[cover_key] = merged
    positions = sums.positions
    for part in todo:
        windows.record(ev, (positions[p] for p in part if p != mine), body)


def _result(value: Any) -> Result:
    return Result(value)


__all__ = ["QUANTIFIERS", "WINDOWED", "Shape", "shape_of", "window_aggregate"]
