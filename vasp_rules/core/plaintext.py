"""Values as a user writes and reads them: dates exactly as YYYY-MM-DD, and any value shown in a
message as it would be written in a document or rule file, never as a Python repr
(`Decimal('1E+309')`, `datetime.date(2026, 1, 1)`, `[<class 'decimal.InvalidOperation'>]`)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

#: Longest text :func:`shown_value` writes before it cuts a value short.
MAX_SHOWN = 60


def iso_date(text: str) -> date:
    """`YYYY-MM-DD` and nothing else. date.fromisoformat alone also takes `20260601` and
    `2026-W23-1`, which the service and every help text refuse. Raises ValueError."""
    if not _ISO_DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)")
    return date.fromisoformat(text)


def _plain(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, Decimal | float):
        return _Raw(str(value) if not isinstance(value, float) else repr(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, type):
        return value.__name__
    return str(value)


class _Raw(str):
    """A number written as it is (JSON cannot hold 1E+309 or NaN as a float)."""


def _write(value: Any) -> str:
    if isinstance(value, _Raw):
        return str.__str__(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {_write(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_write(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def shown_value(value: Any, limit: int = MAX_SHOWN) -> str:
    """A value for a message: numbers as written (`1E+309`, `1.5`), dates as YYYY-MM-DD, text
    in single quotes (as pydantic's messages quote it), lists and mappings in JSON's notation;
    values longer than `limit` cut short."""
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, date) and not isinstance(value, datetime):
        text = value.isoformat()
    else:
        text = _write(_plain(value))
    if len(text) > limit:
        text = f"{text[: limit // 2]}...({len(text)} characters)"
    return text


def json_type(value: Any) -> str:
    """What a value is, in the words of JSON and YAML rather than Python's class names."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime):
        return "a date and time"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return "a value of another type"
