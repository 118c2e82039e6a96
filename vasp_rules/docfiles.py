"""Reading input documents from JSON or YAML files, for the command line."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from .errors import InputError
from .limits import MAX_JSON_BYTES, LimitError, check_size, load_json
from .pack.yamlio import YamlError, load_yaml, plain


class InputFileError(InputError):
    """A file that does not hold documents; the message names the file (and line)."""


def read_document_file(name: str) -> tuple[list[dict[str, Any]], bool]:
    """The documents in a file, and whether the file held a list (a batch) rather than one.

    JSON numbers are read as exact decimals; YAML dates become ISO text, as in JSON."""
    path = Path(name)
    try:
        check_size(path.stat().st_size, MAX_JSON_BYTES, "the file")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputFileError(f"{name}: not UTF-8 text (expected a JSON or YAML document)") from None
    except LimitError as exc:
        raise InputFileError(f"{name}: {exc.message}") from None
    try:
        if path.suffix.lower() == ".json":
            data: Any = load_json(text, parse_float=Decimal)
        else:
            data = plain(load_yaml(path))
    except LimitError as exc:
        raise InputFileError(f"{name}: {exc.message}") from None
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{name}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except YamlError as exc:
        where = f"{name}:{exc.line}" if exc.line else name
        raise InputFileError(f"{where}: {exc.message}") from None
    except ValueError as exc:  # e.g. an integer too long to read
        raise InputFileError(f"{name}: invalid JSON: {exc}") from None
    is_list = isinstance(data, list)
    items = data if is_list else [data]
    for item in items:
        if not isinstance(item, dict):
            raise InputFileError(
                f"{name}: expected a document (a mapping with 'kind') or a list of them"
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
