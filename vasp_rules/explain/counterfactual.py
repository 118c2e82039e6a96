# Over 800 lines until the Z3 search (issue 25) replaces its hand-written inverses.
"""What would change the decision: minimal edits of the input that clear a blocking finding.

Candidate edits are derived from the rule's condition tree, aiming to make the condition false:

- a comparison of a document field with a value (a constant, a parameter, an aggregate) sets
  the field to the boundary value that flips it, in the document's own currency (PKR paisa are
  converted back at the pack's reference rate and rounded so the change truly clears);
- a bool or enum equality is flipped; membership adds or removes a list entry (a missing
  document or policy is added as a new entry);
- `is missing`, or a comparison reading an absent fact, asks for the fact to be supplied;
- a quantifier is fixed item by item (the offending person, holding, activity).

Each candidate set is applied to a copy of the document, checked with the reference interpreter
and then verified with the engine (`RulePack.evaluate_many`, the same engine and batch as the
decision): only a set after which the finding is gone is shown, reduced to a minimal set by
dropping edits that are not needed. Edits the applicant cannot make are never suggested: facts
of record (:data:`FIXED_FACTS`), events that already happened, dates in the past, other
documents of the batch, the evaluation date and the pack's parameters. When every way to clear a
finding runs into one of those, the suggestion says so (`not_clearable`).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..compiler.compile import CompiledPack, CompiledRule
from ..core.docpath import PathError, PathParts, edited, format_path, get_at, parse_path
from ..entities.registry import ID_FIELD, KINDS, DocumentError, parse_document
from ..interp.reference import Context, Evaluator, Result
from ..lang.ast import Binary, Expr, Path, Presence, Quantifier, Unary, children, render
from ..lang.dates import (
    DATE_MAX,
    DATE_MIN,
    EPOCH,
    STAMP_MAX,
    STAMP_MIN,
    date_text,
    moment_text,
)
from ..lang.types import NUMBER, STRING, Type, model_fields
from ..lang.values import UNKNOWN, Scope, is_money, money_to_paisa, reference_rate
from ..model.decision import SEVERITY, Decision, Finding, Outcome
from ..model.explanation import Change, ChangeKind, Suggestion
from ..runtime.evaluate import EngineName, Item, context_for
from .fmt import display_json, item_label, jsonable, money_text

if TYPE_CHECKING:
    from ..runtime.rulepack import RulePack

#: Field names whose values are facts of record: no suggestion ever changes them.
FIXED_FACTS: dict[str, str] = {
    "kind": "the document kind",
    "stage": "the stage the application was made at",
    "convictions": "a criminal conviction on record",
    "enforcement_history": "a past enforcement action",
    "pep": "a politically exposed person status",
    "sanctions_screening": "a sanctions screening result",
    "security_clearance": "a security clearance decided by the authorities",
    "regulatory_ban": "a regulatory ban",
    "insolvent": "an insolvency",
    "date_of_birth": "a date of birth",
    "nationalities": "a nationality",
    "nationality": "a nationality",
    "residence_country": "a country of residence",
    "years_relevant_experience": "experience already gained",
    "exposure_countries": "the customer's country exposure",
    "risk_rating": "the customer's assessed risk",
    "outward_transfers_this_year": "transfers already made",
    "largest_cash_transaction": "a cash transaction already made",
    "public_office": "a public office held",
    "public_office_since": "a public office held",
    "pending_proceedings": "pending proceedings",
    "programme_id": "the programme declared under",
    "exposure_pct": "the on-chain exposure of a holding",
    "value_at_reference": "the value of a holding on the reference date",
    "quantity": "the quantity of a holding",
    "privacy_coin": "the kind of asset held",
    "direction": "a fact of the executed transfer",
    "value": "a fact of the executed transfer",
    "amount": "a fact of the executed transfer",
    "asset": "a fact of the executed transfer",
    "counterparty_type": "a fact of the executed transfer",
    "jurisdiction": "the jurisdiction of a licence or counterparty",
    "incorporation_country": "the country the firm is incorporated in",
    "regulator": "the regulator that issued a licence or action",
    "licence_no": "the number of a licence",
    "type": "the kind of an existing entry (add a new entry instead)",
    "location": "where a holding was held on the reference date",
    "wallet_address": "the address of a declared wallet",
    "chain": "the chain of a declared holding",
    "asset_symbol": "the asset of a declared holding",
}

#: Dates of events: once recorded on or before as_of, the event has happened and stays.
EVENT_DATES = frozenset(
    {
        "submitted_on",
        "received_on",
        "noc_granted_on",
        "board_approved_on",
        "on",
        "convicted_on",
        "screened_on",
        "fit_and_proper_declared_on",
        "identity_verified_on",
        "account_activated_on",
        "suspicion_flagged_on",
        "str_filed_on",
        "acquired_on",
        "levy_paid_on",
        "migrated_on",
        "executed_at",
        "data_transmitted_at",
        "settled_at",
        "due_diligence_on",
    }
)

PLACEHOLDER_TEXT = "(to be provided)"
MAX_ALTERNATIVES = 8  # per sub-condition
MAX_CANDIDATES = 24  # candidate sets checked per finding with the reference interpreter
MAX_VERIFICATIONS = 8  # candidate sets verified per finding with the engine
NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
CENT = Decimal("0.01")


class _Any:
    """Marks an edit that supplies an absent fact with any value of its type."""

    def __repr__(self) -> str:
        return "ANY"


ANY: Any = _Any()
REMOVE: Any = None  # removing a list item is setting it to null


@dataclass(frozen=True)
class Edit:
    """One candidate edit. `op` says what it achieves (>=, <=, ==, !=, supply, add, remove)
    and `shown` is its value in words, in the document's units."""

    path: PathParts
    value: Any
    kind: ChangeKind
    op: str
    shown: str
    before: Any = None
    avoid: str = ""
    field_type: Type | None = None

    @property
    def text_path(self) -> str:
        return format_path(self.path)


