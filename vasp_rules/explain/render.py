"""Readable explanations: the terminal (rich), Markdown and self-contained HTML reports that a
compliance officer can attach to a case file, and JSON for tools.

Every renderer shows the same things: the outcome; each finding with its reason, citation, the
values and parameters it read (with their effective dates and sources), the condition tree with
each sub-condition's verdict, and the verified changes that would clear it; then the rules asked
about that did not apply (why not). Text from documents and packs is escaped in every format.
"""

from __future__ import annotations

import html
import io
import re
import shlex
from collections.abc import Iterable
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from ..model.decision import Decision, Finding, Outcome
from ..model.decision import notice as decision_notice
from ..model.explanation import ItemTrace, ParamRead, RuleTrace, Suggestion, TraceNode
from .fmt import display_json
from .whatif import WhatIf

VERDICT_WORD = {"true": "TRUE", "false": "FALSE", "unknown": "UNKNOWN"}
DECISIVE = "»"
STATUS_TEXT = {
    "fired": "applied: its condition is true",
    "unknown": "could not be decided: a fact it needs is missing",
    "not_fired": "did not apply",
}
OUTCOME_STYLE = {
    "REJECT": "bold red",
    "REFER": "bold yellow",
    "NO_RULES_IN_FORCE": "bold yellow",
    "REQUIRE_DOCUMENTS": "bold magenta",
    "APPROVE_WITH_CONDITIONS": "bold cyan",
    "APPROVE": "bold green",
    "INFO": "dim",
}
VERDICT_STYLE = {"true": "green", "false": "red", "unknown": "magenta"}
LEGEND = (
    f"{DECISIVE} marks what made the difference. TRUE / FALSE / UNKNOWN is each "
    "sub-condition's verdict; UNKNOWN means a fact it needs is absent."
)


# -- shared pieces ---------------------------------------------------------------------------


def _traces(decision: Decision) -> tuple[list[tuple[Finding, RuleTrace | None]], list[RuleTrace]]:
    """(finding, its trace) pairs, and the traces of rules asked about that did not fire."""
    explanation = decision.explanation
    by_id = {r.rule_id: r for r in explanation.rules} if explanation else {}
    pairs = [(f, by_id.get(f.rule_id)) for f in decision.findings]
    fired = set(decision.fired)
    others = [r for r in by_id.values() if r.rule_id not in fired]
    return pairs, others


def _suggestion(decision: Decision, rule_id: str) -> Suggestion | None:
    return decision.explanation.suggestion(rule_id) if decision.explanation else None


def _node_line(node: TraceNode) -> tuple[str, str | None, str]:
    """(marker, verdict word or None, text with its value) for one tree node."""
    marker = DECISIVE if node.decisive else ""
    if node.verdict is not None:
        return marker, VERDICT_WORD[node.verdict], node.text
    if node.kind == "literal":
        return marker, None, node.text
    return marker, None, f"{node.text} = {node.value}"


def _item_line(item: ItemTrace) -> tuple[str, str | None, str]:
    marker = DECISIVE if item.decisive else ""
    name = item.path if item.label == item.path else f"{item.path} ({item.label})"
    if not item.included:
        return marker, None, f"{name}: excluded by the filter"
    if item.verdict is not None:
        return marker, VERDICT_WORD[item.verdict], f"item {name}"
    return marker, None, f"item {name} = {item.value}"


def _item_parts(item: ItemTrace) -> list[TraceNode]:
    parts = [item.where] if item.where is not None else []
    if item.body is not None and item.included:
        parts.append(item.body)
    return parts


def _param_window(param: ParamRead) -> str:
    end = param.effective_to.isoformat() if param.effective_to else "open"
    return f"{param.effective_from.isoformat()} to {end}"


def _citation(finding: Finding) -> str:
    c = finding.citation
    return f"{c.instrument}, {c.provision} [{c.confidence}]"


def whatif_command(decision: Decision, suggestion: Suggestion, file: str = "FILE") -> str:
    """The `vasp-rules whatif` command that replays a suggestion."""
    args = " ".join(f"--set {shlex.quote(a)}" for a in suggestion.set_arguments)
    return f"vasp-rules whatif {shlex.quote(file)} --as-of {decision.as_of.isoformat()} {args}"


