"""A cache of checked packs, keyed by the pack's sha256 and by this library's code.

Parsing and checking a pack is almost all YAML parsing with line numbers (ruamel's round-trip
parser is pure Python): about 0.85 s for the bundled pack, paid by every process that loads it,
every pool worker and every CLI call. The checked pack (`LoadedPack`) is the same for the same
files and the same code, so after a successful load it is kept as a pickle; the next load reads
the files, hashes them as it always does, and takes the checked pack from the cache when both
the files and the code are unchanged (a few tens of milliseconds).

Where: `$VASP_RULES_CACHE` if set (a folder; `off` or `0` turns the cache off), else
`$XDG_CACHE_HOME/vasp-rules`, else `~/.cache/vasp-rules`; a process with no home folder (no HOME
and no passwd entry, as in a container run under an arbitrary UID) goes without, with a one-line
note (a warning of the `vasp_rules.pack.cache` logger). The cache is an optimisation only:
a folder that cannot be created or written, an entry that cannot be read, or a folder that
others could write to (a pickle is code; we only read one from a folder only this user can
write) simply means the pack is parsed again. Entries are written whole (temporary file, then
rename), so a crash never leaves half an entry. A pack that fails its checks is never cached.
The checker's type maps are keyed by the identity of syntax-tree nodes, which a pickle does not
keep: they travel as (node, type) pairs and are keyed again on the way in.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import stat
import sys
import threading
from dataclasses import is_dataclass, replace
from pathlib import Path
from typing import Any

import pydantic

from ..lang.ast import Expr, walk

ENV = "VASP_RULES_CACHE"
_FORMAT = b"vasp-rules checked pack cache 2"
_lock = threading.Lock()
_code: str | None = None
_noted = False


def folder() -> Path | None:
    """The cache folder in use, or None when the cache is off (or there is no home folder to
    keep it in)."""
    setting = os.environ.get(ENV)
    try:
        if setting is not None:
            if setting.strip().lower() in ("", "0", "off", "no", "false"):
                return None
            return Path(setting).expanduser()
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    except (RuntimeError, KeyError, OSError):  # Path.home(): no HOME and no passwd entry
        _note_no_home()
        return None
    return Path(base) / "vasp-rules"


def _note_no_home() -> None:
    """Say once per process why packs are parsed on every load."""
    global _noted
    with _lock:
        if _noted:
            return
        _noted = True
    logging.getLogger(__name__).warning(
        "vasp-rules: note: no home folder (HOME unset, no passwd entry), so the checked-pack "
        "cache is off; set %s to a folder to keep it",
        ENV,
    )


def code_fingerprint() -> str:
    """sha256 over this library's source files, Python's and pydantic's versions: a checked
    pack depends on all of them, so any change makes earlier entries unreachable."""
    global _code
    with _lock:
        if _code is None:
            digest = hashlib.sha256(_FORMAT)
            digest.update(f"{sys.version}\0{pydantic.VERSION}\0".encode())
            package = Path(__file__).resolve().parent.parent
            for source in sorted(package.rglob("*.py")):
                digest.update(str(source.relative_to(package)).encode() + b"\0")
                digest.update(hashlib.sha256(source.read_bytes()).digest())
            _code = digest.hexdigest()
        return _code


def _entry(where: Path, pack_sha256: str) -> Path:
    key = hashlib.sha256(f"{pack_sha256}\0{code_fingerprint()}".encode()).hexdigest()
    return where / f"{key}.pickle"


def _private(where: Path) -> bool:
    """Whether only this user can write the folder (always true where there are no owners)."""
    if not hasattr(os, "getuid"):
        return True
    info = where.stat()
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def lookup(root: Path, files: dict[str, bytes], pack_sha256: str) -> Any:
    """The checked pack for these files from the cache, placed at `root`; None on any miss."""
    where = folder()
    if where is None:
        return None
    try:
        if not _private(where):
            return None
        data = _entry(where, pack_sha256).read_bytes()
        loaded = pickle.loads(data)
    except Exception:  # absent, unreadable, truncated or from another version: parse again
        return None
    if not (isinstance(loaded, tuple) and len(loaded) == 2 and is_dataclass(loaded[0])):
        return None  # the loader also checks it is a LoadedPack (this module sits below it)
    pack, types = loaded
    try:
        rules = [
            replace(
                rule,
                condition_types={id(node): t for node, t in condition},
                value_types={
                    name: {id(node): t for node, t in pairs} for name, pairs in values.items()
                },
            )
            for rule, (condition, values) in zip(pack.rules, types, strict=True)
        ]
        return replace(pack, root=root, files=files, rules=rules)
    except Exception:  # not a checked pack of this version: parse again
        return None


def _by_node(tree: Expr, types: dict[int, str]) -> list[tuple[Expr, str]]:
    """An id-keyed type map as (node, type) pairs: a pickle keeps the nodes, not their ids."""
    return [(node, types[id(node)]) for node in walk(tree) if id(node) in types]


def store(loaded: Any, pack_sha256: str) -> None:
    """Keep a checked pack (a LoadedPack) for the next load (without its files: they are read
    each time)."""
    where = folder()
    if where is None:
        return
    temporary: Path | None = None
    try:
        where.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not _private(where):
            return
        target = _entry(where, pack_sha256)
        types = [
            (
                _by_node(rule.condition, rule.condition_types),
                {
                    name: _by_node(rule.values[name][0], value_types)
                    for name, value_types in rule.value_types.items()
                },
            )
            for rule in loaded.rules
        ]
        entry = (replace(loaded, files={}), types)
        data = pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
        temporary.write_bytes(data)
        os.replace(temporary, target)
    except Exception:  # a read-only or full disk only costs the next load its parse
        if temporary is not None:
            temporary.unlink(missing_ok=True)


__all__ = ["ENV", "code_fingerprint", "folder", "lookup", "store"]
