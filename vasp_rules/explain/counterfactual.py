"""What would change the decision: the fewest, nearest edits of the input that clear a blocking
finding.

The search runs on the symbolic model of the rule language
(:func:`vasp_rules.solver.nearest.nearest_change`, z3's `Optimize`): every fact the rule reads
is asked to keep its current value, each changed fact costs one, so the fewest edits win; then
the nearest values (a threshold exactly met, a date on the evaluation date). Edits the applicant
cannot make are never suggested: facts of record and the dates of events that already happened
(declared on the entity fields, :mod:`vasp_rules.entities.facts`), dates in the past, facts and
entries removed, other documents of the batch, the evaluation date and the pack's parameters.
When only such edits would clear a finding, the suggestion says which facts stand in the way
(`not_clearable`).

The answer is shown in the document's own terms: an amount in the document's currency (PKR
paisa converted back at the pack's reference rate and rounded so that the change truly clears),
a missing fact to provide, a new list entry to add. Every suggestion is then verified with the
engine (`RulePack.evaluate_many`, the same engine and batch as the decision): a set of changes
after which the finding is still there is not shown. When the changes add another blocking
finding, the search is run again keeping those rules from firing.

What the model cannot encode has no search: a rule reading other documents of a batch, a
regular expression (`matches`), month or year arithmetic on a document's dates, and a path
through a list that may be absent (:class:`vasp_rules.solver.symbolic.Inexact`). Solving for
those would need the values of other documents or a theory of strings and calendars the model
does not have. For them the suggestion says whether every fact the rule reads is beyond the
applicant's reach (`not_clearable`) or gives the rule's own remediation (`no_verified_change`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from itertools import combinations
from typing import TYPE_CHECKING, Any

from ..compiler.compile import CompiledPack, CompiledRule
from ..core.docpath import PathError, edited, format_path, get_at, parse_path
from ..entities.facts import marks_at
from ..entities.registry import ID_FIELD, KINDS, DocumentError, parse_document
from ..interp.reference import Context, Evaluator
from ..lang.values import money_to_paisa, reference_rate
from ..model.decision import SEVERITY, Decision, Finding, Outcome
from ..model.explanation import Change, ChangeKind, Suggestion
from ..runtime.evaluate import EngineName, Item, context_for
from ..solver.nearest import PLACEHOLDER_TEXT, Block, Delta, Nearest, nearest_change
from .fmt import display_json, money_text

if TYPE_CHECKING:
    from ..runtime.rulepack import RulePack

CENT = Decimal("0.01")


class Solver:
    """The counterfactual search for one document: asks the symbolic model for the nearest
    document on which a rule's condition is false."""

    def __init__(
        self, compiled: CompiledPack, ctx: Context, document: Mapping[str, Any], kind: str
    ) -> None:
        self.compiled = compiled
        self.ctx = ctx
        self.document = document
        self.root = KINDS[kind]
        self.as_of = compiled.as_of

    def search(
        self, rule: CompiledRule, *, alone: bool, keep_off: tuple[CompiledRule, ...] = ()
    ) -> Nearest:
        return nearest_change(self.compiled, rule, self.document, alone=alone, keep_off=keep_off)

    def changes(self, rule: CompiledRule, deltas: list[Delta]) -> list[Change]:
        """The solver's changes as edits of the document, in words; new entries of a list in
        the order the rule's parameters list their values (a list of required documents)."""
        listed: dict[Any, int] = {}
        for name in sorted(rule.rule.params):
            value = self.compiled.param_values.get(name)
            for item in value if isinstance(value, list | Mapping) else ():
                if isinstance(item, str):
                    listed.setdefault(item, len(listed))
        out: list[Change] = []
        for delta in deltas:
            out.extend(self._change(delta, listed))
        return out

    def _change(self, delta: Delta, listed: Mapping[Any, int]) -> list[Change]:
        path = format_path(delta.path)
        if delta.role == "len":
            first = len(delta.before) if isinstance(delta.before, list) else 0

            def rank(entry: Any) -> tuple[int, str]:
                values = entry.values() if isinstance(entry, Mapping) else [entry]
                found = [listed[v] for v in values if isinstance(v, str) and v in listed]
                return (min(found, default=len(listed)), display_json(entry))

            return [
                Change(
                    path=f"{path}[{first + i}]",
                    value=entry,
                    kind="add",
                    text=f"add {_entry_text(entry)} to {path}",
                )
                for i, entry in enumerate(sorted(delta.after, key=rank))
            ]
        if delta.role == "present":
            text = f"provide {path}"
            if delta.after != PLACEHOLDER_TEXT:
                text += f" (verified with {display_json(delta.after)})"
            return [Change(path=path, value=delta.after, kind="supply", text=text)]
        if delta.tag == "money":
            return [self._money(delta, path)]
        before, after = delta.before, delta.after
        kind: ChangeKind = "flip"
        text = f"{path} must be {display_json(after)}"
        if delta.tag == "enum" and delta.others:
            text = f"{path} must not be {display_json(before)} (for example {display_json(after)})"
        elif delta.tag in ("int", "real", "date", "datetime"):
            kind = "date" if delta.tag in ("date", "datetime") else "threshold"
            up = _order_value(after, delta.tag) > _order_value(before, delta.tag)
            timed = kind == "date"
            phrase = (
                ("on or after" if timed else "at least")
                if up
                else ("on or before" if timed else "at most")
            )
            text = f"{path} must be {phrase} {display_json(after)}"
        return [Change(path=path, value=after, before=before, kind=kind, text=text)]

    def _money(self, delta: Delta, path: str) -> Change:
        """A new amount in the field's own currency: the nearest whole cents whose PKR value
        at the reference rate still meets the bound the solver found."""
        raw = delta.before
        currency = str(raw.get("currency", "PKR")) if isinstance(raw, Mapping) else "PKR"
        before = money_to_paisa(Decimal(str(raw["amount"])), currency, self.compiled.fx)
        up = before is None or delta.after > before
        amount = amount_for(int(delta.after), ">=" if up else "<=", currency, self.compiled.fx)
        if amount is None:
            amount = Decimal(delta.after) / 100
            currency = "PKR"
        shown = money_text(amount, currency)
        if currency != "PKR":
            paisa = money_to_paisa(amount, currency, self.compiled.fx)
            if paisa is not None:
                shown += f" ({money_text(Decimal(paisa) / 100, 'PKR')} at the reference rate)"
        phrase = "at least" if up else "at most"
        return Change(
            path=path + ".amount",
            value=f"{amount.quantize(CENT):f}",
            before=raw.get("amount") if isinstance(raw, Mapping) else None,
            kind="threshold",
            text=f"{path} must be {phrase} {shown}",
        )

    def blocked(self, blocks: list[Block]) -> list[str]:
        """Why each fact standing in the way cannot change."""
        return [_block_text(b) for b in blocks]

    def beyond_reach(self, rule: CompiledRule) -> list[str] | None:
        """For a rule the model cannot encode: why each fact it reads is beyond the
        applicant's reach, or None if one of them is not."""
        ev = Evaluator(self.ctx)
        ev.evaluate(rule.condition)
        reasons: list[str] = []
        for path, value in sorted(ev.reads.items()):
            if path.startswith("batch."):
                reasons.append(f"it depends on another document of the batch ({path})")
                continue
            try:
                parts = parse_path(path)
            except PathError:
                continue
            marks = marks_at(self.root, parts)
            if marks.record is not None:
                reasons.append(_block_text(Block("record", parts, value, marks.record[1])))
            elif marks.event and value is not None and str(value)[:10] <= self.as_of.isoformat():
                reasons.append(_block_text(Block("event", parts, value)))
            else:
                return None
        return reasons or None


