"""Keyed indexes of a batch: the run-time half of interp/batchplan.py.

One index per (batch quantifier, batch) is built in one pass over the documents of its kind:
documents failing a filter conjunct on themselves alone are dropped once; the rest are grouped
by their equality keys and, within a group, sorted by the window key. A document's evaluation
then visits its group's window only (plus documents whose key is unknown, which can never be
skipped): O(log n + window) instead of O(n). Skipping a document is only ever done when its
filter is certainly false, so verdicts are those of the full scan.

A `linked(x, KEY, ...)` conjunct is one more equality key: the document's component of the
batch, computed once per batch by union-find (`components`) and compared like any other key.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from ..lang.ast import Expr, Path, Presence, Quantifier, children, link_keys
from ..lang.values import UNKNOWN, Scope
from .batchplan import QuantPlan
from .evaluating import Evaluating as Evaluator  # the face of reference.Evaluator (a Protocol)

Bounds = tuple[Any, bool] | None  # a window bound: (value, inclusive), None when open


def hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(hashable(v) for v in value)
    return value


@dataclass
class _Group:
    keys: list[Any] = field(default_factory=list)  # sorted window keys
    positions: list[int] = field(default_factory=list)  # aligned with keys
    unsorted: list[int] = field(default_factory=list)  # window key unknown: always visited


class KeyedIndex:
    """The documents of one kind that can pass one batch quantifier's filter, by key."""

    def __init__(
        self, plan: QuantPlan, docs: Sequence[Any], labels: Sequence[str], ev: Evaluator
    ) -> None:
        self.plan = plan
        self._docs = docs
        self._labels = labels
        self._groups: dict[tuple[int, ...], tuple[dict[Any, _Group], list[int]]] = {}
        self._semi: list[tuple[dict[Any, list[int]], list[int]]] | None = None
        var = plan.var
        allowed: list[int] = []
        eq_values: list[list[Any]] = []
        window: list[Any] = []
        view = ev.ctx.batch
        #: per `linked` conjunct: id(document) -> its component in the batch
        self._links = [
            {} if view is None else view.components(plan.kind, link_keys(c), ev.ctx)
            for c in plan.links
        ]
        for pos, doc in enumerate(docs):
            scope: Scope = {var: (doc, labels[pos])}
            if any(ev.evaluate_in(c, scope).value is False for c in plan.static):
                continue
            allowed.append(pos)
            eq_values.append(
                [_key(ev.evaluate_in(e.key, scope).value) for e in plan.equalities]
                + [link.get(id(doc), _WILD) for link in self._links]
            )
            if plan.bounds:
                window.append(_key(ev.evaluate_in(plan.bounds[0].key, scope).value))
        self.allowed = allowed
        self._eq_values = eq_values
        self._window = window
        self._ev = ev
        #: `value`'s caches: id(expression) -> (it, its heads); (id(expression), id(document),
        #: label) -> (expression, value, reads, absent paths) for one bound batch document
        self._heads: dict[int, tuple[Expr, frozenset[str] | None]] = {}
        self._link_paths = {id(c): [Path(parts) for parts in link_keys(c)] for c in plan.links}
        self._bound: dict[
            tuple[int, int, str], tuple[Expr, Any, list[tuple[str, Any]], list[str]]
        ] = {}

    # -- groups by a subset of the equality keys ---------------------------------------------
    def _grouped(self, mask: tuple[int, ...]) -> tuple[dict[Any, _Group], list[int]]:
        hit = self._groups.get(mask)
        if hit is not None:
            return hit
        groups: dict[Any, _Group] = {}
        wild: list[int] = []
        staged: dict[Any, list[tuple[Any, int]]] = {}
        for n, pos in enumerate(self.allowed):
            values = self._eq_values[n]
            key = tuple(values[i] for i in mask)
            if any(v is _WILD for v in key):
                wild.append(pos)
                continue
            w = self._window[n] if self.plan.bounds else None
            staged.setdefault(key, []).append((w, pos))
        for key, entries in staged.items():
            group = _Group()
            if self.plan.bounds:
                known = [(w, p) for w, p in entries if w is not _WILD]
                group.unsorted = [p for w, p in entries if w is _WILD]
                try:
                    known.sort(key=lambda e: e[0])
                except TypeError:  # keys of different types: no window, visit them all
                    group.unsorted = sorted(p for _, p in entries)
                    known = []
                group.keys = [w for w, _ in known]
                group.positions = [p for _, p in known]
            else:
                group.unsorted = [p for _, p in entries]
            groups[key] = group
        self._groups[mask] = (groups, wild)
        return groups, wild

    def locate(
        self, probes: list[Any], lo: Bounds, hi: Bounds
    ) -> tuple[tuple[Any, ...], _Group, slice] | None:
        """The group of a document whose every equality and link key is known (`probes`), and
        the slice of its window between `lo` and `hi`: None unless the window is exact (no
        document of the kind has an unknown key, no window key of the group is unknown)."""
        if any(p is _WILD for p in probes):
            return None
        groups, wild = self._grouped(tuple(range(len(probes))))
        if wild:
            return None
        key = tuple(probes)
        group = groups.get(key)
        if group is None:
            return key, _Group(), slice(0, 0)
        if group.unsorted:
            return None
        try:
            start = 0 if lo is None else (bisect_left if lo[1] else bisect_right)(group.keys, lo[0])
            stop = (
                len(group.keys)
                if hi is None
                else (bisect_right if hi[1] else bisect_left)(group.keys, hi[0])
            )
        except TypeError:
            return None
        return key, group, slice(start, max(start, stop))

    def _semijoin(self, i: int) -> tuple[dict[Any, list[int]], list[int]]:
        if self._semi is None:
            self._semi = [self._build_semijoin(j) for j in range(len(self.plan.semijoins))]
        return self._semi[i]

    def _build_semijoin(self, i: int) -> tuple[dict[Any, list[int]], list[int]]:
        semi = self.plan.semijoins[i]
        ev = self._ev
        by_value: dict[Any, list[int]] = {}
        wild: list[int] = []
        for pos in self.allowed:
            scope: Scope = {self.plan.var: (self._docs[pos], self._labels[pos])}
            leaves, mapped = ev.resolve(semi.source, scope)
            items = leaves
            if not mapped and leaves and isinstance(leaves[0][0], list):
                raw_list, base = leaves[0]
                items = [(item, f"{base}[{i}]") for i, item in enumerate(raw_list)]
            seen: set[Any] = set()
            is_wild = False
            for raw, path in items:
                if raw is None:
                    is_wild = True
                    break
                inner = dict(scope)
                inner[semi.item_var] = (raw, path)
                value = _key(ev.evaluate_in(semi.key, inner).value)
                if value is _WILD:
                    is_wild = True
                    break
                seen.add(value)
            if is_wild:
                wild.append(pos)
                continue
            for value in seen:
                by_value.setdefault(value, []).append(pos)
        return by_value, wild

    # -- one document's candidates -----------------------------------------------------------
    def candidates(self, ev: Evaluator, scope: Scope) -> list[int] | None:
        """Positions (in batch order) of the documents that can pass the filter, evaluated in
        `scope`; None when the plan cannot narrow them (then every document is visited)."""
        plan = self.plan
        probes, lo, hi, semi_probes, _ = self.probe(ev, scope)
        chosen = self.candidates_at(probes, lo, hi)
        if chosen is not None:
            return chosen
        for i, value in enumerate(semi_probes):
            values = value if self.plan.semijoins[i].member else [value]
            if value is UNKNOWN or not isinstance(values, list):
                continue
            keys = [_key(v) for v in values]
            if any(k is _WILD for k in keys):
                continue
            by_value, wild = self._semijoin(i)
            found: set[int] = set(wild)
            for k in keys:
                found.update(by_value.get(k, ()))
            return sorted(found)
        if plan.static:
            return list(self.allowed)
        return None

    def candidates_at(self, probes: list[Any], lo: Bounds, hi: Bounds) -> list[int] | None:
        """`candidates` from the probes (`probe`), when a key or a window narrows them."""
        mask = tuple(i for i, p in enumerate(probes) if p is not _WILD)
        if not (mask or self.plan.bounds):
            return None
        groups, wild = self._grouped(mask)
        group = groups.get(tuple(probes[i] for i in mask))
        if group is None:
            return sorted(wild)
        chosen = list(group.unsorted) + wild
        chosen.extend(group.positions[_window(group.keys, lo, hi)])
        return sorted(chosen)

    def probe(
        self, ev: Evaluator, scope: Scope
    ) -> tuple[list[Any], Bounds, Bounds, list[Any], bool]:
        """The evaluating document's side of the filter, read (and recorded) as `candidates`
        reads it: the equality and link keys (`_WILD` when unknown), the tightest window
        bounds (value, inclusive), the semi-join probes, and whether every bound was known."""
        plan = self.plan
        value = self.value
        probes = [_key(value(ev, e.probe, scope)) for e in plan.equalities]
        for link_call, link in zip(plan.links, self._links, strict=True):
            if ev.record:  # what evaluating `linked` on any document would read of this one
                for path in self._link_paths[id(link_call)]:
                    value(ev, path, scope)
            probes.append(link.get(id(ev.ctx.document), _WILD))
        lo: tuple[Any, bool] | None = None
        hi: tuple[Any, bool] | None = None
        complete = True
        for b in plan.bounds:
            v = _key(value(ev, b.probe, scope))
            if v is _WILD:
                complete = False
                continue
            try:
                if b.op in (">", ">="):
                    if lo is None or v > lo[0] or (v == lo[0] and b.op == ">"):
                        lo = (v, b.op == ">=")
                elif hi is None or v < hi[0] or (v == hi[0] and b.op == "<"):
                    hi = (v, b.op == "<=")
            except TypeError:
                complete = False
                continue
        semi_probes = [value(ev, s.probe, scope) for s in plan.semijoins]
        return probes, lo, hi, semi_probes, complete

    def value(self, ev: Evaluator, expr: Expr, scope: Scope) -> Any:
        """`ev.evaluate_in(expr, scope).value`, with the same recording, computed once per
        evaluation when `expr` reads only the evaluating document (its fields, parameters,
        `as_of`), and once per batch when it reads one bound document alone (TR-10's inner
        window `s.executed_at + hours(...)`, evaluated for every `s` of every transfer)."""
        heads = self._heads.get(id(expr))
        if heads is None:
            heads = self._heads[id(expr)] = (expr, _heads(expr))
        if heads[0] is not expr or heads[1] is None:
            return ev.evaluate_in(expr, scope).value
        bound = [h for h in heads[1] if h in scope]
        if not bound:
            key = ("keyed: this document's value", id(expr))
            hit = ev.memo.get(key, _UNSEEN)
            if hit is _UNSEEN:
                hit = ev.memo[key] = ev.evaluate_in(expr, scope).value
            return hit
        if len(bound) > 1 or not isinstance(scope[bound[0]][0], BaseModel):
            return ev.evaluate_in(expr, scope).value
        raw, label = scope[bound[0]]
        entry = self._bound.get((id(expr), id(raw), label))
        if entry is None or entry[0] is not expr:
            rec = ev.fresh()
            result = rec.evaluate_in(expr, {bound[0]: (raw, label)}).value
            entry = (expr, result, list(rec.reads.items()), list(rec.absent))
            self._bound[(id(expr), id(raw), label)] = entry
        if ev.record:
            reads = ev.reads
            for path, json_value in entry[2]:
                reads.setdefault(path, json_value)
            ev.absent.update(entry[3])
        return entry[1]


