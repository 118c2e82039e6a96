"""`vasp-rules fmt` and the file kinds of `vasp-rules schema`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..authoring.fmt import format_paths
from ..authoring.schemas import FILE_MODELS, file_schema
from ..entities.registry import KINDS, json_schema
from .support import fail, handles_errors


@click.command("fmt")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--check", "check_only", is_flag=True, help="Change nothing: list the files that would change."
)
@handles_errors
def fmt_command(paths: tuple[Path, ...], check_only: bool) -> None:
    """Format rule, parameter, pack and scenario files (YAML; folders are searched) in one
    canonical layout, keeping comments and the order of keys.

    \b
    Exit codes: 0 nothing to change (or all formatted); 1 with --check, some file would
    change (each is listed); 2 a file is not valid YAML (file:line: message).

    \b
    Examples:
      vasp-rules fmt rules/pk tests/scenarios
      vasp-rules fmt --check ./mypack
    """
    results = format_paths(paths, write=not check_only)
    if not results:
        fail("no YAML files found")
    broken = [r for r in results if r.error is not None]
    changed = [r for r in results if r.changed]
    for r in broken:
        click.echo(f"error: {r.problem()}", err=True)
    for r in changed:
        click.echo(f"{'would reformat' if check_only else 'reformatted'} {r.path}")
    kept = len(results) - len(changed) - len(broken)
    verb = "would be reformatted" if check_only else "reformatted"
    click.echo(f"{len(changed)} file(s) {verb}, {kept} unchanged", err=True)
    if broken:
        sys.exit(2)
    if check_only and changed:
        sys.exit(1)


SCHEMA_KINDS = sorted(KINDS) + sorted(FILE_MODELS)


def print_schema(kind: str) -> None:
    """A document kind's schema, or a file kind's (FILE_MODELS)."""
    schema = file_schema(kind) if kind in FILE_MODELS else json_schema(kind)
    click.echo(json.dumps(schema, indent=2, sort_keys=True))