def _order_value(value: Any, tag: str) -> Any:
    return Decimal(str(value)) if tag in ("int", "real") else str(value)


def _entry_text(entry: Any) -> str:
    kind = entry.get("type") if isinstance(entry, Mapping) else None
    return f"a {kind} entry" if isinstance(kind, str) else display_json(entry)


def _block_text(block: Block) -> str:
    path = format_path(block.path)
    if block.cause == "record":
        return f"{path} is {block.what}, which the applicant cannot change"
    if block.cause == "event":
        return f"{path} records an event that has already happened ({display_json(block.before)})"
    if block.cause == "removal" and isinstance(block.before, list):
        return (
            f"an entry of {path} would have to be left out"
            " (a finding is not cleared by leaving a fact out)"
        )
    if block.cause == "removal":
        return f"{path} would have to be removed (a finding is not cleared by removing a fact)"
    if block.needed is not None:
        return f"{path} would have to be {block.needed}, a date in the past"
    return f"{path} would have to be a date in the past"


def amount_for(target: int, op: str, currency: str, fx: Mapping[str, Decimal]) -> Decimal | None:
    """The smallest (op >=) or largest (op <=) amount in `currency`, in cents, whose PKR value
    at the reference rate is at least / at most `target` paisa; exact for ==."""
    rate = reference_rate(currency, fx)
    if rate is None or rate <= 0:
        return None

    def paisa(amount: Decimal) -> int:
        value = money_to_paisa(amount, currency, fx)
        assert value is not None
        return value

    estimate = Decimal(target) / 100 / rate
    if op in (">=", "=="):
        amount = estimate.quantize(CENT, rounding=ROUND_CEILING)
        for _ in range(1000):
            if paisa(amount) >= target:
                break
            amount += CENT
        while amount >= CENT and paisa(amount - CENT) >= target:
            amount -= CENT
        if op == "==" and paisa(amount) != target:
            return None
        return amount
    amount = estimate.quantize(CENT, rounding=ROUND_FLOOR)
    for _ in range(1000):
        if amount < 0 or paisa(amount) <= target:
            break
        amount -= CENT
    while paisa(amount + CENT) <= target:
        amount += CENT
    return amount if amount >= 0 else None