Alt = tuple[Edit, ...]


# -- schema helpers ----------------------------------------------------------------------------


@functools.cache
def _fields(model: type[BaseModel]) -> dict[str, Any]:
    return model_fields(model)


def schema_type(root: type[BaseModel], parts: PathParts) -> Type | None:
    """The language type of a concrete document path, from the entity schema."""
    tp = Type("object", model=root)
    for part in parts:
        if isinstance(part, int):
            if tp.name != "list" or tp.item is None:
                return None
            tp = tp.item
            continue
        if tp.name == "money":
            return NUMBER if part == "amount" else STRING if part == "currency" else None
        if tp.name != "object" or tp.model is None:
            return None
        fields = _fields(tp.model)
        if part not in fields:
            return None
        tp = fields[part].type
    return tp


def default_value(tp: Type, as_of: date) -> Any:
    """A valid-looking JSON value of a type, used to supply an absent fact or a new entry."""
    name = tp.name
    if name == "bool":
        return False
    if tp.enum:
        return sorted(tp.enum)[0]
    if name == "int":
        return 0
    if name == "number":
        return "0"
    if name == "date":
        return as_of.isoformat()
    if name == "datetime":
        return datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC).isoformat()
    if name == "money":
        return {"amount": "0.00", "currency": "PKR"}
    if name == "list":
        return []
    if name == "object" and tp.model is not None:
        return default_object(tp.model, as_of, {})
    return PLACEHOLDER_TEXT


def default_object(model: type[BaseModel], as_of: date, given: Mapping[str, Any]) -> dict[str, Any]:
    """A new list entry: the given fields, and the other required fields defaulted."""
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in given:
            out[name] = given[name]
        elif info.is_required():
            out[name] = default_value(_fields(model)[name].type, as_of)
    return out


def _supply_values(tp: Type | None, as_of: date) -> list[Any]:
    if tp is None:
        return []
    if tp.name == "bool":
        return [False, True]
    if tp.enum:
        return sorted(tp.enum)[:4]
    if tp.name == "object":
        return []
    return [default_value(tp, as_of)]


# -- the change finder ---------------------------------------------------------------------------


