"""Compile a loaded pack for one `as_of` date: select the rules in force, resolve parameters,
fold constants, and lower each condition to matcher patterns. The result is immutable and shared
by every evaluation on that date."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ..decision import Citation
from ..engine.dates import Calendar, calendar_of
from ..engine.durable_backend import Matcher, MatchRule, accepts
from ..entities.registry import KINDS
from ..lang.ast import Expr, Path
from ..pack.loader import LoadedPack, LoadedRule, TemplatePart
from ..pack.params import FX_PARAMETER, ResolvedParam, fx_rates, resolve, value_on
from .closures import Fn, compile_expr
from .codegen import ValueFn, compile_value
from .fold import fold
from .lower import FALSE, TRUE, Lowered, Lowerer
from .recorder import Recorder, compile_effects, compile_recorder

TRUE_SUFFIX = "|T"
UNKNOWN_SUFFIX = "|U"


Template = tuple[tuple[str, Recorder | None, str], ...]  # (text, hole, the hole's type name)


@dataclass(frozen=True)
class RuleProgram:
    """A rule's closures for building its finding, and the constants of that finding, made
    once per compile. The condition twice: recording only (the rule held: its value is known)
    and also carrying missing facts (it could not be decided); its `values` and templates."""

    condition: Fn
    held: Recorder
    values: tuple[tuple[str, Recorder], ...]
    reason: Template
    remediation: Template
    citation: Citation


@dataclass(frozen=True)
class CompiledRule:
    rule: LoadedRule
    condition: Expr
    values: dict[str, Expr]
    reason: list[TemplatePart]
    remediation: list[TemplatePart]
    lowered: Lowered
    program: RuleProgram

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def key(self) -> str:
        """Unique among the pack's compiled rules (several may share an id: one per kind
        and case of a written rule)."""
        return self.rule.key or self.rule.id

    @property
    def kind(self) -> str:
        return self.rule.kind

    @property
    def asks_for_missing(self) -> bool:
        return self.rule.spec.missing_policy == "require_documents"


@dataclass
class KindPlan:
    """What a fact of one kind must carry: plain fields (key -> path) and derived fields."""

    fields: dict[str, str] = field(default_factory=dict)
    hoisted: dict[str, Expr] = field(default_factory=dict)
    #: key -> value closure for every plain and derived field, in fact order (built once)
    getters: tuple[tuple[str, ValueFn], ...] = ()

    @property
    def field_paths(self) -> dict[str, Path]:
        """The plain fields as path expressions (built once)."""
        if len(self._paths) != len(self.fields):
            self._paths = {k: Path(tuple(v.split("."))) for k, v in self.fields.items()}
        return self._paths

    _paths: dict[str, Path] = field(default_factory=dict)


@dataclass
class CompiledPack:
    as_of: date
    rules: list[CompiledRule]
    params: dict[str, ResolvedParam]
    fx: dict[str, Decimal]
    calendar: Calendar
    plans: dict[str, KindPlan]
    _matcher: Matcher | None = None
    _by_kind: dict[str, list[CompiledRule]] | None = None
    _ids_by_kind: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _names_by_kind: dict[str, list[tuple[CompiledRule, str, str]]] = field(default_factory=dict)
    _param_values: dict[str, Any] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def holidays(self) -> frozenset[int]:
        """The working-day calendar's holidays (day numbers)."""
        return self.calendar.holidays

    def rules_for(self, kind: str) -> list[CompiledRule]:
        by_kind = self._by_kind
        if by_kind is None:
            by_kind = {}
            for rule in self.rules:
                by_kind.setdefault(rule.kind, []).append(rule)
            self._by_kind = by_kind
        return by_kind.get(kind, [])

    def match_names(self, kind: str) -> list[tuple[CompiledRule, str, str]]:
        """Each rule of `kind` with the names of its durable rules (condition held, condition
        unknown), in rule order (made once per kind)."""
        named = self._names_by_kind.get(kind)
        if named is None:
            named = self._names_by_kind[kind] = [
                (rule, rule.key + TRUE_SUFFIX, rule.key + UNKNOWN_SUFFIX)
                for rule in self.rules_for(kind)
            ]
        return named

    def rule_ids(self, kind: str) -> tuple[str, ...]:
        """The ids of the rules in force for `kind`, sorted and without repeats (a rule with
        several cases is one id)."""
        ids = self._ids_by_kind.get(kind)
        if ids is None:
            ids = self._ids_by_kind[kind] = tuple(sorted({r.id for r in self.rules_for(kind)}))
        return ids

    @property
    def param_values(self) -> dict[str, Any]:
        """Parameter name -> engine value on this date (computed once)."""
        if self._param_values is None:
            self._param_values = {name: p.value for name, p in self.params.items()}
        return self._param_values

    def matcher(self) -> Matcher:
        """The durable-rules rulesets for this date, each kind's created on its first match
        (`Matcher.create_all` creates them all)."""
        with self._lock:
            if self._matcher is None:
                match_rules: list[MatchRule] = []
                for rule in self.rules:
                    low = rule.lowered
                    for suffix, pattern in ((TRUE_SUFFIX, low.true), (UNKNOWN_SUFFIX, low.unknown)):
                        if pattern is FALSE or (
                            suffix == UNKNOWN_SUFFIX and not rule.asks_for_missing
                        ):
                            continue
                        match_rules.append(
                            MatchRule(rule.key + suffix, rule.kind, _native(pattern))
                        )
                self._matcher = Matcher(match_rules, lazy=True)
            return self._matcher

    def close(self) -> None:
        with self._lock:
            if self._matcher is not None:
                self._matcher.close()
                self._matcher = None


