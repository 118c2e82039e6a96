"""The nearest document on which a rule's condition is false: the counterfactual search of
`explain`, run on the symbolic model (:mod:`vasp_rules.solver.symbolic`).

The document becomes the model's base: every variable a rule reads is asked, as a soft
constraint, to keep its current value, and `z3.Optimize` makes the condition false with
lexicographic objectives: (1) the fewest changed facts (a value, a fact supplied, an entry
added: one each); (2) the nearest values (the sum of distances of numbers, amounts in PKR paisa,
days and seconds from their current value, or from 0 and the evaluation date for a new fact);
(3) a fixed preference among equally near answers (an earlier path, a field before a new
entry), so that answers are deterministic.

What an applicant cannot change is hard, read from the entity fields' markers
(:mod:`vasp_rules.entities.facts`): facts of record, the dates of events already on record, no
date before the evaluation date, no fact or entry removed. Each is an assumption, so that when
none of the remaining changes clears the rule the solver's unsat core names the facts that stand
in the way. A list may gain `allow` entries (an assumption too; at first as many as the
longest parameter list a quantifier of the rule ranges over, a list of required documents; a
list inside an entry, such as a person's roles, at most two) and is unrolled one entry further:
when one more entry would do, or an answer changes more facts than the limit allows entries (so
that more entries might cost less), the search runs again with room for more, up to
:data:`MAX_NEW_ENTRIES`. The answer has the fewest changed facts among those that add at most
`allow` entries to each list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import z3

from ..compiler.compile import CompiledPack, CompiledRule
from ..core.docpath import get_at
from ..entities.facts import Marks, marks_at
from ..lang.ast import Const, Expr, ListLiteral, Param, Quantifier, children
from .schema import Shape, decimal_text, default_scalar, fields_of
from .symbolic import (
    TRUE,
    Encoder,
    Inexact,
    SymDoc,
    decoded,
    encoded,
    is_false,
    is_true,
    text_axiom,
)

#: Entries a list may gain in the search, tried in turn while no change at all is found.
MAX_NEW_ENTRIES = 12
#: Work limit of the optimiser per search, in z3's resource units (0.1-1.3 s of CPU on a small
#: machine, depending on the question: 8x this made one generated licence application take 18 s
#: to explain, and 4x changed no suggestion's status on 100 generated documents); past
#: it a plain satisfiability check (same limit) still finds a verified change or the facts in
#: the way, just not the nearest. A resource limit, not a time limit: the same question gets the
#: same answer on a loaded machine, so explanations stay a function of (input, pack, as_of).
WORK_LIMIT = 1_000_000
PLACEHOLDER_TEXT = "(to be provided)"

Cause = Literal["record", "event", "past", "removal", "growth"]
Status = Literal["found", "blocked", "impossible", "inexact", "unknown"]


@dataclass(frozen=True)
class Delta:
    """One change of the nearest document. `role` "val": a new value (`after` in JSON form,
    an amount as PKR paisa); "present": a fact supplied (`after` its JSON value); "len":
    entries added at the end of a list (`after` the new entries)."""

    role: str
    path: tuple[Any, ...]
    before: Any
    after: Any
    tag: str = ""
    others: bool = False  # another new value (of an enumeration) would clear it as well


@dataclass(frozen=True)
class Block:
    """A fact that stands in the way: `cause` says why it cannot change, `needed` is the
    value it would need (for a date that would have to be in the past)."""

    cause: Cause
    path: tuple[Any, ...]
    before: Any = None
    what: str = ""
    needed: Any = None


@dataclass
class Nearest:
    """The search's answer: the changes (found), what stands in the way (blocked), no change
    at all (impossible), or why the model cannot say (inexact, unknown)."""

    status: Status
    deltas: list[Delta] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    why: str = ""


def nearest_change(
    compiled: CompiledPack,
    rule: CompiledRule,
    document: Mapping[str, Any],
    *,
    alone: bool,
    keep_off: tuple[CompiledRule, ...] = (),
) -> Nearest:
    """The fewest, nearest changes of `document` that make `rule`'s condition false (and
    keep the rules in `keep_off` from firing, where the model encodes them)."""
    # first no new entries at all (most answers change one fact, and unrolling lists further
    # is what makes the model large), unless the rule ranges over a list of required things
    allow = max([0, *(min(n, MAX_NEW_ENTRIES) for n in _param_ranges(compiled, rule.condition))])
    while True:
        try:
            search = _Search(compiled, rule, document, alone=alone, allow=allow, keep_off=keep_off)
        except Inexact as exc:
            return Nearest("inexact", why=str(exc))
        except (z3.Z3Exception, TypeError) as exc:
            return Nearest("inexact", why=f"not modelled: {exc}")
        answer = search.run()
        if allow >= MAX_NEW_ENTRIES:
            break
        if answer.status == "found" and search.cost - 1 > allow:
            allow = min(MAX_NEW_ENTRIES, search.cost - 1)
        elif answer.status in ("blocked", "impossible") and (
            search.cramped or allow == 0 and search.growable
        ):
            allow = min(MAX_NEW_ENTRIES, max(1, allow * 4))
        else:
            break
    answer.blocks = [b for b in answer.blocks if b.cause != "growth"]
    if answer.status == "blocked" and not answer.blocks:
        return Nearest("impossible")
    return answer


def count_at_most(
    compiled: CompiledPack,
    rule: CompiledRule,
    document: Mapping[str, Any],
    limit: int,
    *,
    alone: bool,
) -> bool:
    """Whether some document with at most `limit` changed facts (counted as the search counts
    them) makes the condition false: a plain satisfiability check with a cardinality
    constraint, independent of the optimiser (used to test minimality)."""
    # fewer than `limit` changes add at most `limit` entries to any list: the bound is exact
    room = max(limit, 1)
    search = _Search(compiled, rule, document, alone=alone, allow=room, nested=room)
    s = z3.Solver()
    s.set(rlimit=20 * WORK_LIMIT)
    s.add(*search.hard, *search.assumptions, *search.blocks)
    changed = [z3.Not(keep) for keep in search.counted]
    s.add(z3.AtMost(*changed, limit) if changed else z3.BoolVal(True))
    return bool(s.check() == z3.sat)


class _Doc(SymDoc):
    """A symbolic document whose text fields get their (costly) character constraints only
    when the goal reads them: a rule asking whether a name is present never builds them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.texts: list[tuple[Any, bool]] = []

    def scalar(self, shape: Shape, path: tuple[Any, ...]) -> Any:
        if shape.tag != "text" or ("val", path) in self.vars:
            return super().scalar(shape, path)
        var = z3.String(self._name("val", path))
        if shape.min_length:
            self.axioms.append(z3.Length(var) >= shape.min_length)
        self.texts.append((var, shape.token))
        self.vars[("val", path)] = var
        return var