class Solver:
    """Derives candidate edit sets that make a rule's condition false."""

    def __init__(
        self, compiled: CompiledPack, ctx: Context, document: Mapping[str, Any], kind: str
    ) -> None:
        self.compiled = compiled
        self.ctx = ctx
        self.document = document
        self.root = KINDS[kind]
        self.as_of = compiled.as_of
        self.blocked: list[str] = []
        self.unsupported: list[str] = []

    # -- recursion -------------------------------------------------------------------------
    def fix(self, node: Expr, want: bool, scope: Scope) -> list[Alt]:
        """Alternative edit sets making `node` evaluate to `want`."""
        current = self._eval(node, scope)
        if current.value is want:
            return [()]
        if isinstance(node, Binary) and node.op in ("and", "or"):
            parts = [self.fix(node.left, want, scope), self.fix(node.right, want, scope)]
            every = (node.op == "and") == want
            return _all(parts) if every else _any(parts)
        if isinstance(node, Unary) and node.op == "not":
            return self.fix(node.operand, not want, scope)
        if isinstance(node, Binary) and node.op in FLIP:
            return self._compare(node, want, scope, current)
        if isinstance(node, Binary) and node.op in ("in", "not in"):
            return self._membership(node, want, scope, current)
        if isinstance(node, Presence):
            return self._presence(node, want, scope)
        if isinstance(node, Quantifier) and node.kind in ("any", "all", "none"):
            return self._quantifier(node, want, scope)
        if isinstance(node, Path):
            leaf = self._leaf(node, scope)
            if leaf is not None:
                edit = self._edit(leaf[1], want, "flip", "==", leaf[0])
                return [(edit,)] if edit is not None else []
        return self._unsupported(node, scope)

    def _unsupported(self, node: Expr, scope: Scope) -> list[Alt]:
        """No edit derived for `node`: blocked when everything it reads is beyond the
        applicant's reach (facts of record, the date, parameters), else not supported."""
        if not _reads_document(node, scope):
            self.blocked.append(
                f"{render(node)} depends only on the evaluation date and the pack's parameters"
            )
            return []
        ev = Evaluator(self.ctx)
        ev.evaluate_in(node, scope)
        reasons: list[str] = []
        for path, value in sorted(ev.reads.items()):
            try:
                parts = parse_path(path)
            except PathError:
                continue
            if path.startswith("batch."):
                reasons.append(f"it depends on another document of the batch ({path})")
                continue
            reason = self._blocked(parts, ANY, value)
            if reason is None:
                self.unsupported.append(render(node))
                return []
            reasons.append(reason)
        if not reasons:
            self.unsupported.append(render(node))
        self.blocked.extend(reasons)
        return []

    # -- comparisons -----------------------------------------------------------------------
    def _compare(self, node: Binary, want: bool, scope: Scope, current: Result) -> list[Alt]:
        op = node.op if want else NEGATE[node.op]
        alts: list[Alt] = []
        editable = False
        solved: set[str] = set()  # fields already solved for (or found out of reach)
        for side, other, side_op in (
            (node.left, node.right, op),
            (node.right, node.left, FLIP[op]),
        ):
            leaf = self._leaf(side, scope)
            if leaf is None:
                continue
            editable = True
            if self._out_of_reach(leaf):
                solved.add(leaf[1])
                continue
            bound = self._eval(other, scope)
            if bound.value is UNKNOWN:
                continue
            solved.add(leaf[1])
            blocked_before = len(self.blocked)
            edit = self._solve(leaf[0], leaf[1], side_op, bound.value)
            if edit is not None:
                alts.append((edit,))
            elif len(self.blocked) == blocked_before:
                self.unsupported.append(render(node))
        if current.value is UNKNOWN and not current.missing & solved:
            supplies = self._supplies(current.missing)
            if supplies:
                alts.append(supplies)
        if not alts and not editable:
            return self._unsupported(node, scope)
        return _any([alts])

    def _solve(self, raw: Any, path: str, op: str, bound: Any) -> Edit | None:
        """The edit setting a field so that `field op bound` holds (None if it cannot)."""
        parts = parse_path(path)
        tp = schema_type(self.root, parts)
        if tp is None:
            return None
        if tp.name == "bool":
            if op not in ("==", "!=") or not isinstance(bound, bool):
                return None
            return self._edit(path, bound if op == "==" else not bound, "flip", "==", raw)
        if tp.name == "string":
            if not isinstance(bound, str):
                return None
            if op == "==":
                return self._edit(path, bound, "flip", "==", raw)
            if op == "!=" and tp.enum:
                others = sorted(v for v in tp.enum if v != bound)
                if others:
                    return self._edit(path, others[0], "flip", "!=", raw, avoid=bound)
            return None
        if op == "!=":
            return None
        if tp.name == "money":
            return self._solve_money(raw, path, op, bound)
        if tp.name in ("int", "number"):
            return self._solve_number(raw, path, op, bound, tp)
        if tp.name in ("date", "datetime"):
            return self._solve_time(raw, path, op, bound, tp)
        return None

    def _solve_number(self, raw: Any, path: str, op: str, bound: Any, tp: Type) -> Edit | None:
        if not isinstance(bound, int | Decimal) or isinstance(bound, bool):
            return None
        b = Decimal(bound)
        if tp.name == "int":
            step = Decimal(1)
        else:
            exponent = b.as_tuple().exponent
            places = max(2, -exponent if isinstance(exponent, int) else 2)
            step = Decimal(1).scaleb(-places)
        value = _boundary(b, op, step)
        if value is None or value < 0:
            return None
        json_value: Any = int(value) if tp.name == "int" else _plain(value)
        kind: ChangeKind = "threshold"
        return self._edit(path, json_value, kind, _inclusive(op), raw, shown=str(json_value))

    def _solve_money(self, raw: Any, path: str, op: str, bound: Any) -> Edit | None:
        if not isinstance(bound, int | Decimal) or isinstance(bound, bool):
            return None
        currency = str(raw.currency) if is_money(raw) else "PKR"
        target = _boundary(Decimal(bound), op, Decimal(1))  # whole paisa
        if target is None or target < 0:
            return None
        amount = amount_for(int(target), _inclusive(op), currency, self.compiled.fx)
        if amount is None:
            return None
        shown = money_text(amount, currency)
        if currency != "PKR":
            paisa = money_to_paisa(amount, currency, self.compiled.fx)
            if paisa is not None:
                pkr = money_text(Decimal(paisa) / 100, "PKR")
                shown += f" ({pkr} at the reference rate)"
        if raw is None:
            value: Any = {"amount": _plain(amount, 2), "currency": currency}
            return self._edit(path, value, "threshold", _inclusive(op), raw, shown=shown)
        return self._edit(
            path + ".amount", _plain(amount, 2), "threshold", _inclusive(op), raw, shown=shown
        )

    def _solve_time(self, raw: Any, path: str, op: str, bound: Any, tp: Type) -> Edit | None:
        if not isinstance(bound, int) or isinstance(bound, bool):
            return None
        target = _boundary(Decimal(bound), op, Decimal(1))
        if target is None:
            return None
        bound_value = value = int(target)
        incl = _inclusive(op)
        # today (as_of) when it meets the bound: an event to come, not one back-dated
        today = (
            self.as_of.toordinal()
            if tp.name == "date"
            else int((_midnight(self.as_of) - EPOCH).total_seconds())
        )
        if incl == ">=" or incl == "<=" and today <= value:
            value = max(value, today) if incl == ">=" else today
        low, high = (DATE_MIN, DATE_MAX) if tp.name == "date" else (STAMP_MIN, STAMP_MAX)
        if not low <= min(value, bound_value) <= max(value, bound_value) <= high:
            return None  # no date a document can hold meets the bound

        def text(v: int) -> str:
            return date_text(v) if tp.name == "date" else moment_text(v)

        json_value: Any = (
            text(value) if tp.name == "date" else (EPOCH + timedelta(seconds=value)).isoformat()
        )
        shown = text(bound_value) if incl != "==" else text(value)
        if value != bound_value and incl != "==":
            shown += f" (verified with {text(value)})"
        return self._edit(path, json_value, "date", incl, raw, shown=shown)

    # -- membership ------------------------------------------------------------------------
    def _membership(self, node: Binary, want: bool, scope: Scope, current: Result) -> list[Alt]:
        want_in = (node.op == "in") == want
        alts: list[Alt] = []
        editable = False
        left = self._eval(node.left, scope)
        right = self._eval(node.right, scope)
        leaf = self._leaf(node.left, scope)
        if leaf is not None and self._out_of_reach(leaf):
            editable, leaf = True, None
        if leaf is not None and right.value is not UNKNOWN:
            editable = True
            container = right.value
            options = list(container) if isinstance(container, Mapping) else list(container)
            tp = schema_type(self.root, parse_path(leaf[1]))
            choices: list[Any]
            if want_in:
                choices = [v for v in options if isinstance(v, str | bool | int)][:3]
            elif tp is not None and tp.enum:
                choices = sorted(v for v in tp.enum if v not in options)[:2]
            else:
                choices = []
            if not choices:
                self.unsupported.append(render(node))
            for choice in choices:
                edit = self._edit(leaf[1], choice, "flip", "==", leaf[0])
                if edit is not None:
                    alts.append((edit,))
        if left.value is not UNKNOWN and isinstance(node.right, Path):
            found = self._list_edits(node.right, left.value, want_in, scope)
            if found is not None:
                editable = True
                alts.extend(found)
        if current.value is UNKNOWN:
            supplies = self._supplies(current.missing)
            if supplies:
                alts.append(supplies)
        if not alts and not editable:
            return self._unsupported(node, scope)
        return _any([alts])

    def _list_edits(self, node: Path, value: Any, want_in: bool, scope: Scope) -> list[Alt] | None:
        """Add `value` to, or remove it from, a list field: a list of scalars (`activities`,
        `p.roles`) or one field of a list of entries (`documents.type`: a new entry)."""
        if not isinstance(value, str | int | bool):
            return None
        leaf = self._leaf(node, scope, allow_list=True)
        if leaf is not None and isinstance(leaf[0], list):
            raw, path = leaf
            if want_in:
                edit = self._structural(f"{path}[{len(raw)}]", value, "add", display_json(value))
                return [(edit,)] if edit is not None else []
            edits = [
                self._structural(f"{path}[{i}]", REMOVE, "remove", display_json(value))
                for i in reversed(range(len(raw)))
                if jsonable(raw[i]) == value
            ]
            return [tuple(e for e in edits if e is not None)] if all(edits) else []
        if len(node.parts) < 2 or node.parts[0] in scope or node.parts[0] in ("as_of", "batch"):
            return None
        parent = self._leaf(Path(node.parts[:-1], node.pos), scope, allow_list=True)
        field = node.parts[-1]
        if parent is None or not isinstance(parent[0], list):
            return None
        raw, path = parent
        item_tp = schema_type(self.root, parse_path(path) + (0,))
        if item_tp is None or item_tp.model is None:
            return None
        field_tp = _fields(item_tp.model).get(field)
        if field_tp is None or field_tp.type.name == "list":
            return None
        if want_in:
            entry = default_object(item_tp.model, self.as_of, {field: value})
            shown = f"a {value} entry" if isinstance(value, str) else display_json(entry)
            edit = self._structural(f"{path}[{len(raw)}]", entry, "add", shown)
            return [(edit,)] if edit is not None else []
        removals = [
            self._structural(f"{path}[{i}]", REMOVE, "remove", item_label(raw[i]))
            for i in reversed(range(len(raw)))
            if jsonable(getattr(raw[i], field, None)) == value
        ]
        return [tuple(e for e in removals if e is not None)] if all(removals) else []

    # -- presence --------------------------------------------------------------------------
    def _presence(self, node: Presence, want: bool, scope: Scope) -> list[Alt]:
        ev = Evaluator(self.ctx)
        leaves, _mapped = ev.resolve(node.path, scope)
        if node.present != want:
            present = [p for raw, p in leaves if raw is not None]
            for path in present:
                self.blocked.append(
                    f"{path} is on record (a finding is not cleared by removing a fact)"
                )
            return []
        supplies = self._supplies(frozenset(p for raw, p in leaves if raw is None))
        return [supplies] if supplies else []

    def _supplies(self, missing: frozenset[str]) -> Alt:
        """Supply every absent document fact in `missing` (any value; the type decides)."""
        edits: list[Edit] = []
        for path in sorted(missing):
            if path.startswith("("):
                self.unsupported.append(path)
                return ()
            if path.startswith("param."):
                self.blocked.append(f"{path} is not set in the rule pack on {self.as_of}")
                return ()
            try:
                parts = parse_path(path)
            except PathError:
                return ()
            if len(parts) > 1 and get_at(self.document, parts[:-1]) is None:
                return ()  # the enclosing object is absent too: not a single fact to supply
            edit = self._edit(path, ANY, "supply", "supply", None)
            if edit is None:
                return ()
            edits.append(edit)
        return tuple(edits)

    # -- quantifiers -----------------------------------------------------------------------
    def _quantifier(self, node: Quantifier, want: bool, scope: Scope) -> list[Alt]:
        items, _missing = Evaluator(self.ctx).items(node, scope)
        if items is None:
            return self._unsupported(node, scope)
        kind = node.kind
        if kind == "none":
            kind, want = "any", not want
        test = node.body if node.body is not None else node.where
        assert test is not None
        filt = node.where if node.body is not None else None
        per_item: list[list[Alt]] = []
        for index, (raw, path) in enumerate(items):
            if not isinstance(node.source, Path):
                path = f"{render(node.source)}[{index}]"
            inner = dict(scope)
            inner[node.var] = (raw, path)
            keep = self._eval(filt, inner).value if filt is not None else True
            value = self._eval(test, inner).value
            if kind == "any" and not want:
                if keep is False or value is False:
                    continue  # already contributes nothing
                per_item.append(self._clear_item(test, False, inner, raw, path))
            elif kind == "all" and want:
                if keep is False or value is True:
                    continue
                per_item.append(self._clear_item(test, True, inner, raw, path))
            else:  # one item must satisfy the test (any: true; all: false)
                needed = [self.fix(test, kind == "any", inner)]
                if filt is not None:
                    needed.insert(0, self.fix(filt, True, inner))
                per_item.append(_all(needed))
        if kind == "any" and not want or kind == "all" and want:
            return _all(per_item)
        entry = self._new_entry(node, test, filt, scope) if kind == "any" else None
        if entry is not None:
            per_item.append([entry])
        elif isinstance(node.source, Path) and node.source.parts[0] != "batch":
            self.unsupported.append(f"a new entry in {render(node.source)}")
        return _any(per_item)

    def _new_entry(
        self, node: Quantifier, test: Expr, filt: Expr | None, scope: Scope
    ) -> Alt | None:
        """A new list entry built to pass the quantifier's test (a missing policy, licence,
        document): each conjunct naming one of its fields fixes that field; the other
        required fields get defaults. None when a conjunct cannot be met this way."""
        if not isinstance(node.source, Path) or node.source.parts[0] in ("batch", "as_of"):
            return None
        leaf = self._leaf(node.source, scope, allow_list=True)
        if leaf is None or not isinstance(leaf[0], list):
            return None
        raw, path = leaf
        item = parse_path(path) + (len(raw),)
        item_tp = schema_type(self.root, item)
        if item_tp is None or item_tp.model is None:
            return None
        given: dict[str, Any] = {}
        for cond in _conjuncts(filt) + _conjuncts(test):
            found = self._entry_field(cond, node.var, item, scope)
            if found is None:
                return None
            given.update(found)
        entry = default_object(item_tp.model, self.as_of, given)
        kind = given.get("type")
        shown = f"a {kind} entry" if isinstance(kind, str) else f"an entry {display_json(given)}"
        edit = self._structural(format_path(item), entry, "add", shown)
        return (edit,) if edit is not None else None

    def _entry_field(
        self, cond: Expr, var: str, item: PathParts, scope: Scope
    ) -> dict[str, Any] | None:
        """The field values that make one conjunct hold for a new entry (None: cannot)."""

        def field(expr: Expr) -> str | None:
            ok = isinstance(expr, Path) and len(expr.parts) == 2 and expr.parts[0] == var
            return expr.parts[1] if ok and isinstance(expr, Path) else None

        if isinstance(cond, Path) and field(cond):
            return {cond.parts[1]: True}
        if isinstance(cond, Unary) and cond.op == "not" and field(cond.operand):
            assert isinstance(cond.operand, Path)
            return {cond.operand.parts[1]: False}
        if isinstance(cond, Presence) and cond.present and field(cond.path):
            name = cond.path.parts[1]
            tp = schema_type(self.root, item + (name,))
            return {name: default_value(tp, self.as_of)} if tp is not None else None
        if not isinstance(cond, Binary):
            return None
        if cond.op == "in" and field(cond.left):
            options = self._eval(cond.right, scope).value
            first: str | None = None
            if isinstance(options, list | Mapping):
                first = next((v for v in options if isinstance(v, str)), None)
            return {str(field(cond.left)): first} if first is not None else None
        if cond.op not in FLIP:
            return None
        if cond.op == "==":
            for side, other in ((cond.left, cond.right), (cond.right, cond.left)):
                target = field(side)
                value = self._eval(other, scope).value if target is not None else UNKNOWN
                if target is not None and isinstance(value, str | bool | int):
                    tp = schema_type(self.root, item + (target,))
                    if tp is not None and tp.name in ("string", "bool", "int"):
                        return {target: value}
        for side, other, op in (
            (cond.left, cond.right, cond.op),
            (cond.right, cond.left, FLIP[cond.op]),
        ):
            target = field(side)
            if target is None:
                continue
            bound = self._eval(other, scope)
            if bound.value is UNKNOWN:
                return None
            edit = self._solve(None, format_path(item + (target,)), op, bound.value)
            return {target: edit.value} if edit is not None else None
        return None

    def _clear_item(self, test: Expr, want: bool, scope: Scope, raw: Any, path: str) -> list[Alt]:
        """Make one item stop counting: fix its own facts, or drop it from a list of values
        (an activity, a data location). People and holdings are never dropped: a finding
        about them is cleared by their own facts or not at all."""
        alts = self.fix(test, want, scope)
        if not isinstance(raw, BaseModel) and not path.startswith(("param.", "batch.")):
            edit = self._structural(path, REMOVE, "remove", item_label(raw))
            if edit is not None:
                alts = alts + [(edit,)]
        return alts

    # -- leaves and edits ------------------------------------------------------------------
    def _eval(self, node: Expr, scope: Scope) -> Result:
        return Evaluator(self.ctx).evaluate_in(node, scope)

    def _leaf(self, node: Expr, scope: Scope, allow_list: bool = False) -> tuple[Any, str] | None:
        """(raw value, concrete path) of a path naming one document field, else None."""
        if not isinstance(node, Path) or node.parts[0] in ("as_of",):
            return None
        if node.parts[0] in scope and len(node.parts) == 1:
            return None  # the item itself: handled by its quantifier
        leaves, mapped = Evaluator(self.ctx).resolve(node, scope)
        if mapped or len(leaves) != 1:
            return None
        raw, path = leaves[0]
        if path.startswith("batch."):
            self.blocked.append(f"it depends on another document of the batch ({path})")
            return None
        if path.startswith("param.") or (isinstance(raw, list) and not allow_list):
            return None
        return raw, path

    def _out_of_reach(self, leaf: tuple[Any, str]) -> bool:
        """Record and report a field the applicant cannot change whatever its new value."""
        raw, path = leaf
        before = jsonable(raw) if raw is not None else None
        reason = self._blocked(parse_path(path), ANY, before)
        if reason is not None:
            self.blocked.append(reason)
        return reason is not None

    def _is_new(self, parts: PathParts) -> bool:
        """The path is inside a list entry that does not exist yet (one being added)."""
        for k, part in enumerate(parts):
            if isinstance(part, int):
                container = get_at(self.document, parts[:k])
                if isinstance(container, list) and part >= len(container):
                    return True
        return False

    def _blocked(self, parts: PathParts, value: Any, before: Any) -> str | None:
        path = format_path(parts)
        if self._is_new(parts):  # a new entry records nothing yet; only the date matters
            if isinstance(value, str) and _is_time(value) and _day(value) < self.as_of:
                return f"{path} would have to be {value}, a date in the past"
            return None
        names = [p for p in parts if isinstance(p, str)]
        if len(parts) > 1 and parts[-1] in ("amount", "currency"):
            parent = schema_type(self.root, parts[:-1])
            if parent is not None and parent.name == "money":
                names = names[:-1]  # the amount of a money field: judge the field itself
        for name in names:
            if name in FIXED_FACTS:
                return f"{path} is {FIXED_FACTS[name]}, which the applicant cannot change"
        last = names[-1] if names else ""
        if last in EVENT_DATES and before is not None and _day(before) <= self.as_of:
            return f"{path} records an event that has already happened ({display_json(before)})"
        if isinstance(value, str) and value is not ANY and _is_time(value):
            if _day(value) < self.as_of:
                return f"{path} would have to be {value}, a date in the past"
        return None

    def _edit(
        self,
        path: str,
        value: Any,
        kind: ChangeKind,
        op: str,
        raw: Any,
        *,
        shown: str | None = None,
        avoid: Any = None,
    ) -> Edit | None:
        parts = parse_path(path)
        before = jsonable(raw) if raw is not None else None
        if isinstance(before, dict) and parts[-1] == "amount":
            before = before.get("amount")
        reason = self._blocked(parts, value, before)
        if reason is not None:
            self.blocked.append(reason)
            return None
        if raw is None and kind != "supply":
            kind = "supply"
        text = shown if shown is not None else display_json(value) if value is not ANY else ""
        return Edit(
            parts,
            value,
            kind,
            op,
            text,
            before,
            display_json(avoid) if avoid is not None else "",
            schema_type(self.root, parts),
        )

    def _structural(self, path: str, value: Any, kind: ChangeKind, shown: str) -> Edit | None:
        parts = parse_path(path)
        reason = self._blocked(parts[:-1], value, None)
        if reason is not None:
            self.blocked.append(reason)
            return None
        before = get_at(self.document, parts) if kind == "remove" else None
        return Edit(parts, value, kind, kind, shown, before)


