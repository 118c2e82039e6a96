"""What the symbolic model knows of the entity schemas: every field's shape (object, list or
scalar), whether it may be absent, and the values it may take (enumerations, ISO codes, ranges);
and how a solver's answer becomes a concrete, schema-valid document again."""

from __future__ import annotations

import types as pytypes
import typing
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import annotated_types
from pydantic import BaseModel

from ..entities.iso import COUNTRIES, CURRENCIES
from ..lang.dates import DATE_MAX as DATE_MAX  # one range for every evaluator
from ..lang.dates import DATE_MIN as DATE_MIN

#: Scalar tags: how a field's engine value is represented in the solver.
#: int, real (Decimal), bool, date (day number), datetime (seconds), money (PKR paisa),
#: enum (index into `domain`), text (a Z3 string).
ScalarTag = str

# a day inside each end so that any offset still gives a valid datetime
DATETIME_MIN = int((datetime(1, 1, 2) - datetime(1970, 1, 1)).total_seconds())
DATETIME_MAX = int((datetime(9999, 12, 30) - datetime(1970, 1, 1)).total_seconds())
DECIMAL_LIMIT = Decimal(10) ** 18  # entities.common.MAX_DECIMAL (exclusive)
DECIMAL_SCALE = 10**18  # a decimal has at most 18 places (entities.common._to_decimal)


@dataclass(frozen=True)
class Shape:
    """One field's shape. `kind` is "object" (model set), "list" (item set) or "scalar"."""

    kind: str
    optional: bool = False
    model: type[BaseModel] | None = None
    item: Shape | None = None
    tag: ScalarTag = ""
    domain: tuple[str, ...] = ()  # enum values (sorted), for tag "enum"
    low: int | Decimal | None = None
    high: int | Decimal | None = None
    min_length: int = 0
    code: str = ""  # "country" / "currency" / "" for ISO-coded text
    token: bool = False  # an identity's ASCII token (a wallet, account or id number)


def shape_of(annotation: Any, metadata: list[Any] | tuple[Any, ...] = ()) -> Shape:
    """The shape of a pydantic annotation (with the field's metadata, if any)."""
    optional = False
    meta = list(metadata)
    tp = annotation
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            args: tuple[Any, ...] = typing.get_args(tp)
            tp = args[0]
            meta.extend(args[1:])
            continue
        if origin in (typing.Union, pytypes.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            optional = optional or len(members) < len(typing.get_args(tp))
            if len(members) != 1:
                raise TypeError(f"unsupported union {tp!r}")
            tp = members[0]
            continue
        break
    origin = typing.get_origin(tp)
    if origin is list:
        item = shape_of(typing.get_args(tp)[0])
        return Shape("list", optional, item=item)
    if origin is typing.Literal:
        values = tuple(sorted(str(v) for v in typing.get_args(tp)))
        return Shape("scalar", optional, tag="enum", domain=values)
    low: Any = None
    high: Any = None
    min_length = 0
    code = ""
    token = False
    for m in meta:
        if isinstance(m, annotated_types.Ge):
            low = m.ge
        elif isinstance(m, annotated_types.Le):
            high = m.le
        elif isinstance(m, annotated_types.MinLen):
            min_length = m.min_length
        func = getattr(m, "func", None)
        name = getattr(func, "__name__", "")
        if name == "_check_country":
            code = "country"
        elif name == "_check_currency":
            code = "currency"
        elif name in ("check_account", "check_id_number"):  # entities.identity
            token = True
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp.__name__ == "Money":
            return Shape("scalar", optional, tag="money")
        return Shape("object", optional, model=tp)
    if tp is bool:
        return Shape("scalar", optional, tag="bool")
    if (isinstance(tp, type) and issubclass(tp, datetime)) or getattr(
        tp, "__name__", ""
    ) == "AwareDatetime":
        return Shape("scalar", optional, tag="datetime")
    if tp is date:
        return Shape("scalar", optional, tag="date")
    if tp is int:
        return Shape("scalar", optional, tag="int", low=low, high=high)
    if tp is Decimal:
        return Shape("scalar", optional, tag="real", low=low, high=high)
    if tp is str:
        if code == "country":
            countries = tuple(sorted(COUNTRIES))
            return Shape("scalar", optional, tag="enum", domain=countries, code=code)
        if code == "currency":
            currencies = tuple(sorted(CURRENCIES))
            return Shape("scalar", optional, tag="enum", domain=currencies, code=code)
        return Shape("scalar", optional, tag="text", min_length=min_length, token=token)
    raise TypeError(f"unsupported field type {tp!r}")


_FIELDS: dict[type[BaseModel], dict[str, Shape]] = {}


def fields_of(model: type[BaseModel]) -> dict[str, Shape]:
    """Field name -> shape for an entity model (cached)."""
    hit = _FIELDS.get(model)
    if hit is None:
        hit = {}
        for name, info in model.model_fields.items():
            shape = shape_of(info.annotation, info.metadata)
            if not info.is_required() and not shape.optional:
                shape = Shape(**{**shape.__dict__, "optional": True})
            hit[name] = shape
        _FIELDS[model] = hit
    return hit


# -- turning a solver's answer into a document --------------------------------------------


def default_scalar(shape: Shape) -> Any:
    """A valid JSON value for a scalar field no rule reads."""
    tag = shape.tag
    if tag == "bool":
        return False
    if tag == "int":
        return int(shape.low or 0)
    if tag == "real":
        return "0"
    if tag == "date":
        return "2026-01-01"
    if tag == "datetime":
        return "2026-01-01T00:00:00Z"
    if tag == "money":
        return {"amount": "0", "currency": "PKR"}
    if tag == "enum":
        if shape.code == "country":
            return "PK"
        if shape.code == "currency":
            return "PKR"
        return shape.domain[0]
    # text: thirteen digits satisfy every identifier and CNIC/NICOP/passport number check
    return "1234567890123"


def decimal_text(value: Decimal) -> str:
    """A decimal as plain text (no exponent)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
