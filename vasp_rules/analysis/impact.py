"""The impact of a change on a population: every document of a JSON Lines file evaluated with
both sides (each document alone), counted as a transition matrix of outcomes, rules newly firing
and no longer firing, with example document ids for each."""

from __future__ import annotations

import html
import json
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.docfiles import InputFileError, json_line_document
from ..core.errors import InputError
from ..core.jsonlines import numbered_lines
from ..entities.registry import DocumentError
from ..model.decision import SEVERITY, Outcome, notice
from .diff import Side

EXAMPLES = 5


@dataclass
class Impact:
    total: int = 0
    changed: int = 0
    matrix: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    newly_firing: Counter[str] = field(default_factory=Counter)
    no_longer_firing: Counter[str] = field(default_factory=Counter)
    rule_examples: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add(self, doc_id: str, old: tuple[str, set[str]], new: tuple[str, set[str]]) -> None:
        self.total += 1
        key = (old[0], new[0])
        self.matrix[key] += 1
        if old != new:
            self.changed += 1
        if old[0] != new[0]:
            _example(self.examples, key, doc_id)
        for rule in sorted(new[1] - old[1]):
            self.newly_firing[rule] += 1
            _example(self.rule_examples, ("new", rule), doc_id)
        for rule in sorted(old[1] - new[1]):
            self.no_longer_firing[rule] += 1
            _example(self.rule_examples, ("gone", rule), doc_id)

    def outcomes(self) -> list[str]:
        seen = {o for pair in self.matrix for o in pair}
        return sorted(seen, key=lambda o: -SEVERITY[Outcome(o)])

    def to_json(self) -> dict[str, Any]:
        return {
            "documents": self.total,
            "changed": self.changed,
            "transitions": [
                {
                    "old": a,
                    "new": b,
                    "count": n,
                    "examples": self.examples.get((a, b), []),
                }
                for (a, b), n in sorted(self.matrix.items(), key=_matrix_order)
            ],
            "newly_firing": [
                {"rule": r, "count": n, "examples": self.rule_examples[("new", r)]}
                for r, n in sorted(self.newly_firing.items())
            ],
            "no_longer_firing": [
                {"rule": r, "count": n, "examples": self.rule_examples[("gone", r)]}
                for r, n in sorted(self.no_longer_firing.items())
            ],
        }


def _matrix_order(item: tuple[tuple[str, str], int]) -> tuple[int, int]:
    (a, b), _n = item
    return (-SEVERITY[Outcome(a)], -SEVERITY[Outcome(b)])


def _example(table: dict[Any, list[str]], key: Any, doc_id: str) -> None:
    ids = table.setdefault(key, [])
    if len(ids) < EXAMPLES:
        ids.append(doc_id)