def _conjuncts(node: Expr | None) -> list[Expr]:
    """The parts of a chain of `and`s."""
    if node is None:
        return []
    if isinstance(node, Binary) and node.op == "and":
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _reads_document(node: Expr, scope: Scope) -> bool:
    """Whether an expression can read the document: a path that is not `as_of` and not a
    quantifier variable ranging over a parameter."""
    bound_to_pack = {name for name, (_raw, path) in scope.items() if path.startswith("param.")}
    return _reads(node, bound_to_pack)


def _reads(node: Expr, pack_vars: set[str]) -> bool:
    if isinstance(node, Path):
        return node.parts[0] not in pack_vars and node.parts[0] != "as_of"
    if isinstance(node, Presence):
        return _reads(node.path, pack_vars)
    if isinstance(node, Quantifier):
        if _reads(node.source, pack_vars):
            return True
        inner = pack_vars | {node.var}
        return any(_reads(p, inner) for p in (node.where, node.body) if p is not None)
    return any(_reads(child, pack_vars) for child in children(node))


# -- combining alternatives --------------------------------------------------------------------


_KIND_RANK = {"add": 1, "remove": 2}


def _cost(alt: Alt) -> tuple[int, int, int, str]:
    """Fewer edits first; then field edits before adding or removing list entries; then
    concrete values before 'any value'; then a fixed order, so results are deterministic."""
    structural = sum(_KIND_RANK.get(e.kind, 0) for e in alt)
    supplies = sum(1 for e in alt if e.value is ANY)
    return (len(alt), structural, supplies, repr([(e.path, e.value) for e in alt]))


