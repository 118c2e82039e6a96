"""Compile a loaded pack for one `as_of` date: select the rules in force, resolve parameters,
fold constants, and lower each condition to matcher patterns. The result is immutable and shared
by every evaluation on that date."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any, NamedTuple

from ..engine.durable_backend import Matcher, MatchRule, accepts, rule_json
from ..entities.registry import KINDS
from ..lang.ast import Const, Expr, Literal, Param, Path
from ..lang.dates import Calendar, calendar_of
from ..lang.values import PLAIN_ENGINE, Scope, format_value
from ..model.decision import Citation
from ..pack.loader import LoadedPack, LoadedRule, TemplatePart
from ..pack.params import FX_PARAMETER, ResolvedParam, fx_rates, to_engine, value_on
from ..pack.schema import ParamValue
from .codegen import (
    RecordFn,
    ResultFn,
    ValueFn,
    all_text,
    compile_effects,
    compile_recording,
    compile_result,
    compile_value,
    leaf_value,
    literal_value,
    worth_keeping,
)
from .fold import date_slots, fold, slot_key
from .lower import FALSE, SLOT, TRUE, Lowered, Lowerer

TRUE_SUFFIX = "|T"
UNKNOWN_SUFFIX = "|U"


#: (text, hole, the hole's type name, the computed value the hole names or None)
Template = tuple[tuple[str, RecordFn | None, str, str | None], ...]


class Later:
    """A finding's generated function (recording, effects or three-valued mode), compiled on
    its first call: most rules fire on few documents, so a pack's first compile generates
    only the projection it always needs. Two threads may both compile it: the same code."""

    __slots__ = ("_make", "_node", "_outer", "_fn")

    def __init__(self, make: Any, node: Expr, outer: frozenset[str]) -> None:
        self._make, self._node, self._outer = make, node, outer
        self._fn: Any = None

    def __call__(self, env: Any, ev: Any, scope: Scope) -> Any:
        return self.resolved()(env, ev, scope)

    def resolved(self) -> Any:
        """The generated function itself (compiled now if it was not yet)."""
        fn = self._fn
        if fn is None:
            fn = self._fn = self._make(self._node, self._outer)
        return fn


def _resolved(fn: Any) -> Any:
    return fn.resolved() if isinstance(fn, Later) else fn


Render = Callable[[Any, Any, Scope], str]


def hole_text(value: Any, type_name: str) -> str:
    """A template hole's value as text: `format_value`, with text itself (a list of it
    joined) written directly unless it is money."""
    kind = type(value)
    if kind is str and type_name != "money":
        return value  # type: ignore[no-any-return]
    if kind is list and value and "money" not in type_name and all_text(value):
        return ", ".join(value)
    return format_value(value, type_name)


def _renderer(template: Template) -> Render:
    """One function rendering a template: its holes' generated functions called in order (what
    they read is recorded as they go) and formatted by `hole_text`. A hole that names one of
    the rule's computed values takes it from the finding's scope (reading it records nothing,
    as the generated read would not); constant holes were written into the text already."""
    parts: list[tuple[str, Any, str, str | None]] = []
    for text, fn, type_name, name in template:
        if fn is None and parts and parts[-1][1] is None:  # text after text: one text
            parts[-1] = (parts[-1][0] + text, None, "", None)
        else:
            parts.append((text, _resolved(fn), type_name, name))
    if all(fn is None for _, fn, _, _ in parts):
        whole = "".join(text for text, _, _, _ in parts)
        return lambda env, ev, scope: whole
    fixed = tuple(parts)

    def render(env: Any, ev: Any, scope: Scope) -> str:
        out: list[str] = []
        for text, fn, type_name, name in fixed:
            if text:
                out.append(text)
            if fn is None:
                continue
            bound = None if name is None else scope.get(name)
            if bound is None:
                value = fn(env, ev, scope)
            else:  # the generated read of a computed value, inline (`_read` of its label)
                raw = bound[0]
                kind = type(raw)
                if kind in PLAIN_ENGINE or (kind is list and all_text(raw)):
                    value = raw  # as it is (a list of text is only formatted, never kept)
                else:
                    value = leaf_value(ev, raw)
            out.append(hole_text(value, type_name))
        return "".join(out)

    return render


class Ready(NamedTuple):
    """A rule's finding code, compiled: what `RuleProgram.ready` gives."""

    condition: ResultFn
    held: RecordFn
    values: tuple[tuple[str, RecordFn], ...]
    reason: Render
    remediation: Render