def read_population(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, document) for each non-blank line of a JSON Lines file
    (vasp_rules.core.jsonlines: the stream's line rules, the documents' number and size limits)."""
    with path.open("rb") as handle:
        for number, _offset, line in numbered_lines(handle):
            try:
                doc = json_line_document(line)
            except InputFileError as exc:
                raise InputError(f"{path}:{number}: {exc}") from None
            yield number, doc


def impact(
    old: Side,
    new: Side,
    population: Path,
    progress: Callable[[int], None] | None = None,
    chunk: int = 500,
) -> Impact:
    """Evaluate every document of the population with both sides (streamed in chunks; each
    document alone)."""
    result = Impact()
    pending: list[tuple[int, dict[str, Any]]] = []

    def flush() -> None:
        docs = [d for _n, d in pending]
        try:
            before = old.pack.evaluate_many(docs, old.on, batch=False)
            after = new.pack.evaluate_many(docs, new.on, batch=False)
        except DocumentError:
            for number, doc in pending:  # find the line
                try:
                    old.pack.evaluate(doc, old.on)
                except DocumentError as exc:
                    problems = "; ".join(f"{p or '<document>'}: {m}" for p, m in exc.errors)
                    raise InputError(
                        f"{population}:{number}: invalid document: {problems}"
                    ) from None
            raise
        for a, b in zip(before, after, strict=True):
            result.add(
                a.document_id,
                (str(a.outcome), {f.rule_id for f in a.findings}),
                (str(b.outcome), {f.rule_id for f in b.findings}),
            )
        pending.clear()
        if progress is not None:
            progress(result.total)

    for number, doc in read_population(population):
        pending.append((number, doc))
        if len(pending) >= chunk:
            flush()
    if pending:
        flush()
    return result


def render_text(result: Impact, title: str, notices: Sequence[str] = ()) -> str:
    """The impact as plain text, ending with `notices` (the packs' RulePack.disclaimer)."""
    lines = [title, f"{result.total} documents, {result.changed} decided differently", ""]
    outcomes = result.outcomes()
    width = max([len(o) for o in outcomes] + [8])
    lines.append("transition matrix (rows: old outcome, columns: new outcome)")
    lines.append(" " * (width + 2) + "  ".join(o.rjust(width) for o in outcomes))
    for a in outcomes:
        row = "  ".join(str(result.matrix.get((a, b), 0)).rjust(width) for b in outcomes)
        lines.append(a.ljust(width + 2) + row)
    changes = [(k, n) for k, n in sorted(result.matrix.items(), key=_matrix_order) if k[0] != k[1]]
    if changes:
        lines.append("")
        lines.append("changed outcomes")
        for (a, b), n in changes:
            lines.append(f"  {a} -> {b}: {n} (e.g. {', '.join(result.examples[(a, b)])})")
    for label, table, tag in (
        ("rules newly firing", result.newly_firing, "new"),
        ("rules no longer firing", result.no_longer_firing, "gone"),
    ):
        lines.append("")
        lines.append(label + (":" if table else ": none"))
        for rule, n in sorted(table.items()):
            ids = ", ".join(result.rule_examples[(tag, rule)])
            lines.append(f"  {rule}: {n} (e.g. {ids})")
    for text in _distinct(notices):
        lines += ["", text]
    return "\n".join(lines) + "\n"


def _distinct(notices: Sequence[str]) -> list[str]:
    """The notices of the compared packs, each once (one when both sides share a pack),
    or the tags' meaning alone when none is given."""
    return list(dict.fromkeys(notices)) or [notice("")]


#: the matrix's geometry in SVG user units: a cell's side, the room for row and column labels
_CELL, _LEFT, _TOP, _LINE = 70, 200, 120, 15


def matrix_svg(result: Impact, notices: Sequence[str] = ()) -> str:
    """The transition matrix as a heat map in SVG, drawn here rather than by a script, so
    that an archived copy, an e-mail or the SVG alone shows it: rows are outcomes before the
    change, columns after; each cell shows its count (and a tooltip); the notices (the packs'
    disclaimers) are written below it, so the figure never travels without them."""
    outcomes = result.outcomes()
    n = len(outcomes)
    most = max(result.matrix.values(), default=0)
    width = max(_LEFT + n * _CELL + 20, 600)  # room for the notice, however few outcomes
    chars = max(40, (width - 20) // 6)  # about 6 units a character at 11px
    lines = [ln for t in _distinct(notices) for ln in textwrap.wrap(t, chars) or [""]]
    height = _TOP + n * _CELL + 30 + _LINE * len(lines)
    out = [
        f'<svg id="transition-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        'aria-labelledby="transition-title transition-desc" '
        'font-family="system-ui, sans-serif" font-size="12">',
        '<title id="transition-title">Transition of outcomes (rows: before the change; '
        "columns: after it)</title>",
        f'<desc id="transition-desc">{html.escape(" ".join(_distinct(notices)))}</desc>',
        '<text x="8" y="16" fill="#555">rows: outcome before; columns: outcome after</text>',
    ]
    esc = html.escape
    for i, a in enumerate(outcomes):
        y = _TOP + i * _CELL + _CELL // 2 + 4
        out.append(f'<text x="{_LEFT - 8}" y="{y}" text-anchor="end">{esc(a)}</text>')
        x = _LEFT + i * _CELL + _CELL // 2
        out.append(
            f'<text x="{x}" y="{_TOP - 8}" transform="rotate(-40 {x} {_TOP - 8})">{esc(a)}</text>'
        )
    for i, a in enumerate(outcomes):
        for j, b in enumerate(outcomes):
            count = result.matrix.get((a, b), 0)
            shade = count / most if most else 0.0
            hue = 210 if a == b else 10
            x, y = _LEFT + j * _CELL, _TOP + i * _CELL
            ink = ' fill="#fff"' if shade > 0.5 else ""
            out.append(
                f'<g><rect class="cell" data-old="{esc(a)}" data-new="{esc(b)}" '
                f'data-count="{count}" x="{x}" y="{y}" width="{_CELL - 2}" '
                f'height="{_CELL - 2}" fill="hsl({hue}, 70%, {96 - 56 * shade:.1f}%)">'
                f"<title>{esc(a)} \u2192 {esc(b)}: {count}</title></rect>"
                f'<text x="{x + _CELL // 2}" y="{y + _CELL // 2 + 4}" text-anchor="middle"'
                f"{ink}>{count}</text></g>"
            )
    y = _TOP + n * _CELL + 24
    for k, line in enumerate(lines):
        out.append(
            f'<text class="chart-notice" x="8" y="{y + k * _LINE}" font-size="11" fill="#555">'
            f"{esc(line)}</text>"
        )
    out.append("</svg>")
    return "\n".join(out)


def render_html(result: Impact, title: str, notices: Sequence[str] = ()) -> str:
    """A self-contained page without scripts: the transition matrix drawn as an SVG heat map
    (matrix_svg), then the rule changes with example ids, and the notices of the compared
    packs (RulePack.disclaimer: disclaimer and what P, S and A mean). The figures are also
    embedded as JSON (``impact-data``) for tools."""
    data = result.to_json()
    data["outcomes"] = result.outcomes()
    payload = json.dumps(data, sort_keys=True).replace("</", "<\\/")
    rows = []
    sections = (
        ("Rules newly firing", "newly_firing"),
        ("Rules no longer firing", "no_longer_firing"),
    )
    for label, key in sections:
        items = data[key]
        body = (
            "".join(
                f"<tr><td>{html.escape(i['rule'])}</td><td class=num>{i['count']}</td>"
                f"<td>{html.escape(', '.join(i['examples']))}</td></tr>"
                for i in items
            )
            or "<tr><td colspan=3>none</td></tr>"
        )
        rows.append(
            f"<h2>{label}</h2><table><thead><tr><th>rule</th><th>documents</th>"
            f"<th>examples</th></tr></thead><tbody>{body}</tbody></table>"
        )
    changes = (
        "".join(
            f"<tr><td>{html.escape(t['old'])}</td><td>{html.escape(t['new'])}</td>"
            f"<td class=num>{t['count']}</td><td>{html.escape(', '.join(t['examples']))}</td></tr>"
            for t in data["transitions"]
            if t["old"] != t["new"]
        )
        or "<tr><td colspan=4>none</td></tr>"
    )
    return _PAGE.format(
        title=html.escape(title),
        total=result.total,
        changed=result.changed,
        payload=payload,
        chart=matrix_svg(result, notices),
        changes=changes,
        rules="".join(rows),
        notices="".join(f'<p class="notice">{html.escape(t)}</p>' for t in _distinct(notices)),
    )


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 60em; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: .3em .6em; text-align: left; }}
td.num {{ text-align: right; }}
.notice {{ color: #555; font-size: .9em; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{total} documents evaluated with both; <strong>{changed}</strong> decided differently
(outcome or fired rules).</p>
<h2>Transition of outcomes</h2>
<p>Rows: outcome before the change; columns: outcome after it. Darker cells hold more
documents; cells off the diagonal are documents whose outcome changed.</p>
<div id="chart">
{chart}
</div>
<h2>Changed outcomes</h2>
<table><thead><tr><th>old</th><th>new</th><th>documents</th><th>examples</th></tr></thead>
<tbody>{changes}</tbody></table>
{rules}
{notices}
<script type="application/json" id="impact-data">{payload}</script>
</body>
</html>
"""
