"""Cross-document facts for splitting a batch: which documents a document's evaluation can
visit, from the pack's keyed batch plan (interp/batchplan.py), computed in one pass.

Each keyed access groups documents by key values (a wallet, an originator and direction):
a document visits only documents sharing one of its own key values, plus documents whose key is
unknown (they can never be skipped). A chunk of the batch evaluated beside its `neighbours`
therefore decides exactly as it would inside the whole batch. Accesses without a key (and
documents whose own key is unknown) visit every document of the kind: those are all sent.

A transitive access (`linked(x, KEY, ...)`) links documents through chains of shared key
values: each document publishes each of its known key values (`links`), and a chunk needs the
whole component of each of its documents, found by following the chain (`Neighbours.of`,
the stream's key store and the Dask round do so in their own way). Every document of the kind
takes part, whatever the rest of the filter says: a chain may pass through any of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..interp.batchplan import Access, BatchPlan
from ..interp.keyed import hashable
from ..interp.reference import Context, Evaluator
from ..lang.values import UNKNOWN, Scope
from ..runtime.evaluate import Item

#: key of one document for one access: (access number, key value)
GroupKey = tuple[int, Any]


@dataclass
class DocKeys:
    """What one document publishes and looks for."""

    kind: str
    publishes: list[GroupKey] = field(default_factory=list)  # others find it by these
    wild: list[int] = field(default_factory=list)  # accesses where everyone must see it
    probes: list[GroupKey] = field(default_factory=list)  # it visits documents with these
    needs_all: list[str] = field(default_factory=list)  # kinds it visits entirely
    #: transitive accesses: (access, (key number, value)), published and followed at once
    links: list[GroupKey] = field(default_factory=list)


class Grouping:
    """Keys of the documents of a batch for a pack's batch plan."""

    def __init__(self, plan: BatchPlan, ctx: Context) -> None:
        self.accesses: list[Access] = [a for a in plan.accesses if a.kind]
        self._ev = Evaluator(ctx, record=False)
        self._by_owner: dict[str, list[int]] = {}
        self._by_kind: dict[str, list[int]] = {}
        #: transitive access -> the first one with the same kind and keys (one space for all)
        self._link_space: dict[int, int] = {}
        first: dict[tuple[str, tuple[Any, ...]], int] = {}
        for n, access in enumerate(self.accesses):
            self._by_owner.setdefault(access.owner, []).append(n)
            self._by_kind.setdefault(access.kind, []).append(n)
            if access.transitive:
                self._link_space[n] = first.setdefault((access.kind, access.group or ()), n)

    @property
    def relates(self) -> bool:
        """Whether any rule relates documents at all."""
        return bool(self.accesses)

    def kinds(self) -> set[str]:
        return set(self._by_owner) | set(self._by_kind)

    def keys(self, item: Item) -> DocKeys:
        """One pass over one document: its keys for every access that involves its kind."""
        out = DocKeys(item.kind)
        label = item.id
        for n in self._by_kind.get(item.kind, []):
            access = self.accesses[n]
            if access.transitive:
                if self._link_space[n] == n:
                    out.links.extend((n, key) for key in self._link_values(access, item))
                continue
            if access.group is None:
                continue
            scope = {access.var: (item.model, label)}
            if any(self._ev.evaluate_in(c, scope).value is False for c in access.static):
                continue
            values = self._values(access, scope)
            if values is None:
                out.wild.append(n)
            else:
                out.publishes.extend((n, v) for v in values)
        for n in self._by_owner.get(item.kind, []):
            access = self.accesses[n]
            if access.transitive:
                continue  # its links (above) are what it follows
            if access.group is None:
                out.needs_all.append(access.kind)
                continue
            values = self._values(access, {access.var: (item.model, label)})
            if values is None:
                out.needs_all.append(access.kind)
            else:
                out.probes.extend((n, v) for v in values)
        return out

    def _link_values(self, access: Access, item: Item) -> list[Any]:
        """A document's known values of a transitive access's keys, as (key number, value)."""
        assert access.group is not None
        scope = {access.var: (item.model, item.id)}
        out: list[Any] = []
        for i, expr in enumerate(access.group):
            value = self._ev.evaluate_in(expr, scope).value
            if value is not UNKNOWN:
                out.append((i, hashable(value)))
        return out

    def _values(self, access: Access, scope: Scope) -> list[Any] | None:
        """The key values of one document (None: unknown, it matches anything)."""
        assert access.group is not None
        parts: list[Any] = []
        for expr in access.group:
            value = self._ev.evaluate_in(expr, scope).value
            if value is UNKNOWN:
                return None
            parts.append(value)
        if len(parts) == 1:
            value = parts[0]
            if isinstance(value, list):  # a key through a list: one value per item
                if any(v is UNKNOWN for v in value):
                    return None
                return sorted({hashable(v) for v in value}, key=repr)
            return [hashable(value)]
        if any(isinstance(p, list) for p in parts):
            return None
        return [tuple(hashable(p) for p in parts)]


class Neighbours:
    """An in-memory index of a batch's keys: the documents a chunk needs beside it."""

    def __init__(self, keys: Sequence[DocKeys]) -> None:
        self.members: dict[GroupKey, list[int]] = {}
        self.wild: dict[int, list[int]] = {}
        self.by_kind: dict[str, list[int]] = {}
        self.linked: dict[GroupKey, list[int]] = {}
        for pos, k in enumerate(keys):
            self.by_kind.setdefault(k.kind, []).append(pos)
            for g in k.links:
                self.linked.setdefault(g, []).append(pos)
            for g in k.publishes:
                self.members.setdefault(g, []).append(pos)
            for n in k.wild:
                self.wild.setdefault(n, []).append(pos)
        self._keys = keys

    def of(self, positions: Iterable[int]) -> list[int]:
        """Positions outside `positions` that their evaluations may visit (sorted)."""
        mine = set(positions)
        found: set[int] = set()
        kinds: set[str] = set()
        accesses: set[int] = set()
        for pos in mine:
            k = self._keys[pos]
            kinds.update(k.needs_all)
            for g in k.probes:
                accesses.add(g[0])
                found.update(self.members.get(g, ()))
        for n in accesses:
            found.update(self.wild.get(n, ()))
        for kind in kinds:
            found.update(self.by_kind.get(kind, ()))
        found.update(self._components(mine))
        return sorted(found - mine)

    def _components(self, positions: set[int]) -> set[int]:
        """The documents joined to `positions` by chains of shared link keys (breadth-first,
        each key and document visited once: linear in the components' sizes)."""
        seen_keys: set[GroupKey] = set()
        reached: set[int] = set(positions)
        queue = [g for pos in positions for g in self._keys[pos].links]
        while queue:
            g = queue.pop()
            if g in seen_keys:
                continue
            seen_keys.add(g)
            for pos in self.linked.get(g, ()):
                if pos not in reached:
                    reached.add(pos)
                    queue.extend(self._keys[pos].links)
        return reached
