"""`analyze`: what a pack's rules can do on a date, proved with the symbolic model.

Per kind: dead rules (no valid document makes them fire), always rules (every valid document
makes them fire; INFO rules aside), redundant rules (whenever one fires, another rule with the
same or a more severe outcome fires too), undecidable rules (their condition is never true nor
false: a fact or parameter is always missing) and unknown rules (not encoded exactly, so nothing
is claimed about them). Over the whole timeline: gaps and overlaps in parameters' windows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import z3

from ..compiler.compile import CompiledPack
from ..model.decision import SEVERITY, Outcome
from ..pack.loader import LoadedPack
from ..solver.symbolic import DEFAULT_BOUND, FALSE, Encoder, RuleModel, SymDoc, rule_model

#: Work limit per question, in z3's resource units (a count of steps, not a clock, so a loaded
#: machine gives the same report as an idle one; the slowest question about pk takes 0.08 s): a
#: question it cannot answer within it makes the rule "unknown" (for dead/always) or is simply
#: not claimed (for redundancy).
WORK_LIMIT = 10_000_000
#: A backstop well above what the work limit costs, for a machine far slower than expected.
TIMEOUT_MS = 60_000


@dataclass
class KindReport:
    dead: list[str] = field(default_factory=list)
    always: list[str] = field(default_factory=list)
    redundant: list[dict[str, str]] = field(default_factory=list)
    undecidable: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    why_unknown: dict[str, str] = field(default_factory=dict)

    def findings(self) -> int:
        return len(self.dead) + len(self.always) + len(self.redundant) + len(self.undecidable)

    def to_json(self) -> dict[str, Any]:
        return {
            "dead": self.dead,
            "always": self.always,
            "redundant": self.redundant,
            "undecidable": self.undecidable,
            "unknown": self.unknown,
        }


@dataclass
class Analysis:
    on: date
    kinds: dict[str, KindReport]
    timeline: list[dict[str, Any]]
    bound: int

    @property
    def found(self) -> bool:
        return bool(self.timeline) or any(k.findings() for k in self.kinds.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "on": self.on.isoformat(),
            "kinds": {k: r.to_json() for k, r in sorted(self.kinds.items())},
            "timeline": self.timeline,
        }


def _solver(doc: SymDoc) -> z3.Solver:
    s = z3.Solver()
    s.set("rlimit", WORK_LIMIT)
    s.set("timeout", TIMEOUT_MS)
    s.add(*doc.axioms)
    return s


def _check(s: z3.Solver, *formulas: Any) -> z3.CheckSatResult:
    s.push()
    try:
        s.add(*formulas)
        return s.check()
    finally:
        s.pop()


def _covers(m: RuleModel, severity: int) -> Any:
    """m fires with an outcome at least as severe as `severity`."""
    parts = []
    if _severity(m.outcome) >= severity:
        parts.append(m.fires_true)
    if SEVERITY[Outcome.REQUIRE_DOCUMENTS] >= severity:
        parts.append(m.fires_unknown)
    return z3.Or(parts) if parts else FALSE


def _severity(outcome: Outcome) -> int:
    return SEVERITY[outcome] if outcome is not Outcome.INFO else -1


@dataclass
class RuleGroup:
    """The internal rules the loader made of one rule id for one kind (a rule with cases, or
    applying to several kinds, is several internal rules sharing its id): findings name the id."""

    id: str
    cases: list[RuleModel]

    @property
    def exact(self) -> bool:
        return all(c.exact for c in self.cases)

    @property
    def why(self) -> str:
        return "; ".join(c.why for c in self.cases if not c.exact)

    @property
    def fires(self) -> Any:
        return z3.Or([c.fires for c in self.cases])

    @property
    def decided(self) -> Any:
        return z3.Or([z3.Or(c.true, c.false) for c in self.cases])

    @property
    def info(self) -> bool:
        return all(c.outcome is Outcome.INFO for c in self.cases)

    def covers(self, severity: int) -> Any:
        """Some case fires with an outcome at least as severe as `severity`."""
        return z3.Or([_covers(c, severity) for c in self.cases])

    def escapes(self, other: RuleGroup) -> Any:
        """Documents on which this rule fires and `other` does not fire as severely."""
        req = SEVERITY[Outcome.REQUIRE_DOCUMENTS]
        return z3.Or(
            [
                z3.Or(
                    z3.And(c.fires_true, z3.Not(other.covers(_severity(c.outcome)))),
                    z3.And(c.fires_unknown, z3.Not(other.covers(req))),
                )
                for c in self.cases
            ]
        )


def group_rules(models: list[RuleModel]) -> list[RuleGroup]:
    groups: dict[str, RuleGroup] = {}
    for m in models:
        groups.setdefault(m.rule.id, RuleGroup(m.rule.id, [])).cases.append(m)
    return [groups[k] for k in sorted(groups)]


def analyze_kind(
    compiled: CompiledPack,
    kind: str,
    bound: int = DEFAULT_BOUND,
    progress: Callable[[str], None] | None = None,
) -> KindReport:
    """Dead, always, redundant, undecidable and unknown rules of one kind."""
    doc = SymDoc(kind, bound, compiled.fx)
    enc = Encoder(doc, compiled, alone=False)
    groups = group_rules([rule_model(enc, r, opaque=False) for r in compiled.rules_for(kind)])
    s = _solver(doc)
    report = KindReport()
    live: list[RuleGroup] = []
    for g in groups:
        rid = g.id
        if progress is not None:
            progress(rid)
        if not g.exact:
            report.unknown.append(rid)
            report.why_unknown[rid] = g.why
            continue
        decided = _check(s, g.decided)
        if decided == z3.unsat:
            report.undecidable.append(rid)
            continue
        can_fire = _check(s, g.fires)
        if can_fire == z3.unsat:
            report.dead.append(rid)
            continue
        if can_fire == z3.unknown or decided == z3.unknown:
            report.unknown.append(rid)
            report.why_unknown[rid] = "the solver gave no answer in time"
            continue
        if not g.info and _check(s, z3.Not(g.fires)) == z3.unsat:
            report.always.append(rid)
        live.append(g)
    # redundancy: r is implied by s when no document makes r fire without s firing at least as
    # severely. Candidates are pruned with documents on which r fires.
    implied: dict[str, str] = {}
    always = set(report.always)
    # a rule that always fires implies every rule of lower severity: name it only as a last resort
    candidates = sorted(live, key=lambda g: g.id in always)
    for r in live:
        samples: list[z3.ModelRef] = []
        s.push()
        s.add(r.fires)
        if s.check() == z3.sat:
            samples.append(s.model())
        s.pop()
        for other in candidates:
            if other is r:
                continue
            if any(
                not z3.is_true(sample.eval(other.fires, model_completion=True))
                for sample in samples
            ):
                continue
            s.push()
            s.add(r.escapes(other))
            answer = s.check()
            if answer == z3.sat:
                samples.append(s.model())
            s.pop()
            if answer == z3.unsat:
                if implied.get(other.id) == r.id:
                    continue  # equivalent pair: report only the later one
                implied[r.id] = other.id
                break
    report.redundant = [{"rule": k, "implied_by": v} for k, v in sorted(implied.items())]
    return report


def timeline(pack: LoadedPack) -> list[dict[str, Any]]:
    """Gaps (days without a value between two values) and overlaps (a value whose window runs
    past the next value's start) in every parameter's effective windows."""
    out: list[dict[str, Any]] = []
    for name, spec in sorted(pack.params.items()):
        values = sorted(spec.values, key=lambda v: v.from_)
        for a, b in zip(values, values[1:], strict=False):
            if a.to is None:
                continue
            if a.to >= b.from_:
                out.append(
                    {
                        "type": "parameter_overlap",
                        "parameter": name,
                        "from": b.from_.isoformat(),
                        "to": a.to.isoformat(),
                    }
                )
            elif a.to < date.max and a.to + timedelta(days=1) < b.from_:
                out.append(
                    {
                        "type": "parameter_gap",
                        "parameter": name,
                        "from": (a.to + timedelta(days=1)).isoformat(),
                        "to": (b.from_ - timedelta(days=1)).isoformat(),
                    }
                )
    return out


def analyze(
    pack: Any,
    on: date,
    *,
    bound: int = DEFAULT_BOUND,
    progress: Callable[[str], None] | None = None,
) -> Analysis:
    """Analyse the rules of a RulePack in force on `on`."""
    compiled = pack.compiled(on)
    kinds = sorted({r.kind for r in compiled.rules})
    reports = {k: analyze_kind(compiled, k, bound, progress) for k in kinds}
    return Analysis(on, reports, timeline(pack.loaded), bound)