class _Search:
    """The optimisation problem for one rule and one document."""

    def __init__(
        self,
        compiled: CompiledPack,
        rule: CompiledRule,
        document: Mapping[str, Any],
        *,
        alone: bool,
        allow: int,
        keep_off: tuple[CompiledRule, ...] = (),
        nested: int = 2,
    ) -> None:
        self.document = document
        self.nested = nested
        self.doc = _Doc(rule.kind, fx=compiled.fx, base=document, grow=self._room)
        self.allow = allow
        self.cost = 0  # changed facts in the answer
        self.cramped = False  # the limit on new entries was in the way
        self.growable = False  # the rule reads the length of a list that may grow
        encoder = Encoder(self.doc, compiled, alone=alone)
        goal = is_false(encoder.condition(rule))
        for other in keep_off:
            try:
                v = encoder.condition(other)
            except (Inexact, z3.Z3Exception, TypeError):
                continue
            goal = z3.And(goal, z3.Not(is_true(v)), v.known if other.asks_for_missing else TRUE)
        on = compiled.as_of
        self.day = on.toordinal()
        self.moment = int(
            (datetime(on.year, on.month, on.day) - datetime(1970, 1, 1)).total_seconds()
        )
        self.as_of = on
        # only the variables the goal depends on (through the axioms) take part: the others
        # keep their values whatever the answer, and leaving them out keeps the problem small
        axioms, self.used = _relevant(goal, self.doc.axioms)
        self.vars = {k: v for k, v in self.doc.vars.items() if str(v) in self.used}
        texts = [text_axiom(var, token) for var, token in self.doc.texts if str(var) in self.used]
        self.hard: list[Any] = [*axioms, *texts, goal]
        self.goal = z3.And(*self.hard)
        self.counted: list[Any] = []  # keep-as-is constraints, one per fact
        self.distance: list[Any] = []
        self.order: list[tuple[str, Any, int]] = []
        self.blocks: dict[Any, Block] = {}  # assumption literal -> what it protects
        self.assumptions: list[Any] = []
        for (role, path), var in sorted(self.vars.items(), key=lambda kv: _key(kv[0])):
            self._constrain(role, path, var)

    # -- constraints ---------------------------------------------------------------------------
    def _assume(self, formula: Any, block: Block) -> None:
        lit = z3.Bool(f"keep{len(self.blocks)}")
        self.blocks[lit] = block
        self.assumptions.append(z3.Implies(lit, formula))

    def _soft(self, keep: Any, path: tuple[Any, ...], late: int = 0) -> None:
        self.counted.append(keep)
        self.order.append((_text(path), keep, late))

    def _constrain(self, role: str, path: tuple[Any, ...], var: Any) -> None:
        raw = get_at(self.document, path)
        new = self._is_new(path)
        marks = Marks() if new else marks_at(self.doc.model, path)
        record = marks.record
        if role == "conv":  # the currency: never changed, so convertible as it is now
            absent = raw is None or new
            convertible = absent or encoded(raw, self.doc.shape_at(path), self.doc.fx) is not None
            self.hard.append(var == z3.BoolVal(convertible))
            return
        if new:
            self._prefer(role, path, var, None)
            return
        if role == "present":
            if raw is not None:
                self._assume(var, Block("removal", path, raw))
            elif record is not None:
                self._assume(z3.Not(var), Block("record", path, None, record[1]))
            else:
                self._soft(z3.Not(var), path)
            return
        if role == "len":
            n = len(raw) if isinstance(raw, list) else 0
            if n:
                self._assume(var >= n, Block("removal", path, raw))
            if record is not None:
                self._assume(var <= n, Block("record", path, raw, record[1]))
            self._assume(var <= n + self._allowed(path), Block("growth", path))
            self.growable = self.growable or record is None
            for i in range(n, self.doc.bound_at(path)):
                self._soft(var <= i, path + (i,), late=1)
            return
        shape = self.doc.shape_at(path)
        if raw is None or shape is None:
            self._prefer(role, path, var, shape)
            return
        value = z3.StringVal(raw) if shape.tag == "text" else encoded(raw, shape, self.doc.fx)
        if value is None:
            return  # an amount in a currency without a rate: unknown to the rules either way
        keep = var == value
        if isinstance(path[-1], int):  # an entry of a list of values: replacing it removes it
            self._assume(keep, Block("removal", path, raw))
            return
        if record is not None:
            self._assume(keep, Block("record", path, raw, record[1]))
            return
        if (
            marks.event
            and shape.tag in ("date", "datetime")
            and str(raw)[:10] <= self.as_of.isoformat()
        ):
            self._assume(keep, Block("event", path, raw))
            return
        self._soft(keep, path)
        if shape.tag in ("date", "datetime"):
            today = self.day if shape.tag == "date" else self.moment
            self._assume(z3.Or(keep, var >= today), Block("past", path, raw))
        if shape.tag in ("int", "real", "date", "datetime", "money"):
            self.distance.append(_distance(var, value))

    def _prefer(self, role: str, path: tuple[Any, ...], var: Any, shape: Shape | None) -> None:
        """A value with nothing to keep: no date in the past, and near the evaluation date
        (dates) or 0 (numbers)."""
        if role != "val":
            return
        shape = shape or self.doc.shape_at(path)
        tag = shape.tag if shape is not None else ""
        if tag in ("date", "datetime"):
            today = self.day if tag == "date" else self.moment
            self._assume(var >= today, Block("past", path))
            self.distance.append(_distance(var, z3.IntVal(today)))
        elif tag in ("int", "real", "money"):
            self.distance.append(_distance(var, z3.IntVal(0) if tag != "real" else z3.RealVal(0)))

    def _allowed(self, path: tuple[Any, ...]) -> int:
        """New entries a list may gain: a list inside an entry (a person's roles) at most two."""
        return min(self.allow, self.nested) if any(isinstance(p, int) for p in path) else self.allow

    def _room(self, path: tuple[Any, ...]) -> int:
        # one entry further, to tell when more would do (none while no entry may be added)
        return self._allowed(path) + 1 if self.allow else 0

    def _is_new(self, path: tuple[Any, ...]) -> bool:
        """Inside an entry being added or an object being supplied: nothing there yet."""
        return any(get_at(self.document, path[:k]) is None for k in range(1, len(path)))

    # -- solving -------------------------------------------------------------------------------
    def _optimizer(self, assumptions: list[Any]) -> z3.Optimize:
        opt = z3.Optimize()
        opt.set(rlimit=WORK_LIMIT)
        opt.add(*self.hard, *self.assumptions)
        for keep in self.counted:
            opt.add_soft(keep, 1, "edits")
        if self.distance:
            opt.minimize(z3.Sum(*self.distance))
        ranked = sorted(self.order, key=lambda o: (o[2], o[0]))
        for rank, (_path, keep, _late) in enumerate(ranked):
            opt.add_soft(keep, rank + 1, "order")
        return opt

    def run(self) -> Nearest:
        lits = list(self.blocks)
        opt = self._optimizer(lits)
        result = opt.check(*lits)
        if result == z3.sat:
            self.model = opt.model()
            self.cost = sum(
                1 for k in self.counted if not z3.is_true(self.model.eval(k, model_completion=True))
            )
            return Nearest("found", self._deltas(self.model, lits))
        if result == z3.unknown:  # non-linear arithmetic, say: any answer, without optimising
            plain = z3.Solver()
            plain.set(rlimit=WORK_LIMIT)
            plain.add(*self.hard, *self.assumptions)
            changed = [z3.Not(keep) for keep in self.counted]
            for most in range(1, min(3, len(changed)) + 1):  # the fewest changes it can tell
                plain.push()
                plain.add(z3.AtMost(*changed, most))
                if plain.check(*lits) == z3.sat:
                    self.model = plain.model()
                    return Nearest("found", self._deltas(self.model, lits))
                plain.pop()
            result = plain.check(*lits)
            if result == z3.sat:
                self.model = plain.model()
                return Nearest("found", self._deltas(self.model, lits))
            if result == z3.unknown:
                return Nearest("unknown", why=f"the solver gave up ({plain.reason_unknown()})")
            opt = plain
        core = [lit for lit in opt.unsat_core() if lit in self.blocks]
        if any(self.blocks[lit].cause == "growth" for lit in core):
            # cramped if one entry more than allowed would do (the lists are unrolled that far)
            roomy = [lit for lit in core if self.blocks[lit].cause != "growth"]
            s = z3.Solver()
            s.set(rlimit=WORK_LIMIT)
            s.add(*self.hard, *self.assumptions)
            self.cramped = s.check(*roomy) != z3.unsat
            if not self.cramped:
                core = [lit for lit in s.unsat_core() if lit in self.blocks]
        # a limit on an entry being added is no reason: the entry need not be added
        core = [lit for lit in core if not self._is_new(self.blocks[lit].path)]
        if not core:
            return Nearest("impossible")
        blocks = [self.blocks[lit] for lit in core]
        past = [lit for lit in core if self.blocks[lit].cause == "past"]
        if past:  # the value each such date would need: the search without that bound
            rest = [lit for lit in lits if lit not in past]
            relaxed = self._optimizer(rest)
            if relaxed.check(*rest) == z3.sat:
                m = relaxed.model()
                blocks = [self._needed(b, m) if b.cause == "past" else b for b in blocks]
        order = {"record": 0, "event": 1, "removal": 2, "past": 3, "growth": 4}
        blocks.sort(key=lambda b: (order[b.cause], _text(b.path)))
        unique: dict[tuple[Any, ...], Block] = {}
        for block in blocks:  # one reason per fact, the strongest
            unique.setdefault(block.path, block)
        return Nearest("blocked", blocks=list(unique.values()))

    def _needed(self, block: Block, m: z3.ModelRef) -> Block:
        var = self.vars.get(("val", block.path))
        shape = self.doc.shape_at(block.path)
        if var is None or shape is None:
            return block
        got = decoded(shape, m.eval(var, model_completion=True))
        return Block(block.cause, block.path, block.before, block.what, got)

    # -- from a model to changes ---------------------------------------------------------------
    def _deltas(self, m: z3.ModelRef, lits: list[Any]) -> list[Delta]:
        out: list[Delta] = []
        for (role, path), var in sorted(self.vars.items(), key=lambda kv: _key(kv[0])):
            if role == "conv" or self._is_new(path):
                continue
            got = m.eval(var, model_completion=True)
            raw = get_at(self.document, path)
            shape = self.doc.shape_at(path)
            if shape is None:
                continue
            if role == "present":
                if raw is None and z3.is_true(got):
                    out.append(Delta("present", path, None, self._build(shape, path, m)))
            elif role == "len":
                n = len(raw) if isinstance(raw, list) else 0
                if raw is not None and got.as_long() > n:
                    assert shape.item is not None
                    added = [
                        self._build(shape.item, path + (i,), m) for i in range(n, got.as_long())
                    ]
                    out.append(Delta("len", path, raw, added))
            elif raw is not None:
                value = (
                    z3.StringVal(raw) if shape.tag == "text" else encoded(raw, shape, self.doc.fx)
                )
                if value is None or z3.is_true(m.eval(var == value, model_completion=True)):
                    continue
                after = self._scalar(shape, var, got)
                others = shape.tag == "enum" and self._others(m, var, value, got, lits)
                out.append(Delta("val", path, raw, after, shape.tag, others))
        return out

    def _others(self, m: z3.ModelRef, var: Any, before: Any, after: Any, lits: list[Any]) -> bool:
        """Whether a third value of an enumeration clears the rule with the other changes."""
        s = z3.Solver()
        s.set(rlimit=WORK_LIMIT)
        s.add(*self.hard, *self.assumptions, *lits, var != before, var != after)
        for other in self.vars.values():
            if not other.eq(var):
                s.add(other == m.eval(other, model_completion=True))
        return bool(s.check() == z3.sat)

    def _scalar(self, shape: Shape, var: Any, got: Any) -> Any:
        if shape.tag == "text":  # a placeholder when the rule does not care what it says
            placed = z3.substitute(self.goal, (var, z3.StringVal(PLACEHOLDER_TEXT)))
            if z3.is_true(self.model.eval(placed, model_completion=True)):
                return PLACEHOLDER_TEXT
        return decoded(shape, got)

    def _build(self, shape: Shape, path: tuple[Any, ...], m: z3.ModelRef) -> Any:
        """The JSON value of a new entry or supplied fact: the model's values for what the rule
        reads, defaults for the other required fields (dates on the evaluation date)."""
        if shape.kind == "object":
            assert shape.model is not None
            out: dict[str, Any] = {}
            for name, sub in fields_of(shape.model).items():
                flag = self.vars.get(("present", path + (name,)))
                if sub.optional and (
                    flag is None or not z3.is_true(m.eval(flag, model_completion=True))
                ):
                    continue
                out[name] = self._build(sub, path + (name,), m)
            return out
        if shape.kind == "list":
            assert shape.item is not None
            var = self.vars.get(("len", path))
            n = m.eval(var, model_completion=True).as_long() if var is not None else 0
            return [self._build(shape.item, path + (i,), m) for i in range(n)]
        var = self.vars.get(("val", path))
        if var is None:
            return self._default(shape)
        got = m.eval(var, model_completion=True)
        if shape.tag == "money":
            return {"amount": decimal_text(Decimal(got.as_long()).scaleb(-2)), "currency": "PKR"}
        return self._scalar(shape, var, got)

    def _default(self, shape: Shape) -> Any:
        if shape.tag == "date":
            return self.as_of.isoformat()
        if shape.tag == "datetime":
            return f"{self.as_of.isoformat()}T00:00:00+00:00"
        if shape.tag == "text" and not shape.token:
            return PLACEHOLDER_TEXT
        if shape.tag == "money":
            return {"amount": "0.00", "currency": "PKR"}
        return default_scalar(shape)


