"""Canonical JSON and the digests over it: the one writer of bytes that are hashed or compared.

Two forms, both with sorted keys and text written as UTF-8 (never ``\\u``-escaped beyond what
JSON requires):

- compact, ``json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``: what
  ``input_sha256``, a pack's override digest and the audit log's record hashes cover;
- pretty, ``json.dumps(v, indent=2, sort_keys=True, ensure_ascii=False)``: the bytes of
  ``Decision.to_json`` and of the service's JSON responses.

Those ``json.dumps`` calls define the bytes. orjson writes the same bytes in a fraction of the
time for the values both agree on: dicts with text keys, lists, text, ints within 64 bits,
booleans and None. It does not agree on floats (``1e-05`` becomes ``0.00001``, NaN becomes
``null``), refuses ints beyond 64 bits, lone surrogates and nesting deeper than 255, and writes
values ``json`` refuses (datetimes, enums, UUIDs). So orjson writes only values shown to hold
none of those, and ``json.dumps`` writes the rest: the bytes never depend on which writer ran.

This module sits below everything else in the package and imports none of it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

import orjson
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError

__all__ = [
    "canonical_bytes",
    "canonical_json",
    "document_sha256",
    "model_json",
    "overridden_sha256",
    "pack_sha256",
    "pretty_json",
]

_COMPACT: Final = (
    orjson.OPT_SORT_KEYS
    # a subclass of str/int/dict/list, a dataclass or a datetime is refused rather than written
    # in orjson's own way; the stdlib then writes (or refuses) it as it always did
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
)
_PRETTY: Final = _COMPACT | orjson.OPT_INDENT_2

#: orjson refuses values deeper than this; the stdlib writes them (or raises RecursionError).
_MAX_DEPTH: Final = 254

_SCALARS: Final = frozenset({str, int, bool, type(None)})


def _stdlib(value: Any, pretty: bool) -> str:
    """The defining form: what the library wrote before orjson, and writes whenever orjson
    cannot be shown to agree."""
    if pretty:
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _plain(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is made only of dicts with text keys, lists, tuples, text, ints,
    booleans and None (exact types, no floats), no deeper than orjson writes. (An int beyond 64
    bits or a lone surrogate passes: orjson raises on those, and the stdlib writes them.)"""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if depth >= _MAX_DEPTH:
        return False  # also ends the walk of a structure that contains itself
    if kind is dict:
        for key, item in value.items():  # loops, not all(): this walk is on the hot path
            if type(key) is not str or (type(item) not in _SCALARS and not _plain(item, depth + 1)):
                return False
        return True
    if kind is list or kind is tuple:
        for item in value:
            if type(item) not in _SCALARS and not _plain(item, depth + 1):
                return False
        return True
    return False


def _orjson(value: Any, option: int) -> bytes | None:
    try:
        return orjson.dumps(value, option=option)
    except orjson.JSONEncodeError:  # ints beyond 64 bits, lone surrogates, depth, other types
        return None


def canonical_bytes(value: Any) -> bytes:
    """The compact canonical JSON of ``value``, UTF-8 encoded: the bytes digests cover."""
    out = _orjson(value, _COMPACT) if _plain(value) else None
    return out if out is not None else _stdlib(value, False).encode()


def canonical_json(value: Any) -> str:
    """The compact canonical JSON of ``value`` as text."""
    out = _orjson(value, _COMPACT) if _plain(value) else None
    return out.decode() if out is not None else _stdlib(value, False)


def pretty_json(value: Any) -> str:
    """The pretty canonical JSON of ``value`` (two-space indent, sorted keys, UTF-8 text)."""
    out = _orjson(value, _PRETTY) if _plain(value) else None
    return out.decode() if out is not None else _stdlib(value, True)


# --------------------------------------------------------------------------- pydantic models

#: Per model class: whether its JSON-mode dump is shown to hold only plain values.
_TYPED: dict[type[BaseModel], bool] = {}