def _merge(alts: Sequence[Alt]) -> Alt | None:
    """One edit set from several; None if two edits set one field to different values."""
    by_path: dict[Any, Edit] = {}
    order: list[Any] = []
    for alt in alts:
        for edit in alt:
            key: Any = (edit.path, repr(edit.value)) if edit.kind == "add" else edit.path
            seen = by_path.get(key)
            if seen is None:
                by_path[key] = edit
                order.append(key)
            elif seen.value is ANY:
                by_path[key] = replace(edit, kind="supply") if edit.before is None else edit
            elif edit.value is ANY or seen.value == edit.value:
                continue
            elif (stricter := _stricter(seen, edit)) is not None:
                by_path[key] = stricter
            else:
                return None
    return tuple(by_path[p] for p in order)


def _stricter(a: Edit, b: Edit) -> Edit | None:
    """Of two bounds on one field in the same direction, the one that also meets the other
    (the higher minimum, the lower maximum); None if they are not comparable bounds."""
    if a.op != b.op or a.op not in (">=", "<=") or a.kind != b.kind:
        return None
    try:
        if a.kind == "date":
            left, right = _moment(a.value), _moment(b.value)
            higher = a if left >= right else b
            lower = b if higher is a else a
        else:
            higher = a if _number(a.value) >= _number(b.value) else b
            lower = b if higher is a else a
    except (ArithmeticError, ValueError, TypeError, KeyError):
        return None
    return higher if a.op == ">=" else lower