@dataclass(frozen=True)
class RuleProgram:
    """A rule's generated code for building its finding (recording mode: the facts read and
    found absent), and the constants of that finding, made once per compile: the condition
    twice (recording, when it held; three-valued, with the facts missing, when it could not
    be decided), its `values` and its templates."""

    condition: ResultFn
    held: RecordFn
    values: tuple[tuple[str, RecordFn], ...]
    reason: Template
    remediation: Template
    citation: Citation
    _ready: list[Ready] = field(default_factory=list, compare=False, repr=False)

    def ready(self) -> Ready:
        """The generated functions (compiled on first use, then kept) and one renderer per
        template: what building a finding calls, without the indirections."""
        ready = self._ready
        if not ready:
            ready.append(
                Ready(
                    self.condition,  # compiled on its first call: rules rarely go undecided
                    _resolved(self.held),
                    tuple((name, _resolved(fn)) for name, fn in self.values),
                    _renderer(self.reason),
                    _renderer(self.remediation),
                )
            )
        return ready[0]


@dataclass(frozen=True)
class CompiledRule:
    rule: LoadedRule
    condition: Expr
    values: dict[str, Expr]
    reason: list[TemplatePart]
    remediation: list[TemplatePart]
    lowered: Lowered
    program: RuleProgram
    #: its durable rules (condition held, condition unknown when it asks for missing facts),
    #: their JSON written once however many dates share this compiled rule
    match_rules: tuple[MatchRule, ...] = ()

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
        """The plain fields as path expressions."""
        return {k: Path(tuple(v.split("."))) for k, v in self.fields.items()}


@dataclass
class CompiledPack:
    as_of: date
    rules: list[CompiledRule]
    params: dict[str, ResolvedParam]
    fx: dict[str, Decimal]
    calendar: Calendar
    plans: dict[str, KindPlan]
    #: the date slots' values on this date (`date_slots`), read as parameters
    slots: dict[str, Any] = field(default_factory=dict)
    #: whose durable-rules rulesets it takes: those of every date whose rules compiled alike
    shared: CompileCache = field(default_factory=lambda: CompileCache())
    _matcher: Matcher | None = None
    _by_kind: dict[str, list[CompiledRule]] | None = None
    _ids_by_kind: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _names_by_kind: dict[str, list[tuple[CompiledRule, str, str]]] = field(default_factory=dict)
    _param_values: dict[str, Any] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

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
            self._param_values.update(self.slots)
        return self._param_values

    def matcher(self) -> Matcher:
        """The durable-rules rulesets for this date (shared with the dates whose rules compiled
        alike), each kind's created on its first match (`Matcher.create_all`: all of them)."""
        with self._lock:
            if self._matcher is None:
                self._matcher = self.shared.matcher([m for r in self.rules for m in r.match_rules])
            return self._matcher

    def close(self) -> None:
        with self._lock:
            if self._matcher is not None:
                self.shared.release(self._matcher)
                self._matcher = None


#: compiled rules a CompileCache keeps, least recently used dropped first (a rule compiles
#: anew only when a parameter it reads or a truth value of its date slots changes)
RULES_KEPT = 1024


