"""Run a compiled pack over documents: build each document's fact, match it with durable-rules
(or the reference interpreter), and turn what fired into findings with reasons."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from ..compiler.codegen import Env
from ..compiler.compile import (
    CompiledPack,
    CompiledRule,
)
from ..interp.reference import BatchView, Context, Evaluator, Result
from ..lang.dates import explain_gap
from ..lang.values import UNKNOWN, Scope, format_value
from ..model.decision import Citation, Finding, Outcome, finding_sort_key
from ..pack.loader import TemplatePart

EngineName = Literal["durable", "reference"]
MATCH_CHUNK = 200  # documents whose facts durable-rules matches in shared sessions
M = TypeVar("M", bound=BaseModel)


def trusted(cls: type[M], **values: Any) -> M:
    """A model built from values the engine made itself (validated input, checked pack),
    without validating them again. Every field must be given. Like `model_construct`, which
    spends longer than validation on models this small."""
    return _built(cls, values)


def _built(cls: type[M], values: dict[str, Any]) -> M:
    """`trusted`, the values given as a dict (which the model keeps as its own)."""
    model = _new(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", set(values))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


_new, _set = object.__new__, object.__setattr__  # pydantic's own __setattr__ validates


@dataclass(frozen=True)
class Item:
    """One document of an evaluation: its parsed model, kind and id."""

    model: BaseModel
    kind: str
    id: str


def batch_view(items: Sequence[Item], *, keyed: bool = True) -> BatchView:
    """The shared view of documents evaluated together (`keyed=False`: batch quantifiers visit
    every document, the plain definition that keyed plans are tested against)."""
    return BatchView([(i.kind, i.id, i.model) for i in items], keyed=keyed)


def context_for(compiled: CompiledPack, item: Item, batch: Sequence[Item] | BatchView) -> Context:
    """The evaluation context of one document; `batch` is every document evaluated with it
    (a BatchView built once per evaluation, or the items themselves)."""
    view = batch if isinstance(batch, BatchView) else batch_view(batch)
    return Context(
        document=item.model,
        as_of=compiled.as_of,
        params=compiled.param_values,
        fx_to_pkr=compiled.fx,
        batch=view,
        calendar=compiled.calendar,
    )


def project(
    compiled: CompiledPack, item: Item, ctx: Context, env: Env | None = None
) -> dict[str, Any]:
    """The flat fact durable-rules matches: plain fields and derived (hoisted) fields, each
    present only when known. `env`: the document's Env, if one was made already."""
    return project_all(compiled, item.kind, [Env(ctx) if env is None else env])[0]


def project_all(compiled: CompiledPack, kind: str, envs: Sequence[Env]) -> list[dict[str, Any]]:
    """`project` of several documents of one kind (their Envs), field by field: each field's
    generated function runs over every document in turn, so it stays in the CPU's caches
    (transfers on benchmarks/fastpath.py's 5-rule pack, 200 alone: 7.3 -> 5.9 µs each)."""
    plan = compiled.plans.get(kind)
    if plan is None:
        return [{} for _ in envs]
    if len(envs) == 1:  # a document alone: no loop to set up per field
        env = envs[0]
        return [{key: value for key, get in plan.getters if (value := get(env)) is not UNKNOWN}]
    facts: list[dict[str, Any]] = [{} for _ in envs]
    for key, get in plan.getters:
        for fact, env in zip(facts, envs, strict=True):
            if (value := get(env)) is not UNKNOWN:
                fact[key] = value
    return facts


def fired_rules(
    compiled: CompiledPack, item: Item, ctx: Context, engine: EngineName
) -> list[tuple[CompiledRule, bool]]:
    """The rules that fired for one document, each with True (condition held) or False
    (condition unknown: facts missing)."""
    rules = compiled.rules_for(item.kind)
    out: list[tuple[CompiledRule, bool]] = []
    if engine == "reference":
        for rule in rules:
            value = Evaluator(ctx, record=False).evaluate(rule.condition).value
            if value is True:
                out.append((rule, True))
            elif value is UNKNOWN and rule.asks_for_missing:
                out.append((rule, False))
        return out
    if not rules:
        return out
    names = compiled.matcher().match(item.kind, project(compiled, item, ctx))
    return _outcomes(compiled.match_names(item.kind), names)


