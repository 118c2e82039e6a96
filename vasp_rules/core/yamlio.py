"""YAML reading with line numbers, for error messages that point at the file and line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from .errors import VaspRulesError
from .limits import MAX_DEPTH, MAX_YAML_BYTES, LimitError, check_size, check_yaml_text


class YamlError(VaspRulesError, ValueError):
    def __init__(self, message: str, line: int | None) -> None:
        self.message = message
        self.line = line
        super().__init__(message)


def load_yaml(path: Path) -> Any:
    """Parse a YAML file into ruamel's round-trip nodes (which remember their lines), within
    the limits of vasp_rules.core.limits (size, depth, alias cycles and expansion, duplicate
    keys)."""
    try:
        check_size(path.stat().st_size, MAX_YAML_BYTES, "the YAML file")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlError(f"not UTF-8 text: {exc}", None) from None
    except LimitError as exc:
        raise YamlError(exc.message, exc.line) from None
    return parse_yaml(text)


def parse_yaml(text: str, *, exact_numbers: bool = False) -> Any:
    """Parse YAML text into round-trip nodes, within the same limits as load_yaml. With
    `exact_numbers` (input documents), a number with a fraction or an exponent is read as the
    Decimal its text spells, as JSON input is, never through a binary float."""
    yaml = YAML(typ="rt")
    if exact_numbers:
        yaml.Constructor = _ExactConstructor
    yaml.constructor.add_constructor("tag:yaml.org,2002:timestamp", _lenient_timestamp)
    try:
        check_yaml_text(text)
        data = yaml.load(text)
    except LimitError as exc:
        raise YamlError(exc.message, exc.line) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlError(f"invalid YAML: {exc.problem or exc.context}", line) from None
    except YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}", None) from None
    except RecursionError:  # belt and braces: check_yaml_text bounds the depth first
        raise YamlError(f"nested more than {MAX_DEPTH} levels deep", None) from None
    return data


def _exact_float(constructor: Any, node: Any) -> Any:
    """A YAML float as an exact Decimal (``.inf`` and ``.nan`` stay floats, which the
    documents refuse with their path)."""
    text = str(constructor.construct_scalar(node)).replace("_", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        return constructor.construct_yaml_float(node)
    return value


class _ExactConstructor(RoundTripConstructor):
    """The round-trip constructor, with floats read as exact Decimals (add_constructor on it
    changes this class only, not the one rule packs are read with)."""


def _lenient_timestamp(constructor: Any, node: Any) -> Any:
    """Dates YAML recognises but cannot build (2026-13-01) stay text, so the schema reports
    them with their field and line instead of the parser crashing."""
    try:
        return constructor.construct_yaml_timestamp(node)
    except ValueError:
        return constructor.construct_scalar(node)


def plain(node: Any) -> Any:
    """Round-trip nodes to plain dicts, lists and scalars (dates stay dates)."""
    if isinstance(node, CommentedMap | dict):
        return {str(k) if not isinstance(k, str) else k: plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq | list):
        return [plain(v) for v in node]
    if isinstance(node, datetime):
        return node
    if isinstance(node, date):
        return date(node.year, node.month, node.day)
    if isinstance(node, bool | int | float | str) or node is None:
        if isinstance(node, str):
            return str(node)
        if isinstance(node, float):
            return float(node)
        if isinstance(node, int) and not isinstance(node, bool):
            return int(node)
        return node
    return node


def line_of(node: Any, loc: Sequence[Any]) -> int | None:
    """1-based line of the item at `loc` below `node` (the deepest position that exists)."""
    line: int | None = _own_line(node)
    current = node
    for part in loc:
        if isinstance(current, CommentedMap) and part in current:
            try:
                line = current.lc.key(part)[0] + 1
            except (KeyError, TypeError, AttributeError):
                pass
            current = current[part]
        elif isinstance(current, CommentedSeq) and isinstance(part, int) and part < len(current):
            try:
                line = current.lc.item(part)[0] + 1
            except (KeyError, TypeError, AttributeError, IndexError):
                pass
            current = current[part]
        else:
            break
    return line


def value_line(node: Any, key: str) -> int | None:
    """1-based line where the value of `key` starts in a mapping."""
    if isinstance(node, CommentedMap) and key in node:
        try:
            return int(node.lc.value(key)[0]) + 1
        except (KeyError, TypeError, AttributeError):
            return line_of(node, [key])
    return None


def _own_line(node: Any) -> int | None:
    lc = getattr(node, "lc", None)
    if lc is not None and getattr(lc, "line", None) is not None:
        return int(lc.line) + 1
    return None


_ExactConstructor.add_constructor("tag:yaml.org,2002:float", _exact_float)