#: Core schema nodes whose JSON-mode value is text, an int, a boolean, None, or a list or dict of
#: such (or that only wrap or reference other nodes). Anything else (a float, ``Any``, a plain
#: validator or custom serialiser, a type pydantic serialises by inference) is not shown to.
_PLAIN_NODES: Final = frozenset(
    {
        "bool", "bytes", "chain", "computed-field", "custom-error", "dataclass", "dataclass-args",
        "dataclass-field", "date", "datetime", "decimal", "default", "definition-ref",
        "definitions", "dict", "frozenset", "function-after", "function-before",
        "function-wrap", "int", "json-or-python", "lax-or-strict", "list", "model",
        "model-field", "model-fields", "none", "nullable", "set", "str", "tagged-union", "time",
        "timedelta", "tuple", "typed-dict", "typed-dict-field", "union", "url", "uuid",
        "no-info", "with-info",  # how a validator function is called, not a value
    }
)  # fmt: skip


def _typed(cls: type[BaseModel]) -> bool:
    """Whether every value of a JSON-mode dump of ``cls`` is written by the serialiser of a
    non-float type: its core schema has only :data:`_PLAIN_NODES` (literals and enums of text
    and ints), no custom serialiser, and no ``ser_json_*`` setting (which can make dates or
    durations numbers). A value that does not match its field's type would be written by
    inference instead: :func:`_model_json` dumps with ``warnings="error"`` to catch that."""
    known = _TYPED.get(cls)
    if known is None:
        known = _TYPED[cls] = _schema_typed(cls.__pydantic_core_schema__)
    return known


def _schema_typed(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False  # not built yet (a forward reference): walk the dump instead
    stack: list[Any] = [schema]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, Mapping):
            kind = node.get("type")  # a schema node's type, or a field named "type"
            if isinstance(kind, str) and not _plain_node(kind, node):
                return False
            if "serialization" in node or any(str(k).startswith("ser_json") for k in node):
                return False
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return True


def _plain_node(kind: str, node: Mapping[str, Any]) -> bool:
    if kind == "literal":
        return all(type(v) in _SCALARS for v in node.get("expected", ()))
    if kind == "enum":
        return node.get("sub_type") in ("str", "int")
    return kind in _PLAIN_NODES


def _model_json(model: BaseModel, exclude: Any, pretty: bool) -> bytes | str:
    """The canonical JSON of ``model.model_dump(mode="json", exclude=exclude)``: bytes from
    orjson when the dump is shown to hold only plain values, the stdlib's text otherwise."""
    typed = _typed(type(model))
    data: Any = None
    if typed:
        try:
            data = model.model_dump(mode="json", exclude=exclude, warnings="error")
        except PydanticSerializationError:
            typed = False  # a value not of its field's type: dumped again, as before, below
    if data is None:
        data = model.model_dump(mode="json", exclude=exclude)
    if typed or _plain(data):
        out = _orjson(data, _PRETTY if pretty else _COMPACT)
        if out is not None:
            return out
    return _stdlib(data, pretty)


def model_json(model: BaseModel, *, pretty: bool = False, exclude: Any = None) -> str:
    """The canonical JSON of the model's JSON-mode dump (``exclude`` as for ``model_dump``)."""
    out = _model_json(model, exclude, pretty)
    return out if isinstance(out, str) else out.decode()


# --------------------------------------------------------------------------- digests


def document_sha256(model: BaseModel) -> str:
    """``input_sha256``: sha256 of the validated document's compact canonical JSON, so the
    same document written as YAML or JSON, in any key order, hashes the same."""
    out = _model_json(model, None, False)
    return hashlib.sha256(out if isinstance(out, bytes) else out.encode()).hexdigest()


def pack_sha256(files: Mapping[str, bytes]) -> str:
    """A rule pack's sha256: for each path in sorted order, ``path NUL sha256(content)-hex LF``."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + hashlib.sha256(files[path]).hexdigest().encode())
        digest.update(b"\n")
    return digest.hexdigest()


def overridden_sha256(stock_sha256: str, records: list[dict[str, Any]]) -> str:
    """The sha256 of a pack with overrides: over the stock pack's sha256 and the overrides'
    compact canonical JSON, so it never equals a stock pack's."""
    head = f"{stock_sha256}\0overrides\0".encode()
    return hashlib.sha256(head + canonical_bytes(records)).hexdigest()