def findings_for_many(
    compiled: CompiledPack, items: Sequence[Item], batch: BatchView | None, engine: EngineName
) -> list[list[Finding]]:
    """The findings of several documents, in order. `batch` is the view they share, or None
    when each is evaluated alone. With durable-rules, the facts of all of them are matched in
    shared sessions (see durable_backend.Matcher.match_many)."""
    ctxs = [context_for(compiled, item, batch or batch_view([item])) for item in items]
    envs = [Env(ctx) for ctx in ctxs]  # each document's, for its projection and findings
    if engine == "reference":
        fired = [
            fired_rules(compiled, item, ctx, engine) for item, ctx in zip(items, ctxs, strict=True)
        ]
        return [
            _unique_sorted([reference_finding_for(rule, held, ctx) for rule, held in pairs])
            for pairs, ctx in zip(fired, ctxs, strict=True)
        ]
    by_kind: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        if compiled.rules_for(item.kind):
            by_kind.setdefault(item.kind, []).append(i)
    found: list[list[Finding]] = [[] for _ in items]
    matcher = compiled.matcher() if by_kind else None
    for kind, positions in by_kind.items():
        assert matcher is not None
        facts = project_all(compiled, kind, [envs[i] for i in positions])
        named = compiled.match_names(kind)
        jobs = [
            (i, rule, held)
            for i, names in zip(positions, matcher.match_many(kind, facts), strict=True)
            for rule, held in _outcomes(named, names)
        ]
        if len(positions) > 1:  # rule by rule (each document's findings stay in rule order):
            # a rule's generated code stays in the CPU's caches over the documents it fired
            # for (the 8-rule licence pack of fastpath.py, 200 alone: 31.1 -> 26.3 µs each)
            order = {id(rule): n for n, (rule, _, _) in enumerate(named)}
            jobs.sort(key=lambda job: (order[id(job[1])], job[0]))
        for i, rule, held in jobs:
            found[i].append(finding_for(rule, held, ctxs[i], envs[i]))
    return [_unique_sorted(findings) for findings in found]


def _unique_sorted(findings: list[Finding]) -> list[Finding]:
    """Cases of one rule are separate findings under its id; two cases that cannot be decided
    for the same missing facts say the same thing, once."""
    if len(findings) < 2:
        return findings
    unique = {(f.rule_id, f.outcome, f.reason): f for f in findings}
    return sorted(unique.values(), key=finding_sort_key)


def _outcomes(
    named: list[tuple[CompiledRule, str, str]], names: set[str]
) -> list[tuple[CompiledRule, bool]]:
    """The rules that fired, in rule order, from the names of the durable rules that matched
    (`CompiledPack.match_names`: each rule with its held and unknown names)."""
    out: list[tuple[CompiledRule, bool]] = []
    if not names:
        return out
    for rule, held, unknown in named:
        if held in names:
            out.append((rule, True))
        elif unknown in names:
            out.append((rule, False))
    return out