# -- verification ------------------------------------------------------------------------------


@dataclass
class Verifier:
    """Re-evaluates changed documents: the reference interpreter for a quick check of the rule,
    then the engine for the whole decision."""

    pack: RulePack
    compiled: CompiledPack
    documents: list[dict[str, Any]]  # the batch, in JSON form
    index: int
    others: list[Item]
    engine: EngineName
    batch: bool

    def apply(self, changes: list[Change]) -> dict[str, Any] | None:
        """The changed document (None if a change does not apply)."""
        try:
            steps = [(parse_path(c.path), c.value) for c in changes]
            return edited(self.documents[self.index], steps)
        except PathError:
            return None

    def rule_false(self, rule: CompiledRule, document: dict[str, Any]) -> bool:
        """The rule's condition is false on the changed document (reference interpreter)."""
        try:
            model = parse_document(document)
        except DocumentError:
            return False
        kind = str(document.get("kind"))
        item = Item(model, kind, str(getattr(model, ID_FIELD[kind])))
        ctx = context_for(self.compiled, item, [item, *self.others])
        return Evaluator(ctx).evaluate(rule.condition).value is False

    def decide(self, document: dict[str, Any]) -> Decision | None:
        docs = list(self.documents) if self.batch else [self.documents[self.index]]
        position = self.index if self.batch else 0
        docs[position] = document
        try:
            decisions = self.pack.evaluate_many(
                docs, self.compiled.as_of, engine=self.engine, batch=self.batch
            )
        except DocumentError:
            return None
        return decisions[position]


def _verified(rule: CompiledRule, changes: list[Change], verifier: Verifier) -> Decision | None:
    """The decision after the changes, if they clear the rule's finding."""
    document = verifier.apply(changes)
    if document is None or not verifier.rule_false(rule, document):
        return None
    after = verifier.decide(document)
    if after is None or rule.id in after.fired:
        return None
    return after


def suggestion_for(
    rule: CompiledRule,
    finding: Finding,
    solver: Solver,
    verifier: Verifier,
    before: Decision,
) -> Suggestion:
    """The verified, minimal set of changes that clears one finding, or why there is none."""
    spec = rule.rule.spec
    rule_id, outcome = spec.id, finding.outcome.value
    if spec.not_clearable_reason:
        return Suggestion(
            rule_id=rule_id,
            finding_outcome=outcome,
            status="not_clearable",
            reason=spec.not_clearable_reason,
        )
    alone = not verifier.others
    found = solver.search(rule, alone=alone)
    fired_before = set(before.fired)
    note = "No change to the document could be verified to clear this finding"
    if found.status == "found":
        changes = solver.changes(rule, found.deltas)
        after = _verified(rule, changes, verifier)
        if after is not None and _new_blocking(after, fired_before):
            # the same search, keeping the rules it would set off from firing
            new = set(_new_blocking(after, fired_before))
            keep_off = tuple(r for r in solver.compiled.rules_for(rule.kind) if r.id in new)
            again = solver.search(rule, alone=alone, keep_off=keep_off)
            if again.status == "found":
                other = solver.changes(rule, again.deltas)
                retried = _verified(rule, other, verifier)
                if retried is not None and not _new_blocking(retried, fired_before):
                    changes, after = other, retried
        if after is not None:
            return _clearable(rule_id, outcome, changes, after, fired_before)
    elif found.status == "blocked":
        withdrawn = _withdrawal(rule, found.blocks, solver, verifier)
        if withdrawn is not None:
            return _clearable(rule_id, outcome, *withdrawn, fired_before)
        reasons = solver.blocked(found.blocks)
        return _not_clearable(rule_id, outcome, reasons)
    elif found.status == "impossible":
        when = solver.as_of.isoformat()
        reason = f"no change to the document makes the condition false on {when}"
        return _not_clearable(rule_id, outcome, [reason])
    else:
        reach = solver.beyond_reach(rule)
        if reach is not None:
            return _not_clearable(rule_id, outcome, reach)
        note += f" (the search cannot model it: {found.why})"
    return Suggestion(
        rule_id=rule_id,
        finding_outcome=outcome,
        status="no_verified_change",
        reason=f"{note}. What the rule asks: {finding.remediation}",
    )


