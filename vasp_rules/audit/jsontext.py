"""Exact JSON text for documents whose numbers are Decimals.

Why: input documents are read with ``parse_float=Decimal`` so that ``2500.5`` stays exactly
2500.5 (and ``1E+3`` keeps its exponent); the standard ``json`` module cannot write a Decimal,
and going through a float would change it. The audit log stores a document as
:func:`dumps_exact` writes it and replay reads it back with :func:`loads_exact`: the engine sees
the same values, of the same types, with the same digits and exponent, as when it decided.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from vasp_rules.core.limits import refuse_json_constant

__all__ = ["dumps_exact", "identical", "loads_exact"]

_encode_text = json.encoder.encode_basestring  # the writer json.dumps(ensure_ascii=False) uses


def dumps_exact(value: Any, *, indent: int | None = None) -> str:
    """Compact JSON text of ``value`` (or, with ``indent``, laid out as ``json.dumps`` lays it
    out, for people to read), key order kept, non-ASCII text as is.

    A Decimal is written as its own text (``str``), so :func:`loads_exact` reads back the same
    sign, digits and exponent; a Decimal with exponent 0 gets ``E0`` (``15E0``) so that it reads
    back as a Decimal, not an int. A float is written as ``json.dumps`` writes it (its shortest
    repr, which is how the entities read a float). Tuples are written as arrays. Raises
    ValueError for NaN or Infinity (float or Decimal) and TypeError for a key that is not a
    string or a value JSON has no form for.
    """
    out: list[str] = []
    try:
        _write(value, out, None if indent is None else " " * indent, "\n")
    except RecursionError:
        raise ValueError("nested too deeply to write as JSON") from None
    return "".join(out)


def _write(value: Any, out: list[str], indent: str | None, newline: str) -> None:
    """Append the text of ``value``; ``newline`` is a line break and the indentation of the
    current level (used only with an ``indent``)."""
    kind = type(value)  # the common types first, without isinstance chains
    if kind is str:
        out.append(_encode_text(value))
    elif kind is dict and indent is None:
        out.append("{")
        comma = ""
        for key, item in value.items():
            if type(key) is not str:
                _check_key(key)
            out.append(comma)
            out.append(_encode_text(key))
            out.append(":")
            _write(item, out, None, newline)
            comma = ","
        out.append("}")
    elif kind is list and indent is None:
        out.append("[")
        comma = ""
        for item in value:
            out.append(comma)
            _write(item, out, None, newline)
            comma = ","
        out.append("]")
    elif kind is int:
        out.append(int.__repr__(value))
    elif isinstance(value, str):
        out.append(_encode_text(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        text = str(value)
        out.append(text + "E0" if value.as_tuple().exponent == 0 else text)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a JSON number")
        out.append(float.__repr__(value))
    elif isinstance(value, dict):
        inner = newline if indent is None else newline + indent
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            _check_key(key)
            out.append(_separator(i, indent, inner))
            out.append(_encode_text(key))
            out.append(":" if indent is None else ": ")
            _write(item, out, indent, inner)
        out.append(("" if indent is None or not value else newline) + "}")
    elif isinstance(value, list | tuple):
        inner = newline if indent is None else newline + indent
        out.append("[")
        for i, item in enumerate(value):
            out.append(_separator(i, indent, inner))
            _write(item, out, indent, inner)
        out.append(("" if indent is None or not value else newline) + "]")
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _check_key(key: Any) -> None:
    if not isinstance(key, str):
        raise TypeError(f"keys must be strings, not {type(key).__name__} ({key!r:.40})")


def _separator(index: int, indent: str | None, newline: str) -> str:
    """What comes before the item at ``index`` of an array or object."""
    comma = "," if index else ""
    return comma if indent is None else comma + newline


def loads_exact(text: str | bytes) -> Any:
    """The value of JSON ``text``, numbers with a fraction or an exponent as Decimals (the
    inverse of :func:`dumps_exact`). Raises ValueError (``json.JSONDecodeError`` for a syntax
    error) on text that is not JSON, including NaN and Infinity."""
    return json.loads(text, parse_float=Decimal, parse_constant=refuse_json_constant)


def identical(a: Any, b: Any) -> bool:
    """Whether two JSON values are the same: same types, same keys in the same order, and
    Decimals with the same sign, digits and exponent (``Decimal("1.0")`` is not
    ``Decimal("1")``, and neither is the int 1). Lists and tuples do not match each other."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, dict):
            if list(x) != list(y):
                return False
            stack.extend(zip(x.values(), y.values(), strict=True))
        elif isinstance(x, list | tuple):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif isinstance(x, Decimal):
            if x.as_tuple() != y.as_tuple():
                return False
        elif isinstance(x, float):
            if float.__repr__(x) != float.__repr__(y):
                return False
        elif x != y:
            return False
    return True