def finding_for(rule: CompiledRule, held: bool, ctx: Context, env: Env | None = None) -> Finding:
    """Explain one fired rule: the facts it read, what was missing, its reason and remedy.
    The fast path: the rule's compiled program computes it (reference_finding_for is the
    oracle it is tested against). `env`: the document's Env, if one was made already."""
    ev = Evaluator(ctx)
    scope: Scope = {}
    if env is None:
        env = Env(ctx)
    ready = rule.program.ready()
    # held: values only, recording what was read; unknown: also which facts were missing
    if held:
        ready.held(env, ev, scope)
    else:
        result = ready.condition(env, ev, scope)
    for name, fn in ready.values:
        scope[name] = (fn(env, ev, scope), name)
        ev.computed.add(name)
    if not held:
        return _finding(rule, ctx, ev, result, None, rule.program.citation, _TRUSTED_FINDING)
    missing = sorted(ev.absent)  # what was missing before the templates read more
    reason = ready.reason(env, ev, scope)
    remediation = ready.remediation(env, ev, scope)
    reads = ev.reads
    spec = rule.rule.spec
    return _built(  # the common case: no keywords to pack (`trusted`)
        Finding,
        {
            "rule_id": spec.id,
            "rule_version": spec.version,
            "title": spec.title,
            "outcome": spec.outcome,
            "reason": reason,
            "citation": rule.program.citation,
            "facts": {path: reads[path] for path in sorted(reads)},
            "missing": missing,
            "remediation": remediation,
        },
    )


def reference_finding_for(rule: CompiledRule, held: bool, ctx: Context) -> Finding:
    """The same finding as finding_for, by the reference interpreter walking the syntax tree
    (the oracle; `--engine reference`)."""
    ev = Evaluator(ctx)
    scope: Scope = {}
    result = ev.evaluate(rule.condition)
    for name, expr in rule.values.items():
        scope[name] = (ev.evaluate_in(expr, scope).value, name)
        ev.computed.add(name)
    told = None
    if held:
        told = (
            sorted(ev.absent),
            _render(rule.reason, ev, scope),
            _render(rule.remediation, ev, scope),
        )
    citation = Citation(**rule.rule.spec.citation.model_dump())
    return _finding(rule, ctx, ev, result, told, citation, Finding)


def _finding(
    rule: CompiledRule,
    ctx: Context,
    ev: Evaluator,
    result: Result,
    told: tuple[list[str], str, str] | None,
    citation: Citation,
    make: Callable[..., Finding],
) -> Finding:
    """The finding's common tail. `told`: the held rule's (missing, reason, remediation), or
    None when the rule could not be decided (the reason then names what was missing)."""
    spec = rule.rule.spec
    if told is not None:
        missing, reason, remediation = told
        outcome = spec.outcome
    else:
        missing = sorted(result.missing) or ["(unknown fact)"]
        shifts = [e for e in map(explain_gap, missing) if e is not None]
        rest = [m for m in missing if explain_gap(m) is None]
        facts = [m for m in rest if not m.startswith("param.")]
        gaps = [m for m in rest if m.startswith("param.")]
        because = [why for why, _ in shifts]
        if facts:
            because.append(f"{', '.join(facts)} {'is' if len(facts) == 1 else 'are'} not provided")
        if gaps:
            because.append(f"the rule pack has no value for {', '.join(gaps)} on {ctx.as_of}")
        reason = f"{spec.title}: cannot be decided because {' and '.join(because)}"
        todo = [what for _, what in shifts]
        if facts:
            todo.append(f"Provide {', '.join(facts)}")
        if gaps:
            todo.append(f"ask the pack's maintainers to add {', '.join(gaps)}")
        if shifts:
            todo[0] = todo[0][:1].upper() + todo[0][1:]
        remediation = f"{'; '.join(todo)} so that {spec.id} can be decided."
        outcome = Outcome.REQUIRE_DOCUMENTS
    return make(
        rule_id=spec.id,
        rule_version=spec.version,
        title=spec.title,
        outcome=outcome,
        reason=reason,
        citation=citation,
        facts=dict(sorted(ev.reads.items())),
        missing=missing,
        remediation=remediation,
    )


_TRUSTED_FINDING = partial(trusted, Finding)


def _render(parts: list[TemplatePart], ev: Evaluator, scope: Scope) -> str:
    out: list[str] = []
    for part in parts:
        if part.expr is None:
            out.append(part.text)
        else:
            value = ev.evaluate_in(part.expr, scope).value
            out.append(format_value(value, part.type_name))
    return "".join(out)
