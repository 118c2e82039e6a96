# Over 800 lines on purpose: one recursive Z3 encoding, an encoder per node and function.
"""The symbolic model: checked, date-specialised conditions as Z3 constraints over a document.

A document of one kind becomes a set of solver variables created on demand for the fields the
rules read: a value for each scalar, a presence flag for each optional field, a length for each
list (at most `bound` items: quantifiers are unrolled), and a "convertible" flag for money (the
pack may have no exchange rate for the currency). Domains come from the entity schemas
(enumerations, ISO codes, ranges), so every model the solver finds is a valid document.

Every expression becomes a value with a `known` formula: the three-valued logic of missing facts
(vasp_rules.interp.reference) is encoded exactly, one Kleene truth table per operator.

What is not encoded exactly raises :class:`Inexact` (regular expressions, month and working-day
arithmetic on a document's dates, other documents of a batch): analysis reports such a rule as
"unknown"; a diff treats its condition as an opaque value shared by identical conditions.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

import z3

from ..compiler.compile import CompiledPack, CompiledRule
from ..core.docpath import get_at
from ..entities.common import visible_ranges
from ..entities.iso import CURRENCIES
from ..entities.registry import KINDS
from ..lang.ast import (
    Binary,
    Call,
    Const,
    Expr,
    ListLiteral,
    Literal,
    Param,
    Path,
    Presence,
    Quantifier,
    Unary,
)
from ..lang.dates import STAMP_MAX, STAMP_MIN, Duration, date_text, moment_text
from ..lang.values import money_to_paisa
from ..model.decision import SEVERITY, Outcome
from .schema import (
    DATE_MAX,
    DATE_MIN,
    DATETIME_MAX,
    DATETIME_MIN,
    DECIMAL_LIMIT,
    DECIMAL_SCALE,
    Shape,
    decimal_text,
    default_scalar,
    fields_of,
)

#: Default number of items a list may hold in the model. Quantifiers are unrolled up to it, so a
#: rule found "dead" is dead for documents whose lists hold at most this many items.
DEFAULT_BOUND = 3

TRUE = z3.BoolVal(True)
FALSE = z3.BoolVal(False)


class Inexact(Exception):
    """A construct the model cannot encode exactly; the message says which."""


@dataclass
class V:
    """A symbolic value. `tag`: int | real | bool | str | dur | list | map | obj.

    int covers integers, day numbers, seconds and paisa; str is a constant (`const`), an
    enumeration index (`domain` set) or a Z3 string. `items` holds a list's (guard, item) pairs;
    `obj` the (model, path) of an object; `const` the Python value of a constant string/map."""

    tag: str
    expr: Any = None
    known: Any = TRUE
    domain: tuple[str, ...] | None = None
    const: Any = None
    items: list[tuple[Any, V]] = field(default_factory=list)
    obj: tuple[Any, tuple[Any, ...]] | None = None
    unit: str = ""
    present: Any = None  # for money: not None (known also needs an exchange rate)


Key = tuple[str, tuple[Any, ...]]


class SymDoc:
    """The solver variables of one symbolic document of a kind (shared by every pack encoded
    against it, so that two packs are compared on the same document)."""

    def __init__(
        self,
        kind: str,
        bound: int = DEFAULT_BOUND,
        fx: Mapping[str, Decimal] = {},
        base: Mapping[str, Any] | None = None,
        grow: Callable[[tuple[Any, ...]], int] | None = None,
    ):
        self.kind = kind
        #: with a base: each list holds at most its base length plus `grow(path)` items (None:
        #: `bound` items)
        self.grow = grow
        #: a realistic document of this kind (JSON form): witnesses keep its values where the
        #: difference allows, and take its fields no rule reads, instead of synthetic defaults
        self.base = base
        self.model = KINDS[kind]
        self.bound = bound
        self.vars: dict[Key, Any] = {}
        self.axioms: list[Any] = []
        self.opaque: dict[str, tuple[Any, Any]] = {}
        self.counter = 0  # fresh auxiliary variables
        self.working: dict[Any, Any] = {}  # (day, steps, holidays) -> day + working_days(steps)
        self.fx = dict(fx)

    def _name(self, role: str, path: tuple[Any, ...]) -> str:
        return role + ":" + ".".join(str(p) for p in path)

    def presence(self, path: tuple[Any, ...]) -> Any:
        key = ("present", path)
        if key not in self.vars:
            self.vars[key] = z3.Bool(self._name(*key))
        return self.vars[key]

    def length(self, path: tuple[Any, ...]) -> Any:
        key = ("len", path)
        if key not in self.vars:
            var = z3.Int(self._name(*key))
            self.vars[key] = var
            self.axioms.append(z3.And(var >= 0, var <= self.bound_at(path)))
        return self.vars[key]

    def bound_at(self, path: tuple[Any, ...]) -> int:
        """How many items the list at `path` may hold in the model."""
        if self.grow is None or self.base is None:
            return self.bound
        raw = get_at(self.base, path)
        return (len(raw) if isinstance(raw, list) else 0) + self.grow(path)

    def convertible(self, path: tuple[Any, ...]) -> Any:
        key = ("conv", path)
        if key not in self.vars:
            self.vars[key] = z3.Bool(self._name(*key))
        return self.vars[key]

    def scalar(self, shape: Shape, path: tuple[Any, ...]) -> Any:
        key = ("val", path)
        if key in self.vars:
            return self.vars[key]
        name = self._name(*key)
        tag = shape.tag
        var: Any
        if tag == "bool":
            var = z3.Bool(name)
        elif tag == "real":
            var = z3.Real(name)
            low = shape.low if shape.low is not None else -DECIMAL_LIMIT
            self.axioms.append(var >= z3.RealVal(str(low)))
            if shape.high is not None:
                self.axioms.append(var <= z3.RealVal(str(shape.high)))
            else:
                self.axioms.append(var < z3.RealVal(str(DECIMAL_LIMIT)))
            # at most 18 decimal places, as the schema admits: a value between two of them
            # (20 + 10^-20) has no document, and the nearest one may decide differently
            self.axioms.append(z3.IsInt(var * DECIMAL_SCALE))
        elif tag == "text":
            var = z3.String(name)
            if shape.min_length:
                self.axioms.append(z3.Length(var) >= shape.min_length)
            # a blank is no value (ENTITIES.md): text shows a character; a wallet, account or
            # id number is one printable ASCII token (entities.identity)
            self.axioms.append(text_axiom(var, shape.token))
        else:
            var = z3.Int(name)
            if tag == "int":
                if shape.low is not None:
                    self.axioms.append(var >= int(shape.low))
                if shape.high is not None:
                    self.axioms.append(var <= int(shape.high))
            elif tag == "date":
                self.axioms.append(z3.And(var >= DATE_MIN, var <= DATE_MAX))
            elif tag == "datetime":
                self.axioms.append(z3.And(var >= DATETIME_MIN, var <= DATETIME_MAX))
            elif tag == "money":
                # PKR amounts (whole paisa) up to the schema's limit on an amount; foreign
                # amounts worth more than that in PKR are outside the model (documented)
                top = int(DECIMAL_LIMIT * 100)
                self.axioms.append(z3.And(var >= 0, var < top))
            elif tag == "enum":
                self.axioms.append(z3.And(var >= 0, var < len(shape.domain)))
        self.vars[key] = var
        return var

    def opaque_rule(self, key: str) -> tuple[Any, Any]:
        """(value, known) of a condition the model cannot encode: free, but the same for the
        same condition text in either pack."""
        if key not in self.opaque:
            n = len(self.opaque)
            self.opaque[key] = (z3.Bool(f"opaque{n}"), z3.Bool(f"opaque{n}_known"))
        return self.opaque[key]

    def preferences(self, on: date, model: z3.ModelRef) -> list[Any]:
        """Plain values for the variables (those the model does not already give): no list
        items, facts present and convertible, dates on `on`, numbers 0, first enumeration
        values, false; used to make witness documents easy to read."""
        day = on.toordinal()
        moment = int((datetime(on.year, on.month, on.day) - datetime(1970, 1, 1)).total_seconds())
        out: list[Any] = []
        for (role, path), var in sorted(self.vars.items(), key=lambda kv: _order(kv[0])):
            if self.base is not None:
                like = self._like_base(role, path, var)
                if like is not None:
                    if not z3.is_true(model.eval(like, model_completion=True)):
                        out.append(like)
                    continue
            if role == "len":
                want: Any = var == 0
            elif role in ("present", "conv"):
                want = var == z3.BoolVal(True)
            elif z3.is_bool(var):
                want = var == z3.BoolVal(False)
            elif z3.is_string(var):
                continue  # string constraints can keep the solver past its time limit
            elif z3.is_real(var):
                want = var == 0
            else:
                name = str(var)
                if "date" in name or name.endswith(("_on", "_at")):
                    want = var == (moment if name.endswith("_at") else day)
                else:
                    want = var == 0
            if not z3.is_true(model.eval(want, model_completion=True)):
                out.append(want)
        return out

    def _like_base(self, role: str, path: tuple[Any, ...], var: Any) -> Any:
        """`var` as the base document has it (None where the base has nothing to say)."""
        found, raw = base_value(self.base, path)
        if role == "present":
            return var == z3.BoolVal(found and raw is not None)
        if not found or raw is None:
            return None
        if role == "len":
            return var == min(len(raw), self.bound) if isinstance(raw, list) else None
        if role == "conv":
            return var == z3.BoolVal(True)
        value = encoded(raw, self.shape_at(path), self.fx)
        return None if value is None else var == value

    def shape_at(self, path: tuple[Any, ...]) -> Shape | None:
        """The shape of the field at a path (list indices step into the item)."""
        shape: Shape | None = Shape("object", model=self.model)
        for part in path:
            if shape is None:
                return None
            if isinstance(part, int):
                shape = shape.item if shape.kind == "list" else None
            elif shape.kind == "object" and shape.model is not None:
                shape = fields_of(shape.model).get(part)
            else:
                return None
        return shape

    # -- a solver's model as a document ------------------------------------------------------
    def document(self, model: z3.ModelRef, doc_id: str = "W-1") -> dict[str, Any]:
        """The concrete JSON document a model describes (fields no rule reads get defaults)."""
        doc = self._object(self.model, (), model)
        from ..entities.registry import ID_FIELD

        doc[ID_FIELD[self.kind]] = doc_id
        return doc

    def _object(self, cls: Any, path: tuple[Any, ...], m: z3.ModelRef) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, shape in fields_of(cls).items():
            p = path + (name,)
            if shape.optional:
                flag = self.vars.get(("present", p))
                if flag is None and self.base is not None:  # no rule asks: as the base has it
                    found, raw = base_value(self.base, p)
                    if not found or raw is None:
                        continue
                elif flag is None or not z3.is_true(m.eval(flag, model_completion=True)):
                    continue
            out[name] = self._value(shape, p, m)
        return out

    def _value(self, shape: Shape, path: tuple[Any, ...], m: z3.ModelRef) -> Any:
        if shape.kind == "object":
            return self._object(shape.model, path, m)
        if shape.kind == "list":
            assert shape.item is not None
            var = self.vars.get(("len", path))
            if var is None and self.base is not None:
                found, raw = base_value(self.base, path)
                if found and isinstance(raw, list):
                    return copy.deepcopy(raw)  # no rule reads the list: the base's items
            n = m.eval(var, model_completion=True).as_long() if var is not None else 0
            return [self._value(shape.item, path + (i,), m) for i in range(n)]
        var = self.vars.get(("val", path))
        if var is None and self.base is not None:
            found, raw = base_value(self.base, path)
            if found and raw is not None:
                return copy.deepcopy(raw)
        if var is None:
            if shape.tag == "money" and self.vars.get(("conv", path)) is not None:
                return self._money(0, path, m)
            return default_scalar(shape)
        got = m.eval(var, model_completion=True)
        if shape.tag == "money":
            if self.base is not None:  # the base's own amount and currency when it is that
                found, raw = base_value(self.base, path)
                if found and _base_paisa(raw, self.fx) == got.as_long():
                    return copy.deepcopy(raw)
            return self._money(got.as_long(), path, m)
        return decoded(shape, got)

    def _money(self, paisa: int, path: tuple[Any, ...], m: z3.ModelRef) -> dict[str, str]:
        conv = self.vars.get(("conv", path))
        # a currency without a rate only when the model needs one (unassigned: convertible)
        if conv is not None and z3.is_false(m.eval(conv, model_completion=False)):
            # a currency the pack has no rate for: the amount is then unknown to the rules
            other = sorted(c for c in CURRENCIES if c not in self.fx and c != "PKR")[0]
            return {"amount": "1", "currency": other}
        return {"amount": decimal_text(Decimal(paisa).scaleb(-2)), "currency": "PKR"}


def decoded(shape: Shape, got: Any) -> Any:
    """A scalar's JSON value from the solver's value (money: its PKR paisa)."""
    tag = shape.tag
    if tag == "bool":
        return z3.is_true(got)
    if tag in ("int", "money"):
        return got.as_long()
    if tag == "real":
        return decimal_text(_decimal(got))
    if tag == "date":
        return date_text(got.as_long())
    if tag == "datetime":
        return moment_text(got.as_long())
    if tag == "enum":
        return shape.domain[got.as_long()]
    return got.as_string()


def base_value(doc: Any, path: tuple[Any, ...]) -> tuple[bool, Any]:
    """(found, value) at a path of a JSON document; list items beyond the base's are the
    last item's (a witness with more items than the base resembles its last one)."""
    current = doc
    for part in path:
        if isinstance(part, int):
            if not isinstance(current, list) or not current:
                return False, None
            current = current[min(part, len(current) - 1)]
        elif isinstance(current, Mapping) and part in current:
            current = current[part]
        else:
            return False, None
    return True, current