def _suggestion_lines(decision: Decision, s: Suggestion) -> tuple[str, list[str]]:
    """A heading sentence and bullet lines for one suggestion."""
    if s.status == "clearable":
        after = f"; the decision would then be {s.outcome_after}" if s.outcome_after else ""
        extra = f" (it would add findings {', '.join(s.introduces)})" if s.introduces else ""
        head = f"Verified: these changes clear {s.rule_id}{after}{extra}."
        return head, [c.text for c in s.changes]
    if s.status == "not_clearable":
        return f"{s.rule_id} cannot be cleared by the applicant.", [s.reason or ""]
    return f"No verified change for {s.rule_id}.", [s.reason or ""]


# -- terminal (rich) ---------------------------------------------------------------------------


def _notice(notice: str | None) -> str:
    """The pack's disclaimer with what P, S and A mean (the tags alone without a pack)."""
    return notice if notice is not None else decision_notice("")


def text_renderables(
    decision: Decision, file: str = "FILE", notice: str | None = None
) -> list[RenderableType]:
    """The explanation as rich renderables (print them on any Console); `notice` is the
    pack's disclaimer (RulePack.disclaimer)."""
    out: list[RenderableType] = []
    head = Text()
    head.append("Decision ", style="bold")
    head.append(f"{decision.document_id} ({decision.document_kind}) as of ")
    head.append(decision.as_of.isoformat())
    head.append(": ")
    head.append(decision.outcome.value, style=OUTCOME_STYLE[decision.outcome.value])
    out.append(head)
    pack = decision.rulepack
    out.append(
        Text(
            f"Rule pack {pack.name} {pack.version} (sha256 {pack.sha256[:12]}...), "
            f"{decision.engine.name}",
            style="dim",
        )
    )
    if decision.regime_starts_on is not None:
        out.append(
            Text(
                f"The regime governing {decision.document_kind} documents is not in force on "
                f"{decision.as_of.isoformat()}: it starts on "
                f"{decision.regime_starts_on.isoformat()}. Nothing was checked.",
                style="yellow",
            )
        )
    elif decision.no_rules_in_force:
        out.append(Text("No rule of the pack applies to this kind on this date.", style="yellow"))
    pairs, others = _traces(decision)
    if not pairs:
        out.append(Text("No findings."))
    for number, (finding, trace) in enumerate(pairs, 1):
        out.append(Text(""))
        out.extend(_finding_text(decision, number, finding, trace, file))
    for trace in others:
        out.append(Text(""))
        out.extend(_why_not_text(trace))
    if decision.explanation is not None:
        out.append(Text(""))
        out.append(Text(LEGEND, style="dim"))
    out.append(Text(""))
    out.append(Text(_notice(notice), style="dim"))
    return out


def _finding_text(
    decision: Decision, number: int, finding: Finding, trace: RuleTrace | None, file: str
) -> list[RenderableType]:
    title = Text(f"{number}. {finding.rule_id} ", style="bold")
    title.append(finding.outcome.value, style=OUTCOME_STYLE[finding.outcome.value])
    title.append(f"  {finding.title}")
    body: list[RenderableType] = [
        Text(f"Reason: {finding.reason}"),
        Text(
            f"Citation: {_citation(finding)}" + (f" {url}" if (url := finding.citation.url) else "")
        ),
    ]
    if finding.missing:
        body.append(Text(f"Missing: {', '.join(finding.missing)}", style="magenta"))
    if trace is not None:
        body.extend(_trace_text(trace))
    suggestion = _suggestion(decision, finding.rule_id)
    if suggestion is not None:
        head, lines = _suggestion_lines(decision, suggestion)
        body.append(Text("What would clear it:", style="bold"))
        body.append(Padding(Text(head), (0, 0, 0, 2)))
        for line in lines:
            body.append(Padding(Text(f"- {line}"), (0, 0, 0, 4)))
        if suggestion.status == "clearable":
            command = Text(whatif_command(decision, suggestion, file), style="dim")
            body.append(Padding(command, (0, 0, 0, 4)))
    elif finding.outcome is not Outcome.INFO:
        body.append(Text(f"Remediation: {finding.remediation}"))
    return [title, Padding(Group(*body), (0, 0, 0, 3))]


def _why_not_text(trace: RuleTrace) -> list[RenderableType]:
    title = Text(f"{trace.rule_id} ", style="bold")
    title.append(f"{trace.title}: {STATUS_TEXT[trace.status]}")
    body: list[RenderableType] = [Text(f"Citation: {trace.citation}")]
    body.extend(_trace_text(trace))
    return [title, Padding(Group(*body), (0, 0, 0, 3))]


