"""Limits on what the readers of documents, scenario files and rule packs accept, and the checks
every reading path calls (JSON and YAML alike).

Why: a reader must turn any bad input into one clear error quickly. Without limits, deeply nested
input overflowed the interpreter's stack (a traceback), deep YAML flow nesting made the parser
quadratic, a self-referencing YAML alias was only refused once a budget ran out, and a duplicate
key silently let the last value win (a CONFIRMED_MATCH replaced by CLEAR). The limits:

- nesting depth: at most MAX_DEPTH levels of mappings and lists;
- size: a JSON input at most MAX_JSON_BYTES, a YAML file at most MAX_YAML_BYTES (YAML is slow
  to parse: use JSON for populations);
- YAML aliases: an alias inside the node it names (a cycle) is refused as soon as it is read;
  otherwise the file may expand to at most MAX_YAML_VALUES values (a "billion laughs" file is
  refused before it is built);
- duplicate keys in one mapping are refused, naming the key's path;
- text must be valid Unicode: JSON's `"\\ud800"` (and YAML's) decodes to a lone surrogate, which
  no encoder can write; :func:`invalid_unicode` finds them, with their path, so a reader refuses
  them before a hash or an engine meets them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
)

from .docpath import format_path
from .errors import InputError

#: Levels of nested mappings and lists a document, scenario or rule file may have.
MAX_DEPTH = 64
#: Bytes of one JSON input (file or value).
MAX_JSON_BYTES = 256 * 1024 * 1024
#: Bytes of one YAML file (documents, scenarios, rule files, parameters).
MAX_YAML_BYTES = 16 * 1024 * 1024
#: Values a YAML file may expand to once its aliases are followed.
MAX_YAML_VALUES = 1_000_000


class LimitError(InputError):
    """Input past a documented limit, or ambiguous (a duplicate key); one line with the place."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.message = message
        self.line = line
        super().__init__(message)


def path_text(parts: list[str | int]) -> str:
    """`a.b[2].c` from the keys and indexes leading to a value (`<top>` for none)."""
    return shown(format_path(tuple(parts))) or "<top>"


# --------------------------------------------------------------------------- Unicode


def unicode_problem(text: str) -> str | None:
    """Why `text` is not valid Unicode (it holds a lone surrogate), or None."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"not valid Unicode: a lone surrogate U+{ord(text[exc.start]):04X} at character "
            f"{exc.start + 1} (a \\ud800-\\udfff escape must come as a high-low pair)"
        )
    return None


def shown(text: str) -> str:
    """`text` with any lone surrogate written as its `\\udXXX` escape, so it can be printed."""
    return text if text.isascii() else text.encode("utf-8", "backslashreplace").decode("utf-8")


#: At most this many invalid-Unicode places are listed by :func:`invalid_unicode`.
MAX_UNICODE_ERRORS = 20


def invalid_unicode(data: Any) -> list[tuple[str, str]]:
    """`(path, message)` for each key and text value of JSON-like `data` (mappings, lists,
    scalars) that is not valid Unicode, in path order; `[]` when all of it is valid. The path
    is printable (see :func:`shown`); `""` is the top."""
    errors: list[tuple[str, str]] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack and len(errors) < MAX_UNICODE_ERRORS:
        node, where = stack.pop()
        if isinstance(node, str):
            problem = unicode_problem(node)
            if problem is not None:
                errors.append((shown(format_path(where)), problem))
        elif isinstance(node, Mapping):
            for key, value in node.items():
                name = str(key)
                if (problem := unicode_problem(name)) is not None:
                    errors.append((shown(format_path((*where, name))), f"the name is {problem}"))
                stack.append((value, (*where, name)))
        elif isinstance(node, list | tuple):
            stack.extend((value, (*where, i)) for i, value in enumerate(node))
    return sorted(errors)


def check_size(size: int, limit: int, what: str) -> None:
    """Refuse an input of `size` bytes past `limit`."""
    if size > limit:
        raise LimitError(f"{what} is {size:,} bytes, more than the limit of {limit:,}")


# --------------------------------------------------------------------------- JSON


class _Duplicated(dict[str, Any]):
    """A JSON object in which a key occurred twice (found again, with its path, after parsing)."""

    duplicate: str = ""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    seen: set[str] = set()
    marked = _Duplicated(pairs)
    for key, _ in pairs:
        if key in seen:
            marked.duplicate = key
            break
        seen.add(key)
    return marked


def refuse_json_constant(name: str) -> Any:
    """`parse_constant` for `json.loads`: NaN and Infinity are not JSON numbers."""
    raise ValueError(f"{name} is not a JSON number")


def load_json(text: str, *, parse_float: Callable[[str], Any] = Decimal) -> Any:
    """Parse JSON text within the limits: size, nesting depth, no duplicate keys; NaN and
    Infinity, which JSON does not have, are refused. Raises LimitError (or
    json.JSONDecodeError / ValueError for text that is not JSON)."""
    check_size(len(text.encode("utf-8", "surrogatepass")), MAX_JSON_BYTES, "the JSON input")
    try:
        data = json.loads(
            text,
            parse_float=parse_float,
            object_pairs_hook=_pairs,
            parse_constant=refuse_json_constant,
        )
    except RecursionError:
        raise LimitError(f"nested more than {MAX_DEPTH} levels deep") from None
    check_tree(data)
    return data


def check_tree(data: Any) -> None:
    """Refuse parsed data nested past MAX_DEPTH, or holding a mapping with a duplicate key."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(data, 0, ())]
    while stack:
        node, depth, where = stack.pop()
        if isinstance(node, dict | list):
            if depth >= MAX_DEPTH:
                raise LimitError(f"nested more than {MAX_DEPTH} levels deep")
            if isinstance(node, _Duplicated):
                raise LimitError(
                    f"{path_text([*where, node.duplicate])}: duplicate key "
                    f"{node.duplicate!r} (which value is meant is ambiguous)"
                )
            if isinstance(node, dict):
                stack.extend((v, depth + 1, (*where, str(k))) for k, v in node.items())
            else:
                stack.extend((v, depth + 1, (*where, i)) for i, v in enumerate(node))