def encoded(raw: Any, shape: Shape | None, fx: Mapping[str, Decimal]) -> Any:
    """A base document's JSON value as the solver represents the field (None: not encoded:
    text, whose constraints can keep the solver past its time limit, is put back once the
    witness is confirmed; an amount in a currency the pack has no rate for)."""
    if shape is None or shape.kind != "scalar":
        return None
    tag = shape.tag
    try:
        if tag == "bool" and isinstance(raw, bool):
            return z3.BoolVal(raw)
        if tag == "int" and isinstance(raw, int) and not isinstance(raw, bool):
            return z3.IntVal(raw)
        if tag == "real" and isinstance(raw, int | str | Decimal | float):
            return z3.RealVal(str(Decimal(str(raw))))
        if tag == "date" and isinstance(raw, str):
            return z3.IntVal(date.fromisoformat(raw).toordinal())
        if tag == "datetime" and isinstance(raw, str):
            moment = datetime.fromisoformat(raw)
            epoch = datetime(1970, 1, 1, tzinfo=UTC if moment.tzinfo else None)
            return z3.IntVal(int((moment - epoch).total_seconds()))
        if tag == "money":
            paisa = _base_paisa(raw, fx)
            return None if paisa is None else z3.IntVal(paisa)
        if tag == "enum" and raw in shape.domain:
            return z3.IntVal(shape.domain.index(raw))
    except (ArithmeticError, ValueError, TypeError):
        return None
    return None