def _number(value: Any) -> Decimal:
    """A bound's value as a number: a plain number, or the amount of a money value (whose
    currency is the field's own, so the same on both sides)."""
    if isinstance(value, Mapping):
        return Decimal(str(value["amount"]))
    return Decimal(str(value))


def _moment(value: Any) -> datetime:
    text = str(value)
    if len(text) == 10:
        return _midnight(date.fromisoformat(text))
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _all(parts: Sequence[list[Alt]]) -> list[Alt]:
    """Every part must hold: one alternative from each, combined."""
    if any(not p for p in parts):
        return []
    out: list[Alt] = []
    for combo in itertools.islice(itertools.product(*parts), 256):
        merged = _merge(combo)
        if merged is not None and merged not in out:
            out.append(merged)
    return sorted(out, key=_cost)[:MAX_ALTERNATIVES]


def _any(parts: Sequence[list[Alt]]) -> list[Alt]:
    """One part suffices: the alternatives of all parts, cheapest first."""
    out: list[Alt] = []
    for part in parts:
        for alt in part:
            if alt not in out:
                out.append(alt)
    return sorted(out, key=_cost)[:MAX_ALTERNATIVES]


# -- numbers, money, dates ------------------------------------------------------------------------


def _inclusive(op: str) -> str:
    return {">": ">=", "<": "<="}.get(op, op)


