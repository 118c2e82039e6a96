"""Baselines for `vasp-rules analyze`: the findings a team has reviewed and accepted, so that
analyze fails only on new ones (a pack derived from pk inherits pk's known findings).

A baseline file is JSON: ``{"baseline": 1, "findings": [...]}``, each finding one of
``{"kind", "finding": "dead"|"always"|"undecidable", "rule"}``,
``{"kind", "finding": "redundant", "rule", "implied_by"}`` or
``{"finding": "parameter_gap"|"parameter_overlap", "parameter", "from", "to"}``. Findings do not
name the pack or the date, so one baseline serves derived packs and several dates. The JSON
that `analyze --format json` prints is read as a baseline too.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..core.errors import InputError
from .analyze import Analysis, KindReport

Key = tuple[str, ...]
_RULE_FINDINGS = ("dead", "always", "undecidable")


def findings(result: Analysis) -> list[dict[str, str]]:
    """Every finding of an analysis as a baseline entry."""
    return _flatten(result.to_json())


def _flatten(report: dict[str, Any]) -> list[dict[str, str]]:
    """Baseline entries from an analysis in its JSON form (Analysis.to_json)."""
    out: list[dict[str, str]] = []
    for kind, rep in sorted(report["kinds"].items()):
        for name in _RULE_FINDINGS:
            out += [{"kind": kind, "finding": name, "rule": r} for r in rep.get(name, [])]
        out += [
            {"kind": kind, "finding": "redundant", "rule": p["rule"], "implied_by": p["implied_by"]}
            for p in rep.get("redundant", [])
        ]
    for item in report.get("timeline", []):
        out.append(
            {"finding": item["type"], "parameter": item["parameter"],
             "from": item["from"], "to": item["to"]}
        )  # fmt: skip
    return out


def _key(entry: dict[str, Any]) -> Key:
    fields = ("kind", "finding", "rule", "implied_by", "parameter", "from", "to")
    return tuple(str(entry.get(f, "")) for f in fields)


def write_baseline(result: Analysis, path: Path) -> int:
    """Write the analysis's findings as a baseline; how many."""
    entries = findings(result)
    text = json.dumps({"baseline": 1, "findings": entries}, indent=2, sort_keys=True)
    path.write_text(text + "\n", encoding="utf-8")
    return len(entries)


def read_baseline(path: Path) -> set[Key]:
    """The accepted findings of a baseline file (or of `analyze --format json` output)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the baseline: {exc.strerror}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a JSON baseline ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("kinds"), dict):  # analyze's JSON
        data = {"findings": _from_report(data, path)}
    entries = data.get("findings") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("finding"), str) for e in entries
    ):
        raise InputError(
            f'{path}: a baseline is {{"baseline": 1, "findings": [...]}} as written by '
            "`vasp-rules analyze --write-baseline FILE`"
        )
    return {_key(e) for e in entries}


def _from_report(data: dict[str, Any], path: Path) -> list[dict[str, str]]:
    try:
        return _flatten(data)
    except (AttributeError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not an analyze report (no {exc})") from None


def apply_baseline(result: Analysis, known: set[Key]) -> tuple[Analysis, int, list[dict[str, str]]]:
    """The analysis without the accepted findings; how many were accepted; and the baseline's
    entries no longer found (fixed: they may leave the baseline)."""
    found = findings(result)
    accepted = sum(_key(e) in known for e in found)
    seen = {_key(e) for e in found}
    stale = [e for e in _entries(known) if _key(e) not in seen]
    kinds: dict[str, KindReport] = {}
    for kind, rep in result.kinds.items():

        def new(name: str, rule: str, kind: str = kind) -> bool:
            return _key({"kind": kind, "finding": name, "rule": rule}) not in known

        kinds[kind] = replace(
            rep,
            dead=[r for r in rep.dead if new("dead", r)],
            always=[r for r in rep.always if new("always", r)],
            undecidable=[r for r in rep.undecidable if new("undecidable", r)],
            redundant=[
                p for p in rep.redundant
                if _key({"kind": kind, "finding": "redundant", **p}) not in known
            ],
        )  # fmt: skip
    timeline = [
        t for t in result.timeline
        if _key({"finding": t["type"], "parameter": t["parameter"], "from": t["from"],
                 "to": t["to"]}) not in known
    ]  # fmt: skip
    return replace(result, kinds=kinds, timeline=timeline), accepted, stale


def _entries(keys: set[Key]) -> list[dict[str, str]]:
    fields = ("kind", "finding", "rule", "implied_by", "parameter", "from", "to")
    return [{f: v for f, v in zip(fields, key, strict=True) if v} for key in sorted(keys)]
