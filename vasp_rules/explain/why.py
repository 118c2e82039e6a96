"""Why and why not: trace a rule's condition as a tree of verdicts.

The tree is built from the rule's ORIGINAL condition (which still names its parameters), each
node evaluated by the reference interpreter on the same context the engine used, so the root
verdict is the rule's verdict and every node shows the facts and parameters it read. Quantifier
nodes list their items (which person, which holding) with each item's verdict; the nodes and
items that made the difference are marked `decisive`.

One evaluation of the condition, with a hook per node (`Evaluator(hook=...)`), gives every
node's result and reads. A node the interpreter did not evaluate in that scope (a parameter's
key when the parameter has no value, the arguments of `linked`, a quantifier's source path, the
right side of a membership in a batch path, the items of a quantifier decided from a window's
running sums, and the items of a quantifier over a parameter or a computed list, which the trace
names `param.X[i]` where the interpreter says `list[i]`) is evaluated then, once, with the same
hook: every node's result is the one a fresh evaluation of that node alone would give.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..compiler.compile import CompiledPack, CompiledRule
from ..interp.reference import Context, Evaluator, Result
from ..lang.ast import (
    Binary,
    Call,
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
from ..lang.checker import Checker
from ..lang.semantics import skips_unknown_where
from ..lang.types import Type
from ..lang.values import UNKNOWN, Scope
from ..model.explanation import (
    ItemTrace,
    KeyCondition,
    NodeKind,
    ParamRead,
    RuleStatus,
    RuleTrace,
    TraceNode,
    Verdict,
)
from ..pack.params import FX_PARAMETER, declared_type
from .fmt import display_json, format_engine, item_label, jsonable

_HEAD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})


def verdict_of(value: Any) -> Verdict | None:
    """The verdict of a three-valued result, None for a value that is not true/false."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is UNKNOWN:
        return "unknown"
    return None


class _TypeRecorder(Checker):
    """The checker, keeping every node's full type (the loader keeps only type names)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.full: dict[int, Type] = {}

    def _check(self, node: Expr, scope: dict[str, Type]) -> Type:
        tp = super()._check(node, scope)
        self.full[id(node)] = tp
        return tp


def condition_types(compiled: CompiledPack, rule: CompiledRule) -> dict[int, Type]:
    """id(node) -> Type for every node of the rule's original condition."""
    from ..entities.registry import KINDS

    params = {name: declared_type(p.spec) for name, p in compiled.params.items()}
    names = {name: tp for name, (_expr, tp) in rule.rule.values.items()}
    checker = _TypeRecorder(KINDS[rule.kind], params, KINDS, names)
    try:
        checker.check(rule.rule.condition)
    except ValueError:  # a parameter without a value on this date: fall back to names only
        return {i: Type(n) for i, n in rule.rule.condition_types.items()}
    return checker.full