def _trace_text(trace: RuleTrace) -> list[RenderableType]:
    out: list[RenderableType] = []
    if trace.key_conditions:
        label = "Why" if trace.status != "not_fired" else "Why not"
        out.append(Text(f"{label}:", style="bold"))
        for key in trace.key_conditions:
            where = f"[{key.item}] " if key.item else ""
            values = "; ".join(f"{k} = {v}" for k, v in key.values.items())
            line = Text(f"  {DECISIVE} {where}{key.condition} is ")
            line.append(VERDICT_WORD[key.verdict], style=VERDICT_STYLE[key.verdict])
            if values:
                line.append(f"  ({values})", style="dim")
            out.append(line)
    if trace.reads:
        table = Table(title=None, show_edge=False, box=None, padding=(0, 2))
        table.add_column("Value read", no_wrap=True)
        table.add_column("")
        for path, value in trace.reads.items():
            table.add_row(Text(path), Text(display_json(value)))
        out.append(table)
    if trace.params:
        out.append(Text("  Parameters"))
        for p in trace.params:
            out.append(Text(f"    {p.label} = {p.display}"))
            source = f"{p.source} [{p.confidence}]" + (" (illustrative)" if p.illustrative else "")
            out.append(Text(f"      in force {_param_window(p)}; {source}", style="dim"))
    tree = Tree(Text("Condition", style="bold"), guide_style="dim")
    _rich_node(tree, trace.tree)
    out.append(tree)
    return out


def _rich_line(marker: str, verdict: str | None, text: str) -> Text:
    line = Text(f"{marker} " if marker else "  ")
    if verdict is not None:
        line.append(verdict, style=VERDICT_STYLE[verdict.lower()])
        line.append(" ")
    line.append(text)
    return line


def _rich_node(parent: Tree, node: TraceNode) -> None:
    branch = parent.add(_rich_line(*_node_line(node)))
    for child in node.children:
        _rich_node(branch, child)
    for item in node.items:
        sub = branch.add(_rich_line(*_item_line(item)))
        for part in _item_parts(item):
            _rich_node(sub, part)


#: Width of plain-text reports when none is given: lines are never wrapped.
UNWRAPPED = 10_000


def _plain(items: Iterable[RenderableType], width: int | None) -> str:
    """Renderables as plain text, no colour; unwrapped unless a width is given, and never with
    trailing spaces (so lines, and the commands in them, can be copied and grepped)."""
    console = Console(
        width=width or UNWRAPPED,
        soft_wrap=width is None,
        color_system=None,
        record=True,
        file=io.StringIO(),
    )
    for item in items:
        console.print(item)
    return "".join(line.rstrip() + "\n" for line in console.export_text().splitlines())


def render_text(
    decision: Decision, *, file: str = "FILE", width: int | None = None, notice: str | None = None
) -> str:
    """The terminal explanation as plain text (no colour), e.g. for `-o report.txt`: not
    wrapped unless `width` is given; `notice` is the pack's disclaimer."""
    return _plain(text_renderables(decision, file, notice), width)


def print_text(
    decision: Decision, console: Console, *, file: str = "FILE", notice: str | None = None
) -> None:
    for item in text_renderables(decision, file, notice):
        console.print(item)


# -- markdown ----------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!~])")


