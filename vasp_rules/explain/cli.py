"""`vasp-rules explain` and `vasp-rules whatif` (click commands; the main group registers them).

    vasp-rules explain FILE --as-of DATE [--pack PACK] [--rule ID ...]
                       [--format text|markdown|html|json] [-o OUTPUT] [--no-suggest]
    vasp-rules whatif FILE --set PATH=VALUE [--set ...] --as-of DATE [--pack PACK]
                      [--format text|json]

Exit codes: 0 ok; 2 invalid input (file, document, date, rule id, --set) or rule pack, with a
one-line error on stderr and no traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from ..cli_support import fail, handles_errors, parse_date
from ..docfiles import read_document_file
from ..rulepack import RulePack
from .api import explain as run_explain
from .render import (
    print_text,
    render_html,
    render_json,
    render_markdown,
    render_text,
    whatif_renderables,
)
from .whatif import whatif as run_whatif

F = TypeVar("F", bound=Callable[..., Any])


def read_document(name: str) -> dict[str, Any]:
    """One document from a JSON or YAML file (decimals kept exact)."""
    documents, is_list = read_document_file(name)
    if is_list:
        fail(f"{name}: holds {len(documents)} documents; explain and whatif take one document")
    return documents[0]


_FILE = click.argument("file", metavar="FILE")
_AS_OF = click.option("--as-of", "as_of", metavar="DATE", help="Evaluation date, YYYY-MM-DD.")
_PACK = click.option(
    "--pack", default="pk", show_default=True, help="Rule pack folder or bundled name."
)


@click.command("explain")
@_FILE
@_AS_OF
@_PACK
@click.option(
    "--rule",
    "rules",
    multiple=True,
    metavar="ID",
    help="Also explain this rule (why it did or did not apply); repeatable.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "html", "json"]),
    default="text",
    show_default=True,
    help="text for the terminal; markdown or html for a report; json for tools.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to this file instead of standard output.",
)
@click.option("--no-suggest", is_flag=True, help="Do not look for changes that would clear.")
@handles_errors
def explain(
    file: str,
    as_of: str | None,
    pack: str,
    rules: tuple[str, ...],
    fmt: str,
    output: Path | None,
    no_suggest: bool,
) -> None:
    """Explain the decision on the document in FILE: each finding with its reason, citation,
    the values and parameters it read, its condition tree, and verified changes that would
    clear it. --rule ID explains why a rule did not apply."""
    day = parse_date(as_of)
    document = read_document(file)
    rule_pack = RulePack.load(pack)
    decision = run_explain(rule_pack, document, day, rules=rules, suggest=not no_suggest)
    if fmt == "text" and output is None:
        print_text(decision, Console(highlight=False), file=file, notice=rule_pack.disclaimer)
        return
    if fmt == "text":
        report = render_text(decision, file=file, notice=rule_pack.disclaimer)
    elif fmt == "markdown":
        report = render_markdown(decision, file=file, notice=rule_pack.disclaimer)
    elif fmt == "html":
        report = render_html(decision, file=file, notice=rule_pack.disclaimer)
    else:
        report = render_json(decision) + "\n"
    if output is None:
        click.echo(report, nl=False)
    else:
        output.write_text(report, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


@click.command("whatif")
@_FILE
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="PATH=VALUE",
    help="Change one field, e.g. firm.people[1].outsourced=false (null removes it); repeatable.",
)
@_AS_OF
@_PACK
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@handles_errors
def whatif(file: str, assignments: tuple[str, ...], as_of: str | None, pack: str, fmt: str) -> None:
    """Evaluate the document in FILE as it is and with the --set changes, and show the
    difference: findings added and removed, outcome before and after."""
    if not assignments:
        fail("give at least one --set PATH=VALUE")
    day = parse_date(as_of)
    document = read_document(file)
    rule_pack = RulePack.load(pack)
    result = run_whatif(rule_pack, document, list(assignments), day)
    if fmt == "json":
        click.echo(json.dumps(result.summary(), indent=2, sort_keys=True, ensure_ascii=False))
        return
    console = Console(highlight=False)
    for item in whatif_renderables(result):
        console.print(item)


__all__ = ["explain", "read_document", "whatif"]
