"""Engine values: the one representation both matchers see.

Dates are day numbers (proleptic ordinal), datetimes are seconds since the Unix epoch (UTC), money
is an integer number of paisa (PKR minor units) after conversion at the pack's reference rate,
other numbers are int or Decimal. Integers keep durable-rules away from floats in exponent form,
and give both matchers the exact same inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any

from pydantic import BaseModel

from .dates import EPOCH, date_text, moment_text


class Unknown:
    """The value of a fact the document leaves absent (or of an expression that reads one)."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        raise TypeError("UNKNOWN has no truth value; test `is UNKNOWN` instead")


UNKNOWN = Unknown()

#: the variables in scope while a condition is evaluated: name -> (the value bound to it, its
#: label in messages, e.g. "document" or "transfers[2]")
Scope = dict[str, tuple[Any, str]]


def money_to_paisa(amount: Decimal, currency: str, fx_to_pkr: Mapping[str, Any]) -> int | None:
    """Convert an amount to PKR paisa with the reference rate; None if the pack has no rate.
    Exact however large (the default 28 digits would round), rounded half-even to the paisa,
    and independent of the caller's decimal context."""
    rate = reference_rate(currency, fx_to_pkr)
    if rate is None:
        return None
    amount = Decimal(amount)
    product = _exact(amount.adjusted() + rate.adjusted() + 12).multiply(amount, rate)
    return int(cents(product).scaleb(2, _exact(product.adjusted() + 12)))


def reference_rate(currency: str, fx_to_pkr: Mapping[str, Any]) -> Decimal | None:
    """PKR per unit of `currency` (1 for PKR); None when the pack has no rate for it."""
    if currency == "PKR":
        return _ONE
    if currency not in fx_to_pkr:
        return None
    given = fx_to_pkr[currency]
    return given if type(given) is Decimal else Decimal(str(given))


_ONE = Decimal(1)
_CENT = Decimal("0.01")
_CONTEXTS: dict[int, Context] = {}


def _exact(digits: int) -> Context:
    """A decimal context of at least 28 and at least `digits` digits of precision that rounds
    half-even (shared: made once per precision)."""
    prec = max(28, digits)
    context = _CONTEXTS.get(prec)
    if context is None:
        context = Context(prec=prec, rounding=ROUND_HALF_EVEN)
        if len(_CONTEXTS) < 64:
            _CONTEXTS[prec] = context
    return context


def date_to_engine(value: date) -> int:
    return value.toordinal()


def datetime_to_engine(value: datetime) -> int:
    """Whole seconds since the epoch, rounded down (a timedelta keeps 0 <= seconds < 86400
    and drops nothing else but the microseconds); a sixth of dividing by a timedelta."""
    if value.tzinfo is None:
        raise ValueError("naive datetime reached the engine")
    since = value - EPOCH
    return since.days * 86_400 + since.seconds


# The shape of a document value's type, looked up once per type: the hot paths of evaluation
# ask it of every value they step through, and `isinstance` against pydantic's model metaclass
# costs several times a dictionary look-up.
OTHER, MODEL, MONEY, LIST, MAPPING = range(5)
_PLAIN_JSON = frozenset({str, int, bool, type(None)})
#: types whose values are engine values as they are (exact types: an address, a str
#: subclass, compares in its canonical form)
PLAIN_ENGINE = frozenset({str, int, bool, Decimal})


class _Shapes(dict[type, int]):
    """Type -> shape (OTHER, MODEL: a document object, MONEY, LIST or MAPPING), worked out
    on a type's first look-up (`__missing__`), so the hot paths can subscript it
    (`SHAPES[type(value)]`) without a function call."""

    def __missing__(self, cls: type) -> int:
        if issubclass(cls, BaseModel):
            shape = MONEY if cls.__name__ == "Money" else MODEL
        elif issubclass(cls, list):
            shape = LIST
        elif issubclass(cls, Mapping):
            shape = MAPPING
        else:
            shape = OTHER
        self[cls] = shape
        return shape


SHAPES = _Shapes()


def is_money(value: Any) -> bool:
    return SHAPES[type(value)] == MONEY


def decimal_json(value: Decimal) -> str:
    """A decimal as a document's JSON writes it (`facts` in findings): integral values without
    a fraction or exponent, others as written."""
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


def to_json_value(value: Any) -> Any:
    """The value as it appears in the document's JSON form (for `facts` in findings)."""
    kind = type(value)
    if kind in _PLAIN_JSON:
        return value
    if kind is datetime or kind is date:  # by exact type first: isinstance of a model costs more
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return decimal_json(value)
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    return value


def plain_number(value: int | Decimal) -> str:
    """A number as plain JSON text: never exponent form (durable-rules rejects it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def format_value(value: Any, type_name: str) -> str:
    """Render an engine value for a reason text a compliance officer reads."""
    if value is UNKNOWN or value is None:
        return "unknown"
    if type_name == "money":
        return "PKR " + group_thousands(Decimal(value).scaleb(-2))
    if type_name == "date" and isinstance(value, int):
        return date_text(value)
    if type_name == "datetime" and isinstance(value, int):
        return moment_text(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        item_type = type_name[5:] if type_name.startswith("list:") else ""
        return ", ".join(format_value(v, item_type) for v in value) if value else "none"
    if isinstance(value, Decimal):
        return plain_number(value)
    return str(value)


def cents(amount: Decimal) -> Decimal:
    """Round to 0.01 (half even), exactly, whatever the amount's size (in a shared context of
    enough digits, not the caller's)."""
    return _exact(amount.adjusted() + 12).quantize(amount, _CENT)


def group_thousands(amount: Decimal) -> str:
    """`30,000,000` or `1,234.50`: whole amounts without decimals."""
    quantized = cents(amount)
    if quantized == quantized.to_integral():
        return f"{int(quantized):,}"
    return f"{quantized:,.2f}"
