"""The `vasp-rules` command line.

Exit codes: 0 success; 1 scenario failures (or coverage gaps when asked to fail on them);
2 invalid input, pack or scenario file, reported in one line (per problem), never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from . import __version__
from .analysis.cli import register as register_analysis
from .audit.cli import audit
from .catalogue import docs
from .cli_support import fail, handles_errors, parse_date
from .decision import Decision, Outcome
from .docfiles import read_document_file
from .entities.ivms101 import parse_ivms101_many
from .entities.registry import KINDS, json_schema
from .explain.cli import explain, whatif
from .pack.loader import PackError
from .rulepack import RulePack
from .scale.cli import run_stream, stream_options, wants_stream
from .scenarios import Coverage, PackCache, discover, load_cases, run_case
from .service.cli import serve

F = TypeVar("F", bound=Callable[..., Any])

OUTCOME_STYLE = {
    Outcome.REJECT: "bold red",
    Outcome.REFER: "bold yellow",
    Outcome.NO_RULES_IN_FORCE: "bold yellow",
    Outcome.REQUIRE_DOCUMENTS: "bold magenta",
    Outcome.APPROVE_WITH_CONDITIONS: "bold cyan",
    Outcome.APPROVE: "bold green",
    Outcome.INFO: "dim",
}


def read_documents(paths: Sequence[str]) -> list[dict[str, Any]]:
    """Documents from JSON or YAML files; a file may hold one document or a list of them."""
    documents: list[dict[str, Any]] = []
    for name in paths:
        documents.extend(read_document_file(name)[0])
    if not documents:
        fail("no documents given")
    return documents


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vasp-rules")
def main() -> None:
    """Explainable compliance rules for virtual-asset regulation."""


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--as-of", "as_of", required=True, help="Evaluation date, YYYY-MM-DD.")
@click.option("--pack", default="pk", show_default=True, help="Pack folder or bundled name.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--separate", is_flag=True, help="Evaluate each document alone (no batch rules).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Processes to spread a large batch over.",
)
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False),
    help="Record every decision into this audit log (SQLite).",
)
@click.option(
    "--input-format",
    "input_format",
    type=click.Choice(["document", "ivms101"]),
    default="document",
    show_default=True,
    help="ivms101: each file holds IVMS101 envelopes mapped to transfers (docs/ivms101.md).",
)
@stream_options
@handles_errors
def evaluate(
    files: tuple[str, ...],
    as_of: str,
    pack: str,
    fmt: str,
    separate: bool,
    workers: int,
    log_path: str | None,
    input_format: str,
    **stream: Any,
) -> None:
    """Evaluate documents (JSON or YAML) with a rule pack on a date. JSON Lines (FILE.jsonl,
    or - for standard input) are streamed: one decision per line, as they are made."""
    day = parse_date(as_of)
    rulepack = RulePack.load(pack)
    if wants_stream(files, stream["output"], stream["dask"]):
        if input_format != "document":
            fail("--input-format ivms101 is not streamed: give .json or YAML files")
        if log_path:
            fail("--log does not record streamed runs yet: give .json or YAML files")
        return run_stream(files, day, rulepack, workers=workers, batch=not separate, **stream)
    documents: list[Any] = read_documents(files)
    if input_format == "ivms101":
        documents = parse_ivms101_many(documents)
    decisions = _evaluate_with_progress(rulepack, documents, day, not separate, workers)
    if log_path:
        from .audit.cli import record_decisions

        record_decisions(
            log_path, list(zip(decisions, documents, strict=True)), rulepack, batch=not separate
        )
    if fmt == "json":
        if len(decisions) == 1:
            click.echo(decisions[0].to_json())
        else:
            click.echo("[\n" + ",\n".join(d.to_json() for d in decisions) + "\n]")
        return
    console = Console(soft_wrap=True)
    for decision in decisions:
        render_decision(console, decision)
    console.print(f"[dim]{rulepack.disclaimer}[/dim]", highlight=False)


def _evaluate_with_progress(
    pack: RulePack, documents: list[dict[str, Any]], day: date, batch: bool, workers: int
) -> list[Decision]:
    """Evaluate, showing a progress bar on a terminal for batches worth waiting for."""
    if len(documents) < 200 or not sys.stderr.isatty() or workers > 1:
        return pack.evaluate_many(documents, day, batch=batch, workers=workers)
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("evaluating", total=len(documents))
        return pack.evaluate_many(
            documents, day, batch=batch, on_decision=lambda _d: progress.advance(task)
        )


def render_decision(console: Console, decision: Decision) -> None:
    """A readable decision: outcome, then each finding with its reason, facts and citation."""
    style = OUTCOME_STYLE[decision.outcome]
    console.print(
        f"[bold]{decision.document_kind}[/bold] {decision.document_id}  "
        f"as of {decision.as_of}  ->  [{style}]{decision.outcome.value}[/{style}]"
    )
    if decision.regime_starts_on is not None:
        console.print(
            f"  [yellow]the regime governing {decision.document_kind} documents is not in force "
            f"on {decision.as_of}: it starts on {decision.regime_starts_on}; nothing was "
            "checked[/yellow]",
            highlight=False,
        )
    elif decision.no_rules_in_force:
        console.print(
            "  [yellow]no rule of the pack applies to this kind on this date: "
            "nothing was checked[/yellow]"
        )
    if not decision.findings:
        console.print(f"  no findings ({len(decision.rules_evaluated)} rules evaluated)")
    for f in decision.findings:
        fstyle = OUTCOME_STYLE[f.outcome]
        console.print(
            f"  [{fstyle}]{f.outcome.value:<23}[/{fstyle}] [bold]{f.rule_id}[/bold] "
            f"v{f.rule_version} {f.title}",
            highlight=False,
        )
        console.print(f"      {f.reason}", highlight=False)
        if f.missing:
            console.print(f"      missing: {', '.join(f.missing)}", highlight=False)
        c = f.citation
        console.print(
            f"      [dim]source: {c.instrument}, {c.provision} [{c.confidence}]"
            f"{' ' + c.url if c.url else ''}[/dim]",
            highlight=False,
        )
        console.print(f"      [green]to clear:[/green] {f.remediation}", highlight=False)
    console.print(
        f"  [dim]pack {decision.rulepack.name} {decision.rulepack.version} "
        f"({decision.rulepack.sha256[:12]}), input {decision.input_sha256[:12]}[/dim]"
    )
    console.print()


@main.command()
@click.argument("pack", default="pk")
@handles_errors
def check(pack: str) -> None:
    """Check a rule pack: files, schemas, conditions, parameters, engine limits. Every problem
    is listed on stdout (file:line [rule]: message); exit 2 if there is any."""
    try:
        rulepack = RulePack.load(pack, check_every_date=True)
    except PackError as exc:
        for issue in exc.issues:
            click.echo(str(issue))
        raise
    kinds: dict[str, set[str]] = {}
    for rule in rulepack.loaded.rules:  # a rule id counts once per kind it applies to
        kinds.setdefault(rule.kind, set()).add(rule.id)
    summary = ", ".join(f"{len(ids)} {k}" for k, ids in sorted(kinds.items()))
    click.echo(
        f"ok: pack {rulepack.name} {rulepack.version}: {len(rulepack.rule_ids())} rules "
        f"({summary}), {len(rulepack.loaded.params)} parameters, sha256 "
        f"{rulepack.sha256}"
    )
    for access in rulepack.batch_plan().unkeyed:
        click.echo(
            f"note: {access.rule_id} reads batch.{access.kind} with no key ({access.reason}): "
            f"scanned in full, O(n^2) per batch: {access.text}"
        )


@main.command(name="test")
@click.argument("paths", nargs=-1, required=True)
@click.option("--coverage", is_flag=True, help="Report, per rule, cases firing / not firing it.")
@click.option(
    "--coverage-json",
    type=click.Path(dir_okay=False),
    help="Also write the coverage as JSON to this file.",
)
@click.option(
    "--require-coverage",
    is_flag=True,
    help="Exit 1 if any rule in force is never fired or never seen not firing.",
)
@click.option("--pack", default=None, help="Pack for files that do not name one (default pk).")
@click.option("-q", "--quiet", is_flag=True, help="Print failures only.")
@handles_errors
def test_command(
    paths: tuple[str, ...],
    coverage: bool,
    coverage_json: str | None,
    require_coverage: bool,
    pack: str | None,
    quiet: bool,
) -> None:
    """Run scenario files (*.scenarios.yaml; folders are searched)."""
    files = discover([Path(p) for p in paths])
    if not files:
        fail("no *.scenarios.yaml files found")
    packs = PackCache()
    cov = Coverage()
    passed = failed = 0
    used_packs: set[str] = set()
    console = Console(soft_wrap=True, highlight=False)
    for file in files:
        cases = load_cases(file, pack)
        for case in cases:
            used_packs.add(case.pack)
            result = run_case(case, packs)
            cov.add(result)
            if result.passed:
                passed += 1
                if not quiet:
                    console.print(f"[green]PASS[/green] {file}::{case.name}")
            else:
                failed += 1
                console.print(f"[red]FAIL[/red] {file}::{case.name}")
                console.print(result.diff())
    gaps: list[str] = []
    if coverage or coverage_json or require_coverage:
        all_rules = sorted({r for ref in used_packs for r in packs.get(ref).rule_ids()})
        rows = cov.rows(all_rules)
        always = {r for ref in used_packs for r in packs.get(ref).always_rule_ids()}
        gaps = cov.gaps(all_rules, always)
        if coverage:
            table = Table(title="rule coverage")
            table.add_column("rule")
            table.add_column("cases firing", justify="right")
            table.add_column("cases not firing", justify="right")
            for rule_id, fired, quiet_n in rows:
                mark = "" if rule_id not in gaps else " [red]gap[/red]"
                mark += " (always)" if rule_id in always else ""
                table.add_row(rule_id + mark, str(fired), str(quiet_n))
            console.print(table)
            console.print(
                f"{len(all_rules) - len(gaps)}/{len(all_rules)} rules both fired and "
                "seen not firing"
            )
        if coverage_json:
            Path(coverage_json).write_text(
                json.dumps(
                    {
                        "rules": [{"rule_id": r, "fired": f, "not_fired": n} for r, f, n in rows],
                        "gaps": gaps,
                    },
                    indent=2,
                )
                + "\n",
                encoding="utf-8",
            )
    console.print(f"{passed} passed, {failed} failed")
    if failed or (require_coverage and gaps):
        if require_coverage and gaps:
            console.print(f"[red]coverage gaps:[/red] {', '.join(gaps)}")
        sys.exit(1)


@main.command()
@click.argument("kind", type=click.Choice(sorted(KINDS)))
@handles_errors
def schema(kind: str) -> None:
    """Print the JSON Schema of a document kind."""
    click.echo(json.dumps(json_schema(kind), indent=2, sort_keys=True))


# Commands that live with their feature packages.
for _command in (audit, docs, explain, whatif, serve):
    main.add_command(_command)
register_analysis(main)


if __name__ == "__main__":  # pragma: no cover
    main()