def _base_paisa(raw: Any, fx: Mapping[str, Decimal]) -> int | None:
    """A base document's money as the engine counts it (PKR paisa at the pack's rate)."""
    if not isinstance(raw, Mapping) or "amount" not in raw or "currency" not in raw:
        return None
    try:
        return money_to_paisa(Decimal(str(raw["amount"])), str(raw["currency"]), fx)
    except (ArithmeticError, ValueError, TypeError):
        return None


_SHOWING: list[Any] = []


def _showing_text() -> Any:
    """The strings that begin with a visible character and hold no lone surrogate (built
    once): never blank. Asking for the visible character first, not anywhere, keeps the solver
    fast (`.*visible.*`, or visible characters and spaces throughout, made the pk model checks
    4-6x slower); text beginning with white space is read without it, so no document is lost.
    The solver's answers are short (a character or two), and every witness is evaluated by the
    engine, which validates it."""
    if not _SHOWING:
        valid = z3.Union(z3.Range(chr(0), chr(0xD7FF)), z3.Range(chr(0xE000), chr(_Z3_MAX_CHAR)))
        visible = z3.Union(
            *(
                z3.Range(chr(low), chr(min(high, _Z3_MAX_CHAR)))
                for low, high in visible_ranges()
                if low <= _Z3_MAX_CHAR
            )
        )
        _SHOWING.append(z3.Concat(visible, z3.Star(valid)))
    return _SHOWING[0]