_WILD = object()  # an unknown or unhashable key: the document is always visited
_UNSEEN = object()


def _heads(node: Expr) -> frozenset[str] | None:
    """The first names of the paths an expression reads; None when it has a quantifier or
    reads the batch (then it is evaluated each time)."""
    found = read_paths(node)
    if found is None:
        return None
    heads = frozenset(path.parts[0] for path in found[0])
    return None if "batch" in heads else heads


def read_paths(node: Expr) -> tuple[set[Path], bool] | None:
    """The paths an expression without quantifiers reads, and whether a presence test reads
    one of them; None when it has a quantifier."""
    if isinstance(node, Quantifier):
        return None
    if isinstance(node, Path):
        return {node}, False
    if isinstance(node, Presence):
        return {node.path}, True
    paths: set[Path] = set()
    presence = False
    for child in children(node):
        found = read_paths(child)
        if found is None:
            return None
        paths |= found[0]
        presence = presence or found[1]
    return paths, presence


def components(n: int, groups: Sequence[Sequence[int]]) -> list[int]:
    """Connected components of n items (0..n-1) joined by groups (each group's items are all
    joined): union-find with path halving and union by size, near-linear in n plus the groups'
    sizes. Returns each item's component as the smallest item of it."""
    parent = list(range(n))
    size = [1] * n

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for group in groups:
        if not group:
            continue
        root = find(group[0])
        for item in group[1:]:
            other = find(item)
            if other == root:
                continue
            if size[other] > size[root]:
                root, other = other, root
            parent[other] = root
            size[root] += size[other]
    smallest: dict[int, int] = {}
    out = [find(i) for i in range(n)]
    for i, root in enumerate(out):
        smallest.setdefault(root, i)
    return [smallest[root] for root in out]


def _key(value: Any) -> Any:
    if value is UNKNOWN:
        return _WILD
    if isinstance(value, list):
        if any(v is UNKNOWN for v in value):
            return _WILD
        return hashable(value)
    try:
        hash(value)
    except TypeError:
        return _WILD
    return value


def _window(keys: list[Any], lo: tuple[Any, bool] | None, hi: tuple[Any, bool] | None) -> slice:
    try:
        start = 0 if lo is None else (bisect_left if lo[1] else bisect_right)(keys, lo[0])
        stop = len(keys) if hi is None else (bisect_right if hi[1] else bisect_left)(keys, hi[0])
    except TypeError:
        return slice(0, len(keys))
    return slice(start, max(start, stop))