class Tracer:
    """Builds condition trees for the rules of one compiled pack on one document."""

    def __init__(self, compiled: CompiledPack, ctx: Context) -> None:
        self.compiled = compiled
        self.ctx = ctx
        self.types: dict[int, Type] = {}
        self.fields: frozenset[str] = frozenset()
        self._seen = _Recorder()

    def _document_reads(self, reads: dict[str, Any]) -> dict[str, Any]:
        """Only reads of document fields (and of other documents of the batch): the evaluator
        also records the items of a quantifier over a parameter, which are pack values."""
        return {
            path: value
            for path, value in sorted(reads.items())
            if (m := _HEAD.match(path)) is not None
            and (m.group() in self.fields or m.group() == "batch")
        }

    # -- public ----------------------------------------------------------------------------
    def trace(self, rule: CompiledRule) -> RuleTrace:
        """The trace of one rule: its tree, status and the decisive leaf conditions."""
        from ..entities.registry import KINDS

        self.types = condition_types(self.compiled, rule)
        self.fields = frozenset(KINDS[rule.kind].model_fields)
        self._seen = _Recorder()
        tree, result = self.node(rule.rule.condition, {})
        self._seen = _Recorder()  # frees the recorded results
        verdict = verdict_of(result.value) or "unknown"
        spec = rule.rule.spec
        status: RuleStatus
        finding: str | None
        if verdict == "true":
            status, finding = "fired", spec.outcome.value
        elif verdict == "unknown" and rule.asks_for_missing:
            status, finding = "unknown", "REQUIRE_DOCUMENTS"
        else:
            status, finding = "not_fired", None
        tree.decisive = True
        mark_decisive(tree)
        cite = spec.citation
        return RuleTrace(
            rule_id=spec.id,
            rule_version=spec.version,
            title=spec.title,
            rule_outcome=spec.outcome.value,
            status=status,
            finding_outcome=finding,
            verdict=verdict,
            condition=render(rule.rule.condition),
            file=rule.rule.file,
            line=rule.rule.line,
            citation=f"{cite.instrument}, {cite.provision} [{cite.confidence}]",
            reads=dict(sorted(tree.reads.items())),
            params=tree.params,
            missing=tree.missing,
            key_conditions=key_conditions(tree),
            tree=tree,
        )

    # -- nodes -----------------------------------------------------------------------------
    def evaluated(self, node: Expr, scope: Scope) -> tuple[Result, dict[str, Any]]:
        """A node's result in `scope` and what it read, as a fresh evaluation of that node
        alone gives them: from the evaluation so far, else evaluated now (with the hook, so
        its sub-expressions are known too)."""
        found = self._seen.get(node, scope)
        if found is None:
            Evaluator(self.ctx, hook=self._seen).evaluate_in(node, scope)
            found = self._seen.get(node, scope)
            assert found is not None
        return found

    def node(self, node: Expr, scope: Scope) -> tuple[TraceNode, Result]:
        result, reads = self.evaluated(node, scope)
        tp = self.types.get(id(node))
        children: list[TraceNode] = []
        for child in _traced_children(node):
            sub = self.node(child, scope)[0]
            if isinstance(node, Quantifier) and child is node.source and isinstance(child, Path):
                sub.reads = {}  # the list itself: what was read of it shows item by item
            children.append(sub)
        items = self._items(node, scope) if isinstance(node, Quantifier) else []
        params = self._own_params(node, scope, reads)
        for sub in children:
            params.extend(sub.params)
        for item in items:
            for part in (item.where, item.body):
                if part is not None:
                    params.extend(part.params)
        verdict = verdict_of(result.value) if tp is None or tp.name == "bool" else None
        trace = TraceNode(
            text=render(node),
            kind=_kind(node),
            type=str(tp) if tp is not None else "",
            verdict=verdict,
            value=verdict if verdict is not None else format_engine(result.value, tp),
            reads=self._document_reads(reads),
            missing=sorted(result.missing),
            params=_unique(params),
            children=children,
            items=items,
        )
        return trace, result

    def _items(self, node: Quantifier, scope: Scope) -> list[ItemTrace]:
        ev = Evaluator(self.ctx)
        items, _missing = ev.items(node, scope)
        if items is None:
            return []
        out: list[ItemTrace] = []
        for index, (raw, path) in enumerate(items):
            if not isinstance(node.source, Path):
                path = f"{render(node.source)}[{index}]"
            inner = dict(scope)
            inner[node.var] = (raw, path)
            where = self.node(node.where, inner) if node.where is not None else None
            keep = where[1].value if where is not None else True
            # like the interpreter, the body of an item the filter excludes is not evaluated
            traced = node.body is not None and keep is not False
            body = self.node(node.body, inner) if traced and node.body is not None else None
            included, contribution = _contribution(node.kind, keep, body[1] if body else None)
            item = ItemTrace(
                path=path,
                label=item_label(raw),
                included=included,
                where=where[0] if where is not None else None,
                body=body[0] if body is not None else None,
            )
            if node.kind in ("any", "all", "none", "count"):
                item.verdict = verdict_of(contribution) if included else None
            elif included:
                if body is not None:
                    item.value = format_engine(contribution, self.types.get(id(node.body)))
                else:
                    item.value = item.label
            out.append(item)
        return out

    def _own_params(self, node: Expr, scope: Scope, reads: dict[str, Any]) -> list[ParamRead]:
        """Parameters a node reads itself: `param.NAME[key]`, and FX rates for money facts."""
        out: list[ParamRead] = []
        if isinstance(node, Param):
            key: str | None = None
            if node.key is not None:
                key_value = self.evaluated(node.key, scope)[0].value
                if key_value is UNKNOWN:
                    return out
                key = str(key_value)
            read = self.param_read(node.name, key)
            if read is not None:
                out.append(read)
                out.extend(self._fx_for(read.value))
        elif isinstance(node, Path):
            for value in reads.values():
                out.extend(self._fx_for(value))
        return out

    def _fx_for(self, value: Any) -> list[ParamRead]:
        """The FX rate reads behind money values written in a currency other than PKR."""
        found: list[ParamRead] = []
        for money in _monies(value):
            currency = str(money.get("currency"))
            if currency != "PKR":
                read = self.param_read(FX_PARAMETER, currency)
                if read is not None:
                    found.append(read)
        return found

    def param_read(self, name: str, key: str | None) -> ParamRead | None:
        """A parameter value in force on as_of with its provenance (None if it has none)."""
        resolved = self.compiled.params.get(name)
        if resolved is None:
            return None
        entry = resolved.entry
        raw: Any = entry.value
        engine: Any = resolved.value
        item_type = declared_type(resolved.spec)
        if key is not None:
            if not isinstance(raw, dict) or key not in raw:
                return None
            raw = raw[key]
            engine = engine.get(key, UNKNOWN) if isinstance(engine, dict) else UNKNOWN
            item_type = item_type.value or item_type
        display = format_engine(engine, item_type)
        value = jsonable(raw)
        if item_type.name == "money" and isinstance(value, dict):
            written = display_json(value)
            display = written if written == display else f"{written} = {display}"
        return ParamRead(
            name=name,
            key=key,
            value=value,
            display=display,
            effective_from=entry.from_,
            effective_to=entry.to,
            source=entry.source,
            url=entry.url,
            confidence=entry.confidence,
            illustrative=resolved.spec.illustrative,
        )