def text_axiom(var: Any, token: bool) -> Any:
    """What a text field holds: a visible character first, or one ASCII token."""
    return z3.InRe(var, _token_text() if token else _showing_text())


def _token_text() -> Any:
    """One printable ASCII token: a wallet, account or id number as entities.identity reads
    them (no space, nothing outside ASCII)."""
    return z3.Plus(z3.Range("!", "~"))


#: The largest character z3's strings hold (its default Unicode encoding stops at U+2FFFF).
_Z3_MAX_CHAR = 0x2FFFF


def _order(key: Key) -> tuple[int, str]:
    return ({"len": 0, "present": 1, "conv": 2}.get(key[0], 3), ".".join(map(str, key[1])))


def _decimal(value: Any) -> Decimal:
    frac = value.as_fraction() if hasattr(value, "as_fraction") else Fraction(str(value))
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(frac.numerator) / Decimal(frac.denominator)
        return exact.quantize(Decimal(1).scaleb(-18)) if exact.as_tuple().exponent != 0 else exact


# -- three-valued helpers ------------------------------------------------------------------


def is_true(v: V) -> Any:
    return z3.And(v.known, v.expr)


def is_false(v: V) -> Any:
    return z3.And(v.known, z3.Not(v.expr))


def boolean(t: Any, f: Any) -> V:
    """A three-valued boolean from 'certainly true' and 'certainly false' formulas."""
    return V("bool", t, z3.Or(t, f))


def _coerce(a: Any, b: Any) -> tuple[Any, Any]:
    if z3.is_int(a) and z3.is_real(b):
        return z3.ToReal(a), b
    if z3.is_real(a) and z3.is_int(b):
        return a, z3.ToReal(b)
    return a, b


def constant(value: Any) -> V:
    """A V for an engine value known at compile time."""
    if value is True or value is False:
        return V("bool", z3.BoolVal(value))
    if isinstance(value, int):
        return V("int", z3.IntVal(value))
    if isinstance(value, Decimal):
        return V("real", z3.RealVal(str(value)))
    if isinstance(value, str):
        return V("str", const=value)
    if isinstance(value, Duration):
        return V("dur", z3.IntVal(value.amount), unit=value.unit)
    if isinstance(value, list):
        return V("list", items=[(TRUE, constant(i)) for i in value])
    if isinstance(value, Mapping):
        return V("map", const=dict(value))
    if isinstance(value, date):
        return V("int", z3.IntVal(value.toordinal()))
    raise Inexact(f"constant {value!r}")


def str_eq(a: V, b: V) -> Any:
    """Equality of two string values (constants, enumeration indexes or Z3 strings)."""
    if a.const is not None and b.const is not None:
        return z3.BoolVal(a.const == b.const)
    if a.const is not None:
        a, b = b, a
    if b.const is not None:
        if a.domain is not None:
            return (
                z3.BoolVal(False) if b.const not in a.domain else a.expr == a.domain.index(b.const)
            )
        return a.expr == z3.StringVal(b.const)
    if a.domain is not None and b.domain is not None:
        if a.domain == b.domain:
            return a.expr == b.expr
        pairs = [
            z3.And(a.expr == i, b.expr == b.domain.index(v))
            for i, v in enumerate(a.domain)
            if v in b.domain
        ]
        return z3.Or(pairs) if pairs else FALSE
    if a.domain is not None:
        a, b = b, a
    if b.domain is not None:
        return z3.Or(
            [z3.And(b.expr == i, a.expr == z3.StringVal(v)) for i, v in enumerate(b.domain)]
        )
    return a.expr == b.expr


def values_eq(a: V, b: V) -> Any:
    if a.tag == "str" or b.tag == "str":
        if a.tag != b.tag:
            return FALSE
        return str_eq(a, b)
    if a.tag == "bool" or b.tag == "bool":
        if a.tag != b.tag:
            return FALSE
        return a.expr == b.expr
    if a.tag in ("int", "real") and b.tag in ("int", "real"):
        x, y = _coerce(a.expr, b.expr)
        return x == y
    raise Inexact(f"comparing {a.tag} with {b.tag}")


