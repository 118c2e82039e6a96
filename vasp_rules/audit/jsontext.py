"""Exact JSON text for documents holding Decimal numbers.

Stand-in written by helper "privacy" with the interface helper "numbers" owns; the lead merges
theirs over it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def dumps_exact(value: Any) -> str:
    """Compact JSON, key order kept, non-ASCII kept, Decimal written as its exact text."""
    try:  # no Decimal inside: the C encoder
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except TypeError:
        return _exact(value)


def _exact(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        return str(value)
    if isinstance(value, dict):
        inner = ",".join(f"{_exact(str(k))}:{_exact(v)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_exact(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def loads_exact(text: str) -> Any:
    """The inverse of :func:`dumps_exact`: fractional numbers come back as Decimal."""
    return json.loads(text, parse_float=Decimal)
