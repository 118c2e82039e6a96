"""`vasp-rules explain` and `vasp-rules whatif` (click commands; the main group registers them).

    vasp-rules explain FILE --as-of DATE [--pack PACK] [--rule ID ...]
                       [--format text|markdown|html|json] [-o OUTPUT] [--no-suggest]
    vasp-rules whatif FILE --set PATH=VALUE [--set ...] --as-of DATE [--pack PACK]
                      [--format text|json]

Both also take --input-format, --set-param NAME=VALUE and --width (see cli/support.py).

Exit codes: 0 ok; 2 invalid input (file, document, date, rule id, --set) or rule pack, with a
one-line error on stderr and no traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..core.canonical import pretty_json
from ..core.docfiles import display_name, read_document_file
from ..entities.registry import parse_document
from ..explain.api import explain as run_explain
from ..explain.render import (
    print_text,
    render_html,
    render_json,
    render_markdown,
    render_text,
    whatif_renderables,
)
from ..explain.whatif import whatif as run_whatif
from ..runtime.rulepack import RulePack
from .support import (
    Command,
    as_of_option,
    fail,
    format_option,
    handles_errors,
    input_format_option,
    output_console,
    pack_option,
    parse_date,
    parse_set_params,
    set_param_option,
    width_option,
)

F = TypeVar("F", bound=Callable[..., Any])


def read_document(name: str, fmt: str | None = None) -> dict[str, Any]:
    """One document from a file (`-`: standard input), decimals kept exact, validated (before
    any pack is loaded)."""
    documents, is_list = read_document_file(name, fmt)
    if is_list and len(documents) != 1:
        fail(
            f"{display_name(name)}: holds {len(documents)} documents; explain and whatif take "
            "one document"
        )
    parse_document(documents[0])  # a DocumentError names the field
    return documents[0]


_FILE = click.argument("file", metavar="FILE")
_AS_OF = as_of_option()
_PACK = pack_option()


@click.command("explain", cls=Command)
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
@input_format_option()
@set_param_option()
@width_option()
@handles_errors
def explain(
    file: str,
    as_of: str | None,
    pack: str,
    rules: tuple[str, ...],
    fmt: str,
    output: Path | None,
    no_suggest: bool,
    input_format: str | None,
    set_params: tuple[str, ...],
    width: int | None,
) -> None:
    """Explain the decision on the document in FILE: each finding with its reason, citation,
    the values and parameters it read, its condition tree, and verified changes that would
    clear it. --rule ID explains why a rule did not apply.

    \b
    Examples:
      vasp-rules explain examples/licence_application.json --as-of 2026-06-01
      vasp-rules explain examples/licence_application.json --as-of 2026-06-01 \\
          --rule LIC-07 --format html -o report.html
    """
    day = parse_date(as_of)
    overrides = parse_set_params(set_params)
    document = read_document(file, input_format)
    rule_pack = RulePack.load(pack, overrides=overrides)
    decision = run_explain(rule_pack, document, day, rules=rules, suggest=not no_suggest)
    if fmt == "text" and output is None:
        print_text(decision, output_console(width), file=file, notice=rule_pack.disclaimer)
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


@click.command("whatif", cls=Command)
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
@format_option("text", "json")
@input_format_option()
@set_param_option()
@width_option()
@handles_errors
def whatif(
    file: str,
    assignments: tuple[str, ...],
    as_of: str | None,
    pack: str,
    fmt: str,
    input_format: str | None,
    set_params: tuple[str, ...],
    width: int | None,
) -> None:
    """Evaluate the document in FILE as it is and with the --set changes, and show the
    difference: findings added and removed, outcome before and after.

    \b
    Example:
      vasp-rules whatif examples/licence_application.json --as-of 2026-06-01 \\
          --set firm.people[1].outsourced=true
    """
    if not assignments:
        fail("give at least one --set PATH=VALUE")
    day = parse_date(as_of)
    overrides = parse_set_params(set_params)
    document = read_document(file, input_format)
    rule_pack = RulePack.load(pack, overrides=overrides)
    result = run_whatif(rule_pack, document, list(assignments), day)
    if fmt == "json":
        click.echo(pretty_json(result.summary()))
        return
    console = output_console(width)
    for item in whatif_renderables(result, rule_pack.disclaimer):
        console.print(item)


__all__ = ["explain", "read_document", "whatif"]