class Encoder:
    """Encodes the conditions of one compiled pack (one date) against a symbolic document."""

    def __init__(self, doc: SymDoc, compiled: CompiledPack, *, alone: bool) -> None:
        self.doc = doc
        self.compiled = compiled
        self.params = compiled.param_values
        self.alone = alone  # True: the document is evaluated alone (a batch holds no other)
        self.root = V("obj", known=TRUE, obj=(doc.model, ()))

    # -- rules ---------------------------------------------------------------------------
    def condition(self, rule: CompiledRule) -> V:
        """The rule's condition as a three-valued boolean; raises Inexact."""
        v = self.expr(rule.condition, {})
        if v.tag != "bool":
            raise Inexact("condition is not a test")
        return v

    # -- expressions -----------------------------------------------------------------------
    def expr(self, node: Expr, scope: dict[str, V]) -> V:
        if isinstance(node, Const):
            return constant(node.value)
        if isinstance(node, Literal):
            return constant(node.value)
        if isinstance(node, ListLiteral):
            items = [self.expr(i, scope) for i in node.items]
            return V("list", items=[(TRUE, i) for i in items])
        if isinstance(node, Path):
            return self.path(node, scope)
        if isinstance(node, Param):
            return self.param(node, scope)
        if isinstance(node, Presence):
            return self.presence(node, scope)
        if isinstance(node, Unary):
            inner = self.expr(node.operand, scope)
            if node.op == "not":
                return V("bool", z3.Not(inner.expr), inner.known)
            if inner.tag not in ("int", "real"):
                raise Inexact("negating a non-number")
            return V(inner.tag, -inner.expr, inner.known)
        if isinstance(node, Binary):
            return self.binary(node, scope)
        if isinstance(node, Call):
            return self.call(node, scope)
        if isinstance(node, Quantifier):
            return self.quantifier(node, scope)
        raise Inexact(f"unknown node {type(node).__name__}")

    # -- paths -------------------------------------------------------------------------------
    def _step(self, v: V, part: str) -> V:
        if v.tag != "obj" or v.obj is None:
            raise Inexact(f"field {part} of a non-object")
        cls, path = v.obj
        shape = fields_of(cls).get(part)
        if shape is None:
            raise Inexact(f"unknown field {part}")
        child = path + (part,)
        present = z3.And(v.known, self.doc.presence(child)) if shape.optional else v.known
        return self._node(shape, child, present)

    def _node(self, shape: Shape, path: tuple[Any, ...], present: Any) -> V:
        if shape.kind == "object":
            return V("obj", known=present, obj=(shape.model, path))
        if shape.kind == "list":
            assert shape.item is not None
            n = self.doc.length(path)
            items: list[tuple[Any, V]] = []
            for i in range(self.doc.bound_at(path)):
                item_path = path + (i,)
                item_present = self.doc.presence(item_path) if shape.item.optional else TRUE
                items.append((i < n, self._node(shape.item, item_path, item_present)))
            return V("list", known=present, items=items)
        var = self.doc.scalar(shape, path)
        tag = shape.tag
        if tag == "enum":
            return V("str", var, present, domain=shape.domain)
        if tag == "text":
            return V("str", var, present)
        if tag == "bool":
            return V("bool", var, present)
        if tag == "real":
            return V("real", var, present)
        if tag == "money":
            return V("int", var, z3.And(present, self.doc.convertible(path)), present=present)
        return V("int", var, present)

    def leaves(self, node: Path, scope: dict[str, V]) -> tuple[list[tuple[Any, V]], bool]:
        """The reference interpreter's path resolution: (guard, leaf) pairs and whether the path
        went through a list."""
        head = node.parts[0]
        parts: tuple[str, ...]
        if head in scope:
            current = [(TRUE, scope[head])]
            parts = node.parts[1:]
        elif head in ("batch", "as_of"):
            raise Inexact(f"{node.dotted} is not a document path")
        else:
            current = [(TRUE, self.root)]
            parts = node.parts
        mapped = False
        for part in parts:
            nxt: list[tuple[Any, V]] = []
            for guard, v in current:
                if v.tag == "list":
                    mapped = True
                    if not z3.is_true(z3.simplify(v.known)):
                        raise Inexact("a path through a list that may be absent")
                    for g, item in v.items:
                        nxt.append((z3.And(guard, g), self._step(item, part)))
                else:
                    nxt.append((guard, self._step(v, part)))
            current = nxt
        if mapped:
            flat: list[tuple[Any, V]] = []
            for guard, v in current:
                if v.tag == "list":
                    if not z3.is_true(z3.simplify(v.known)):
                        raise Inexact("a path through a list that may be absent")
                    flat.extend((z3.And(guard, g), item) for g, item in v.items)
                else:
                    flat.append((guard, v))
            current = flat
        return current, mapped

    def path(self, node: Path, scope: dict[str, V]) -> V:
        leaves, mapped = self.leaves(node, scope)
        if mapped:
            return V("list", known=TRUE, items=leaves)
        return leaves[0][1]

    def presence(self, node: Presence, scope: dict[str, V]) -> V:
        leaves, _mapped = self.leaves(node.path, scope)
        absent = z3.Or([z3.And(g, z3.Not(_present(v))) for g, v in leaves] or [FALSE])
        return V("bool", z3.Not(absent) if node.present else absent, TRUE)

    # -- parameters ----------------------------------------------------------------------------
    def param(self, node: Param, scope: dict[str, V]) -> V:
        if node.name not in self.params:
            raise Inexact(f"param.{node.name} has no value")
        value = self.params[node.name]
        if node.key is None:
            return constant(value)
        key = self.expr(node.key, scope)
        if not isinstance(value, Mapping):
            raise Inexact("lookup in a non-table")
        if key.tag != "str":
            raise Inexact("non-text table key")
        matches = [(str_eq(key, V("str", const=k)), constant(v)) for k, v in value.items()]
        if not matches:
            return V("bool", FALSE, FALSE)
        tags = {m.tag for _c, m in matches}
        if not tags <= {"int", "real", "bool"}:
            raise Inexact("table of text looked up by a document value")
        tag = "real" if "real" in tags else next(iter(tags))
        result: Any = None
        for cond, m in reversed(matches):
            e = z3.ToReal(m.expr) if tag == "real" and z3.is_int(m.expr) else m.expr
            result = e if result is None else z3.If(cond, e, result)
        found = z3.Or([c for c, _m in matches])
        return V(tag, result, z3.And(key.known, found))

    # -- operators -------------------------------------------------------------------------------
    def binary(self, node: Binary, scope: dict[str, V]) -> V:
        op = node.op
        if op in ("and", "or"):
            a = self.expr(node.left, scope)
            b = self.expr(node.right, scope)
            if op == "and":
                return boolean(z3.And(is_true(a), is_true(b)), z3.Or(is_false(a), is_false(b)))
            return boolean(z3.Or(is_true(a), is_true(b)), z3.And(is_false(a), is_false(b)))
        if op in ("in", "not in"):
            return self.membership(node, scope)
        a = self.expr(node.left, scope)
        b = self.expr(node.right, scope)
        known = z3.And(a.known, b.known)
        if op in ("==", "!="):
            eq = values_eq(a, b)
            return V("bool", eq if op == "==" else z3.Not(eq), known)
        if op in ("<", "<=", ">", ">="):
            if a.tag not in ("int", "real") or b.tag not in ("int", "real"):
                raise Inexact(f"ordering {a.tag} and {b.tag}")
            x, y = _coerce(a.expr, b.expr)
            cmp = {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]
            return V("bool", cmp, known)
        return self.arith(op, a, b, known)

    def arith(self, op: str, a: V, b: V, known: Any) -> V:
        if b.tag == "dur":
            sign = -1 if op == "-" else 1
            # lang.dates.shift: a result outside the representable range, or a working-day
            # count past the holiday calendar, is unknown
            if b.unit == "days":
                day = a.expr + sign * b.expr
                return V("int", day, z3.And(known, day >= DATE_MIN, day <= DATE_MAX))
            if b.unit == "hours":
                moment = a.expr + sign * 3600 * b.expr
                return V("int", moment, z3.And(known, moment >= STAMP_MIN, moment <= STAMP_MAX))
            if b.unit == "working_days" and z3.is_int_value(z3.simplify(b.expr)):
                steps = sign * z3.simplify(b.expr).as_long()
                day = self.working_days(a.expr, steps)
                last = self.compiled.calendar.until or DATE_MAX
                first = self.compiled.calendar.since or DATE_MIN
                # every day stepped through must lie within the calendar (dates.shift)
                if steps > 0:
                    inside = z3.And(a.expr + 1 >= first, day <= last)
                elif steps < 0:
                    inside = z3.And(day >= first, a.expr - 1 <= last)
                else:
                    inside = z3.BoolVal(True)
                return V("int", day, z3.And(known, inside))
            raise Inexact(f"{b.unit} arithmetic on a document's date")
        if a.tag not in ("int", "real") or b.tag not in ("int", "real"):
            raise Inexact(f"arithmetic on {a.tag} and {b.tag}")
        x, y = _coerce(a.expr, b.expr)
        tag = "real" if z3.is_real(x) else "int"
        if op == "+":
            return V(tag, x + y, known)
        if op == "-":
            return V(tag, x - y, known)
        if op == "*":
            return V(tag, x * y, known)
        rx = x if z3.is_real(x) else z3.ToReal(x)
        ry = y if z3.is_real(y) else z3.ToReal(y)
        return V("real", rx / ry, z3.And(known, ry != 0))

    def working_days(self, day: Any, steps: int) -> Any:
        """`day + working_days(steps)` (interp.reference.add_working_days) as a fresh day
        number: a working day (Monday to Friday, not a pack holiday) with exactly |steps|
        working days after `day` up to it (or before `day` from it, going back)."""
        if steps == 0:
            return day
        holidays = sorted(self.compiled.calendar.holidays)
        key = (z3.simplify(day).sexpr(), steps, tuple(holidays))
        if key in self.doc.working:  # the same day in both packs: one variable, one answer
            return self.doc.working[key]
        self.doc.counter += 1
        result = z3.Int(f"working_day{self.doc.counter}")
        self.doc.working[key] = result
        # at most two weekend days per five working days, plus every holiday: a bound that
        # keeps the solver's search short
        reach = abs(steps) + 2 * (abs(steps) // 5 + 2) + len(holidays)

        def weekdays_upto(x: Any) -> Any:  # Monday-Friday days in [1, x]; day 1 is a Monday
            return 5 * (x / 7) + z3.If(x % 7 > 5, 5, x % 7)

        def working_in(lo: Any, hi: Any) -> Any:  # working days in (lo, hi]
            off = [z3.If(z3.And(lo < h, h <= hi), 1, 0) for h in holidays if (h - 1) % 7 < 5]
            return weekdays_upto(hi) - weekdays_upto(lo) - (z3.Sum(off) if off else 0)

        is_working = z3.And((result - 1) % 7 < 5, *[result != h for h in holidays])
        if steps > 0:
            count = working_in(day, result) == steps
            order = z3.And(result > day, result <= day + reach)
        else:
            count = working_in(result - 1, day - 1) == -steps
            order = z3.And(result < day, result >= day - reach)
        self.doc.axioms.append(
            z3.Implies(z3.And(day >= DATE_MIN, day <= DATE_MAX), z3.And(order, is_working, count))
        )
        return result

    def membership(self, node: Binary, scope: dict[str, V]) -> V:
        right = node.right
        left = self.expr(node.left, scope)
        if (
            isinstance(right, Path)
            and right.parts[0] == "batch"
            and "batch" not in scope
            and len(right.parts) > 2
        ):
            if not self.alone:
                raise Inexact("membership in other documents of a batch")
            # alone: the batch holds no other document
            return V("bool", z3.BoolVal(node.op == "not in"), left.known)
        container = self.expr(right, scope)
        if container.tag == "map":
            found = z3.Or([values_eq(left, V("str", const=k)) for k in container.const] or [FALSE])
            unknown_item = FALSE
        elif container.tag == "list":
            found = z3.Or(
                [z3.And(g, i.known, values_eq(left, i)) for g, i in container.items] or [FALSE]
            )
            unknown_item = z3.Or(
                [z3.And(g, z3.Not(i.known)) for g, i in container.items] or [FALSE]
            )
        else:
            raise Inexact(f"membership in a {container.tag}")
        known = z3.And(left.known, container.known, z3.Or(found, z3.Not(unknown_item)))
        return V("bool", found if node.op == "in" else z3.Not(found), known)

    def call(self, node: Call, scope: dict[str, V]) -> V:
        name = node.name
        if name == "matches":
            raise Inexact("regular expression")
        args = [self.expr(a, scope) for a in node.args]
        known = z3.And([a.known for a in args]) if args else TRUE
        if name in ("days", "months", "years", "hours", "working_days"):
            if args[0].tag != "int":
                raise Inexact("fractional duration")
            return V("dur", args[0].expr, known, unit=name)
        if name == "len":
            lst = args[0]
            if lst.tag != "list":
                raise Inexact("len of a non-list")
            count = z3.Sum([z3.If(g, 1, 0) for g, _i in lst.items]) if lst.items else z3.IntVal(0)
            return V("int", count, known)
        if name in ("max", "min"):
            a, b = args
            if a.tag not in ("int", "real") or b.tag not in ("int", "real"):
                raise Inexact(f"{name} of {a.tag}")
            x, y = _coerce(a.expr, b.expr)
            pick = x >= y if name == "max" else x <= y
            return V("real" if z3.is_real(x) else "int", z3.If(pick, x, y), known)
        raise Inexact(f"function {name}")

    # -- quantifiers --------------------------------------------------------------------------
    def quantifier(self, node: Quantifier, scope: dict[str, V]) -> V:
        source = node.source
        if isinstance(source, Path) and source.parts[0] == "batch" and len(source.parts) == 2:
            if not self.alone:
                raise Inexact("a quantifier over other documents of a batch")
            items: list[tuple[Any, V]] = []
            source_known: Any = TRUE
        elif isinstance(source, Path):
            leaves, mapped = self.leaves(source, scope)
            if mapped:
                items, source_known = leaves, TRUE
            else:
                lst = leaves[0][1]
                if lst.tag != "list":
                    raise Inexact("quantifier over a non-list")
                items, source_known = lst.items, lst.known
        else:
            lst = self.expr(source, scope)
            if lst.tag != "list":
                raise Inexact("quantifier over a non-list")
            items, source_known = lst.items, lst.known
        kind = node.kind
        per_item: list[tuple[Any, Any, Any, V | None]] = []  # guard, verdict-true, unknown, value
        for guard, item in items:
            inner = dict(scope)
            inner[node.var] = item
            if node.where is not None:
                w = self.expr(node.where, inner)
                w_t, w_u = is_true(w), z3.Not(w.known)
            else:
                w_t, w_u = TRUE, FALSE
            if kind in ("any", "all", "none", "count"):
                if node.body is None:
                    true = w_t
                    false = FALSE
                    unknown = w_u
                else:
                    b = self.expr(node.body, inner)
                    b_t, b_f, b_u = is_true(b), is_false(b), z3.Not(b.known)
                    true = z3.And(w_t, b_t)
                    false = z3.And(w_t, b_f)
                    if kind == "all":
                        unknown = z3.Or(z3.And(w_t, b_u), z3.And(w_u, z3.Not(b_t)))
                    else:
                        unknown = z3.Or(z3.And(w_t, b_u), z3.And(w_u, z3.Not(b_f)))
                falsity = V("bool", z3.And(guard, false))
                per_item.append((guard, z3.And(guard, true), z3.And(guard, unknown), falsity))
            else:
                if node.body is None:
                    value = item
                else:
                    value = self.expr(node.body, inner)
                kept = z3.And(guard, z3.Or(w_t, w_u))
                unknown = z3.And(guard, z3.Or(w_u, z3.And(w_t, z3.Not(value.known))))
                per_item.append((kept, TRUE, unknown, value))
        any_unknown = z3.Or([u for _g, _t, u, _v in per_item] or [FALSE])
        if kind in ("any", "none"):
            some = z3.Or([t for _g, t, _u, _v in per_item] or [FALSE])
            t = some if kind == "any" else z3.And(z3.Not(some), z3.Not(any_unknown))
            f = z3.And(z3.Not(some), z3.Not(any_unknown)) if kind == "any" else some
            return V("bool", t, z3.And(source_known, z3.Or(t, f)))
        if kind == "all":
            some_false = z3.Or([v.expr for _g, _t, _u, v in per_item if v is not None] or [FALSE])
            t = z3.And(z3.Not(some_false), z3.Not(any_unknown))
            return V("bool", t, z3.And(source_known, z3.Or(t, some_false)))
        known = z3.And(source_known, z3.Not(any_unknown))
        if kind == "count":
            count = z3.Sum([z3.If(t, 1, 0) for _g, t, _u, _v in per_item] or [z3.IntVal(0)])
            return V("int", count, known)
        if kind == "select":
            return V("list", known=known, items=[(g, v) for g, _t, _u, v in per_item if v])
        values = [(g, v) for g, _t, _u, v in per_item if v is not None]
        if any(v.tag not in ("int", "real") for _g, v in values):
            raise Inexact(f"{kind} of non-numbers")
        real = any(v.tag == "real" for _g, v in values)

        def num(v: V) -> Any:
            return z3.ToReal(v.expr) if real and z3.is_int(v.expr) else v.expr

        tag = "real" if real else "int"
        if kind == "sum":
            zero = z3.RealVal(0) if real else z3.IntVal(0)
            total = z3.Sum([z3.If(g, num(v), zero) for g, v in values]) if values else zero
            return V(tag, total, known)
        # max / min: unknown when no item is kept
        best: Any = None
        seen: Any = FALSE
        for g, v in values:
            x = num(v)
            if best is None:
                best = x
                seen = g
                continue
            better = x > best if kind == "max" else x < best
            best = z3.If(z3.And(g, z3.Or(z3.Not(seen), better)), x, best)
            seen = z3.Or(seen, g)
        if best is None:
            return V(tag, z3.IntVal(0), FALSE)
        return V(tag, best, z3.And(known, seen))


def _present(v: V) -> Any:
    """Whether a leaf is not None (`known` also needs, for money, an exchange rate)."""
    return v.present if v.present is not None else v.known


# -- what a rule does on a document ----------------------------------------------------------


@dataclass
class RuleModel:
    """A rule's behaviour as formulas: fires holding (its outcome) or fires unknown
    (REQUIRE_DOCUMENTS, when it asks for missing facts); `exact` is False for opaque rules."""

    rule: CompiledRule
    true: Any
    false: Any
    unknown: Any
    exact: bool
    why: str = ""

    @property
    def fires_true(self) -> Any:
        return self.true

    @property
    def fires_unknown(self) -> Any:
        return self.unknown if self.rule.asks_for_missing else FALSE

    @property
    def fires(self) -> Any:
        return z3.Or(self.fires_true, self.fires_unknown)

    @property
    def outcome(self) -> Outcome:
        return Outcome(self.rule.rule.spec.outcome)


def rule_model(enc: Encoder, rule: CompiledRule, *, opaque: bool) -> RuleModel:
    """Encode one rule; an inexact one is reported (analysis) or made opaque (diff)."""
    try:
        try:
            v = enc.condition(rule)
        except (z3.Z3Exception, TypeError) as exc:  # a shape the encoder does not know
            raise Inexact(f"not modelled: {exc}") from None
        return RuleModel(rule, is_true(v), is_false(v), z3.Not(v.known), True)
    except Inexact as exc:
        if not opaque:
            return RuleModel(rule, FALSE, FALSE, FALSE, False, str(exc))
        value, known = enc.doc.opaque_rule(f"{rule.kind}|{rule.condition!r}")
        return RuleModel(
            rule,
            z3.And(known, value),
            z3.And(known, z3.Not(value)),
            z3.Not(known),
            False,
            str(exc),
        )


def outcome_rank(models: list[RuleModel]) -> Any:
    """The decision's severity rank (decision.SEVERITY) as a formula: INFO findings ignored,
    no finding is APPROVE, no rule in force is NO_RULES_IN_FORCE."""
    if not models:
        return z3.IntVal(SEVERITY[Outcome.NO_RULES_IN_FORCE])
    rank: Any = z3.IntVal(SEVERITY[Outcome.APPROVE])
    req = SEVERITY[Outcome.REQUIRE_DOCUMENTS]
    for m in models:
        if m.outcome is not Outcome.INFO:
            sev = SEVERITY[m.outcome]
            rank = z3.If(z3.And(m.fires_true, rank < sev), sev, rank)
        rank = z3.If(z3.And(m.fires_unknown, rank < req), req, rank)
    return rank


RANK_OUTCOME = {v: k for k, v in SEVERITY.items()}
