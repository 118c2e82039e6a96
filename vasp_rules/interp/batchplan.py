"""Keyed plans for cross-document (batch) rules.

A quantifier over `batch.KIND` relates each document to every other document of the batch:
evaluated as written it costs O(n) per document, O(n^2) per batch. Most such filters are joins:
equality conjuncts (`t.originator == originator`) name a key, order conjuncts on one field
(`t.executed_at <= executed_at and t.executed_at > executed_at - hours(24)`) name a time window,
and conjuncts on the other document alone (`t.value < param.threshold`) filter it once for all.
This module reads those shapes off the checked syntax tree; the batch view (engine) builds one
index per plan in one pass over the batch and answers each document from it, visiting only the
documents that can pass the filter. A filter without such a shape is scanned in full (correct,
quadratic); `unkeyed_accesses` names those so that `vasp-rules check` can say so.

The plan also says which documents a document's evaluation can visit (its cross-document
facts), so that a chunk of the batch can be evaluated with only those documents beside it
(`neighbour_keys`): process workers and Dask partitions receive their chunk plus its neighbours.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..lang.ast import Binary, Call, Expr, Param, Path, Presence, Quantifier, link_keys
from ..lang.ast import children as _children

ORDER_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


@dataclass(frozen=True)
class Equality:
    """`KEY == PROBE`: KEY reads only the batch document (the quantifier variable), PROBE
    does not read it (it is evaluated once, in the evaluating document's scope)."""

    key: Expr
    probe: Expr


@dataclass(frozen=True)
class Bound:
    """`KEY OP PROBE` with OP one of < <= > >= (normalised so that KEY is on the left)."""

    key: Expr
    op: str
    probe: Expr


@dataclass(frozen=True)
class SemiJoin:
    """`any(ITEM in VAR.PATH: KEY in PROBE)` (or `KEY == PROBE`): the batch document has an item
    whose key is one of the probe's values."""

    source: Path
    item_var: str
    key: Expr
    probe: Expr
    member: bool  # True for `in` (PROBE is a list), False for `==`


@dataclass(frozen=True)
class QuantPlan:
    """How to find the batch documents that can pass a batch quantifier's filter."""

    kind: str
    var: str
    static: tuple[Expr, ...] = ()  # conjuncts on the batch document alone: pre-filtered once
    equalities: tuple[Equality, ...] = ()
    bounds: tuple[Bound, ...] = ()  # all on one key (the first order conjunct's)
    semijoins: tuple[SemiJoin, ...] = ()
    #: `linked(VAR, KEY, ...)` conjuncts: keyed by the document's component of the batch
    links: tuple[Call, ...] = ()

    @property
    def keyed(self) -> bool:
        return bool(self.static or self.equalities or self.bounds or self.semijoins or self.links)


def conjuncts(node: Expr) -> list[Expr]:
    if isinstance(node, Binary) and node.op == "and":
        return conjuncts(node.left) + conjuncts(node.right)
    return [node]


def mentions(node: Expr, var: str) -> bool:
    """Whether an expression reads a variable (a path starting with it)."""
    if isinstance(node, Path):
        return node.parts[0] == var
    if isinstance(node, Quantifier) and node.var == var:
        return mentions(node.source, var)
    return any(mentions(child, var) for child in _children(node))


def closed_over(node: Expr, names: frozenset[str]) -> bool:
    """Whether an expression reads nothing but the given variables, constants, parameters and
    `as_of` (no field of the evaluating document, no batch)."""
    if isinstance(node, Path):
        head = node.parts[0]
        return head in names or head == "as_of"
    if isinstance(node, Presence):
        return closed_over(node.path, names)
    if isinstance(node, Quantifier):
        if not closed_over(node.source, names):
            return False
        inner = names | {node.var}
        return all(closed_over(x, inner) for x in (node.where, node.body) if x is not None)
    if isinstance(node, Param):
        return node.key is None or closed_over(node.key, names)
    return all(closed_over(child, names) for child in _children(node))


def reads_batch(node: Expr) -> bool:
    if isinstance(node, Path):
        return node.parts[0] == "batch"
    return any(reads_batch(child) for child in _children(node))


def _key_side(node: Expr, var: str) -> bool:
    return mentions(node, var) and closed_over(node, frozenset({var})) and not reads_batch(node)


def _probe_side(node: Expr, var: str) -> bool:
    return not mentions(node, var) and not reads_batch(node)


def plan_quantifier(node: Quantifier) -> QuantPlan | None:
    """The keyed plan of a quantifier over `batch.KIND`, or None if it is not over the batch."""
    source = node.source
    if not (isinstance(source, Path) and source.parts[0] == "batch" and len(source.parts) == 2):
        return None
    kind, var = source.parts[1], node.var
    if node.where is None:
        return QuantPlan(kind, var)
    static: list[Expr] = []
    equalities: list[Equality] = []
    bounds: list[Bound] = []
    semijoins: list[SemiJoin] = []
    links: list[Call] = []
    for c in conjuncts(node.where):
        if is_link(c, var):
            links.append(c)  # type: ignore[arg-type]
            continue
        if _key_side(c, var):
            static.append(c)
            continue
        if isinstance(c, Binary) and c.op in ("==", *ORDER_FLIP):
            for key, probe, op in ((c.left, c.right, c.op), (c.right, c.left, c.op)):
                if key is c.right and op in ORDER_FLIP:
                    op = ORDER_FLIP[op]
                if _key_side(key, var) and _probe_side(probe, var):
                    if op == "==":
                        equalities.append(Equality(key, probe))
                    elif not bounds or bounds[0].key == key:
                        bounds.append(Bound(key, op, probe))
                    break
            continue
        semi = _semijoin(c, var)
        if semi is not None:
            semijoins.append(semi)
    return QuantPlan(
        kind,
        var,
        tuple(static),
        tuple(equalities),
        tuple(bounds),
        tuple(semijoins),
        tuple(links),
    )


def is_link(node: Expr, var: str) -> bool:
    """`linked(VAR, KEY, ...)` on the quantifier variable `var`."""
    return (
        isinstance(node, Call)
        and node.name == "linked"
        and bool(node.args)
        and node.args[0] == Path((var,))
    )


def _semijoin(c: Expr, var: str) -> SemiJoin | None:
    if not (
        isinstance(c, Quantifier)
        and c.kind == "any"
        and c.where is None
        and isinstance(c.source, Path)
        and c.source.parts[0] == var
        and len(c.source.parts) > 1
        and isinstance(c.body, Binary)
        and c.body.op in ("in", "==")
    ):
        return None
    item = c.var
    for key, probe in ((c.body.left, c.body.right), (c.body.right, c.body.left)):
        if c.body.op == "in" and key is c.body.right:
            break
        if (
            _key_side(key, item)
            and not mentions(key, var)
            and _probe_side(probe, var)
            and not mentions(probe, item)
        ):
            return SemiJoin(c.source, item, key, probe, c.body.op == "in")
    return None


# -- the pack's batch accesses, for `check` and for distributing a batch ---------------------
@dataclass(frozen=True)
class Access:
    """One place where a rule reads the batch.

    `group` (when set) are expressions over a batch document of `kind` giving its key values;
    the evaluating document (of `owner` kind) then visits only documents sharing one of its
    own key values, computed by the same expressions with the document itself as the variable.
    Without `group`, the evaluation may visit every document of `kind`.

    `transitive` (a filter with `linked(x, KEY, ...)`): `group` are the link's keys, each one
    apart, and the evaluating document visits its component: the documents joined to it by a
    chain of shared key values (scale/groups.py follows the chain)."""

    rule_id: str
    owner: str
    kind: str
    var: str
    text: str
    group: tuple[Expr, ...] | None
    reason: str = ""
    static: tuple[Expr, ...] = ()  # filter conjuncts on the batch document alone
    transitive: bool = False


@dataclass
class BatchPlan:
    """Every batch access of a compiled pack."""

    accesses: list[Access] = field(default_factory=list)

    def for_owner(self, kind: str) -> list[Access]:
        return [a for a in self.accesses if a.owner == kind]

    @property
    def unkeyed(self) -> list[Access]:
        return [a for a in self.accesses if a.group is None]


def plan_rule(rule_id: str, owner: str, exprs: list[Expr]) -> list[Access]:
    """The batch accesses of one rule's condition, values and templates."""
    out: list[Access] = []
    for expr in exprs:
        _collect(rule_id, owner, expr, {}, False, out)
    return out


#: `env` of `_collect`: a quantifier variable bound to a list of the evaluating document (e.g.
#: `h in holdings`) maps to that document path; one bound to anything else (another document of
#: the batch, an item of one, a list that is no field of this document) maps to None
Env = dict[str, Path | None]


def _collect(
    rule_id: str,
    owner: str,
    node: Expr,
    env: Env,
    nested: bool,
    out: list[Access],
) -> None:
    """Walk an expression; `nested` is True inside a batch quantifier (the expression is then
    evaluated once per other document: an access there is keyed only when its key is compared
    with fields of the evaluating document itself, not of the other document)."""
    from ..lang.ast import render

    if isinstance(node, Quantifier):
        plan = plan_quantifier(node)
        if plan is not None:
            group = _group_of(plan, env)
            reason = "" if group is not None else _why_unkeyed(plan, nested)
            out.append(
                Access(
                    rule_id,
                    owner,
                    plan.kind,
                    plan.var,
                    render(node),
                    group,
                    reason,
                    plan.static,
                    bool(plan.links) and group is not None,
                )
            )
            inner: Env = {**env, plan.var: None}
            for x in (node.where, node.body):
                if x is not None:
                    _collect(rule_id, owner, x, inner, True, out)
            return
        inner = {**env, node.var: _rooted(node.source, env)}
        _collect(rule_id, owner, node.source, env, nested, out)
        for x in (node.where, node.body):
            if x is not None:
                _collect(rule_id, owner, x, inner, nested, out)
        return
    if isinstance(node, Binary) and node.op in ("in", "not in"):
        right = node.right
        if isinstance(right, Path) and right.parts[0] == "batch" and len(right.parts) > 2:
            kind = right.parts[1]
            key_path = Path(("__batch_doc", *right.parts[2:]))
            left = _rooted(node.left, env)
            ok = left is not None and left.parts == right.parts[2:]
            out.append(
                Access(
                    rule_id,
                    owner,
                    kind,
                    "__batch_doc",
                    render(node),
                    (key_path,) if ok and kind == owner else None,
                    ""
                    if ok and kind == owner
                    else "the value tested is not the same field of this document",
                )
            )
            _collect(rule_id, owner, node.left, env, nested, out)
            return
    if isinstance(node, Path) and node.parts[0] == "batch":
        out.append(
            Access(
                rule_id,
                owner,
                node.parts[1] if len(node.parts) > 1 else "",
                "",
                render(node),
                None,
                "a batch path read as a whole",
            )
        )
        return
    for child in _children(node):
        _collect(rule_id, owner, child, env, nested, out)


def _rooted(node: Expr, env: Env) -> Path | None:
    """A path of the evaluating document that `node` denotes (through bound variables); None
    when it reads anything else (another document, a variable bound elsewhere)."""
    if not isinstance(node, Path):
        return None
    head = node.parts[0]
    if head in env:
        bound = env[head]
        return None if bound is None else Path((*bound.parts, *node.parts[1:]))
    if head in ("batch", "as_of"):
        return None
    return node


def _strip(node: Expr, var: str) -> Path | None:
    """KEY with the batch variable replaced by the evaluating document (None if not a path)."""
    if isinstance(node, Path) and node.parts[0] == var and len(node.parts) > 1:
        return Path(node.parts[1:])
    return None


def _group_of(plan: QuantPlan, env: Env) -> tuple[Expr, ...] | None:
    """Key expressions (over the batch variable) whose values, computed on the evaluating
    document, are exactly what its probes compare with: then only documents sharing a key value
    with it (or whose key is unknown) can pass the filter. With `linked(...)` conjuncts: the
    links' keys (the access is transitive), whatever else the filter says."""
    if plan.links:
        link_group: list[Expr] = []
        for link in plan.links:
            for parts in link_keys(link):
                key = Path((plan.var, *parts))
                if key not in link_group:
                    link_group.append(key)
        return tuple(link_group)
    if plan.equalities:
        keys: list[Expr] = []
        for eq in plan.equalities:
            mirror = _strip(eq.key, plan.var)
            if mirror is None or _rooted(eq.probe, env) != mirror:
                return None
            keys.append(eq.key)
        return tuple(keys)
    for semi in plan.semijoins:
        item_key = _strip(semi.key, semi.item_var)
        probe = _rooted(semi.probe, env)
        if item_key is None or probe is None:
            continue
        if probe.parts == (*semi.source.parts[1:], *item_key.parts):
            return (Path((*semi.source.parts, *item_key.parts)),)
    return None


def _why_unkeyed(plan: QuantPlan, nested: bool) -> str:
    if nested:
        return "made from inside another batch quantifier, not keyed by this document's fields"
    if plan.equalities or plan.semijoins:
        return "its key is not compared with the same field of this document"
    return "no equality on the other document's fields (`x.field == field`)"


__all__ = [
    "Access",
    "BatchPlan",
    "Bound",
    "Equality",
    "QuantPlan",
    "SemiJoin",
    "plan_quantifier",
    "plan_rule",
    "plan_rules",
]


def plan_rules(rules: Iterable[Any]) -> BatchPlan:
    """The batch plan of rules (loaded or compiled: anything with id, kind, condition, values,
    reason and remediation)."""
    plan = BatchPlan()
    for rule in rules:
        exprs: list[Expr] = [rule.condition]
        for value in rule.values.values():
            exprs.append(value[0] if isinstance(value, tuple) else value)
        for part in [*rule.reason, *rule.remediation]:
            if part.expr is not None:
                exprs.append(part.expr)
        plan.accesses.extend(plan_rule(rule.id, rule.kind, exprs))
    return plan
