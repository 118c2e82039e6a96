"""Effective-dated parameters: every threshold, list, rate and programme date a rule uses.

Like statute parameters, each value carries the date it takes effect, where it comes from, and
how sure we are of it (P/S/A). Rules never hold these numbers as literals; they read
`param.NAME`, resolved for the evaluation's `as_of` date.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from ..core.plaintext import shown_value
from ..lang.dates import DURATION_LIMITS
from ..lang.types import BOOL, DATE, INT, MONEY, NUMBER, STRING, Type, list_of
from ..lang.values import date_to_engine, money_to_paisa
from .schema import ParamSpec, ParamValue, money_value

FX_PARAMETER = "fx_to_pkr"

_SCALAR = {
    "bool": BOOL,
    "int": INT,
    "number": NUMBER,
    "string": STRING,
    "date": DATE,
    "money": MONEY,
}


def declared_type(spec: ParamSpec) -> Type:
    """The language type of a parameter declaration such as 'table of money'."""
    text = spec.type
    if text.startswith("list of "):
        return list_of(_SCALAR[text[8:]])
    if text.startswith("table of "):
        return Type("map", value=_SCALAR[text[9:]])
    return _SCALAR[text]


#: The allowed range of a parameter's values (each item of a list or table; a money value's
#: amount) when its declaration gives no `min`/`max`: wide enough for any threshold, count or
#: rate a regulation sets, narrow enough that no arithmetic on them overflows.
DEFAULT_RANGES: dict[str, tuple[Any, Any]] = {
    "int": (0, 10**9),
    "number": (Decimal(0), Decimal(10) ** 15),
    "money": (Decimal(0), Decimal(10) ** 15),
    "date": (date.min, date.max),
}

def value_range(spec: ParamSpec) -> tuple[Any, Any]:
    """The (min, max) a parameter's values must lie in: declared, else the type's default;
    (None, None) for types without an order (bool, string)."""
    default = DEFAULT_RANGES.get(spec.scalar, (None, None))
    low = spec.min if spec.min is not None else default[0]
    high = spec.max if spec.max is not None else default[1]
    return low, high


def duration_overflow(spec: ParamSpec, unit: str) -> str | None:
    """Why a parameter used as `UNIT(param.x)` can overflow date arithmetic, or None."""
    limit = DURATION_LIMITS[unit]
    low, high = value_range(spec)
    if spec.scalar != "int":
        return None
    if -limit <= low and high <= limit:
        return None
    return (
        f"its range ({low} to {high}) lets {unit}(...) reach past any representable date: "
        f"declare min and max within -{limit} to {limit}"
    )


def check_value(spec: ParamSpec, raw: Any) -> None:
    """Raise ValueError if a raw parameter value does not fit its declared type and range."""
    text = spec.type
    bounds = value_range(spec)
    if text.startswith("list of "):
        if not isinstance(raw, list):
            raise ValueError(f"expected a list for {text}")
        for item in raw:
            _check_scalar(text[8:], item, bounds)
    elif text.startswith("table of "):
        if not isinstance(raw, dict) or not raw:
            raise ValueError(f"expected a non-empty mapping for {text}")
        for key, item in raw.items():
            if not isinstance(key, str):
                raise ValueError(f"table keys must be text, got {shown_value(key)}")
            _check_scalar(text[9:], item, bounds)
    else:
        _check_scalar(text, raw, bounds)


def _check_range(kind: str, raw: Any, bounds: tuple[Any, Any] | None) -> None:
    if bounds is None or bounds[0] is None:
        return
    value = money_value(raw)[0] if kind == "money" else raw
    if kind == "number":
        value = Decimal(str(raw))
    low, high = bounds
    what = "amount " if kind == "money" else ""
    if value < low:
        raise ValueError(f"{what}{_shown(raw if not what else value)} is below its minimum {low}")
    if value > high:
        raise ValueError(f"{what}{_shown(raw if not what else value)} is above its maximum {high}")


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"


def _check_scalar(kind: str, raw: Any, bounds: tuple[Any, Any] | None = None) -> None:
    ok: bool
    if kind == "bool":
        ok = isinstance(raw, bool)
    elif kind == "int":
        ok = isinstance(raw, int) and not isinstance(raw, bool)
    elif kind == "number":
        ok = not isinstance(raw, bool) and _is_number(raw)
    elif kind == "string":
        ok = isinstance(raw, str)
    elif kind == "date":
        ok = isinstance(raw, date)
    else:
        money_value(raw)
        ok = True
    if not ok:
        raise ValueError(f"{shown_value(raw)} is not a valid {kind}")
    _check_range(kind, raw, bounds)


def _is_number(raw: Any) -> bool:
    if isinstance(raw, int):
        return True
    if isinstance(raw, float | Decimal):
        return math.isfinite(raw) if isinstance(raw, float) else raw.is_finite()
    if isinstance(raw, str):
        try:
            return Decimal(raw).is_finite()
        except InvalidOperation:
            return False
    return False


@dataclass(frozen=True)
class ResolvedParam:
    """A parameter's value on one date, as an engine value, with the entry it came from."""

    name: str
    value: Any
    entry: ParamValue
    spec: ParamSpec


def value_on(spec: ParamSpec, on: date) -> ParamValue | None:
    """The entry in force on a date: the latest `from` on or before it, unless it has ended."""
    candidates = [v for v in spec.values if v.from_ <= on]
    if not candidates:
        return None
    entry = max(candidates, key=lambda v: v.from_)
    if entry.to is not None and on > entry.to:
        return None
    return entry


def fx_rates(params: dict[str, ParamSpec], on: date) -> dict[str, Decimal]:
    spec = params.get(FX_PARAMETER)
    entry = value_on(spec, on) if spec else None
    if entry is None:
        return {}
    return {k: Decimal(str(v)) for k, v in entry.value.items()}


def to_engine(kind: str, raw: Any, fx: dict[str, Decimal]) -> Any:
    """Convert a raw parameter value to the engine representation."""
    if kind.startswith("list of "):
        return [to_engine(kind[8:], item, fx) for item in raw]
    if kind.startswith("table of "):
        return {k: to_engine(kind[9:], v, fx) for k, v in raw.items()}
    if kind == "date":
        return date_to_engine(raw)
    if kind == "number":
        return Decimal(str(raw))
    if kind == "money":
        amount, currency = money_value(raw)
        paisa = money_to_paisa(amount, currency, fx)
        if paisa is None:
            raise ValueError(f"no {FX_PARAMETER} rate for {currency}")
        return paisa
    return raw


def resolve(params: dict[str, ParamSpec], names: set[str], on: date) -> dict[str, ResolvedParam]:
    """Resolve the named parameters on a date. Raises KeyError naming a parameter with no value
    in force (the loader checks coverage of every rule's window, so this means a bad `as_of`)."""
    fx = fx_rates(params, on)
    out: dict[str, ResolvedParam] = {}
    for name in sorted(names):
        spec = params[name]
        entry = value_on(spec, on)
        if entry is None:
            raise KeyError(name)
        out[name] = ResolvedParam(name, to_engine(spec.type, entry.value, fx), entry, spec)
    return out
