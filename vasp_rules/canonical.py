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
import re
from collections.abc import Mapping
from typing import Any, Final

import orjson
from pydantic import BaseModel

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

#: A number with a fraction or an exponent standing as a value in orjson's output (compact or
#: indented): after ``[``, ``:`` or ``,`` (and layout spaces) and before ``,``, ``]``, ``}`` or
#: the end. Every float orjson writes looks so; text that merely resembles one (``"a:1.5,"``)
#: only sends the value to the stdlib writer, which costs time, never bytes.
_FLOAT_TOKEN: Final = re.compile(
    rb"(?:^|[\[:,])\s*-?[0-9]+(?:\.[0-9]+(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)\s*(?:[,\]}]|$)"
)

_SCALARS: Final = frozenset({str, int, bool, type(None)})


def _stdlib(value: Any, pretty: bool) -> str:
    """The defining form: what the library wrote before orjson, and writes whenever orjson
    cannot be shown to agree."""
    if pretty:
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _plain(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is made only of dicts with text keys, lists, tuples, text, ints,
    booleans and None (exact types, no floats), no deeper than orjson writes."""
    kind = type(value)
    if kind in _SCALARS:
        return True  # an int beyond 64 bits or a lone surrogate makes orjson raise: stdlib then
    if depth >= _MAX_DEPTH:
        return False  # also ends the walk of a structure that contains itself
    if kind is dict:
        return all(type(k) is str and _plain(v, depth + 1) for k, v in value.items())
    if kind is list or kind is tuple:
        return all(_plain(v, depth + 1) for v in value)
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

#: Per model class: whether a JSON-mode dump is shown float-free by its output alone.
_TYPED: dict[type[BaseModel], bool] = {}

#: Core schema node types whose serialised value is not fixed by the schema (``any``, a plain
#: validator) or may be a float.
_UNTYPED: Final = frozenset({"float", "complex", "any", "function-plain"})


def _typed(cls: type[BaseModel]) -> bool:
    """Whether every value in a JSON-mode dump of ``cls`` is written by a serialiser of a
    non-float type: no float field, no ``Any`` and no custom serialiser anywhere in its core
    schema. Such a dump holds only dicts with text keys, lists, text, ints, booleans and None
    (a validator returning a value of another type than its field's is a bug pydantic warns
    about, not a case handled here); a finite float from elsewhere would still be caught in
    the output by :data:`_FLOAT_TOKEN`. Other dumps are walked (:func:`_plain`) first."""
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
            if (isinstance(kind, str) and kind in _UNTYPED) or "serialization" in node:
                return False
            if node.get("ser_json_inf_nan", "null") != "null":
                return False
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return True


def _model_json(model: BaseModel, exclude: Any, pretty: bool) -> bytes | str:
    """The canonical JSON of ``model.model_dump(mode="json", exclude=exclude)``: bytes from
    orjson when shown to agree, the stdlib's text otherwise."""
    data = model.model_dump(mode="json", exclude=exclude)
    if _typed(type(model)) or _plain(data):
        out = _orjson(data, _PRETTY if pretty else _COMPACT)
        if out is not None and _FLOAT_TOKEN.search(out) is None:
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
