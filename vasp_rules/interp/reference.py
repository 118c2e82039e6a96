"""The reference interpreter: evaluates compiled conditions directly, in three-valued logic.

It is the test oracle for the durable-rules matcher (both must agree on every document), the
source of explanations (which facts were read, which were missing, which list items mattered),
and the evaluator of sub-expressions that the matcher cannot express (aggregates, working days).

Three-valued logic (Kleene): a comparison that reads an absent fact is UNKNOWN; `false and X`
is false whatever X is; `true or X` is true. A rule whose condition is UNKNOWN asks for the
missing facts (REQUIRE_DOCUMENTS) instead of guessing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from pydantic import BaseModel

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
    link_keys,
    render,
)
from ..lang.dates import Calendar
from ..lang.dates import add_months as add_months  # re-exported for their earlier users
from ..lang.dates import add_working_days as add_working_days
from ..lang.semantics import (
    COMPARE,
    aggregate,
    aggregate_gap,
    arithmetic,
    arithmetic_gap,
    builtin,
    engine_value,
    engine_value_gap,
    kleene,
    kleene_not,
    membership,
    skips_unknown_where,
    step,
)
from ..lang.values import MODEL, SHAPES, UNKNOWN, Scope, date_to_engine, to_json_value
from .batchplan import plan_quantifier
from .evaluating import NONE as NONE  # re-exported: compiler, runtime, explain import them here
from .evaluating import Missing as Missing
from .evaluating import Result as Result
from .keyed import KeyedIndex, components
from .windows import QUANTIFIERS, window_aggregate


class BatchView:
    """The documents evaluated together, by kind, shared by every document's context.

    Built once per evaluation, so that relating n documents does not cost n copies of the
    batch; it also keeps value indexes (kind, field path) -> documents, so that a batch
    quantifier filtered by `x.field == value`, or a test `v in batch.KIND.path`, visits only
    the documents that can match."""

    def __init__(
        self, documents: Sequence[tuple[str, str, BaseModel]], *, keyed: bool = True
    ) -> None:
        #: False evaluates every batch quantifier by visiting every document (the plain
        #: definition; the oracle of the keyed plans)
        self.keyed = keyed
        #: False evaluates sums, counts and selects over a window item by item (the oracle of
        #: interp/windows.py's running sums)
        self.windows = keyed
        self._indexes: dict[int, tuple[Quantifier, KeyedIndex | None]] = {}
        self.by_kind: dict[str, list[BaseModel]] = {}
        self.ids: dict[int, str] = {}
        self._kind_of: dict[int, str] = {}
        for kind, doc_id, model in documents:
            self.by_kind.setdefault(kind, []).append(model)
            self.ids[id(model)] = doc_id
            self._kind_of[id(model)] = kind
        self._leaves: dict[tuple[str, tuple[str, ...]], _Leaves] = {}
        self._components: dict[tuple[str, LinkKeys], dict[int, int]] = {}
        self._plain_links: dict[tuple[str, LinkKeys, int], frozenset[int]] = {}
        #: per generated node, what the generated code computed once for this batch's
        #: documents (compiler/codegen.py): the documents live as long as the view
        self.shared: dict[Any, Any] = {}
        self._unique: dict[str, bool] = {}

    def release(self) -> None:
        """Drop what was computed for this batch (indexes, windows, shared values). Their
        evaluators refer back to the view, a cycle only the cyclic collector frees: released
        once the batch is decided, the documents are freed as soon as nothing else holds them."""
        for cache in (self._indexes, self._leaves, self._components, self._plain_links,
                      self.shared, self._unique):
            cache.clear()

    def label(self, kind: str, position: int) -> str:
        """How a batch document is named in paths: batch.KIND[document id]."""
        doc = self.by_kind[kind][position]
        return f"batch.{kind}[{self.ids.get(id(doc), position)}]"

    def unique_labels(self, kind: str) -> bool:
        """Whether no two documents of `kind` share an id (so none share a label)."""
        found = self._unique.get(kind)
        if found is None:
            docs = self.by_kind.get(kind, [])
            found = self._unique[kind] = len({self.ids.get(id(d)) for d in docs}) == len(docs)
        return found

    def has_others(self, kind: str, document: BaseModel | None) -> bool:
        """Whether the batch holds a document of `kind` other than `document`."""
        count = len(self.by_kind.get(kind, []))
        return count > (1 if self._kind_of.get(id(document)) == kind else 0)

    def keyed_index(self, node: Quantifier, ev: Evaluator) -> KeyedIndex | None:
        """The keyed index of a batch quantifier over this batch (interp/batchplan.py),
        built on first use; None when its filter has no keyed shape."""
        entry = self._indexes.get(id(node))
        if entry is not None and entry[0] is node:
            return entry[1]
        plan = plan_quantifier(node)
        index = None
        if plan is not None and plan.keyed:
            docs = self.by_kind.get(plan.kind, [])
            labels = [self.label(plan.kind, i) for i in range(len(docs))]
            index = KeyedIndex(plan, docs, labels, Evaluator(ev.ctx, record=False))
        self._indexes[id(node)] = (node, index)
        return index

    def components(self, kind: str, keys: LinkKeys, ctx: Context) -> dict[int, int]:
        """`linked(...)`'s keyed plan: id(document) -> its component (a number), for every
        document of `kind`, joined by union-find over the value index of each key (`leaves`):
        near-linear, once per batch. Two documents share a component exactly when a chain of
        documents joins them, each sharing a known value of one key with the next."""
        entry = self._components.get((kind, keys))
        if entry is None:
            docs = self.by_kind.get(kind, [])
            groups: list[list[int]] = []
            for parts in keys:
                for found in self.leaves(kind, parts, ctx).by_value.values():
                    groups.append([position for position, _, _ in found])
            roots = components(len(docs), groups)
            entry = self._components[(kind, keys)] = {
                id(doc): roots[i] for i, doc in enumerate(docs)
            }
        return entry

    def linked_plain(
        self, kind: str, keys: LinkKeys, start: BaseModel, ctx: Context
    ) -> frozenset[int]:
        """`linked(...)`'s plain definition (the oracle of `components`): ids of the documents
        of `kind` reachable from `start` by breadth-first search, a step joining two documents
        when some key has a known value in both and the values are equal (`==`)."""
        cache = (kind, keys, id(start))
        found = self._plain_links.get(cache)
        if found is None:
            docs = self.by_kind.get(kind, [])
            probe = Evaluator(ctx, record=False)
            values = [
                [
                    probe.evaluate_in(Path(("__doc", *parts)), {"__doc": (doc, "")}).value
                    for parts in keys
                ]
                for doc in docs
            ]
            seen = {i for i, doc in enumerate(docs) if doc is start}
            queue = list(seen)
            while queue:
                u = queue.pop()
                for v in range(len(docs)):
                    if v not in seen and any(
                        a is not UNKNOWN and b is not UNKNOWN and a == b
                        for a, b in zip(values[u], values[v], strict=True)
                    ):
                        seen.add(v)
                        queue.append(v)
            found = self._plain_links[cache] = frozenset(id(docs[i]) for i in seen)
        return found

    def linked(
        self, kind: str, keys: LinkKeys, doc: BaseModel, other: BaseModel, ctx: Context
    ) -> bool:
        """Whether two documents of `kind` are linked (the keyed plan or the plain one)."""
        if not self.keyed:
            return id(other) in self.linked_plain(kind, keys, doc, ctx)
        found = self.components(kind, keys, ctx)
        mine = found.get(id(doc))
        return mine is not None and found.get(id(other)) == mine

    def kind_of(self, document: BaseModel | None) -> str | None:
        return self._kind_of.get(id(document))

    def leaves(self, kind: str, parts: tuple[str, ...], ctx: Context) -> _Leaves:
        """Every value at `batch.KIND.parts` (through lists), by engine value, with the
        document it belongs to and its concrete path; built once per batch."""
        key = (kind, parts)
        if key not in self._leaves:
            by_value: dict[Any, list[tuple[int, str, Any]]] = {}
            unknown: list[tuple[int, str, Any]] = []
            probe = Evaluator(ctx, record=False)
            for i, doc in enumerate(self.by_kind.get(kind, [])):
                scope = {"__doc": (doc, self.label(kind, i))}
                found, _ = probe.resolve(Path(("__doc", *parts)), scope)
                for raw, path in found:
                    value = engine_value(raw, ctx.fx_to_pkr)
                    entry = (i, path, None if raw is None else to_json_value(raw))
                    if value is UNKNOWN:
                        unknown.append(entry)
                    else:
                        by_value.setdefault(_hashable(value), []).append(entry)
            self._leaves[key] = _Leaves(by_value, unknown)
        return self._leaves[key]


@dataclass(frozen=True)
class _Leaves:
    by_value: dict[Any, list[tuple[int, str, Any]]]  # value -> (document, path, JSON value)
    unknown: list[tuple[int, str, Any]]  # absent values: a membership test on them is unknown


LinkKeys = tuple[tuple[str, ...], ...]  # the key paths of `linked(...)`


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


@dataclass
class Context:
    """Everything an evaluation may read besides the condition itself."""

    document: BaseModel | None  # None only while folding constants
    as_of: date
    params: Mapping[str, Any] = field(default_factory=dict)  # engine values on as_of
    fx_to_pkr: Mapping[str, Decimal] = field(default_factory=dict)
    batch: BatchView | None = None  # every document of the evaluation, this one included
    #: the working-day calendar (holidays, last day covered); None: weekdays, no last day
    calendar: Calendar | None = None


class NodeHook(Protocol):
    """Called once per evaluated node, after it is evaluated (see `Evaluator`)."""

    def __call__(self, node: Expr, scope: Scope, result: Result, reads: dict[str, Any]) -> None: ...


class Evaluator:
    """Evaluates expressions against one context and records what it read.

    `reads` maps each concrete field path read (with list indices) to its JSON value;
    `absent` collects paths found absent by an explicit `is missing` test that held.

    With a `hook`, every node evaluated (each call of `_eval`, quantifier items' filters and
    bodies included) is reported as `hook(node, scope, result, reads)`, `reads` being what
    that node's evaluation read, as a fresh evaluator of that node alone would record it: each
    node gets its own `reads` and `memo` while it is evaluated (merged into its parent's
    reads afterwards), so what a parent memoised is read again by its children. One
    evaluation then yields every node's result (explain/why.py's trace). Without a hook
    nothing changes: the hooked path is bound per instance, the plain one costs nothing.
    """

    hook: NodeHook | None = None  # set per instance only when given

    def __init__(self, ctx: Context, *, record: bool = True, hook: NodeHook | None = None) -> None:
        self.ctx = ctx
        self.record = record  # projection needs values only; explanations need what was read
        self.reads: dict[str, Any] = {}
        self.absent: set[str] = set()
        #: scope paths that name computed values (a rule's `values`), not document fields
        self.computed: set[str] = set()
        #: results the generated code already computed in this evaluation (one finding):
        #: compiler/codegen.py's recording modes keep them here
        self.memo: dict[Any, Any] = {}
        if hook is not None:
            self.hook = hook
            self._eval = self._eval_hooked  # type: ignore[method-assign]

    def fresh(self, *, record: bool = True) -> Evaluator:
        """A new evaluator on the same context, with nothing read yet."""
        return Evaluator(self.ctx, record=record)

    def evaluate_in(self, node: Expr, scope: Scope) -> Result:
        """Evaluate with extra names in scope: name -> (engine value, label)."""
        return self._eval(node, scope)

    # -- entry points --------------------------------------------------------------------
    def evaluate(self, node: Expr) -> Result:
        return self._eval(node, {})

    # -- dispatch --------------------------------------------------------------------------
    def _eval(self, node: Expr, scope: Scope) -> Result:
        result: Result = _DISPATCH[type(node)](self, node, scope)
        return result

    def _eval_hooked(self, node: Expr, scope: Scope) -> Result:
        """`_eval` reporting the node to the hook, with its own reads and memo."""
        assert self.hook is not None
        reads, memo = self.reads, self.memo
        self.reads, self.memo = {}, {}
        try:
            result: Result = _DISPATCH[type(node)](self, node, scope)
            own = self.reads
        finally:
            self.reads, self.memo = reads, memo
        for path, value in own.items():
            reads.setdefault(path, value)
        self.hook(node, scope, result, own)
        return result

    def _const(self, node: Const, scope: Scope) -> Result:
        return Result(node.value)

    def _literal(self, node: Literal, scope: Scope) -> Result:
        v = node.value
        return Result(date_to_engine(v) if isinstance(v, date) else v)

    def _list(self, node: ListLiteral, scope: Scope) -> Result:
        items = [self._eval(i, scope) for i in node.items]
        return Result([i.value for i in items], union(i.missing for i in items))

    def _presence(self, node: Presence, scope: Scope) -> Result:
        leaves, _ = self.resolve(node.path, scope)
        absent = [p for v, p in leaves if v is None]
        for raw, path in leaves:
            if self.record and from_document(path) and not is_model(raw):
                self.reads.setdefault(path, to_json_value(raw))
        holds = (not absent) if node.present else bool(absent)
        if holds and not node.present:
            self.absent.update(absent)
        return Result(holds)

    def _unary(self, node: Unary, scope: Scope) -> Result:
        inner = self._eval(node.operand, scope)
        if inner.value is UNKNOWN:
            return inner
        return Result(kleene_not(inner.value) if node.op == "not" else -inner.value)

    # -- paths ---------------------------------------------------------------------------
    def resolve(self, node: Path, scope: Scope) -> tuple[list[tuple[Any, str]], bool]:
        """Follow a path; return the leaves (raw value or None, concrete path) and whether the
        path went through a list (then the leaves form a list)."""
        head, parts = node.parts[0], node.parts[1:]
        mapped = False
        current: list[tuple[Any, str]]
        if head in scope:
            current = [scope[head]]
        elif head == "as_of":
            return [(self.ctx.as_of, "as_of")], False
        elif head == "batch":
            kind = parts[0]
            current = self._batch_items(kind, None)
            parts = parts[1:]
            mapped = True
        else:
            current = [(self.ctx.document, "")]
            parts = node.parts
        for part in parts:
            nxt: list[tuple[Any, str]] = []
            for value, path in current:
                if value is None:
                    nxt.append((None, path))
                    continue
                if isinstance(value, list):
                    mapped = True
                    for i, item in enumerate(value):
                        nxt.append(_step(item, part, f"{path}[{i}]"))
                else:
                    nxt.append(_step(value, part, path))
            current = nxt
        if mapped:
            flat: list[tuple[Any, str]] = []
            for value, path in current:
                if isinstance(value, list):
                    flat.extend((v, f"{path}[{i}]") for i, v in enumerate(value))
                else:
                    flat.append((value, path))
            current = flat
        return current, mapped

    def _path(self, node: Path, scope: Scope) -> Result:
        if not self.record:
            # fast path for projection: a path through objects only, from the document or a
            # quantifier variable; anything else (lists, absent steps) takes the general path
            head = node.parts[0]
            rest: tuple[str, ...]
            if head in scope:
                value, rest = scope[head][0], node.parts[1:]
            elif head in _SPECIAL:
                value, rest = None, ()
            else:
                value, rest = self.ctx.document, node.parts
            if value is not None and not isinstance(value, list):
                for part in rest:
                    if not isinstance(value, BaseModel):
                        break
                    value = getattr(value, part, None)
                    if value is None or isinstance(value, list):
                        break
                else:
                    engine, gaps = self.engine_value(value, node.dotted)
                    return Result(engine, frozenset(gaps))
        leaves, mapped = self.resolve(node, scope)
        values: list[Any] = []
        missing: set[str] = set()
        for raw, path in leaves:
            if (
                self.record
                and from_document(path)
                and path not in self.computed
                and not is_model(raw)
            ):
                self.reads.setdefault(path, to_json_value(raw))
            value, miss = self.engine_value(raw, path)
            values.append(value)
            missing.update(miss)
        if mapped:
            return Result(values, frozenset(missing))
        value = values[0]
        return Result(value, frozenset(missing) if value is UNKNOWN else NONE)

    def engine_value(self, raw: Any, path: str) -> tuple[Any, set[str]]:
        """A raw value's engine value (`semantics.engine_value`) and, when it is UNKNOWN, the
        missing fact that makes it so."""
        value = engine_value(raw, self.ctx.fx_to_pkr)
        if value is UNKNOWN:
            gap = engine_value_gap(raw, path)
            return value, (set() if gap is None else {gap})
        return value, set()

    def _param(self, node: Param, scope: Scope) -> Result:
        value = self.ctx.params.get(node.name, UNKNOWN)
        if value is UNKNOWN:
            return Result(UNKNOWN, frozenset({f"param.{node.name}"}))
        if node.key is None:
            return Result(value)
        key = self._eval(node.key, scope)
        if key.value is UNKNOWN:
            return key
        if key.value not in value:
            return Result(UNKNOWN, frozenset({f"param.{node.name}[{key.value}]"}))
        return Result(value[key.value])

    # -- operators -----------------------------------------------------------------------
    def _binary(self, node: Binary, scope: Scope) -> Result:
        op = node.op
        if op in ("and", "or"):
            left = self._eval(node.left, scope)
            right = self._eval(node.right, scope)
            value = kleene(op, left.value, right.value)
            if value is UNKNOWN:
                return Result(UNKNOWN, left.missing | right.missing)
            return Result(value)
        if op in ("in", "not in") and self._is_batch_path(node.right, scope):
            assert isinstance(node.right, Path)
            return self._batch_membership(op, self._eval(node.left, scope), node.right)
        left = self._eval(node.left, scope)
        right = self._eval(node.right, scope)
        if op in ("in", "not in"):
            return self.membership(op, left, right)
        if left.value is UNKNOWN or right.value is UNKNOWN:
            return Result(UNKNOWN, left.missing | right.missing)
        a, b = left.value, right.value
        if op in COMPARE:
            return Result(COMPARE[op](a, b))
        return self.arith(op, a, b, left.missing | right.missing, node)

    def _is_batch_path(self, node: Expr, scope: Scope) -> bool:
        return (
            isinstance(node, Path)
            and node.parts[0] == "batch"
            and "batch" not in scope
            and len(node.parts) > 2
            and self.ctx.batch is not None
            and self.ctx.batch.keyed
        )

    def _batch_membership(self, op: str, left: Result, right: Path) -> Result:
        """`x in batch.KIND.path` through the batch's value index: the same verdict as scanning
        every other document, reading only the values that match (or are absent)."""
        assert self.ctx.batch is not None
        kind, parts = right.parts[1], right.parts[2:]
        leaves = self.ctx.batch.leaves(kind, parts, self.ctx)
        docs = self.ctx.batch.by_kind.get(kind, [])
        mine = self.ctx.document

        def others(entries: list[tuple[int, str, Any]]) -> list[tuple[int, str, Any]]:
            return [entry for entry in entries if docs[entry[0]] is not mine]

        unknown = others(leaves.unknown)
        missing = frozenset(path for _, path, _ in unknown)
        if left.value is UNKNOWN:
            return Result(UNKNOWN, left.missing | missing)
        try:
            hits = others(leaves.by_value.get(_hashable(left.value), []))
        except TypeError:
            hits = []
        if self.record:
            for _, path, json_value in hits + unknown:
                self.reads.setdefault(path, json_value)
        if not hits and unknown:
            return Result(UNKNOWN, missing)
        return Result(bool(hits) if op == "in" else not hits)

    def membership(self, op: str, left: Result, right: Result) -> Result:
        """`left in right` / `not in` (`semantics.membership`); unknown for a list with an
        unknown item, the facts that item misses."""
        if left.value is UNKNOWN or right.value is UNKNOWN:
            return Result(UNKNOWN, left.missing | right.missing)
        found = membership(left.value, right.value)
        if found is UNKNOWN:
            return Result(UNKNOWN, right.missing)
        return Result(found if op == "in" else not found)

    def arith(self, op: str, a: Any, b: Any, missing: Missing, node: Expr | None = None) -> Result:
        """`a op b` on known values (`semantics.arithmetic`). A date shifted out of range or
        past the holiday calendar is unknown, the reason (naming `node`, the expression) in
        `missing`, as is a division by zero."""
        calendar = self.ctx.calendar
        value = arithmetic(op, a, b, calendar)
        if value is UNKNOWN:
            label = render(node) if node is not None else "(date arithmetic)"
            return Result(UNKNOWN, missing | {arithmetic_gap(op, a, b, calendar, label)})
        return Result(value)

    def _call(self, node: Call, scope: Scope) -> Result:
        if node.name == "linked":
            return self._linked(node, scope)
        args = [self._eval(a, scope) for a in node.args]
        missing = union(a.missing for a in args)
        if any(a.value is UNKNOWN for a in args):
            return Result(UNKNOWN, missing)
        return Result(builtin(node.name, [a.value for a in args]))

    def _linked(self, node: Call, scope: Scope) -> Result:
        """`linked(VAR, KEY, ...)`: the batch document VAR names and this document are linked
        by their keys, transitively (see `BatchView.components`). Never unknown: an absent
        key links nothing. It reads each key of this document and of the other one."""
        var = node.args[0]
        assert isinstance(var, Path)
        head = var.parts[0]
        keys = link_keys(node)
        if self.record:
            own = ("linked: this document's keys", keys)  # read once per evaluation
            for parts in keys:
                if own not in self.memo:
                    self._eval(Path(parts), scope)
                self._eval(Path((head, *parts)), scope)
            self.memo[own] = True
        view, doc = self.ctx.batch, self.ctx.document
        other = scope[head][0]
        kind = None if view is None else view.kind_of(doc)
        if view is None or kind is None or doc is None or not isinstance(other, BaseModel):
            return Result(False)
        return Result(view.linked(kind, keys, doc, other, self.ctx))

    # -- quantifiers -----------------------------------------------------------------------
    def items(self, node: Quantifier, scope: Scope) -> tuple[list[tuple[Any, str]] | None, Missing]:
        source = node.source
        if isinstance(source, Path) and source.parts[0] == "batch" and len(source.parts) == 2:
            kind = source.parts[1]
            return self._batch_items(kind, self.candidates(node, kind, scope)), NONE
        if isinstance(source, Path):
            leaves, mapped = self.resolve(source, scope)
            if mapped:
                return leaves, NONE
            raw, path = leaves[0]
            if raw is None:
                self.reads.setdefault(path, None)
                return None, frozenset({path})
            return [(item, f"{path}[{i}]") for i, item in enumerate(raw)], NONE
        result = self._eval(source, scope)
        if result.value is UNKNOWN:
            return None, result.missing
        label = source.origin if isinstance(source, Const) else "list"
        return [(item, f"{label}[{i}]") for i, item in enumerate(result.value)], NONE

    def _batch_items(self, kind: str, positions: list[int] | None) -> list[tuple[Any, str]]:
        """The other documents of a kind in the batch (all, or those at `positions`)."""
        view = self.ctx.batch
        if view is None:
            return []
        docs = view.by_kind.get(kind, [])
        chosen = range(len(docs)) if positions is None else positions
        return [(docs[i], view.label(kind, i)) for i in chosen if docs[i] is not self.ctx.document]

    def candidates(self, node: Quantifier, kind: str, scope: Scope) -> list[int] | None:
        """Positions of the batch documents that can pass `where`, from the quantifier's keyed
        plan (equality keys, a window, filters on the other document alone; see
        interp/batchplan.py); None means all. The others certainly fail `where`, so skipping
        them changes no verdict; documents whose key is absent are always kept (unknown)."""
        view = self.ctx.batch
        if node.where is None or view is None or not view.keyed:
            return None
        if not view.has_others(kind, self.ctx.document):
            return []
        index = view.keyed_index(node, self)
        if index is None:
            return None
        return index.candidates(self, scope)

    def window(self, node: Quantifier, scope: Scope) -> Result | None:
        """A quantifier over a window of the batch from the group's running sums, or visiting
        only the window's documents (interp/windows.py), recorded as item by item; None when
        it must be evaluated item by item."""
        if node.kind not in QUANTIFIERS:
            return None
        return window_aggregate(self, node, scope)

    def _quantifier(self, node: Quantifier, scope: Scope) -> Result:
        fast = self.window(node, scope)
        if fast is not None:
            return fast
        items, source_missing = self.items(node, scope)
        if items is None:
            return Result(UNKNOWN, source_missing)
        kind = node.kind
        verdicts: list[tuple[Any, Missing]] = []  # per item: the value that item contributes
        for raw, path in items:
            inner = dict(scope)
            inner[node.var] = (raw, path)
            keep: Any = True
            miss: Missing = NONE
            if node.where is not None:
                w = self._eval(node.where, inner)
                keep, miss = w.value, w.missing
            if keep is False:
                verdicts.append((_SKIP, NONE))
                continue
            if node.body is None and kind == "select":
                body = self._eval(Path((node.var,)), inner)
                if keep is UNKNOWN:
                    body = Result(UNKNOWN, miss)
            elif node.body is None:
                body = Result(keep, miss)
            else:
                body = self._eval(node.body, inner)
                if keep is UNKNOWN:
                    if skips_unknown_where(kind, body.value):
                        verdicts.append((_SKIP, NONE))
                        continue
                    body = Result(UNKNOWN, miss | body.missing)
            if kind in ("any", "all", "none", "count") and body.value is UNKNOWN:
                verdicts.append((UNKNOWN, body.missing))
            else:
                verdicts.append((body.value, body.missing))
        kept = [v for v in verdicts if v[0] is not _SKIP]
        return self.aggregate(kind, kept, render(node.source))

    def aggregate(self, kind: str, verdicts: list[tuple[Any, Missing]], source: str) -> Result:
        """A quantifier's result from its kept items' (value, missing facts)
        (`semantics.aggregate`); unknown, the facts its unknown items miss."""
        unknown = [m for v, m in verdicts if v is UNKNOWN]
        value = aggregate(kind, [v for v, _ in verdicts], bool(unknown))
        if value is not UNKNOWN:
            return Result(value)
        return Result(UNKNOWN, union(unknown) if unknown else frozenset({aggregate_gap(source)}))


_SKIP = object()
_SPECIAL = frozenset({"as_of", "batch"})

_DISPATCH: dict[type, Any] = {
    Const: Evaluator._const,
    Literal: Evaluator._literal,
    ListLiteral: Evaluator._list,
    Path: Evaluator._path,
    Param: Evaluator._param,
    Presence: Evaluator._presence,
    Unary: Evaluator._unary,
    Binary: Evaluator._binary,
    Call: Evaluator._call,
    Quantifier: Evaluator._quantifier,
}


def _step(value: Any, part: str, path: str) -> tuple[Any, str]:
    return step(value, part), f"{path}.{part}" if path else part


def from_document(path: str) -> bool:
    """Whether a path names a fact of a document (not a parameter, a literal list or as_of)."""
    return not path.startswith(("param.", "list[", "as_of"))


def is_model(value: Any) -> bool:
    return SHAPES[type(value)] == MODEL


def union(parts: Any) -> Missing:
    out: set[str] = set()
    for p in parts:
        out.update(p)
    return frozenset(out)