_NAMES = re.compile(r"\|([^|]*)\||\b(working_day\d+)\b")


def _param_ranges(compiled: CompiledPack, node: Expr) -> list[int]:
    """The lengths of the parameter lists a quantifier of the condition ranges over (each
    required document may need an entry of its own)."""
    found: list[int] = []
    if isinstance(node, Quantifier):
        source = node.source
        value: Any = None
        if isinstance(source, Const):  # resolved at compile time
            value = source.value
        elif isinstance(source, Param) and source.key is None:
            value = compiled.param_values.get(source.name)
        elif isinstance(source, ListLiteral):
            value = source.items
        if isinstance(value, list | tuple | Mapping):
            found.append(len(value))
    for child in children(node):
        found.extend(_param_ranges(compiled, child))
    return found


def _symbols(formula: Any) -> set[str]:
    """The names of the solver variables in a formula (read from z3's own printing, which is
    far faster than walking the formula from Python)."""
    return {a or b for a, b in _NAMES.findall(formula.sexpr())}


def _relevant(goal: Any, axioms: list[Any]) -> tuple[list[Any], set[str]]:
    """The axioms that bear on the goal, and the names of the variables they and it read."""
    used = _symbols(goal)
    pending = [(axiom, _symbols(axiom)) for axiom in axioms]
    kept: list[Any] = []
    grew = True
    while grew:
        grew = False
        rest = []
        for axiom, names in pending:
            if names & used:
                kept.append(axiom)
                used |= names
                grew = True
            else:
                rest.append((axiom, names))
        pending = rest
    return kept, used


def _distance(var: Any, target: Any) -> Any:
    x, y = (
        (z3.ToReal(var) if z3.is_int(var) else var),
        (z3.ToReal(target) if z3.is_int(target) else target),
    )
    return z3.If(x >= y, x - y, y - x)


def _text(path: tuple[Any, ...]) -> str:
    return "".join(f"[{p:04d}]" if isinstance(p, int) else f".{p}" for p in path)


def _key(key: tuple[str, tuple[Any, ...]]) -> tuple[str, int]:
    role, path = key
    return (_text(path), {"present": 0, "len": 1, "val": 2, "conv": 3}[role])


__all__ = [
    "MAX_NEW_ENTRIES",
    "PLACEHOLDER_TEXT",
    "Block",
    "Delta",
    "Nearest",
    "count_at_most",
    "nearest_change",
]