def compile_pack(pack: LoadedPack, as_of: date) -> CompiledPack:
    """Compile the rules of `pack` in force on `as_of`. A condition whose patterns durable-rules
    would refuse (measured limits, or a probe ruleset that fails) is hoisted whole instead."""
    in_force = sorted(
        (r for r in pack.rules if r.spec.in_force(as_of)), key=lambda r: r.key or r.id
    )
    names: set[str] = set()
    for rule in in_force:
        names |= rule.params
    if FX_PARAMETER in pack.params:
        names.add(FX_PARAMETER)
    holiday_names = pack.manifest.holidays_parameters
    names.update(holiday_names)
    available = {n for n in names if value_on(pack.params[n], as_of) is not None}
    params = resolve(pack.params, available, as_of)
    calendar = calendar_of(
        [
            list(v.values()) if isinstance(v, dict) else list(v)
            for v in (params[name].value for name in holiday_names if name in params)
        ],
        [name for name in holiday_names if name in params],
    )
    plans: dict[str, KindPlan] = {}
    lowerers: dict[str, Lowerer] = {}
    compiled: list[CompiledRule] = []
    for rule in in_force:
        compiled.append(compile_rule(rule, params, as_of, plans, lowerers))
    for plan in plans.values():
        plan.getters = tuple(
            [(key, compile_value(path)) for key, path in plan.field_paths.items()]
            + [(key, compile_value(expr)) for key, expr in plan.hoisted.items()]
        )
    return CompiledPack(as_of, compiled, params, fx_rates(pack.params, as_of), calendar, plans)


def compile_rule(
    rule: LoadedRule,
    params: dict[str, ResolvedParam],
    as_of: date,
    plans: dict[str, KindPlan],
    lowerers: dict[str, Lowerer],
) -> CompiledRule:
    plan = plans.setdefault(rule.kind, KindPlan())
    lowerer = lowerers.setdefault(rule.kind, Lowerer(KINDS[rule.kind]))
    bound = frozenset(rule.values)
    condition = fold(rule.condition, params, as_of, rule.condition_types, bound)
    lowered = lowerer.lower(condition)
    native = [_native(p) for p in (lowered.true, lowered.unknown) if p is not FALSE]
    if not accepts(rule.kind, native):
        lowered = lowerer.lower(condition, whole=True)
    plan.fields.update(lowered.fields)
    plan.hoisted.update(lowered.hoisted)
    values = {
        name: fold(expr, params, as_of, rule.value_types.get(name), bound)
        for name, (expr, _t) in rule.values.items()
    }
    reason = _fold_template(rule.reason, params, as_of, bound)
    remediation = _fold_template(rule.remediation, params, as_of, bound)
    program = RuleProgram(
        compile_expr(condition),
        compile_effects(condition),
        tuple((name, compile_recorder(expr)) for name, expr in values.items()),
        _compile_template(reason),
        _compile_template(remediation),
        Citation(**rule.spec.citation.model_dump()),
    )
    return CompiledRule(rule, condition, values, reason, remediation, lowered, program)


def _compile_template(parts: list[TemplatePart]) -> Template:
    return tuple(
        (p.text, compile_recorder(p.expr) if p.expr is not None else None, p.type_name)
        for p in parts
    )


def _fold_template(
    parts: list[TemplatePart], params: dict[str, ResolvedParam], as_of: date, bound: frozenset[str]
) -> list[TemplatePart]:
    return [
        TemplatePart(p.text, fold(p.expr, params, as_of, None, bound), p.type_name)
        if p.expr is not None
        else p
        for p in parts
    ]


def _native(pattern: dict[str, Any]) -> dict[str, Any]:
    """TRUE (the condition always holds) becomes the empty pattern: the kind test alone."""
    return {} if pattern is TRUE else pattern


__all__ = ["CompiledPack", "CompiledRule", "KindPlan", "RuleProgram", "compile_pack"]
