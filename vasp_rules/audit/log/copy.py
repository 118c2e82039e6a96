"""Copying a live log: one consistent snapshot through SQLite's backup API.

Why: copying the file of a live log is not safe (the latest records may be only in the
``-wal`` file, and a copy taken during a commit can be torn). The copy is built aside, 0600,
and linked in place when whole, so it never exists half-written and never replaces a file.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from vasp_rules.audit.files import aside, create_private, discard, publish
from vasp_rules.audit.log.errors import CorruptLogError, RecordingError, describe
from vasp_rules.audit.log.records import GENESIS_HASH, Head, Record


def backup_snapshot(
    conn: sqlite3.Connection, last: Record | None, source: Path, target: Path
) -> Head:
    """Copy the snapshot that the read transaction of ``conn`` sees (whose last record is
    ``last``) to the new file ``target``; returns the copy's head."""
    if os.path.lexists(target):
        raise RecordingError(f"{describe(target)}: already exists; choose a new file")
    tmp = aside(target, "backup")
    try:
        create_private(tmp).close()
        copy = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            conn.backup(copy)
            # one self-contained file: reading it needs no -wal or -shm file (opening it for
            # writing turns WAL mode on again)
            copy.execute("PRAGMA journal_mode = DELETE")
        finally:
            copy.close()
        if not publish(tmp, target):
            raise RecordingError(f"{describe(target)}: already exists; choose a new file")
    except OSError as exc:
        raise RecordingError(
            f"{describe(target)}: cannot write the backup: {exc.strerror or exc}"
        ) from None
    except sqlite3.Error as exc:
        raise CorruptLogError(f"{describe(source)}: backup failed: {exc}") from None
    finally:
        discard(tmp)
    return Head(0, GENESIS_HASH) if last is None else Head(last.seq, last.hash)