class _Recorder:
    """The node hook of the tracer's evaluations: (node, scope) -> (result, reads).

    A scope is told by its names' labels and the identity of their values (quantifier items
    are the document's own objects, shared by the interpreter and the tracer's item lists);
    the entries keep the nodes and the scopes' values alive, so an id is never reused for
    another object while they are kept. The first evaluation of a (node, scope) is kept: a
    node's result and reads depend only on the node, the scope and the context."""

    def __init__(self) -> None:
        self._found: dict[tuple[Any, ...], tuple[Expr, Any, Result, dict[str, Any]]] = {}

    def __call__(self, node: Expr, scope: Scope, result: Result, reads: dict[str, Any]) -> None:
        self._found.setdefault(_key(node, scope), (node, tuple(scope.values()), result, reads))

    def get(self, node: Expr, scope: Scope) -> tuple[Result, dict[str, Any]] | None:
        entry = self._found.get(_key(node, scope))
        if entry is None or entry[0] is not node:
            return None
        return entry[2], entry[3]


def _key(node: Expr, scope: Scope) -> tuple[Any, ...]:
    return (id(node), *((name, id(value), label) for name, (value, label) in scope.items()))


def _contribution(kind: str, keep: Any, body: Result | None) -> tuple[bool, Any]:
    """What one item contributes to its quantifier, as the reference interpreter decides it:
    (included, value), with the quantifier skip rule of `lang.semantics`."""
    if keep is False:
        return False, None
    if body is None:
        return True, keep
    value = body.value
    if keep is UNKNOWN:
        if skips_unknown_where(kind, value):
            return False, None
        return True, UNKNOWN
    return True, value


def _traced_children(node: Expr) -> list[Expr]:
    """Sub-expressions worth a line of their own (constants are visible in the parent text)."""
    if isinstance(node, Binary):
        parts: list[Expr] = [node.left, node.right]
    elif isinstance(node, Unary):
        parts = [node.operand]
    elif isinstance(node, Call):
        parts = list(node.args)
    elif isinstance(node, Param):
        parts = [node.key] if node.key is not None else []
    elif isinstance(node, Quantifier):
        parts = [node.source]
    else:
        parts = []
    return [p for p in parts if not _constant(p)]


def _constant(node: Expr) -> bool:
    if isinstance(node, Literal):
        return True
    if isinstance(node, ListLiteral):
        return all(_constant(i) for i in node.items)
    return False