# --------------------------------------------------------------------------- YAML


@dataclass
class _Open:
    """A mapping or list being read: where it is, its anchor, and what it holds so far."""

    is_map: bool
    anchor: str | None
    line: int
    where: list[str | int]
    values: int = 1
    index: int = 0
    expect_key: bool = True
    key: str | int | None = None
    keys: set[str] = field(default_factory=set)


def check_yaml_text(text: str) -> None:
    """Read YAML text as a stream of events (no tree is built, nothing recurses) and refuse it
    past the limits: size, nesting depth, an alias inside the node it names, expansion through
    aliases, a duplicate key. Syntax errors are left to the real parse, which reports them."""
    check_size(len(text.encode("utf-8", "surrogatepass")), MAX_YAML_BYTES, "the YAML file")
    stack: list[_Open] = []
    sizes: dict[str, int] = {}  # anchor -> values it expands to
    open_anchors: set[str] = set()
    try:
        for event in YAML(typ="rt").parse(text):
            _on_event(event, stack, sizes, open_anchors)
    except YAMLError:
        return  # the real parse reports it, with its line
    except RecursionError:  # pragma: no cover - the event parser does not recurse
        raise LimitError(f"nested more than {MAX_DEPTH} levels deep") from None


def _on_event(event: Event, stack: list[_Open], sizes: dict[str, int], opened: set[str]) -> None:
    line = event.start_mark.line + 1 if event.start_mark is not None else None
    if isinstance(event, MappingEndEvent | SequenceEndEvent):
        done = stack.pop()
        if done.anchor is not None:
            sizes[done.anchor] = done.values
            opened.discard(done.anchor)
        _add(stack, done.values, line)
        return
    if not isinstance(event, ScalarEvent | CollectionStartEvent | AliasEvent):
        return
    where = _where(stack, event, line)
    if isinstance(event, AliasEvent):
        name = str(event.anchor)
        if name in opened:
            raise LimitError(
                f"{path_text(where)}: alias *{name} refers to a node that contains it (a cycle)",
                line,
            )
        _add(stack, sizes.get(name, 1), line)
        return
    anchor = str(event.anchor) if getattr(event, "anchor", None) else None
    if isinstance(event, CollectionStartEvent):
        if len(stack) >= MAX_DEPTH:
            raise LimitError(f"nested more than {MAX_DEPTH} levels deep", line)
        if anchor is not None:
            opened.add(anchor)
        stack.append(_Open(isinstance(event, MappingStartEvent), anchor, line or 0, where))
        return
    if anchor is not None:
        sizes[anchor] = 1
    _add(stack, 1, line)


def _where(stack: list[_Open], event: Event, line: int | None) -> list[str | int]:
    """The path of the node this event starts; checks a mapping key for duplicates."""
    if not stack:
        return []
    parent = stack[-1]
    if not parent.is_map:
        return [*parent.where, parent.index]
    if parent.expect_key:
        if isinstance(event, ScalarEvent):
            key = str(event.value)
            if key in parent.keys:
                raise LimitError(
                    f"{path_text([*parent.where, key])}: duplicate key {key!r} (which value "
                    "is meant is ambiguous)",
                    line,
                )
            parent.keys.add(key)
            parent.key = key
        else:
            parent.key = "<key>"
        return [*parent.where, "<key>"]
    return [*parent.where, parent.key if parent.key is not None else "?"]


def _add(stack: list[_Open], values: int, line: int | None) -> None:
    """A node of `values` values was completed inside the innermost open node."""
    if not stack:
        return
    parent = stack[-1]
    parent.values += values
    if parent.values > MAX_YAML_VALUES:
        raise LimitError(
            f"the YAML expands to more than {MAX_YAML_VALUES:,} values (through aliases?)",
            line,
        )
    if parent.is_map:
        parent.expect_key = not parent.expect_key
    else:
        parent.index += 1
