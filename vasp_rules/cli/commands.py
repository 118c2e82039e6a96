"""The `vasp-rules` command line.

Exit codes: 0 success; 1 scenario failures (or coverage gaps when asked to fail on them);
2 invalid input, pack or scenario file, reported in one line (per problem), never a traceback.
Conventions shared by every command live in cli/support.py (one spelling per option).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource
from rich.console import Console
from rich.table import Table

from ..model.decision import Decision, Outcome, make_notice
from ..pack.discovery import discover as discover_packs
from ..pack.loader import PackError, load_pack, pack_sha256
from ..runtime.rulepack import RulePack
from ..scale.progress import while_slow
from ..testing.scenarios import Coverage, PackCache, discover, load_cases, run_case
from .about import version_option
from .audit import audit
from .authoring import SCHEMA_KINDS, fmt_command, print_schema
from .bench import bench
from .catalogue import docs
from .check import run_check
from .monitor import monitor
from .scale import run_stream, stream_options, wants_stream
from .serve import serve
from .starter import init
from .support import (
    OneLineErrors,
    as_of_option,
    fail,
    format_option,
    handles_errors,
    input_format_option,
    log_keys_option,
    output_console,
    pack_error_line,
    pack_option,
    parse_date,
    parse_set_params,
    read_documents,
    set_param_option,
    width_option,
)

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


class _Commands(OneLineErrors):
    # z3 is imported only when a command that searches with it runs (or `--help` lists them)
    lazy = {
        "analyze": "vasp_rules.cli.analysis:analyze_command",
        "diff": "vasp_rules.cli.analysis:diff_command",
        "explain": "vasp_rules.cli.explain:explain",
        "whatif": "vasp_rules.cli.explain:whatif",
    }


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@version_option()
def main() -> None:
    """Explainable compliance rules for virtual-asset regulation.

    \b
    Examples:
      vasp-rules evaluate examples/*.json --as-of 2026-06-01
      vasp-rules explain examples/licence_application.json --as-of 2026-06-01
      vasp-rules packs

    \b
    Rule packs: --pack NAME names an installed pack (case-insensitive; see
    `vasp-rules packs`); a folder is given as a path (./mypack, rules/pk).
    Input files: .json, .jsonl/.ndjson (JSON Lines), .yaml/.yml, or - for
    standard input (JSON unless --input-format says otherwise).
    Text output to a pipe or file is never wrapped; --width sets it on a terminal.

    \b
    Exit codes:
      0  success
      1  scenario failures, coverage gaps asked for, or a log that fails verification
      2  invalid input, rule pack, option or log: one line on stderr, no traceback
         (`check` lists each problem of a pack, then the count)
    """


@main.command()
@click.argument("files", nargs=-1, required=True)
@as_of_option()
@pack_option()
@format_option("text", "json")
@click.option(
    "--batch/--separate",
    "batch",
    default=None,
    help="--batch (the default): all documents of all files form one batch, so cross-document "
    "rules relate them (one wallet declared twice...). --separate: each document alone.",
)
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
    help="Record every decision into this audit log (SQLite); personal data is sealed under "
    "keys kept in the key store LOG-keys beside it (see --keys).",
)
@log_keys_option()
@input_format_option()
@set_param_option()
@width_option()
@stream_options
@click.option(
    "--log-chunk",
    type=click.IntRange(1, 1_000_000),
    default=500,
    show_default=True,
    help="With --log: decisions per commit (a killed run keeps every committed chunk).",
)
@handles_errors
def evaluate(
    files: tuple[str, ...],
    as_of: str,
    pack: str,
    fmt: str,
    batch: bool | None,
    workers: int,
    log_path: str | None,
    log_keys: str | None,
    input_format: str | None,
    set_params: tuple[str, ...],
    width: int | None,
    log_chunk: int,
    **stream: Any,
) -> None:
    """Evaluate documents with a rule pack on a date: FILES are JSON, JSON Lines or YAML
    (- reads standard input); a file may hold one document or a list. JSON Lines input (and
    any run with -o or --dask) is streamed: one decision per line, written as they are made.

    \b
    Examples:
      vasp-rules evaluate examples/customer.json --as-of 2026-06-01
      vasp-rules evaluate examples/*.json --as-of 2026-06-01 --separate --format json
      vasp-rules evaluate transfers.jsonl --as-of 2026-06-01 -o decisions.jsonl
      cat transfers.jsonl | vasp-rules evaluate - --as-of 2026-06-01 -o -
      vasp-rules evaluate examples/licence_application.json --as-of 2026-06-01 \\
          --set-param noc_decision_days=90
    """
    day = parse_date(as_of)
    overrides = parse_set_params(set_params)
    if overrides and log_path:
        fail("--log records decisions of stock packs only; drop --set-param or --log")
    fmt_given = click.get_current_context().get_parameter_source("fmt") not in (
        ParameterSource.DEFAULT,
        None,
    )
    if wants_stream(files, input_format, fmt_given, stream["output"], stream["dask"]):
        if input_format not in (None, "jsonl"):
            fail(f"streamed runs read JSON Lines: drop --input-format {input_format} or -o")
        rulepack = _load_for(pack, overrides, day)
        return run_stream(
            files,
            day,
            rulepack,
            workers=workers,
            batch=batch is not False,
            log_path=log_path,
            log_keys=log_keys,
            log_chunk=log_chunk,
            **stream,
        )
    with while_slow("reading and validating the input"):
        documents: list[Any] = read_documents(files, input_format)  # before the pack
    together = batch is not False
    if batch is None and len(files) > 1 and len(documents) > 1:
        click.echo(
            f"note: the {len(documents)} documents of {len(files)} files are evaluated as one "
            "batch (cross-document rules relate them); --separate evaluates each alone",
            err=True,
        )
    rulepack = _load_for(pack, overrides, day)
    if log_path:
        decisions = _evaluate_logged(
            rulepack, documents, day, together, workers, log_path, log_chunk, log_keys
        )
    else:
        decisions = _evaluate_with_progress(rulepack, documents, day, together, workers)
    if fmt == "json":
        if len(decisions) == 1:
            click.echo(decisions[0].to_json())
        else:
            click.echo("[\n" + ",\n".join(d.to_json() for d in decisions) + "\n]")
        return
    console = output_console(width)
    for decision in decisions:
        render_decision(console, decision)
    console.print(f"[dim]{rulepack.disclaimer}[/dim]", highlight=False)


def _load_for(pack: str, overrides: dict[str, Any], day: date) -> RulePack:
    """The pack, compiled for `day`; on a terminal a line says so if it takes over a second."""
    with while_slow(f"loading rule pack {pack}"):
        rulepack = RulePack.load(pack, overrides=overrides)
        rulepack.compiled(day)
    return rulepack


def _evaluate_logged(
    pack: RulePack,
    documents: list[dict[str, Any]],
    day: date,
    batch: bool,
    workers: int,
    log_path: str,
    chunk: int,
    log_keys: str | None = None,
) -> list[Decision]:
    """Evaluate and record each decision as it is made, committing every `chunk` of them."""
    from ..audit.log import KEYS_BESIDE, DecisionLog

    with DecisionLog.open(log_path, write=True, keys=log_keys or KEYS_BESIDE) as log:
        with log.recorder(
            pack, total=len(documents), batch=batch, chunk=chunk, as_of=day
        ) as recorder:
            count = 0

            def record(decision: Decision) -> None:
                nonlocal count
                recorder.add(decision, documents[count])
                count += 1

            decisions = _evaluate_with_progress(pack, documents, day, batch, workers, record)
    return decisions


def _evaluate_with_progress(
    pack: RulePack,
    documents: list[dict[str, Any]],
    day: date,
    batch: bool,
    workers: int,
    on_decision: Callable[[Decision], None] | None = None,
) -> list[Decision]:
    """Evaluate, showing a progress bar on a terminal for batches worth waiting for."""
    if len(documents) < 200 or not sys.stderr.isatty():
        return pack.evaluate_many(
            documents, day, batch=batch, workers=workers, on_decision=on_decision
        )
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("evaluating", total=len(documents))

        def advance(decision: Decision) -> None:
            progress.advance(task)
            if on_decision is not None:
                on_decision(decision)

        return pack.evaluate_many(documents, day, batch=batch, workers=workers, on_decision=advance)


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
    if decision.persons:
        screened = "; ".join(f"{p.role} {p.name} ({p.path})" for p in decision.persons)
        console.print(f"  persons screened: {screened}", highlight=False)
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
    for o in decision.rulepack.overrides or []:
        since = f" from {o.effective_from}" if o.effective_from else ""
        console.print(
            f"  [yellow]parameter overridden for this run: {o.name} = "
            f"{json.dumps(o.value, ensure_ascii=False)}{since}[/yellow]",
            highlight=False,
        )
    console.print()


@main.command()
@click.argument("pack", metavar="[PACK]", default=None, required=False)
@pack_option(default=None, dest="pack_opt")
@set_param_option()
@format_option("text", "json")
@click.option("--strict", is_flag=True, help="Exit 1 when there are warnings.")
@handles_errors
def check(
    pack: str | None,
    pack_opt: str | None = None,
    set_params: tuple[str, ...] = (),
    fmt: str = "text",
    strict: bool = False,
) -> None:
    """Check a rule pack (default pk; given as PACK or --pack): files, schemas, conditions,
    parameters and their ranges (none may let date arithmetic overflow), engine limits; and
    warn of an optional field read without `is present`, or another installed pack's name
    and version kept by a changed copy. Problems go to stderr (file:line [rule]: message),
    the summary to stdout; --format json prints one report on stdout.

    \b
    Exit codes: 0 usable (warnings allowed); 1 warnings, with --strict; 2 an error.

    \b
    Examples:
      vasp-rules check pk
      vasp-rules check ./mypack --format json
      vasp-rules check --pack pk --set-param noc_decision_days=90
    """
    run_check(_one_pack(pack, pack_opt), parse_set_params(set_params), fmt, strict)


@main.command(name="test")
@click.argument("paths", nargs=-1, required=True)
@width_option()
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
@pack_option(default=None)
@click.option("-q", "--quiet", is_flag=True, help="Print failures only.")
@handles_errors
def test_command(
    paths: tuple[str, ...],
    width: int | None,
    coverage: bool,
    coverage_json: str | None,
    require_coverage: bool,
    pack: str | None,
    quiet: bool,
) -> None:
    """Run scenario files (*.scenarios.yaml; folders are searched). --pack is the pack for
    files that do not name one (default pk).

    \b
    Examples:
      vasp-rules test tests/scenarios
      vasp-rules test tests/scenarios/licensing.scenarios.yaml --coverage
    """
    files = discover([Path(p) for p in paths])
    if not files:
        fail("no *.scenarios.yaml files found")
    packs = PackCache()
    cov = Coverage()
    passed = failed = 0
    used_packs: set[str] = set()
    console = output_console(width)
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
@format_option("text", "json")
@handles_errors
def packs(fmt: str) -> None:
    """List the installed rule packs: name, version, sha256 and where each comes from (bundled
    with vasp-rules, or another distribution's `vasp_rules.packs` entry point).

    \b
    Examples:
      vasp-rules packs
      vasp-rules packs --format json
    """
    found = discover_packs()
    rows: list[dict[str, str]] = []
    for source in sorted(found.packs.values(), key=lambda s: s.name.lower()):
        try:
            loaded = load_pack(source.root)
            version, sha = loaded.manifest.version, pack_sha256(loaded.files)
            stated = make_notice(loaded.manifest.disclaimer)
            notice_id, notice_text = stated.id, stated.text
        except PackError as exc:
            version, sha = "-", f"unusable: {pack_error_line(exc)}"
            notice_id = notice_text = "-"
        rows.append(
            {
                "name": source.name,
                "version": version,
                "sha256": sha,
                "origin": source.origin,
                "path": str(source.root),
                "notice_id": notice_id,
                "notice": notice_text,
            }
        )
    for problem in found.problems:
        click.echo(f"warning: {problem}", err=True)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no rule packs installed")
    for row in rows:
        click.echo(f"{row['name']}  {row['version']}  sha256 {row['sha256']}")
        click.echo(f"    {row['origin']}: {row['path']}")


@main.command()
@click.argument("kind", type=click.Choice(SCHEMA_KINDS))
@handles_errors
def schema(kind: str) -> None:
    """Print the JSON Schema of a document kind, or of a file an author writes (pack, rule,
    parameters, scenario: see docs/authoring.md for the editor modeline).

    \b
    Examples:
      vasp-rules schema licence_application > licence_application.schema.json
      vasp-rules schema rule > rule.schema.json
    """
    print_schema(kind)


def _one_pack(positional: str | None, option: str | None) -> str:
    if positional is not None and option is not None and positional != option:
        fail(f"two packs given: {positional!r} and --pack {option!r}")
    return positional or option or "pk"


# Command groups in their own modules of cli/ (each calls its feature).
for _command in (audit, docs, serve, init, bench, fmt_command, monitor):
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
