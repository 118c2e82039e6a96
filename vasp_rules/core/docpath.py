"""Paths into a document's JSON form (`firm.people[1].outsourced`) and edits along them.

One syntax serves the engine's read paths, suggested changes and `whatif --set`:
names joined by dots, list indices in brackets. Setting an index equal to the list's length
appends; setting a list item to null removes it; setting a field to null removes the field
(an absent fact).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from .errors import VaspRulesError

PathParts = tuple[str | int, ...]

_PATH = re.compile(  # a batch (a list of documents) is addressed from an index: [0].value
    r"(?:\[[0-9]+\])*(?:[A-Za-z_][A-Za-z0-9_]*(?:\[[0-9]+\])*)?"
    r"(?:\.[A-Za-z_][A-Za-z0-9_]*(?:\[[0-9]+\])*)*"
)
_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[([0-9]+)\]")


class PathError(VaspRulesError, ValueError):
    """A path that is not well formed, or does not fit the document."""


def parse_path(text: str) -> PathParts:
    """`firm.people[1].outsourced` -> ("firm", "people", 1, "outsourced")."""
    if not text or text.startswith(".") or not _PATH.fullmatch(text):
        raise PathError(
            f"invalid path {text!r} (write names joined by dots, list indices in brackets, "
            "e.g. firm.people[1].outsourced)"
        )
    parts: list[str | int] = []
    for m in _PART.finditer(text):
        name, index = m.groups()
        parts.append(name if name is not None else int(index))
    return tuple(parts)


def format_path(parts: PathParts) -> str:
    """The inverse of :func:`parse_path`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def get_at(document: Any, parts: PathParts) -> Any:
    """The value at a path, or None when any step is absent."""
    current = document
    for part in parts:
        if isinstance(part, int):
            if not isinstance(current, list) or part >= len(current):
                return None
            current = current[part]
        else:
            if not isinstance(current, Mapping):
                return None
            current = current.get(part)
        if current is None:
            return None
    return current


def set_at(document: dict[str, Any] | list[Any], parts: PathParts, value: Any) -> None:
    """Edit a document in place: set, append (index == length) or remove (value None)."""
    if not parts:
        raise PathError("empty path")
    current: Any = document
    for i, part in enumerate(parts[:-1]):
        where = format_path(parts[: i + 1])
        nxt = parts[i + 1]
        if isinstance(part, int):
            if not isinstance(current, list):
                raise PathError(f"{format_path(parts[:i]) or 'the document'} is not a list")
            if part >= len(current):
                raise PathError(f"{where} does not exist (the list has {len(current)} items)")
            current = current[part]
            continue
        if not isinstance(current, dict):
            raise PathError(f"{format_path(parts[:i]) or 'the document'} is not an object")
        if current.get(part) is None:
            if value is None:
                return  # removing below an absent field: nothing to do
            if isinstance(nxt, int):
                raise PathError(f"{where} is absent, so it has no item [{nxt}]")
            current[part] = {}
        current = current[part]
    last = parts[-1]
    where = format_path(parts)
    if isinstance(last, int):
        if not isinstance(current, list):
            raise PathError(f"{format_path(parts[:-1])} is not a list")
        if value is None:
            if last >= len(current):
                raise PathError(f"{where} does not exist (the list has {len(current)} items)")
            del current[last]
        elif last == len(current):
            current.append(value)
        elif last < len(current):
            current[last] = value
        else:
            raise PathError(
                f"{where} does not exist (the list has {len(current)} items; "
                f"use [{len(current)}] to append)"
            )
        return
    if not isinstance(current, dict):
        raise PathError(f"{format_path(parts[:-1]) or 'the document'} is not an object")
    if value is None:
        current.pop(last, None)
    else:
        current[last] = value


def edited(document: Mapping[str, Any], edits: list[tuple[PathParts, Any]]) -> dict[str, Any]:
    """A deep copy of a document with edits applied in order."""
    out = copy.deepcopy(dict(document))
    for parts, value in edits:
        set_at(out, parts, copy.deepcopy(value))
    return out


__all__ = ["PathError", "PathParts", "edited", "format_path", "get_at", "parse_path", "set_at"]
