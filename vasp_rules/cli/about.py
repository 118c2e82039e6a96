"""`vasp-rules --version`: what a decision depends on besides its input. The library's version,
the engines and validator it runs on (durable-rules, z3, pydantic) and the bundled packs with
their sha256, so a bug report or an audit can name the exact build."""

from __future__ import annotations

import platform
from collections.abc import Callable
from importlib import metadata
from typing import Any, TypeVar

import click

from ..core.version import __version__

F = TypeVar("F", bound=Callable[..., Any])

#: Distributions whose versions change decisions or their checks, as (shown name, distribution).
DEPENDENCIES = (
    ("durable-rules", "durable-rules"),
    ("z3", "z3-solver"),
    ("pydantic", "pydantic"),
)


def _installed(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def version_lines() -> list[str]:
    """The report's lines: library, dependencies, Python, then each bundled pack."""
    from ..pack.discovery import bundled_root
    from ..pack.loader import PackError, load_pack, pack_sha256

    lines = [f"vasp-rules {__version__}"]
    lines += [f"{shown} {_installed(dist)}" for shown, dist in DEPENDENCIES]
    lines.append(f"python {platform.python_version()}")
    root = bundled_root()
    folders = sorted(p for p in root.iterdir() if (p / "pack.yaml").is_file()) if root else []
    lines.append("bundled packs:" if folders else "bundled packs: none")
    for folder in folders:
        try:
            loaded = load_pack(folder)
            lines.append(
                f"  {folder.name} {loaded.manifest.version} sha256 {pack_sha256(loaded.files)}"
            )
        except PackError as exc:
            lines.append(f"  {folder.name} unusable: {len(exc.issues)} problem(s)")
    return lines


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo("\n".join(version_lines()))
    ctx.exit()


def version_option() -> Callable[[F], F]:
    """`--version`: print :func:`version_lines` and exit."""
    return click.option(
        "--version",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_print_version,
        help="Show the versions of vasp-rules, its engines and its bundled packs, and exit.",
    )