def _withdrawal(
    rule: CompiledRule, blocks: list[Block], solver: Solver, verifier: Verifier
) -> tuple[list[Change], Decision] | None:
    """Withdrawing entries the applicant chose (an activity applied for, a role, a data
    location: lists marked WITHDRAWABLE), when the search found only such entries in the way.

    The model does not search removals (a shorter list moves every later entry), so the entries
    its unsat core names are tried here: one at a time in document order, then all together;
    the first set that the engine verifies is the answer."""
    named: set[tuple[Any, ...]] = set()
    for block in blocks:
        if block.cause != "removal":
            continue
        if marks_at(solver.root, block.path).withdrawable:  # an entry
            named.add(block.path)
        elif (
            isinstance(block.before, list) and marks_at(solver.root, block.path + (0,)).withdrawable
        ):
            named.update(block.path + (i,) for i in range(len(block.before)))  # the list shorter
    entries = sorted(named)

    def attempt(paths: list[tuple[Any, ...]]) -> tuple[list[Change], Decision] | None:
        changes = []
        for path in sorted(paths, reverse=True):  # from the end: earlier indices stay valid
            raw = get_at(solver.document, path)
            where = format_path(path)
            text = f"remove {_entry_text(raw)} ({where})"
            changes.append(Change(path=where, value=None, before=raw, kind="remove", text=text))
        after = _verified(rule, changes, verifier)
        return (changes, after) if after is not None else None

    # the fewest entries first: one, then two (for short lists), then all but what is not needed
    tries = [[p] for p in entries]
    if len(entries) <= 8:
        tries += [list(pair) for pair in combinations(entries, 2)]
    for paths in tries:
        found = attempt(paths)
        if found is not None:
            return found
    best = attempt(entries) if len(entries) >= 3 else None
    needed = list(entries)
    for path in entries if best is not None else ():  # leave out each entry not needed
        fewer = [p for p in needed if p != path]
        found = attempt(fewer)
        if found is not None:
            needed, best = fewer, found
    return best


def _clearable(
    rule_id: str, outcome: str, changes: list[Change], after: Decision, fired_before: set[str]
) -> Suggestion:
    return Suggestion(
        rule_id=rule_id,
        finding_outcome=outcome,
        status="clearable",
        changes=changes,
        outcome_after=after.outcome.value,
        introduces=sorted(set(after.fired) - fired_before),
    )


def _not_clearable(rule_id: str, outcome: str, reasons: list[str]) -> Suggestion:
    reasons = list(dict.fromkeys(reasons))
    return Suggestion(
        rule_id=rule_id,
        finding_outcome=outcome,
        status="not_clearable",
        reason="The applicant cannot clear this finding: " + "; ".join(reasons) + ".",
    )


def _new_blocking(after: Decision, fired_before: set[str]) -> list[str]:
    return [
        f.rule_id
        for f in after.findings
        if f.rule_id not in fired_before and SEVERITY[f.outcome] > SEVERITY[Outcome.APPROVE]
    ]


def is_blocking(finding: Finding) -> bool:
    """A finding that keeps the decision from APPROVE."""
    return SEVERITY[finding.outcome] > SEVERITY[Outcome.APPROVE]


__all__ = ["Solver", "Verifier", "amount_for", "is_blocking", "suggestion_for"]
