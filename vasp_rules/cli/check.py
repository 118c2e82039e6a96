"""`vasp-rules check`: load a pack as the engine would (every date compiled), then report its
problems: errors that make it unusable (PackError's issues) and warnings (authoring.lint).

Text: each problem on stderr (`file:line [RULE]: message`, warnings marked `warning:`), the
summary (`ok: pack ...`) and performance notes on stdout. JSON (`--format json`): one object
on stdout, `{"ok", "pack", "problems": [{file, line, column, rule_id, message, severity}],
"notes"}`. Exit codes: 0 usable (warnings allowed), 1 usable with warnings under `--strict`,
2 unusable (an error).
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from ..authoring.lint import Problem, name_warnings, presence_warnings
from ..pack.discovery import find_pack
from ..pack.loader import PackError, PackIssue
from ..runtime.rulepack import RulePack


def _column(root: Path | None, file: str, line: int | None) -> int | None:
    """1-based column where the text of `line` starts (the key or list item at fault)."""
    if root is None or line is None:
        return None
    try:
        lines = (root / file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not 1 <= line <= len(lines):
        return None
    text = lines[line - 1]
    return len(text) - len(text.lstrip()) + 1


def _error(root: Path | None, issue: PackIssue) -> Problem:
    column = _column(root, issue.file, issue.line)
    return Problem(issue.file, issue.line, column, issue.rule_id, issue.message, "error")


def run_check(ref: str, overrides: dict[str, Any], fmt: str, strict: bool) -> None:
    """Check the pack `ref` (name or folder) and report as the module docstring says."""
    root = find_pack(ref)  # no such pack: one `error:` line, as every command says it
    problems: list[Problem] = []
    notes: list[str] = []
    summary: dict[str, Any] | None = None
    try:
        rulepack = RulePack.load(ref, overrides=overrides, check_every_date=True)
    except PackError as exc:
        problems = [_error(root, issue) for issue in exc.issues]
    else:
        loaded = rulepack.loaded
        problems = [
            replace(p, column=_column(loaded.root, p.file, p.line))
            for p in presence_warnings(loaded) + name_warnings(loaded)
        ]
        kinds: dict[str, set[str]] = {}
        for rule in loaded.rules:  # a rule id counts once per kind it applies to
            kinds.setdefault(rule.kind, set()).add(rule.id)
        summary = {
            "name": rulepack.name,
            "version": rulepack.version,
            "sha256": rulepack.sha256,
            "rules": len(rulepack.rule_ids()),
            "rules_per_kind": {k: len(ids) for k, ids in sorted(kinds.items())},
            "parameters": len(loaded.params),
        }
        for access in rulepack.batch_plan().unkeyed:
            notes.append(
                f"{access.rule_id} reads batch.{access.kind} with no key ({access.reason}): "
                f"scanned in full, O(n^2) per batch: {access.text}"
            )
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    if fmt == "json":
        report = {
            "ok": not errors,
            "pack": summary,
            "problems": [p.to_json() for p in problems],
            "notes": notes,
        }
        click.echo(json.dumps(report, indent=2))
    else:
        for problem in problems:
            click.echo(_text(problem), err=True)
        if summary is not None:
            per_kind = ", ".join(f"{n} {k}" for k, n in summary["rules_per_kind"].items())
            click.echo(
                f"ok: pack {summary['name']} {summary['version']}: {summary['rules']} rules "
                f"({per_kind}), {summary['parameters']} parameters, sha256 {summary['sha256']}"
                + (f"; {_count(len(warnings), 'warning')}" if warnings else "")
            )
        for note in notes:
            click.echo(f"note: {note}")
        if errors:
            click.echo(f"error: {_count(len(errors), 'problem')} in rule pack", err=True)
    if errors:
        sys.exit(2)
    if strict and warnings:
        sys.exit(1)


def _text(problem: Problem) -> str:
    where = problem.file + (f":{problem.line}" if problem.line else "")
    rule = f" [{problem.rule_id}]" if problem.rule_id else ""
    mark = "warning: " if problem.severity == "warning" else ""
    return f"{where}{rule}: {mark}{problem.message}"


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"
