"""Formatting shared by the tracer, the change finder and the renderers: engine values by their
language type, document (JSON) values, and readable labels for list items."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel

from ..lang.dates import Duration
from ..lang.types import Type
from ..lang.values import UNKNOWN, format_value, group_thousands, is_money, plain_number

#: Fields tried, in order, to name a list item (a person, a holding, a licence, ...).
LABEL_FIELDS = (
    "full_name",
    "name",
    "wallet_address",
    "licence_no",
    "customer_id",
    "transfer_id",
    "declaration_id",
    "application_id",
    "asset_symbol",
    "regulator",
    "type",
    "category",
    "reference",
)

_UNITS = {
    "days": ("day", "days"),
    "months": ("month", "months"),
    "years": ("year", "years"),
    "hours": ("hour", "hours"),
    "working_days": ("working day", "working days"),
}


def format_engine(value: Any, tp: Type | None) -> str:
    """An engine value (paisa, day numbers, epoch seconds, ...) for a reader, by its type."""
    if value is UNKNOWN or value is None:
        return "unknown"
    if isinstance(value, Duration):
        one, many = _UNITS.get(value.unit, (value.unit, value.unit))
        return f"{value.amount} {one if abs(value.amount) == 1 else many}"
    if isinstance(value, bool):
        return "true" if value else "false"
    name = tp.name if tp is not None else ""
    if isinstance(value, Mapping):
        return f"table of {len(value)} entries"
    if isinstance(value, list):
        if any(isinstance(v, BaseModel) and not is_money(v) for v in value):
            return f"{len(value)} {'entry' if len(value) == 1 else 'entries'}"
        item = tp.item if tp is not None else None
        return ", ".join(format_engine(v, item) for v in value) if value else "none"
    if isinstance(value, str):
        return value
    return format_value(value, name)


def display_json(value: Any) -> str:
    """A document value in its JSON form (money as `{amount, currency}`) for a reader."""
    if value is None:
        return "absent"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        if set(value) == {"amount", "currency"}:
            return money_text(value["amount"], str(value["currency"]))
        return "{" + ", ".join(f"{k}: {display_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(display_json(v) for v in value) + "]"
    return str(value)


def money_text(amount: Any, currency: str) -> str:
    """`PKR 150,000,000` / `USD 2,400,000.50`: grouped, cents only when there are any."""
    try:
        return f"{currency} {group_thousands(Decimal(str(amount)))}"
    except InvalidOperation:
        return f"{currency} {amount}"


def jsonable(value: Any) -> Any:
    """A parameter or document value as JSON data (dates as ISO text, decimals as text)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return plain_number(value)
    if isinstance(value, float):
        return plain_number(Decimal(str(value)))
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def item_label(raw: Any) -> str:
    """A readable name for a quantifier item."""
    if isinstance(raw, BaseModel) and not is_money(raw):
        for name in LABEL_FIELDS:
            value = getattr(raw, name, None)
            if isinstance(value, str) and value:
                return value
        return type(raw).__name__
    if is_money(raw):
        return display_json(raw.model_dump(mode="json"))
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, Decimal):
        return plain_number(raw)
    return str(raw)


__all__ = ["display_json", "format_engine", "item_label", "jsonable", "money_text"]
