"""Rule packs inside the log: stored content-addressed, so the log alone can replay a decision."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Protocol

from vasp_rules.audit.log.errors import RecordingError
from vasp_rules.core.canonical import pack_sha256 as _pack_sha256
from vasp_rules.model.decision import Decision


class PackFiles(Protocol):
    """What the log needs of a rule pack to record it: identity and the files that make it."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def sha256(self) -> str: ...

    @property
    def files(self) -> Mapping[str, bytes]: ...


#: The rule pack sha256 (one definition, :func:`vasp_rules.core.canonical.pack_sha256`).
pack_digest = _pack_sha256


def check_pack_path(path: str) -> str | None:
    """Why ``path`` is not a safe relative POSIX path inside a pack folder, or None if it is.

    Replay writes stored files under a temporary folder; a tampered path must not escape it.
    """
    if not path or "\\" in path or "\x00" in path:
        return f"invalid file path {path!r} in rule pack"
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(part in ("", ".", "..") for part in path.split("/")):
        return f"unsafe file path {path!r} in rule pack"
    return None


# --------------------------------------------------------------------------- records


def checked_pack(pack: PackFiles) -> dict[str, bytes]:
    """The pack's files, refused unless their paths are safe and they reproduce its sha256."""
    files = {str(path): bytes(content) for path, content in pack.files.items()}
    if not files:
        raise RecordingError(f"rule pack {pack.name} has no files to store")
    for path in files:
        problem = check_pack_path(path)
        if problem is not None:
            raise RecordingError(problem)
    digest = pack_digest(files)
    if digest != pack.sha256:
        raise RecordingError(
            f"rule pack {pack.name}: its files hash to {digest[:12]}, not to its sha256 "
            f"{pack.sha256[:12]}; the log could not replay it"
        )
    return files


def check_decision_matches_pack(decision: Decision, pack: PackFiles) -> None:
    """Refuse to record a decision under a pack other than the one that made it."""
    ref = decision.rulepack
    if (ref.name, ref.version, ref.sha256) != (pack.name, pack.version, pack.sha256):
        raise RecordingError(
            f"decision on {decision.document_id} was made with rule pack "
            f"{ref.name} {ref.version} ({ref.sha256[:12]}), not with {pack.name} "
            f"{pack.version} ({pack.sha256[:12]})"
        )


def store_pack(conn: sqlite3.Connection, pack_sha256: str, files: Mapping[str, bytes]) -> None:
    """Store the files of a pack not stored yet (inside a write transaction)."""
    known = conn.execute(
        "SELECT 1 FROM pack_files WHERE pack_sha256 = ? LIMIT 1", (pack_sha256,)
    ).fetchone()
    if known is not None:
        return
    for path in sorted(files):
        content = bytes(files[path])
        blob = hashlib.sha256(content).hexdigest()
        conn.execute("INSERT OR IGNORE INTO blobs (sha256, content) VALUES (?, ?)", (blob, content))
        conn.execute(
            "INSERT INTO pack_files (pack_sha256, path, blob_sha256) VALUES (?, ?, ?)",
            (pack_sha256, path, blob),
        )


def load_pack(conn: sqlite3.Connection, pack_sha256: str) -> tuple[dict[str, bytes], str | None]:
    """The stored files of a pack and None, or nothing and why they cannot be trusted."""
    rows = conn.execute(
        "SELECT pf.path, pf.blob_sha256, b.content FROM pack_files AS pf "
        "LEFT JOIN blobs AS b ON b.sha256 = pf.blob_sha256 "
        "WHERE pf.pack_sha256 = ? ORDER BY pf.path",
        (pack_sha256,),
    ).fetchall()
    short = pack_sha256[:12]
    if not rows:
        return {}, f"the files of rule pack {short} are missing"
    files: dict[str, bytes] = {}
    for path, blob_sha, content in rows:
        bad_path = check_pack_path(path)
        if bad_path is not None:
            return {}, f"rule pack {short}: {bad_path}"
        if content is None:
            return {}, f"rule pack {short}: stored file {path!r} is missing"
        if not isinstance(content, bytes) or hashlib.sha256(content).hexdigest() != blob_sha:
            return {}, f"rule pack {short}: stored file {path!r} does not match its hash"
        files[path] = content
    if pack_digest(files) != pack_sha256:
        return {}, f"rule pack {short}: stored files do not reproduce the pack's sha256"
    return files, None