def _boundary(bound: Decimal, op: str, step: Decimal) -> Decimal | None:
    """The value nearest `bound` (a multiple of `step`) that satisfies `value op bound`."""
    up = (bound / step).to_integral_value(rounding=ROUND_CEILING) * step
    down = (bound / step).to_integral_value(rounding=ROUND_FLOOR) * step
    if op == ">=":
        return up
    if op == ">":
        return down + step
    if op == "<=":
        return down
    if op == "<":
        return up - step
    if op == "==":
        return bound if bound == up else None
    return None


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


def _plain(value: Decimal, places: int | None = None) -> str:
    if places is not None:
        return f"{value.quantize(Decimal(1).scaleb(-places)):f}"
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _is_time(text: str) -> bool:
    try:
        _day(text)
    except (ValueError, TypeError):
        return False
    return True


def _day(value: Any) -> date:
    """The calendar day (UTC for datetimes) of an ISO date or datetime text."""
    text = str(value)
    if len(text) == 10:
        return date.fromisoformat(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(UTC).date()


# -- from candidates to a verified suggestion ---------------------------------------------------


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

    def apply(self, edits: Alt) -> tuple[dict[str, Any], list[Change]] | None:
        """The changed document and the changes as shown (None if an edit does not apply)."""
        ordered = _application_order(edits)
        doc = self.documents[self.index]
        changes: list[Change] = []
        steps: list[tuple[PathParts, Any]] = []
        try:
            for edit in ordered:
                steps.append((edit.path, edit.value))
                changes.append(_change(edit))
            return edited(doc, steps), changes
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


def _application_order(edits: Alt) -> list[Edit]:
    """Field edits first, then removals from the end of each list, then appends in order."""
    sets = [e for e in edits if e.kind not in ("add", "remove")]
    removals = sorted((e for e in edits if e.kind == "remove"), key=lambda e: e.path, reverse=True)
    adds = [e for e in edits if e.kind == "add"]
    return sets + removals + _reindex(adds, removals)


def _reindex(adds: list[Edit], removals: list[Edit]) -> list[Edit]:
    """Appends were computed on the original list: shift them past earlier removals and
    earlier appends to the same list."""
    out: list[Edit] = []
    for edit in adds:
        base = edit.path[:-1]
        index = edit.path[-1]
        assert isinstance(index, int)
        removed = sum(1 for r in removals if r.path[:-1] == base)
        added = sum(1 for e in out if e.path[:-1] == base)
        out.append(replace(edit, path=base + (index - removed + added,)))
    return out


def _change(edit: Edit) -> Change:
    path = edit.text_path
    shown = edit.shown or display_json(edit.value)
    if edit.kind == "add":
        text = f"add {shown} to {format_path(edit.path[:-1])}"
    elif edit.kind == "remove":
        text = f"remove {shown} ({path})"
    else:
        field = path.removesuffix(".amount") if path.endswith(".amount") else path
        timed = edit.field_type is not None and edit.field_type.name in ("date", "datetime")
        phrase = {
            ">=": "on or after" if timed else "at least",
            "<=": "on or before" if timed else "at most",
        }.get(edit.op)
        supply = edit.kind == "supply"
        if edit.op == "supply":
            text = f"provide {field}"
            if edit.value != PLACEHOLDER_TEXT:
                text += f" (verified with {shown})"
        elif edit.op == "!=":
            text = (
                f"provide {field}, other than {edit.avoid} (for example {shown})"
                if supply
                else f"{field} must not be {edit.avoid} (for example {shown})"
            )
        else:
            requirement = f"{phrase} {shown}" if phrase is not None else shown
            text = f"provide {field}: {requirement}" if supply else f"{field} must be {requirement}"
    return Change(path=path, value=edit.value, before=edit.before, kind=edit.kind, text=text)


def _expand(alt: Alt, as_of: date) -> list[Alt]:
    """Concrete edit sets for a set that supplies facts with ANY value."""
    choices: list[list[Edit]] = []
    for edit in alt:
        if edit.value is not ANY:
            choices.append([edit])
            continue
        values = _supply_values(edit.field_type, as_of)
        choices.append([replace(edit, value=v, shown=display_json(v)) for v in values])
    return [tuple(c) for c in itertools.islice(itertools.product(*choices), 16)]


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
    reason = spec.not_clearable_reason
    if reason:
        return Suggestion(
            rule_id=rule_id, finding_outcome=outcome, status="not_clearable", reason=reason
        )
    alternatives = solver.fix(rule.rule.condition, False, {})
    candidates: list[Alt] = []
    for alt in alternatives:
        for concrete in _expand(alt, solver.as_of):
            if concrete and concrete not in candidates:
                candidates.append(concrete)
    candidates = sorted(candidates, key=_cost)[:MAX_CANDIDATES]
    fired_before = set(before.fired)
    fallback: tuple[Alt, Decision] | None = None
    chosen: tuple[Alt, Decision] | None = None
    verified = 0
    for alt in candidates:
        applied = verifier.apply(alt)
        if applied is None or not verifier.rule_false(rule, applied[0]):
            continue
        if verified >= MAX_VERIFICATIONS:
            break
        verified += 1
        after = verifier.decide(applied[0])
        if after is None or spec.id in after.fired:
            continue
        if not _new_blocking(after, fired_before):
            chosen = (alt, after)
            break
        if fallback is None:
            fallback = (alt, after)
    chosen = chosen or fallback
    if chosen is not None:
        alt, after = _minimise(chosen[0], chosen[1], spec.id, verifier, fired_before)
        applied = verifier.apply(alt)
        assert applied is not None
        return Suggestion(
            rule_id=rule_id,
            finding_outcome=outcome,
            status="clearable",
            changes=applied[1],
            outcome_after=after.outcome.value,
            introduces=sorted(set(after.fired) - fired_before),
        )
    blocked = list(dict.fromkeys(solver.blocked))
    if blocked and not candidates and not solver.unsupported:
        return Suggestion(
            rule_id=rule_id,
            finding_outcome=outcome,
            status="not_clearable",
            reason="The applicant cannot clear this finding: " + "; ".join(blocked) + ".",
        )
    note = "No change to the document could be verified to clear this finding"
    if blocked:
        note += " (" + "; ".join(blocked) + ")"
    return Suggestion(
        rule_id=rule_id,
        finding_outcome=outcome,
        status="no_verified_change",
        reason=f"{note}. What the rule asks: {finding.remediation}",
    )


def _new_blocking(after: Decision, fired_before: set[str]) -> list[str]:
    return [
        f.rule_id
        for f in after.findings
        if f.rule_id not in fired_before and SEVERITY[f.outcome] > SEVERITY[Outcome.APPROVE]
    ]


def _minimise(
    alt: Alt, after: Decision, rule_id: str, verifier: Verifier, fired_before: set[str]
) -> tuple[Alt, Decision]:
    """Drop edits that are not needed to clear the finding (without adding findings)."""
    current = alt
    allowed = set(_new_blocking(after, fired_before))
    for edit in reversed(alt):
        if len(current) == 1:
            break
        trial = tuple(e for e in current if e is not edit)
        applied = verifier.apply(trial)
        if applied is None:
            continue
        decision = verifier.decide(applied[0])
        if decision is None or rule_id in decision.fired:
            continue
        if set(_new_blocking(decision, fired_before)) <= allowed:
            current, after = trial, decision
    return current, after


def is_blocking(finding: Finding) -> bool:
    """A finding that keeps the decision from APPROVE."""
    return SEVERITY[finding.outcome] > SEVERITY[Outcome.APPROVE]


__all__ = [
    "ANY",
    "EVENT_DATES",
    "FIXED_FACTS",
    "Edit",
    "Solver",
    "Verifier",
    "amount_for",
    "default_object",
    "is_blocking",
    "schema_type",
    "suggestion_for",
]
