"""`vasp-rules fmt`: one canonical layout for rule, parameter, pack and scenario files.

The layout is ruamel.yaml's round trip with fixed settings: mappings indented by 2, list items
by 4 with the dash at 2, quotes and comments kept as written, block scalars (`>-`, `|`) kept,
lines never re-wrapped (a folded text stays as its author broke it), an absent value written
`null`, LF line endings and one final newline. Keys keep their order (a comment belongs to the
key above it, so reordering would move comments). Formatting changes the layout only: the data
read back is equal, and formatting a formatted file changes nothing.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ..core.limits import LimitError, check_yaml_text
from ..core.yamlio import YamlError

#: A line longer than this is never folded (ruamel would re-wrap plain scalars past its width).
_NO_WRAP = 1 << 20
#: Files a folder argument contributes: YAML files, searched recursively (hidden ones aside).
_SUFFIXES = (".yaml", ".yml")


def _null(representer: Any, _data: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = _NO_WRAP
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.add_representer(type(None), _null)
    return yaml


def format_text(text: str) -> str:
    """The canonical layout of YAML text (YamlError, with its line, for text that is not
    YAML or is past the reader's limits)."""
    text = text.replace("\r\n", "\n")
    try:
        check_yaml_text(text)
        yaml = _yaml()
        data = yaml.load(text)
    except LimitError as exc:
        raise YamlError(exc.message, exc.line) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlError(
            f"invalid YAML: {exc.problem or exc.context}", mark.line + 1 if mark else None
        ) from None
    except YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}", None) from None
    if data is None:  # empty, or comments only: nothing to lay out
        return text if text.endswith("\n") or not text else text + "\n"
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def yaml_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The files to format: each file given, and the YAML files below each folder given (in
    name order, hidden files and folders skipped)."""
    for path in paths:
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                rel = found.relative_to(path).parts
                if found.suffix in _SUFFIXES and found.is_file():
                    if not any(part.startswith(".") for part in rel):
                        yield found
        else:
            yield path


@dataclass(frozen=True)
class Formatted:
    """One file's result: whether its layout changes, or why it could not be formatted."""

    path: Path
    changed: bool
    error: str | None = None
    line: int | None = None

    def problem(self) -> str:
        """`file[:line]: message` for a file that could not be formatted."""
        return f"{self.path}{f':{self.line}' if self.line else ''}: {self.error}"


def format_paths(paths: Iterable[Path], *, write: bool) -> list[Formatted]:
    """Format every file below `paths`; with `write`, rewrite the files that change."""
    results: list[Formatted] = []
    for path in yaml_files(paths):
        if path.suffix not in _SUFFIXES:  # a README given by mistake is never rewritten
            results.append(Formatted(path, False, "not a YAML file (.yaml or .yml)"))
            continue
        try:
            text = path.read_bytes().decode("utf-8")
        except OSError as exc:
            results.append(Formatted(path, False, f"cannot read: {exc.strerror}"))
            continue
        except UnicodeDecodeError:
            results.append(Formatted(path, False, "not UTF-8 text"))
            continue
        try:
            formatted = format_text(text)
        except YamlError as exc:
            results.append(Formatted(path, False, exc.message, exc.line))
            continue
        changed = formatted != text
        if changed and write:
            path.write_bytes(formatted.encode("utf-8"))
        results.append(Formatted(path, changed))
    return results
