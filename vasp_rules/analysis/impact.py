"""The impact of a change on a population: every document of a JSON Lines file evaluated with
both sides (each document alone), counted as a transition matrix of outcomes, rules newly firing
and no longer firing, with example document ids for each."""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..decision import SEVERITY, Outcome, notice
from ..docfiles import InputFileError, json_line_document
from ..entities.registry import DocumentError
from ..errors import InputError
from ..jsonlines import numbered_lines
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
    (vasp_rules.jsonlines: the stream's line rules, the documents' number and size limits)."""
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


def render_html(result: Impact, title: str, notices: Sequence[str] = ()) -> str:
    """A self-contained page: the transition matrix drawn as a heat map (inline SVG built by a
    small script from the embedded data), then the rule changes with example ids, and the
    notices of the compared packs (RulePack.disclaimer: disclaimer and what P, S and A mean)."""
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
#chart svg text {{ font-size: 12px; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{total} documents evaluated with both; <strong>{changed}</strong> decided differently
(outcome or fired rules).</p>
<h2>Transition of outcomes</h2>
<p>Rows: outcome before the change; columns: outcome after it. Darker cells hold more
documents; cells off the diagonal are documents whose outcome changed.</p>
<div id="chart" role="img" aria-label="transition matrix of outcomes"></div>
<h2>Changed outcomes</h2>
<table><thead><tr><th>old</th><th>new</th><th>documents</th><th>examples</th></tr></thead>
<tbody>{changes}</tbody></table>
{rules}
{notices}
<script type="application/json" id="impact-data">{payload}</script>
<script>
(function () {{
  "use strict";
  var data = JSON.parse(document.getElementById("impact-data").textContent);
  var outcomes = data.outcomes, n = outcomes.length;
  var counts = {{}}, max = 0;
  data.transitions.forEach(function (t) {{
    counts[t.old + "|" + t.new] = t.count;
    if (t.count > max) max = t.count;
  }});
  var cell = 70, left = 200, top = 120;
  var ns = "http://www.w3.org/2000/svg";
  var svg = document.createElementNS(ns, "svg");
  svg.setAttribute("id", "transition-chart");
  svg.setAttribute("width", left + n * cell + 20);
  svg.setAttribute("height", top + n * cell + 20);
  function text(x, y, s, anchor, rotate) {{
    var t = document.createElementNS(ns, "text");
    t.setAttribute("x", x); t.setAttribute("y", y);
    t.setAttribute("text-anchor", anchor);
    if (rotate) t.setAttribute("transform", "rotate(-40 " + x + " " + y + ")");
    t.textContent = s;
    svg.appendChild(t);
    return t;
  }}
  outcomes.forEach(function (a, i) {{
    text(left - 8, top + i * cell + cell / 2 + 4, a, "end", false);
    text(left + i * cell + cell / 2, top - 8, a, "start", true);
    outcomes.forEach(function (b, j) {{
      var count = counts[a + "|" + b] || 0;
      var r = document.createElementNS(ns, "rect");
      r.setAttribute("class", "cell");
      r.setAttribute("x", left + j * cell); r.setAttribute("y", top + i * cell);
      r.setAttribute("width", cell - 2); r.setAttribute("height", cell - 2);
      var shade = max ? count / max : 0;
      var hue = a === b ? 210 : 10;
      r.setAttribute("fill", "hsl(" + hue + ", 70%, " + (96 - 56 * shade) + "%)");
      var tip = document.createElementNS(ns, "title");
      tip.textContent = a + " \\u2192 " + b + ": " + count;
      r.appendChild(tip);
      svg.appendChild(r);
      var label = text(left + j * cell + cell / 2, top + i * cell + cell / 2 + 4, String(count),
                       "middle");
      if (shade > 0.5) label.setAttribute("fill", "#fff");
    }});
  }});
  document.getElementById("chart").appendChild(svg);
}})();
</script>
</body>
</html>
"""