def _md(text: Any) -> str:
    """Inline Markdown text with every special character escaped (no HTML gets through)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _code(text: str) -> str:
    """A code span that survives any backticks and pipes in its text."""
    text = " ".join(text.split()).replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def render_markdown(decision: Decision, *, file: str = "FILE", notice: str | None = None) -> str:
    """A self-contained Markdown report; `notice` is the pack's disclaimer."""
    lines: list[str] = [
        f"# Decision explanation: {_md(decision.document_id)}",
        "",
        f"- **Outcome:** {decision.outcome.value}",
        f"- **Document:** {_md(decision.document_id)} ({decision.document_kind})",
        f"- **As of:** {decision.as_of.isoformat()}",
        f"- **Rule pack:** {_md(decision.rulepack.name)} {_md(decision.rulepack.version)} "
        f"(sha256 `{decision.rulepack.sha256}`)",
        f"- **Engine:** {_md(decision.engine.name)}",
        f"- **Input sha256:** `{decision.input_sha256}`",
        "",
    ]
    if decision.regime_starts_on is not None:
        lines += [
            f"The regime governing {decision.document_kind} documents is not in force on "
            f"{decision.as_of.isoformat()}: it starts on "
            f"{decision.regime_starts_on.isoformat()}. Nothing was checked.",
            "",
        ]
    pairs, others = _traces(decision)
    lines.append("## Findings")
    lines.append("")
    if not pairs:
        lines.append("No findings.")
        lines.append("")
    for number, (finding, trace) in enumerate(pairs, 1):
        lines.extend(_md_finding(decision, number, finding, trace, file))
    if others:
        lines.append("## Rules that did not apply")
        lines.append("")
        for trace in others:
            lines.append(f"### {_md(trace.rule_id)}: {_md(trace.title)}")
            lines.append("")
            lines.append(f"{_md(trace.rule_id)} {STATUS_TEXT[trace.status]}.")
            lines.append("")
            lines.append(f"- **Citation:** {_md(trace.citation)}")
            lines.append("")
            lines.extend(_md_trace(trace))
    if decision.explanation is not None:
        lines.append(f"_{_md(LEGEND)}_")
        lines.append("")
    lines.append(f"> {_md(_notice(notice))}")
    return "\n".join(lines).rstrip() + "\n"


def _md_finding(
    decision: Decision, number: int, finding: Finding, trace: RuleTrace | None, file: str
) -> list[str]:
    c = finding.citation
    cite = _md(_citation(finding))
    if c.url and _safe_url(c.url):
        cite += f" (<{c.url}>)"
    lines = [
        f"### {number}. {_md(finding.rule_id)} {finding.outcome.value}: {_md(finding.title)}",
        "",
        f"- **Reason:** {_md(finding.reason)}",
        f"- **Citation:** {cite}",
    ]
    if finding.missing:
        lines.append(f"- **Missing:** {', '.join(_code(m) for m in finding.missing)}")
    lines.append("")
    if trace is not None:
        lines.extend(_md_trace(trace))
    suggestion = _suggestion(decision, finding.rule_id)
    if suggestion is not None:
        head, items = _suggestion_lines(decision, suggestion)
        lines.append("#### What would clear it")
        lines.append("")
        lines.append(_md(head))
        lines.append("")
        lines.extend(f"- {_md(item)}" for item in items)
        lines.append("")
        if suggestion.status == "clearable":
            lines.append("```")
            lines.append(whatif_command(decision, suggestion, file).replace("```", "'''"))
            lines.append("```")
            lines.append("")
    elif finding.outcome is not Outcome.INFO:
        lines.append(f"**Remediation:** {_md(finding.remediation)}")
        lines.append("")
    return lines


def _md_trace(trace: RuleTrace) -> list[str]:
    lines: list[str] = []
    if trace.key_conditions:
        label = "Why" if trace.status != "not_fired" else "Why not"
        lines.append(f"#### {label}")
        lines.append("")
        for key in trace.key_conditions:
            where = f"\\[{_md(key.item)}\\] " if key.item else ""
            values = "; ".join(f"{_code(k)} = {_md(v)}" for k, v in key.values.items())
            lines.append(
                f"- {where}{_code(key.condition)} is **{VERDICT_WORD[key.verdict]}**"
                + (f" ({values})" if values else "")
            )
        lines.append("")
    if trace.reads:
        lines += ["#### Values read", "", "| Field | Value |", "|---|---|"]
        lines += [f"| {_code(p)} | {_md(display_json(v))} |" for p, v in trace.reads.items()]
        lines.append("")
    if trace.params:
        lines += [
            "#### Parameters",
            "",
            "| Parameter | Value | In force | Source | Confidence |",
            "|---|---|---|---|---|",
        ]
        for p in trace.params:
            source = _md(p.source) + (" (illustrative)" if p.illustrative else "")
            lines.append(
                f"| {_code(p.label)} | {_md(p.display)} | {_param_window(p)} | {source} "
                f"| {p.confidence} |"
            )
        lines.append("")
    lines.append("#### Condition")
    lines.append("")
    lines.extend(_md_node(trace.tree, 0))
    lines.append("")
    return lines


def _md_line(marker: str, verdict: str | None, text: str, depth: int, code: bool) -> str:
    indent = "  " * depth
    mark = f"{marker} " if marker else ""
    word = f"**{verdict}** " if verdict else ""
    return f"{indent}- {mark}{word}{_code(text) if code else _md(text)}"