def _kind(node: Expr) -> NodeKind:
    if isinstance(node, Binary):
        if node.op in ("and", "or"):
            return "and" if node.op == "and" else "or"
        if node.op in COMPARISONS:
            return "compare"
        if node.op in ("in", "not in"):
            return "membership"
        return "arith"
    if isinstance(node, Unary):
        return "not" if node.op == "not" else "arith"
    if isinstance(node, Presence):
        return "presence"
    if isinstance(node, Quantifier):
        return "quantifier"
    if isinstance(node, Path):
        return "fact"
    if isinstance(node, Param):
        return "param"
    if isinstance(node, Call):
        return "call"
    return "literal"


def _monies(value: Any) -> Iterable[dict[str, Any]]:
    if isinstance(value, dict):
        if set(value) == {"amount", "currency"}:
            yield value
        else:
            for v in value.values():
                yield from _monies(v)
    elif isinstance(value, list):
        for v in value:
            yield from _monies(v)


def _unique(reads: list[ParamRead]) -> list[ParamRead]:
    seen: dict[tuple[str, str | None], ParamRead] = {}
    for read in reads:
        seen.setdefault((read.name, read.key), read)
    return [seen[k] for k in sorted(seen, key=lambda k: (k[0], k[1] or ""))]


# -- what made the difference ------------------------------------------------------------------

#: For a node with a verdict, which children's verdict explains it (None: all of them).
_DECIDING: dict[tuple[str, str], str | None] = {
    ("and", "true"): None,
    ("and", "false"): "false",
    ("and", "unknown"): "unknown",
    ("or", "true"): "true",
    ("or", "false"): None,
    ("or", "unknown"): "unknown",
}


def mark_decisive(node: TraceNode) -> None:
    """Mark, below a decisive node, the children and items that explain its verdict."""
    if node.kind in ("and", "or") and node.verdict is not None:
        wanted = _DECIDING[(node.kind, node.verdict)]
        for child in node.children:
            if wanted is None or child.verdict == wanted:
                child.decisive = True
                mark_decisive(child)
        return
    for child in node.children:
        child.decisive = True
        mark_decisive(child)
    if node.kind != "quantifier":
        return
    kind = node.text.split("(", 1)[0]
    for item in node.items:
        if _item_decides(kind, node, item):
            item.decisive = True
            for part in (item.where, item.body):
                if part is not None and (item.included or part is item.where):
                    part.decisive = True
                    mark_decisive(part)


def _item_decides(kind: str, node: TraceNode, item: ItemTrace) -> bool:
    verdict = node.verdict
    if kind in ("any", "none", "all"):
        # the item verdict that settles the quantifier; None: every item counts
        settles = {
            ("any", "true"): "true",
            ("any", "false"): None,
            ("none", "false"): "true",
            ("none", "true"): None,
            ("all", "false"): "false",
            ("all", "true"): None,
        }.get((kind, verdict or ""), "unknown")
        return settles is None or item.verdict == settles
    if kind in ("max", "min"):
        return item.included and item.value == node.value
    return item.included


def key_conditions(tree: TraceNode) -> list[KeyCondition]:
    """The decisive leaf tests of a tree, with the items they concern and the values read."""
    out: list[KeyCondition] = []
    _collect(tree, [], out)
    return out


def _collect(node: TraceNode, context: list[str], out: list[KeyCondition]) -> None:
    if not node.decisive:
        return
    bool_children = [c for c in node.children if c.verdict is not None]
    if node.kind == "quantifier" and node.items:
        decisive = [i for i in node.items if i.decisive]
        for item in decisive:
            where = [f"{item.path} ({item.label})"] if item.label != item.path else [item.path]
            for part in (item.where, item.body):
                if part is not None and part.decisive:
                    _collect(part, context + where, out)
        if decisive:
            return
    elif node.kind in ("and", "or", "not") and bool_children:
        for child in node.children:
            _collect(child, context, out)
        return
    if node.verdict is None:
        return
    values = {path: display_json(value) for path, value in node.reads.items()}
    for param in node.params:
        values[param.label] = param.display
    out.append(
        KeyCondition(
            condition=node.text,
            verdict=node.verdict,
            item=" / ".join(context) if context else None,
            values=values,
        )
    )


__all__ = ["Tracer", "condition_types", "key_conditions", "mark_decisive", "verdict_of"]
