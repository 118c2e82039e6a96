"""Reading input documents, for the command line and scenario files: JSON, JSON Lines or YAML,
from a file or standard input (`-`).

The format comes from `--input-format` or else from the file's suffix; standard input is JSON
unless told otherwise. Errors name the file (and line) and never show a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from .errors import InputError
from .jsonlines import is_blank, text_lines
from .limits import MAX_JSON_BYTES, LimitError, check_size, load_json
from .yamlio import YamlError, parse_yaml, plain

STDIN = "-"


class InputFileError(InputError):
    """A file that does not hold documents; the message names the file (and line)."""


#: Suffix (lower case) -> input format.
SUFFIXES: dict[str, str] = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".yaml": "yaml",
    ".yml": "yaml",
}


def json_line_document(line: str | bytes) -> dict[str, Any]:
    """One non-blank line of a JSON Lines input as a document: exact decimals, within the input
    limits. Raises InputFileError with a message that names no place (callers add the file
    and line, or put it in the line's error record)."""
    try:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
        data = load_json(text, parse_float=Decimal)
    except LimitError as exc:
        raise InputFileError(exc.message) from None
    except UnicodeDecodeError:
        raise InputFileError("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InputFileError(f"invalid JSON: {exc.msg}") from None
    except ValueError as exc:  # e.g. an integer too long to read
        raise InputFileError(f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputFileError("each line of a JSON Lines file is one document (a JSON object)")
    return data


def read_json_line(line: str, where: str, lineno: int) -> dict[str, Any] | None:
    """One line of a JSON Lines file: a document, or None for a blank line. Numbers are read as
    exact decimals. `where` (the file name) and `lineno` (1-based) go into the error message."""
    if is_blank(line):
        return None
    try:
        return json_line_document(line)
    except InputFileError as exc:
        raise InputFileError(f"{where}:{lineno}: {exc}") from None


def _json(text: str, where: str) -> tuple[Any, bool]:
    try:
        data = load_json(text, parse_float=Decimal)
    except LimitError as exc:
        raise InputFileError(f"{where}: {exc.message}") from None
    except json.JSONDecodeError as exc:
        hint = (
            " (one document per line? read JSON Lines with --input-format jsonl or a .jsonl name)"
            if exc.msg == "Extra data"
            else ""
        )
        raise InputFileError(f"{where}:{exc.lineno}: invalid JSON: {exc.msg}{hint}") from None
    except ValueError as exc:
        raise InputFileError(f"{where}: invalid JSON: {exc}") from None
    return data, isinstance(data, list)


def _jsonl(text: str, where: str) -> tuple[Any, bool]:
    docs = [
        doc
        for lineno, line in text_lines(text)
        if (doc := read_json_line(line, where, lineno)) is not None
    ]
    return docs, True


def _yaml(text: str, where: str) -> tuple[Any, bool]:
    try:
        data = plain(parse_yaml(text, exact_numbers=True))
    except YamlError as exc:
        raise InputFileError(
            f"{where}:{exc.line}: {exc.message}" if exc.line else f"{where}: {exc.message}"
        ) from None
    return data, isinstance(data, list)


#: Input format -> reader of a file's text: (data, whether it is a list of documents).
READERS: dict[str, Callable[[str, str], tuple[Any, bool]]] = {
    "json": _json,
    "jsonl": _jsonl,
    "yaml": _yaml,
}


def input_format(name: str, given: str | None = None) -> str:
    """The format to read `name` with: `given` (from --input-format), else its suffix; standard
    input is JSON. An unknown suffix is an error naming the supported ones."""
    if given is not None:
        if given not in READERS:
            raise InputFileError(
                f"unknown input format {given!r} (supported: {', '.join(sorted(READERS))})"
            )
        return given
    if name == STDIN:
        return "json"
    suffix = Path(name).suffix.lower()
    fmt = SUFFIXES.get(suffix)
    if fmt is None:
        known = ", ".join(SUFFIXES)
        raise InputFileError(
            f"{name}: unknown file type {suffix or '(no suffix)'!r} (supported: {known}; "
            f"or give --input-format {'|'.join(sorted(READERS))})"
        )
    return fmt


def read_text(name: str) -> str:
    """A file's text, or standard input's for `-`."""
    try:
        if name == STDIN:
            data = sys.stdin.buffer.read(MAX_JSON_BYTES + 1)
            check_size(len(data), MAX_JSON_BYTES, "standard input")
        else:
            check_size(Path(name).stat().st_size, MAX_JSON_BYTES, "the file")
            data = Path(name).read_bytes()
        return data.decode("utf-8")
    except LimitError as exc:
        raise InputFileError(f"{display_name(name)}: {exc.message}") from None
    except UnicodeDecodeError:
        raise InputFileError(f"{display_name(name)}: not UTF-8 text") from None


def display_name(name: str) -> str:
    return "<stdin>" if name == STDIN else name


def read_document_file(name: str, fmt: str | None = None) -> tuple[list[dict[str, Any]], bool]:
    """The documents in a file (or `-`), and whether it held a list (a batch) rather than one.

    JSON numbers are read as exact decimals; YAML dates become ISO text, as in JSON."""
    if name != STDIN and Path(name).is_dir():
        raise InputFileError(f"{name}: Is a directory (give the files in it)")
    chosen = input_format(name, fmt)
    where = display_name(name)
    data, is_list = READERS[chosen](read_text(name), where)
    items = data if isinstance(data, list) else [data]
    for item in items:
        if not isinstance(item, dict):
            raise InputFileError(
                f"{where}: expected a document (a mapping with 'kind') or a list of them"
            )
    return [iso_dates(item) for item in items], is_list


def iso_dates(value: Any) -> Any:
    """Document data as JSON would carry it: dates (which YAML reads as dates) as ISO text."""
    if isinstance(value, dict):
        return {str(k): iso_dates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [iso_dates(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value