def _md_node(node: TraceNode, depth: int) -> list[str]:
    lines = [_md_line(*_node_line(node), depth, True)]
    for child in node.children:
        lines.extend(_md_node(child, depth + 1))
    for item in node.items:
        lines.append(_md_line(*_item_line(item), depth + 1, False))
        for part in _item_parts(item):
            lines.extend(_md_node(part, depth + 2))
    return lines


# -- HTML ---------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:70rem;padding:0 1rem;color:#1d2330;line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{border-bottom:2px solid #dde3ea;padding-bottom:.2rem}
h3{margin-bottom:.3rem}h4{margin:1rem 0 .3rem;font-size:.95rem;color:#394150}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.5rem 0 1rem}
dl.meta dt{font-weight:600}dl.meta dd{margin:0}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:.3rem;font-size:.85rem;
font-weight:700;color:#fff;background:#56606e}
.o-REJECT{background:#b3261e}.o-REFER{background:#a36100}.o-NO_RULES_IN_FORCE{background:#a36100}.o-REQUIRE_DOCUMENTS{background:#7b3fa0}
.o-APPROVE_WITH_CONDITIONS{background:#00758f}.o-APPROVE{background:#2e7d32}
.o-INFO{background:#8a94a3}
article{border:1px solid #dde3ea;border-radius:.5rem;padding:.5rem 1rem 1rem;margin:1rem 0}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #dde3ea;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f5f8}code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.88rem;
background:#f3f5f8;padding:0 .2rem;border-radius:.2rem;word-break:break-word}
ul.tree,ul.tree ul{list-style:none;padding-left:1.2rem;margin:0}
ul.tree li{margin:.1rem 0}.decisive{font-weight:600}
.v{display:inline-block;min-width:5.2rem;font-size:.8rem;font-weight:700}
.v-TRUE{color:#2e7d32}.v-FALSE{color:#b3261e}.v-UNKNOWN{color:#7b3fa0}
.mark{color:#a36100}.muted{color:#6b7380}.fix{background:#f1f8f2;border-left:4px solid #2e7d32;
padding:.4rem .8rem}.nofix{background:#fbf3f2;border-left:4px solid #b3261e;padding:.4rem .8rem}
pre{background:#f3f5f8;padding:.5rem;overflow-x:auto;white-space:pre-wrap}
footer{margin-top:2rem;font-size:.85rem;color:#6b7380}
"""


def _h(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _safe_url(url: str) -> bool:
    return url.startswith(("https://", "http://"))


def _anchor(rule_id: str) -> str:
    return "rule-" + re.sub(r"[^A-Za-z0-9_-]", "_", rule_id)


def render_html(decision: Decision, *, file: str = "FILE", notice: str | None = None) -> str:
    """A self-contained HTML report (inline CSS, no scripts, no external resources); `notice`
    is the pack's disclaimer."""
    pairs, others = _traces(decision)
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Decision explanation: {_h(decision.document_id)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        "<header>",
        f"<h1>Decision explanation: {_h(decision.document_id)}</h1>",
        f'<p><span class="badge o-{_h(decision.outcome.value)}" id="outcome">'
        f"{_h(decision.outcome.value)}</span></p>",
        '<dl class="meta">',
    ]
    meta = [
        ("Document", f"{decision.document_id} ({decision.document_kind})"),
        ("As of", decision.as_of.isoformat()),
        ("Rule pack", f"{decision.rulepack.name} {decision.rulepack.version}"),
        ("Pack sha256", decision.rulepack.sha256),
        ("Input sha256", decision.input_sha256),
        ("Engine", decision.engine.name),
        ("Rules evaluated", ", ".join(decision.rules_evaluated) or "none"),
    ]
    if decision.regime_starts_on is not None:
        meta.append(("Regime starts on", decision.regime_starts_on.isoformat()))
    parts += [f"<dt>{_h(k)}</dt><dd>{_h(v)}</dd>" for k, v in meta]
    parts += ["</dl>", "</header>", '<section id="findings">', "<h2>Findings</h2>"]
    if not pairs:
        parts.append("<p>No findings.</p>")
    for number, (finding, trace) in enumerate(pairs, 1):
        parts.extend(_html_finding(decision, number, finding, trace, file))
    parts.append("</section>")
    if others:
        parts += ['<section id="why-not">', "<h2>Rules that did not apply</h2>"]
        for trace in others:
            parts.append(f'<article class="rule" id="{_anchor(trace.rule_id)}">')
            parts.append(f"<h3>{_h(trace.rule_id)}: {_h(trace.title)}</h3>")
            parts.append(f"<p>{_h(trace.rule_id)} {_h(STATUS_TEXT[trace.status])}.</p>")
            parts.append(f"<p><strong>Citation:</strong> {_h(trace.citation)}</p>")
            parts.extend(_html_trace(trace))
            parts.append("</article>")
        parts.append("</section>")
    parts.append("<footer>")
    if decision.explanation is not None:
        parts.append(f"<p>{_h(LEGEND)}</p>")
    parts.append(f'<p class="notice">{_h(_notice(notice))}</p>')
    parts.append(
        "<p>Generated by vasp-rules. Suggested changes were each verified by re-evaluating the "
        "changed document; they describe what the rules require, not legal advice.</p>"
    )
    parts += ["</footer>", "</main>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _html_finding(
    decision: Decision, number: int, finding: Finding, trace: RuleTrace | None, file: str
) -> list[str]:
    c = finding.citation
    cite = _h(_citation(finding))
    if c.url and _safe_url(c.url):
        cite += f' (<a href="{_h(c.url)}">{_h(c.url)}</a>)'
    out = [
        f'<article class="finding" id="{_anchor(finding.rule_id)}">',
        f"<h3>{number}. {_h(finding.rule_id)} "
        f'<span class="badge o-{_h(finding.outcome.value)}">{_h(finding.outcome.value)}</span> '
        f"{_h(finding.title)}</h3>",
        f'<p class="reason"><strong>Reason:</strong> {_h(finding.reason)}</p>',
        f'<p class="citation"><strong>Citation:</strong> {cite}</p>',
    ]
    if finding.missing:
        missing = ", ".join(f"<code>{_h(m)}</code>" for m in finding.missing)
        out.append(f'<p class="missing"><strong>Missing:</strong> {missing}</p>')
    if trace is not None:
        out.extend(_html_trace(trace))
    suggestion = _suggestion(decision, finding.rule_id)
    if suggestion is not None:
        head, items = _suggestion_lines(decision, suggestion)
        css = "fix" if suggestion.status == "clearable" else "nofix"
        out.append("<h4>What would clear it</h4>")
        out.append(f'<div class="{css} suggestion" data-status="{_h(suggestion.status)}">')
        out.append(f"<p>{_h(head)}</p>")
        out.append("<ul>" + "".join(f"<li>{_h(i)}</li>" for i in items) + "</ul>")
        if suggestion.status == "clearable":
            out.append(f"<pre>{_h(whatif_command(decision, suggestion, file))}</pre>")
        out.append("</div>")
    elif finding.outcome is not Outcome.INFO:
        out.append(f"<p><strong>Remediation:</strong> {_h(finding.remediation)}</p>")
    out.append("</article>")
    return out


def _html_trace(trace: RuleTrace) -> list[str]:
    out: list[str] = []
    if trace.key_conditions:
        label = "Why" if trace.status != "not_fired" else "Why not"
        out.append(f"<h4>{label}</h4>")
        out.append('<ul class="key">')
        for key in trace.key_conditions:
            where = f'<span class="muted">[{_h(key.item)}]</span> ' if key.item else ""
            values = "; ".join(f"<code>{_h(k)}</code> = {_h(v)}" for k, v in key.values.items())
            out.append(
                f"<li>{where}<code>{_h(key.condition)}</code> is "
                f'<span class="v v-{VERDICT_WORD[key.verdict]}">{VERDICT_WORD[key.verdict]}</span>'
                + (f" ({values})" if values else "")
                + "</li>"
            )
        out.append("</ul>")
    if trace.reads:
        out.append("<h4>Values read</h4>")
        out.append('<table class="reads"><thead><tr><th>Field</th><th>Value</th></tr></thead>')
        out.append("<tbody>")
        out += [
            f"<tr><td><code>{_h(p)}</code></td><td>{_h(display_json(v))}</td></tr>"
            for p, v in trace.reads.items()
        ]
        out.append("</tbody></table>")
    if trace.params:
        out.append("<h4>Parameters</h4>")
        out.append(
            '<table class="params"><thead><tr><th>Parameter</th><th>Value</th><th>In force</th>'
            "<th>Source</th><th>Confidence</th></tr></thead><tbody>"
        )
        for p in trace.params:
            source = _h(p.source)
            if p.url and _safe_url(p.url):
                source += f' (<a href="{_h(p.url)}">{_h(p.url)}</a>)'
            if p.illustrative:
                source += " <em>(illustrative)</em>"
            out.append(
                f"<tr><td><code>{_h(p.label)}</code></td><td>{_h(p.display)}</td>"
                f"<td>{_h(_param_window(p))}</td><td>{source}</td><td>{_h(p.confidence)}</td></tr>"
            )
        out.append("</tbody></table>")
    out.append("<h4>Condition</h4>")
    out.append('<ul class="tree">')
    out.extend(_html_node(trace.tree))
    out.append("</ul>")
    return out


def _html_line(marker: str, verdict: str | None, text: str, code: bool) -> str:
    css = ' class="decisive"' if marker else ""
    mark = f'<span class="mark" title="decisive">{_h(marker)}</span> ' if marker else ""
    word = f'<span class="v v-{verdict}">{verdict}</span> ' if verdict else ""
    body = f"<code>{_h(text)}</code>" if code else _h(text)
    return f"<li{css}>{mark}{word}{body}"


def _html_node(node: TraceNode) -> list[str]:
    out = [_html_line(*_node_line(node), True)]
    subs: list[str] = []
    for child in node.children:
        subs.extend(_html_node(child))
    for item in node.items:
        subs.append(_html_line(*_item_line(item), False))
        inner: list[str] = []
        for part in _item_parts(item):
            inner.extend(_html_node(part))
        if inner:
            subs.append("<ul>" + "".join(inner) + "</ul>")
        subs.append("</li>")
    if subs:
        out.append("<ul>" + "".join(subs) + "</ul>")
    out.append("</li>")
    return ["".join(out)]


# -- JSON ----------------------------------------------------------------------------------------


def render_json(decision: Decision) -> str:
    """The decision with its explanation, as canonical JSON."""
    return decision.to_json()


# -- what-if ---------------------------------------------------------------------------------------


def whatif_renderables(result: WhatIf, notice: str | None = None) -> list[RenderableType]:
    """The what-if difference as rich renderables, ending with `notice`, the pack's disclaimer
    (RulePack.disclaimer; the tags alone without one), as every output a person reads does."""
    before, after = result.before.outcome.value, result.after.outcome.value
    out: list[RenderableType] = []
    head = Text("What if ", style="bold")
    head.append(f"{result.before.document_id} ({result.before.document_kind}) as of ")
    head.append(result.before.as_of.isoformat())
    out.append(head)
    for text in result.assignments:
        out.append(Text(f"  set {text}"))
    line = Text("Outcome: ")
    line.append(before, style=OUTCOME_STYLE[before])
    line.append(" -> ")
    line.append(after, style=OUTCOME_STYLE[after])
    if before == after:
        line.append(" (unchanged)", style="dim")
    out.append(line)
    out.extend(_finding_list("Findings removed", result.removed))
    out.extend(_finding_list("Findings added", result.added))
    if result.changed:
        out.append(Text("Findings changed:", style="bold"))
        for change in result.changed:
            out.append(
                Text(
                    f"  {change.before.rule_id} {change.before.outcome.value} -> "
                    f"{change.after.outcome.value}: {change.after.reason}"
                )
            )
    if not (result.removed or result.added or result.changed):
        out.append(Text("No finding changed."))
    out.append(Text(""))
    out.append(Text(_notice(notice), style="dim"))
    return out


def _finding_list(title: str, findings: Iterable[Finding]) -> list[RenderableType]:
    items = list(findings)
    if not items:
        return []
    out: list[RenderableType] = [Text(f"{title}:", style="bold")]
    for f in items:
        line = Text(f"  {f.rule_id} ")
        line.append(f.outcome.value, style=OUTCOME_STYLE[f.outcome.value])
        line.append(f" {f.title}: {f.reason}")
        out.append(line)
    return out


def render_whatif_text(result: WhatIf, *, width: int | None = None) -> str:
    return _plain(whatif_renderables(result), width)


__all__ = [
    "print_text",
    "render_html",
    "render_json",
    "render_markdown",
    "render_text",
    "render_whatif_text",
    "text_renderables",
    "whatif_command",
    "whatif_renderables",
]
