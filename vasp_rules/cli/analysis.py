"""`vasp-rules analyze` and `vasp-rules diff`.

analyze exits 0 when nothing is found (or nothing new, with --baseline; or a baseline was
written), 1 when something (new) is, 2 on bad input.
diff exits 0 when the two sides decide every document alike (proved, or over the population),
1 when some document is decided differently (or equivalence could not be proved), 2 on bad input.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from ..analysis.analyze import Analysis, analyze
from ..analysis.baseline import apply_baseline, read_baseline
from ..analysis.baseline import write_baseline as write_baseline_file
from ..analysis.diff import DiffResult, Side, diff
from ..analysis.impact import impact, render_html, render_text
from ..core.docfiles import display_name, read_document_file
from ..entities.registry import KINDS, DocumentError, parse_document
from ..runtime.rulepack import RulePack
from ..solver.schema import decimal_text
from ..solver.symbolic import DEFAULT_BOUND
from .support import fail, handles_errors, parse_date, parse_set_params, set_param_option

_FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
_BOUND = click.option(
    "--list-bound",
    "bound",
    type=click.IntRange(0, 8),
    default=DEFAULT_BOUND,
    show_default=True,
    help="Most items a list may hold in the symbolic model (quantifiers are unrolled).",
)


@click.command("analyze")
@click.argument("pack")
@click.option(
    "--on", "on", metavar="DATE", required=True, help="Date whose rules are analysed, YYYY-MM-DD."
)
@_FORMAT
@_BOUND
@click.option(
    "--baseline",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Accept the findings this file lists (written by --write-baseline): exit 1 only on "
    "new ones.",
)
@click.option(
    "--write-baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every finding to this file, as a baseline to accept them.",
)
@handles_errors
def analyze_command(
    pack: str,
    on: str,
    fmt: str,
    bound: int,
    baseline: Path | None = None,
    write_baseline: Path | None = None,
) -> None:
    """Find dead, always-firing, redundant and undecidable rules of PACK on a date, and gaps
    or overlaps in its parameters' timeline.

    \b
    Examples:
      vasp-rules analyze pk --on 2026-06-01
      vasp-rules analyze pk --on 2026-06-01 --write-baseline analysis-baseline.json
      vasp-rules analyze ./mypack --on 2026-06-01 --baseline analysis-baseline.json
    """
    day = parse_date(on, "--on")
    known = read_baseline(baseline) if baseline is not None else None  # before the long part
    rule_pack = RulePack.load(pack)
    result = analyze(rule_pack, day, bound=bound)
    if write_baseline is not None:
        count = write_baseline_file(result, write_baseline)
        click.echo(f"wrote {write_baseline} ({count} findings accepted)", err=True)
    accepted, stale = 0, list[dict[str, str]]()
    if known is not None:
        result, accepted, stale = apply_baseline(result, known)
    if fmt == "json":
        report = result.to_json()
        if known is not None:
            report["baseline"] = {"file": str(baseline), "accepted": accepted, "stale": stale}
        click.echo(json.dumps(report, indent=2, sort_keys=True))
    else:
        text = _analysis_text(result, rule_pack.name)
        if known is not None:
            text += f"\nbaseline {baseline}: {accepted} known finding(s) accepted\n"
            for entry in stale:
                text += "  no longer found (may leave the baseline): " + json.dumps(entry) + "\n"
        click.echo(text, nl=False)
    sys.exit(1 if result.found and write_baseline is None else 0)


def _analysis_text(result: Analysis, name: str) -> str:
    lines = [f"analysis of {name} on {result.on} (lists of at most {result.bound} items)"]
    for kind, rep in sorted(result.kinds.items()):
        lines.append(f"\n{kind}")
        if not rep.findings() and not rep.unknown:
            lines.append("  nothing found")
        for label, ids in (
            ("dead (no valid document makes it fire)", rep.dead),
            ("always fires (on every valid document)", rep.always),
            ("never decided (a fact or parameter is always missing)", rep.undecidable),
        ):
            for rid in ids:
                lines.append(f"  {rid}: {label}")
        for pair in rep.redundant:
            lines.append(
                f"  {pair['rule']}: redundant (whenever it fires, {pair['implied_by']} fires "
                "with the same or a more severe outcome)"
            )
        for rid in rep.unknown:
            lines.append(f"  {rid}: unknown, not analysed ({rep.why_unknown.get(rid, '')})")
    if result.timeline:
        lines.append("\ntimeline")
        for item in result.timeline:
            what = "no value" if item["type"] == "parameter_gap" else "two values overlap"
            lines.append(f"  {item['parameter']}: {what} from {item['from']} to {item['to']}")
    return "\n".join(lines) + "\n"


@click.command("diff")
@click.argument("old")
@click.argument("new", required=False)
@click.option("--on", "on", metavar="DATE", required=True, help="Evaluation date, YYYY-MM-DD.")
@click.option(
    "--new-on",
    "new_on",
    metavar="DATE",
    help="Evaluate NEW on this date instead (compare two dates; NEW defaults to OLD).",
)
@click.option("--kind", "kinds", multiple=True, type=click.Choice(sorted(KINDS)))
@click.option(
    "--witnesses",
    type=click.IntRange(1, 50),
    default=3,
    show_default=True,
    help="Witness documents per kind.",
)
@click.option(
    "--base",
    "bases",
    multiple=True,
    metavar="DOC",
    help="A realistic document (JSON or YAML file; one per kind, repeatable): witnesses of its "
    "kind are grown from it, keeping its values wherever the difference allows.",
)
@click.option(
    "--population",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON Lines file of documents: report the impact on them instead.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "html"]),
    default="text",
    show_default=True,
    help="html: a report with the transition matrix drawn (with --population).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to this file instead of standard output.",
)
@set_param_option()
@_BOUND
@handles_errors
def diff_command(
    old: str,
    new: str | None,
    on: str,
    new_on: str | None,
    kinds: tuple[str, ...],
    witnesses: int,
    bases: tuple[str, ...],
    population: Path | None,
    fmt: str,
    output: Path | None,
    set_params: tuple[str, ...],
    bound: int,
) -> None:
    """Whether any valid document is decided differently by OLD and NEW (packs, one pack on
    two dates with --new-on, or a pack and itself with --set-param overrides), with witness
    documents confirmed by the engine; or, with
    --population, the impact of the change on those documents.

    \b
    Examples:
      vasp-rules diff pk ./my-pack --on 2026-06-01
      vasp-rules diff pk --on 2026-06-01 --new-on 2026-07-20
      vasp-rules diff pk ./my-pack --on 2026-06-01 --base examples/transfer.json
      vasp-rules diff pk --on 2026-06-01 \\
          --set-param "ctr_threshold={amount: 1000000, currency: PKR}"
      vasp-rules diff pk ./my-pack --on 2026-06-01 --population docs.jsonl --format html \\
          -o impact.html
    """
    day = parse_date(on, "--on")
    day_new = parse_date(new_on, "--new-on") if new_on else day
    overrides = parse_set_params(set_params)
    base = read_bases(bases)
    if base and population is not None:
        fail("--base grows witnesses; with --population there are none: drop one")
    old_pack = RulePack.load(old)
    if overrides:  # NEW (or OLD itself) with the parameters changed, like a reform
        new_pack = RulePack.load(new or old, overrides=overrides)
    else:
        new_pack = RulePack.load(new) if new is not None and new != old else old_pack
    changed = "".join(f" --set-param {t}" for t in set_params)
    sides = Side(old_pack, day), Side(new_pack, day_new)
    title = f"{old} on {day} -> {new or old}{changed} on {day_new}"
    if population is not None:
        notices = [old_pack.disclaimer, new_pack.disclaimer]  # each stated once
        result = impact(*sides, population, progress=_progress)
        if result.total >= 1000:
            click.echo("", err=True)
        if fmt == "json":
            dates = {"on": day.isoformat()}
            if day_new != day:
                dates["new_on"] = day_new.isoformat()
            report = json.dumps({**dates, **result.to_json()}, indent=2)
        elif fmt == "html":
            report = render_html(result, "Impact: " + title, notices)
        else:
            report = render_text(result, "impact of " + title, notices)
        _write(report, output)
        sys.exit(1 if result.changed else 0)
    if fmt == "html":
        fail("--format html needs --population")
    answer = diff(*sides, kinds=kinds or None, witnesses=witnesses, bound=bound, base=base)
    if fmt == "json":
        _write(json.dumps(answer.to_json(), indent=2, sort_keys=True), output)
    else:
        _write(_diff_text(answer, title), output)
    sys.exit(0 if answer.equivalent else 1)


def read_bases(names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """kind -> base document, each validated (a bad one is one `error:` line naming it)."""
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        docs, _ = read_document_file(name)
        for doc in docs:
            try:
                parse_document(doc)
            except DocumentError as exc:
                problems = "; ".join(f"{p or '<document>'}: {t}" for p, t in exc.errors)
                fail(f"{display_name(name)}: invalid --base document: {problems}")
            kind = str(doc["kind"])
            if kind in out:
                fail(f"--base: two {kind} documents; give one per kind")
            out[kind] = json.loads(json.dumps(doc, default=_json_default))
    return out


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _progress(count: int) -> None:
    if count >= 1000:
        click.echo(f"\r{count} documents", err=True, nl=False)


def _write(report: str, output: Path | None) -> None:
    if not report.endswith("\n"):
        report += "\n"
    if output is None:
        click.echo(report, nl=False)
    else:
        output.write_text(report, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


def _diff_text(result: DiffResult, title: str) -> str:
    lines = [f"diff {title}"]
    if result.equivalent:
        lines.append(
            f"equivalent: every valid document of {', '.join(result.kinds)} is decided "
            "alike (documents evaluated alone)"
        )
    for kind, why in sorted(result.undetermined.items()):
        lines.append(f"{kind}: not proved equivalent and no witness confirmed ({why})")
    for w in result.witnesses:
        j = w.to_json()
        lines.append("")
        lines.append(f"{w.kind} decided differently:")
        lines.append(f"  old: {j['old']['outcome']}  fired {', '.join(j['old']['fired']) or '-'}")
        lines.append(f"  new: {j['new']['outcome']}  fired {', '.join(j['new']['fired']) or '-'}")
        for rid, side, facts, missing in w.changes():
            where = {"old": "fires with OLD only", "new": "fires with NEW only"}.get(
                side, "fires with another outcome"
            )
            read = ", ".join(f"{k} = {json.dumps(v)}" for k, v in sorted(facts.items()))
            lines.append(f"  {rid} {where}: read {read or 'nothing'}")
            if missing:
                lines.append(f"    missing: {', '.join(missing)}")
        lines.append("  document: " + json.dumps(w.document, sort_keys=True))
    return "\n".join(lines) + "\n"


__all__ = ["analyze_command", "diff_command"]
