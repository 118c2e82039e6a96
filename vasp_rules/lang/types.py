"""Types of the condition language, and how entity schemas map onto them.

The checker gives every expression one of these types so that a rule comparing a date with money,
or a string with a number, is refused when the pack loads rather than compared wrongly later
(durable-rules compares a string with a number as strings).
"""

from __future__ import annotations

import functools
import types as pytypes
import typing
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

SCALARS = ("bool", "int", "number", "string", "date", "datetime", "money", "duration")


@dataclass(frozen=True)
class Type:
    """A value type. `item` is set for lists, `model` for objects, `enum` for closed strings,
    `unit` for durations (days, months, years, hours, working_days)."""

    name: str
    item: Type | None = None
    model: type[BaseModel] | None = None
    enum: frozenset[str] | None = None
    unit: str | None = None
    value: Type | None = None  # for maps (parameter tables): the value type

    def __str__(self) -> str:
        if self.name == "list":
            return f"list of {self.item}"
        if self.name == "map":
            return f"table of {self.value}"
        if self.name == "object" and self.model is not None:
            return self.model.__name__
        if self.name == "duration" and self.unit:
            return f"duration in {self.unit}"
        if self.enum:
            return "one of " + "|".join(sorted(self.enum))
        return self.name

    @property
    def is_numeric(self) -> bool:
        return self.name in ("int", "number")

    def comparable_with(self, other: Type) -> bool:
        if self.is_numeric and other.is_numeric:
            return True
        return self.name == other.name and self.name in (
            "bool",
            "string",
            "date",
            "datetime",
            "money",
        )


BOOL = Type("bool")
INT = Type("int")
NUMBER = Type("number")
STRING = Type("string")
DATE = Type("date")
DATETIME = Type("datetime")
MONEY = Type("money")


def list_of(item: Type) -> Type:
    return Type("list", item=item)


def duration(unit: str) -> Type:
    return Type("duration", unit=unit)


@dataclass(frozen=True)
class FieldInfo:
    type: Type
    optional: bool


def _is_money(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel) and tp.__name__ == "Money"


def type_of_annotation(annotation: Any) -> tuple[Type, bool]:
    """Map a pydantic field annotation to (Type, optional)."""
    optional = False
    tp = annotation
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (typing.Union, pytypes.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(tp))
            if len(args) == 1:
                tp = args[0]
                continue
            return Type("object"), optional
        break
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        values = typing.get_args(tp)
        if all(isinstance(v, str) for v in values):
            return Type("string", enum=frozenset(values)), optional
        return STRING, optional
    if origin in (list, tuple, set, frozenset):
        (item_tp, _) = type_of_annotation(typing.get_args(tp)[0])
        return list_of(item_tp), optional
    if tp is bool:
        return BOOL, optional
    if tp is int:
        return INT, optional
    if tp in (Decimal, float):
        return NUMBER, optional
    if tp is str:
        return STRING, optional
    if tp is datetime:
        return DATETIME, optional
    if tp is date:
        return DATE, optional
    if _is_money(tp):
        return MONEY, optional
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return Type("object", model=tp), optional
    # pydantic's marker types (AwareDatetime, PastDate, ...) are not subclasses of the base types
    marker = getattr(tp, "__name__", "")
    if marker.endswith(("Datetime", "DateTime")):
        return DATETIME, optional
    if marker.endswith("Date"):
        return DATE, optional
    if isinstance(tp, type):
        for base, t in ((bool, BOOL), (datetime, DATETIME), (date, DATE), (int, INT)):
            if issubclass(tp, base):
                return t, optional
        if issubclass(tp, Decimal):
            return NUMBER, optional
        if issubclass(tp, str):
            return STRING, optional
    return Type("object"), optional


def model_fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """The fields of an entity model with their language types (a copy: callers may edit)."""
    return dict(_model_fields(model))


@functools.cache
def _model_fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """Worked out once per model class: compiling a date asks for them hundreds of times."""
    out: dict[str, FieldInfo] = {}
    for name, info in model.model_fields.items():
        tp, optional = type_of_annotation(info.annotation)
        out[name] = FieldInfo(tp, optional or not info.is_required())
    return out