class CompileCache:
    """What compiling a pack built, kept for its other dates and keyed by structure, not by
    date: a rule's compiled parts by the parameter values it reads and what its date slots
    fold to (`slot_key`), resolved parameters by the dated entry in force, field closures by
    field, calendars by the holiday entries, durable-rules rulesets by their rules. Two dates
    with the same rules in force and the same parameter values share all of it.
    Thread-safe; one per pack."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: OrderedDict[tuple[Any, ...], CompiledRule] = OrderedDict()
        self._reads: dict[str, tuple[tuple[str, ...], tuple[tuple[Expr, str], ...]]] = {}
        self._matchers: dict[tuple[tuple[str, str], ...], list[Any]] = {}
        self._resolved: dict[tuple[str, int, int], ResolvedParam] = {}
        self._getters: dict[tuple[str, str, str], ValueFn] = {}
        self._calendars: dict[tuple[int, ...], Calendar] = {}
        self._fx: dict[int, dict[str, Decimal]] = {}

    def reads(self, rule: LoadedRule) -> tuple[tuple[str, ...], tuple[tuple[Expr, str], ...]]:
        """The parameters a rule reads (sorted) and its date slots (`date_slots`)."""
        key = rule.key or rule.id
        found = self._reads.get(key)
        if found is None:
            trees = [rule.condition, *(e for e, _t in rule.values.values())]
            trees += [p.expr for p in (*rule.reason, *rule.remediation) if p.expr is not None]
            found = self._reads[key] = (tuple(sorted(rule.params)), date_slots(trees, rule.values))
        return found

    def matcher(self, rules: list[MatchRule]) -> Matcher:
        """The durable-rules rulesets of these rules, shared by every date that uses the same
        (`release` gives one back; the last to go frees them)."""
        key = tuple((m.name, m.text) for m in rules)
        with self._lock:
            held = self._matchers.get(key)
            if held is None:
                held = self._matchers[key] = [Matcher(rules, lazy=True), 0]
            held[1] += 1
            return held[0]  # type: ignore[no-any-return]

    def release(self, matcher: Matcher) -> None:
        with self._lock:
            key, held = next((k, h) for k, h in self._matchers.items() if h[0] is matcher)
            held[1] -= 1
            if held[1] == 0:
                del self._matchers[key]
                matcher.close()

    def rule(self, key: tuple[Any, ...], make: Callable[[], CompiledRule]) -> CompiledRule:
        """The compiled rule kept under `key`, or `make()`'s, kept (least recently used first
        dropped). Two threads may both make it: the same rule."""
        with self._lock:
            if (hit := self._rules.get(key)) is not None:
                self._rules.move_to_end(key)
                return hit
        made = make()
        with self._lock:
            self._rules[key] = made
            while len(self._rules) > RULES_KEPT:
                self._rules.popitem(last=False)
        return made

    def resolve(self, pack: LoadedPack, names: set[str], as_of: date) -> dict[str, ResolvedParam]:
        """`params.resolve`, each parameter converted once per dated entry (and rates)."""
        fx_spec = pack.params.get(FX_PARAMETER)
        fx_entry = value_on(fx_spec, as_of) if fx_spec is not None else None
        out: dict[str, ResolvedParam] = {}
        for name in sorted(names):
            spec = pack.params[name]
            entry = value_on(spec, as_of)
            if entry is None:
                raise KeyError(name)
            key = (name, id(entry), id(fx_entry) if "money" in spec.type else 0)
            got = self._resolved.get(key)
            if got is None:
                fx = self.fx(pack, as_of, fx_entry)
                got = self._resolved[key] = ResolvedParam(
                    name, to_engine(spec.type, entry.value, fx), entry, spec
                )
            out[name] = got
        return out

    def fx(self, pack: LoadedPack, as_of: date, entry: ParamValue | None) -> dict[str, Decimal]:
        got = self._fx.get(id(entry))
        if got is None:
            got = self._fx[id(entry)] = fx_rates(pack.params, as_of)
        return got

    def calendar(self, params: dict[str, ResolvedParam], names: list[str]) -> Calendar:
        used = [name for name in names if name in params]
        key = tuple(id(params[name]) for name in used)
        got = self._calendars.get(key)
        if got is None:
            got = self._calendars[key] = calendar_of(
                [
                    list(v.values()) if isinstance(v, dict) else list(v)
                    for v in (params[name].value for name in used)
                ],
                used,
            )
        return got

    def getter(self, key: str, expr: Expr, kind: str) -> ValueFn:
        """The value closure of a fact field of one kind; a hoisted field's key names its
        expression."""
        text = expr.dotted if isinstance(expr, Path) else ""
        got = self._getters.get((key, text, kind))
        if got is None:
            got = self._getters[(key, text, kind)] = compile_value(expr, KINDS[kind])
        return got


def compile_pack(pack: LoadedPack, as_of: date, cache: CompileCache | None = None) -> CompiledPack:
    """Compile the rules of `pack` in force on `as_of`. A condition whose patterns durable-rules
    would refuse (measured limits, or a probe ruleset that fails) is hoisted whole instead.
    With `cache`, what an earlier date compiled is reused where the structure is the same."""
    cache = cache or CompileCache()
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
    params = cache.resolve(pack, available, as_of)
    calendar = cache.calendar(params, list(holiday_names))
    plans: dict[str, KindPlan] = {}
    compiled: list[CompiledRule] = []
    slots: dict[str, Any] = {}
    for rule in in_force:
        reads, dated = cache.reads(rule)
        own = {name: params[name] for name in reads if name in params}
        shape, args = slot_key(dated, own, as_of, slots) if dated else ((), {})
        key = (rule.key or rule.id, tuple(id(own.get(name)) for name in reads), shape)
        done = cache.rule(key, partial(compile_rule, rule, params, as_of, cache, args))
        compiled.append(done)
        plan = plans.setdefault(rule.kind, KindPlan())
        plan.fields.update(done.lowered.fields)
        plan.hoisted.update(done.lowered.hoisted)
    for kind, plan in plans.items():
        plan.getters = tuple(
            [(key, cache.getter(key, path, kind)) for key, path in plan.field_paths.items()]
            + [(key, cache.getter(key, expr, kind)) for key, expr in plan.hoisted.items()]
        )
    fx_spec = pack.params.get(FX_PARAMETER)
    fx = cache.fx(pack, as_of, value_on(fx_spec, as_of) if fx_spec is not None else None)
    return CompiledPack(as_of, compiled, params, fx, calendar, plans, slots, cache)


def compile_rule(
    rule: LoadedRule,
    params: dict[str, ResolvedParam],
    as_of: date,
    cache: CompileCache | None = None,
    args: dict[int, str] | None = None,
) -> CompiledRule:
    """A rule's folded trees, patterns and closures on `as_of`: a function of the rule, the
    values of the parameters it reads and what its date slots fold to (`slot_key`; `args`:
    the slots compiled as parameters)."""
    cache = cache or CompileCache()
    params = {name: params[name] for name in rule.params if name in params}  # what it reads
    lowerer = Lowerer(KINDS[rule.kind])
    bound = frozenset(rule.values)
    condition = fold(rule.condition, params, as_of, rule.condition_types, bound, args)
    lowered = lowerer.lower(condition)
    native = [_native(p) for p in (lowered.true, lowered.unknown) if p is not FALSE]
    if not accepts(rule.kind, native):
        lowered = lowerer.lower(condition, whole=True)
    values = {
        name: fold(expr, params, as_of, rule.value_types.get(name), bound, args)
        for name, (expr, _t) in rule.values.items()
    }
    reason = _fold_template(rule.reason, params, as_of, bound, args)
    remediation = _fold_template(rule.remediation, params, as_of, bound, args)
    key = rule.key or rule.id
    root = KINDS[rule.kind]
    # what a finding evaluates, in order: the condition, the values, the texts' holes
    shared = worth_keeping(
        [condition, *values.values()]
        + [p.expr for p in (*reason, *remediation) if p.expr is not None]
    )
    program = RuleProgram(
        Later(partial(compile_result, root=root), condition, bound),
        Later(partial(compile_effects, root=root, shared=shared), condition, bound),
        tuple((name, _recording(expr, bound, rule.kind, shared)) for name, expr in values.items()),
        _compile_template(reason, bound, rule.kind, shared),
        _compile_template(remediation, bound, rule.kind, shared),
        Citation(**rule.spec.citation.model_dump()),
    )
    match_rules = tuple(
        MatchRule(key + suffix, rule.kind, pattern, rule_json(rule.kind, pattern))
        for suffix, low in ((TRUE_SUFFIX, lowered.true), (UNKNOWN_SUFFIX, lowered.unknown))
        if low is not FALSE
        and (suffix == TRUE_SUFFIX or rule.spec.missing_policy == "require_documents")
        for pattern in (_native(low),)
    )
    return CompiledRule(rule, condition, values, reason, remediation, lowered, program, match_rules)


def _recording(expr: Expr, outer: frozenset[str], kind: str, shared: frozenset[Expr]) -> Later:
    """`compile_recording` of one part of a rule, compiled for its first finding."""
    return Later(partial(compile_recording, root=KINDS[kind], shared=shared), expr, outer)


def _compile_template(
    parts: list[TemplatePart], outer: frozenset[str], kind: str, shared: frozenset[Expr]
) -> Template:
    """A template's parts: text, and holes with their generated functions; a hole folded to a
    constant (a parameter) is written into the text once."""
    out: list[tuple[str, RecordFn | None, str, str | None]] = []
    for p in parts:
        expr = p.expr
        if expr is None:
            out.append((p.text, None, p.type_name, None))
        elif isinstance(expr, Const | Literal):
            value = expr.value if isinstance(expr, Const) else literal_value(expr)
            out.append((p.text + hole_text(value, p.type_name), None, "", None))
        elif isinstance(expr, Param) and expr.name.startswith(SLOT):  # written once a date
            out.append((p.text, partial(_slot_text, expr.name, p.type_name, {}), "", None))
        else:
            name = (
                expr.parts[0]
                if isinstance(expr, Path) and len(expr.parts) == 1 and expr.parts[0] in outer
                else None
            )
            fn = _recording(expr, outer, kind, shared)
            out.append((p.text, fn, p.type_name, name))
    return tuple(out)


def _slot_text(name: str, kind: str, texts: dict[Any, str], env: Any, ev: Any, _s: Any) -> str:
    """A date slot's hole: the text of its value on the finding's date (remembered)."""
    value = env.ctx.params[name]
    if (text := texts.get(value)) is None:
        if len(texts) >= 4096:  # dates seen: bounded
            texts.clear()
        text = texts[value] = hole_text(value, kind)
    return text


def _fold_template(
    parts: list[TemplatePart],
    params: dict[str, ResolvedParam],
    as_of: date,
    bound: frozenset[str],
    args: dict[int, str] | None,
) -> list[TemplatePart]:
    return [
        TemplatePart(p.text, fold(p.expr, params, as_of, None, bound, args), p.type_name)
        if p.expr is not None
        else p
        for p in parts
    ]


def _native(pattern: dict[str, Any]) -> dict[str, Any]:
    """TRUE (the condition always holds) becomes the empty pattern: the kind test alone."""
    return {} if pattern is TRUE else pattern


__all__ = [
    "CompileCache",
    "CompiledPack",
    "CompiledRule",
    "KindPlan",
    "RuleProgram",
    "compile_pack",
]
