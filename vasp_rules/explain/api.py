"""Attach explanations to decisions: the library side of `explain` and of
`RulePack.evaluate(..., explain=True)`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..compiler.compile import CompiledPack, CompiledRule
from ..core.errors import InputError
from ..entities.registry import ID_FIELD, KINDS, parse_document
from ..interp.reference import Context, Evaluator
from ..lang.values import UNKNOWN
from ..model.decision import Decision, Finding, Outcome
from ..model.explanation import Explanation, RuleTrace, Suggestion
from ..runtime.evaluate import EngineName, Item, context_for
from .counterfactual import Solver, Verifier, is_blocking, suggestion_for
from .why import Tracer

if TYPE_CHECKING:
    from ..runtime.rulepack import RulePack


class ExplainError(InputError):
    """A rule that cannot be explained for this document and date (unknown, not in force, or
    for another kind of document)."""


def make_item(document: Mapping[str, Any] | BaseModel) -> Item:
    """Validate one document (raises DocumentError) into an engine item."""
    if isinstance(document, BaseModel) and isinstance(document, tuple(KINDS.values())):
        model: BaseModel = document
    elif isinstance(document, BaseModel):
        model = parse_document(document.model_dump(mode="json"))
    else:
        model = parse_document(document)
    kind = str(model.model_dump(include={"kind"})["kind"])
    return Item(model, kind, str(getattr(model, ID_FIELD[kind])))


def check_rules(pack: RulePack, rules: Sequence[str], kind: str, as_of: date) -> None:
    """Refuse rule ids that the pack cannot explain for a document of `kind` on `as_of`."""
    for rule_id in rules:
        if rule_id not in pack.rule_ids():
            raise ExplainError(f"unknown rule {rule_id!r} in pack {pack.name}")
        if rule_id not in pack.rule_ids(on=as_of):
            raise ExplainError(f"rule {rule_id} is not in force on {as_of.isoformat()}")
        if rule_id not in pack.rule_ids(on=as_of, kind=kind):
            other = next(r.kind for r in pack.loaded.rules if r.id == rule_id)
            raise ExplainError(f"rule {rule_id} applies to {other} documents, not {kind}")


def explain(
    pack: RulePack,
    document: Mapping[str, Any] | BaseModel,
    as_of: date,
    *,
    rules: Sequence[str] = (),
    suggest: bool = True,
    engine: EngineName = "durable",
) -> Decision:
    """Evaluate one document (alone) and attach its explanation; see
    :func:`vasp_rules.explain.explain`."""
    item = make_item(document)
    check_rules(pack, rules, item.kind, as_of)
    decision = pack.evaluate(item.model, as_of, engine=engine)
    with pack.using(as_of) as compiled:
        return attach_explanations(
            pack,
            compiled,
            [item],
            [decision],
            batch=True,
            rules=rules,
            suggest=suggest,
            engine=engine,
        )[0]


def attach_explanations(
    pack: RulePack,
    compiled: CompiledPack,
    items: Sequence[Item],
    decisions: Sequence[Decision],
    *,
    batch: bool,
    rules: Sequence[str] = (),
    suggest: bool = True,
    engine: EngineName = "durable",
) -> list[Decision]:
    """The decisions with their explanations: a trace of every finding (and of each rule in
    `rules`), and verified suggestions for every blocking finding of a decision that is not
    APPROVE. Suggestions are verified against the same batch the decision saw."""
    documents = [item.model.model_dump(mode="json") for item in items]
    out: list[Decision] = []
    for index, (item, decision) in enumerate(zip(items, decisions, strict=True)):
        group = list(items) if batch else [item]
        ctx = context_for(compiled, item, group)
        tracer = Tracer(compiled, ctx)
        by_id = {rule.id: rule for rule in compiled.rules_for(item.kind)}
        traces: list[RuleTrace] = [
            tracer.trace(_rule_of(compiled, ctx, item.kind, f)) for f in decision.findings
        ]
        for rule_id in rules if decision.regime_starts_on is None else ():
            if rule_id in by_id and rule_id not in decision.fired:
                traces.append(tracer.trace(by_id[rule_id]))
        suggestions: list[Suggestion] = []
        if suggest and decision.outcome is not Outcome.APPROVE:
            verifier = Verifier(
                pack=pack,
                compiled=compiled,
                documents=documents,
                index=index,
                others=[other for other in group if other is not item],
                engine=engine,
                batch=batch,
            )
            for finding in decision.findings:
                if is_blocking(finding):
                    solver = Solver(compiled, ctx, documents[index], item.kind)
                    rule = _rule_of(compiled, ctx, item.kind, finding)
                    suggestions.append(suggestion_for(rule, finding, solver, verifier, decision))
        explanation = Explanation(rules=traces, suggestions=suggestions)
        out.append(decision.model_copy(update={"explanation": explanation}))
    return out


def _rule_of(compiled: CompiledPack, ctx: Context, kind: str, finding: Finding) -> CompiledRule:
    """The compiled rule (of the cases a rule id may have) that produced a finding: the
    first of that id whose outcome it carries and whose condition holds, or is unknown for a
    finding that asks for missing facts."""
    candidates = [r for r in compiled.rules_for(kind) if r.id == finding.rule_id]
    if len(candidates) == 1:
        return candidates[0]
    for rule in candidates:
        value = Evaluator(ctx, record=False).evaluate(rule.condition).value
        if value is True and rule.rule.spec.outcome is finding.outcome:
            return rule
        if value is UNKNOWN and finding.outcome is Outcome.REQUIRE_DOCUMENTS:
            return rule
    return candidates[0]


__all__ = ["ExplainError", "attach_explanations", "check_rules", "explain", "make_item"]
