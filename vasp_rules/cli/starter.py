"""`vasp-rules init DIR`: a starter folder to work in after `pip install`, with no checkout.

It holds the example documents (every kind; they ship in the wheel), a small pack of one's own
that extends nothing (`mypack/`), a scenario file for it (`scenarios/`) and a three-line README,
so `vasp-rules evaluate examples/*.json --as-of 2026-06-01` and `vasp-rules test scenarios` run
there as the docs show. The folder is written all at once or not at all: files are staged in a
temporary folder beside DIR and moved into place only once every one of them is written."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import click

from ..pack.discovery import shipped_folder
from .support import fail, handles_errors

_PACKAGE = Path(__file__).resolve().parent.parent
#: The starter's own files (pack, scenarios, README), package data.
TEMPLATES = _PACKAGE / "_starter"


def examples_root() -> Path:
    """The example documents: inside the installed package (the wheel copies the repository's
    `examples/*.json` there), or `examples/` of a source checkout."""
    found = shipped_folder("_examples", "examples")
    if found is None:
        raise FileNotFoundError("the example documents are not installed with vasp-rules")
    return found


def starter_files() -> dict[str, Path]:
    """Relative path in the starter folder -> the file it is copied from."""
    files = {
        path.relative_to(TEMPLATES).as_posix(): path
        for path in sorted(TEMPLATES.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
    for path in sorted(examples_root().glob("*.json")):
        files[f"examples/{path.name}"] = path
    return files


def write_starter(target: Path, force: bool = False) -> list[str]:
    """Write the starter folder at `target` (created if absent); return the files written.
    Refuses a non-empty folder unless `force` (then the starter's files replace any of the same
    names and other files stay). Raises FileExistsError or NotADirectoryError, writing nothing."""
    files = starter_files()
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"{target} exists and is not a folder")
    present = sorted(p.name for p in target.iterdir()) if target.is_dir() else []
    if present and not force:
        shown = ", ".join(present[:3]) + (", ..." if len(present) > 3 else "")
        raise FileExistsError(
            f"{target} is not empty ({shown}): choose a new folder, or --force to write the "
            "starter's files into it (replacing files of the same names)"
        )
    for rel in files:  # a folder where a file must go (or the reverse) would stop a move midway
        for parent in [*reversed(Path(rel).parents[:-1]), Path(rel)]:
            there = target / parent
            wanted_dir = parent != Path(rel)
            if there.exists() and there.is_dir() != wanted_dir:
                raise FileExistsError(f"{there} is in the way of the starter's {rel}")
    parent = target.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    stage = parent / f".vasp-rules-init-{secrets.token_hex(6)}"
    stage.mkdir()  # with the user's umask (mkdtemp's folder would be private)
    try:
        for rel, source in files.items():
            (stage / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, stage / rel)
        if not target.exists() or not present:
            if target.exists():
                target.rmdir()
            os.replace(stage, target)
        else:
            for rel in files:
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(stage / rel, target / rel)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)
    return list(files)


@click.command()
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=True, path_type=Path))
@click.option("--force", is_flag=True, help="Write into a folder that is not empty.")
@handles_errors
def init(folder: Path, force: bool) -> None:
    """Write a starter folder: example documents of every kind, a pack of your own (mypack/),
    a scenario file for it and a short README. Refuses a folder that is not empty unless
    --force; writes everything or nothing.

    \b
    Examples:
      vasp-rules init my-rules && cd my-rules
      vasp-rules evaluate examples/*.json --as-of 2026-06-01
      vasp-rules test scenarios
    """
    try:
        written = write_starter(folder, force)
    except (FileExistsError, NotADirectoryError, FileNotFoundError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{folder}: cannot write the starter folder: {exc.strerror or exc}")
    click.echo(f"wrote {len(written)} files to {folder}:")
    for rel in written:
        click.echo(f"  {rel}")
    click.echo("next:")
    click.echo(f"  cd {folder}")
    click.echo("  vasp-rules evaluate examples/*.json --as-of 2026-06-01")
    click.echo("  vasp-rules test scenarios")
