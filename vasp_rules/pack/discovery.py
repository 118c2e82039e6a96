"""Finding rule packs: a folder path, a pack bundled with vasp-rules, or a pack another installed
distribution registers in the ``vasp_rules.packs`` entry-point group.

A bare name (``pk``, ``PK``) is looked up among installed packs only, case-insensitively; it never
means a folder of the current directory. A folder is named as a path (``./pk``, ``rules/pk``,
``/srv/packs/pk`` or a :class:`pathlib.Path`).

A distribution ships a pack by declaring, in its ``pyproject.toml``::

    [project.entry-points."vasp_rules.packs"]
    xx = "vasp_rules_xx"            # a package whose folder holds pack.yaml

The entry point may name a module or package (its folder is the pack), or an object that is a
path, or a function returning one.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from ..core.version import __version__
from .loader import PackError, PackIssue

ENTRY_POINT_GROUP = "vasp_rules.packs"

_PACKAGE = Path(__file__).resolve().parent.parent
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def shipped_folder(inside: str, beside: str) -> Path | None:
    """A folder of the repository that the wheel copies into the package (setup.py): the
    installed package's `inside`, or else `beside` of a source checkout; None if neither."""
    installed = _PACKAGE / inside
    if installed.is_dir():
        return installed
    checkout = _PACKAGE.parent / beside
    if checkout.is_dir() and (_PACKAGE.parent / "pyproject.toml").is_file():
        return checkout
    return None


def bundled_root() -> Path | None:
    """Where the packs bundled with vasp-rules live: inside the installed package (the wheel
    maps the repository's top-level ``rules/`` there), or ``rules/`` of a source checkout."""
    return shipped_folder("_packs", "rules")


@dataclass(frozen=True)
class PackSource:
    """An installed pack: its registered name, its folder and where it comes from."""

    name: str
    root: Path
    origin: str


@dataclass(frozen=True)
class Discovery:
    packs: dict[str, PackSource]  # lower-case name -> source
    problems: list[str]  # entry points that could not be used


def discover() -> Discovery:
    """Every installed pack: bundled ones first, then entry points (a name taken by an earlier
    pack is reported as a problem, not used)."""
    packs: dict[str, PackSource] = {}
    problems: list[str] = []
    root = bundled_root()
    if root is not None:
        for folder in sorted(root.iterdir()):
            if (folder / "pack.yaml").is_file():
                packs[folder.name.lower()] = PackSource(
                    folder.name, folder, f"bundled with vasp-rules {__version__}"
                )
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = getattr(ep, "dist", None)
        origin = (
            f"distribution {dist.name} {dist.version}" if dist is not None else "entry point"
        ) + f" ({ENTRY_POINT_GROUP}: {ep.name} = {ep.value})"
        key = ep.name.lower()
        if key in packs:
            problems.append(f"pack {ep.name!r} from {origin} ignored: {packs[key].origin} has it")
            continue
        try:
            folder = _folder_of(ep.load())
        except Exception as exc:  # a broken third-party distribution must not break the others
            problems.append(f"pack {ep.name!r} from {origin} unusable: {exc}")
            continue
        if not (folder / "pack.yaml").is_file():
            problems.append(f"pack {ep.name!r} from {origin}: {folder} holds no pack.yaml")
            continue
        packs[key] = PackSource(ep.name, folder, origin)
    return Discovery(packs, problems)


def _folder_of(target: Any) -> Path:
    if isinstance(target, ModuleType):
        paths = list(getattr(target, "__path__", []))
        if paths:
            return Path(paths[0])
        if target.__file__:
            return Path(target.__file__).parent
        raise ValueError(f"module {target.__name__} has no folder")
    if callable(target):
        target = target()
    if isinstance(target, str | os.PathLike):
        return Path(target)
    raise ValueError(f"expected a folder path, got {type(target).__name__}")


def is_path(name_or_path: str | os.PathLike[str]) -> bool:
    """Whether the text names a folder rather than an installed pack."""
    return not isinstance(name_or_path, str) or _NAME.fullmatch(name_or_path) is None


def find_pack(name_or_path: str | os.PathLike[str]) -> Path:
    """The folder of a pack: a path (which must be a pack folder), or an installed pack's name
    (case-insensitive). Raises PackError naming the packs that exist."""
    if is_path(name_or_path):
        path = Path(name_or_path).expanduser()
        if not path.is_dir():
            raise PackError([PackIssue(str(name_or_path), None, None, "no such rule pack folder")])
        if not (path / "pack.yaml").is_file():
            raise PackError(
                [
                    PackIssue(
                        str(name_or_path),
                        None,
                        None,
                        "not a rule pack folder: every pack needs a pack.yaml manifest",
                    )
                ]
            )
        return path.resolve()
    name = str(name_or_path)
    found = discover().packs
    source = found.get(name.lower())
    if source is not None:
        return source.root
    installed = ", ".join(sorted(s.name for s in found.values())) or "none"
    hint = f"; for the folder ./{name}, write ./{name}" if Path(name).is_dir() else ""
    raise PackError(
        [
            PackIssue(
                name,
                None,
                None,
                f"no such rule pack (installed: {installed}; or give a folder path){hint}",
            )
        ]
    )


__all__ = ["ENTRY_POINT_GROUP", "PackSource", "bundled_root", "discover", "find_pack", "is_path"]
