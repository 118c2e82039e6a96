"""The file and its tables: header checks, creation, the schema versions and migrations.

Schema 1 had decision and override records; schema 2 added runs (``run_id``, ``request_id``,
``run_decisions`` and the ``run`` kind); schema 3 added ``sealed`` (a decision's personal data,
encrypted) and ``signer``/``signature`` (signed overrides). Columns a schema added are hashed
only when set, so every record of an older schema keeps its hash through a migration.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import urllib.parse
from pathlib import Path
from typing import Final

from vasp_rules.audit.log.errors import (
    CorruptLogError,
    LogFormatError,
    NewerSchemaError,
    NotALogError,
    TamperedLogError,
    describe,
)
from vasp_rules.audit.log.handles import Handle
from vasp_rules.audit.log.records import (
    GENESIS_HASH,
    RECORD_COLUMNS,
    RUN_COLUMNS,
    SCHEMA3_COLUMNS,
    Head,
    format_time,
    utc_now,
)

#: Version of the table layout and hashing scheme. A log with a higher version is refused; a
#: log with a lower one is read as it is and migrated forward when opened for writing.
SCHEMA_VERSION: Final = 3
#: The schema versions this code reads.
KNOWN_SCHEMA_VERSIONS: Final = frozenset({1, 2, 3})
#: SQLite ``application_id`` ("VRDL") written into the file header: identifies a decision log.
APPLICATION_ID: Final = 0x5652444C
#: Value of the ``magic`` row of the ``meta`` table.
MAGIC: Final = "vasp-rules decision log"

_SQLITE_MAGIC: Final = b"SQLite format 3\x00"

#: The records table of schema 3 (``{name}`` is the table's name: a migration builds it aside).
RECORDS_DDL: Final = """CREATE TABLE {name} (
        seq             INTEGER PRIMARY KEY CHECK (seq >= 1),
        kind            TEXT NOT NULL CHECK (kind IN ('decision', 'override', 'run')),
        recorded_at     TEXT NOT NULL,
        document_kind   TEXT NOT NULL,
        document_id     TEXT NOT NULL,
        outcome         TEXT NOT NULL,
        as_of           TEXT,
        decision_json   TEXT,
        input_json      TEXT,
        batch_start     INTEGER,
        batch_size      INTEGER,
        pack_name       TEXT,
        pack_version    TEXT,
        pack_sha256     TEXT,
        engine_name     TEXT,
        engine_version  TEXT,
        overrides_seq   INTEGER,
        overrides_hash  TEXT,
        override_by     TEXT,
        override_reason TEXT,
        prev_hash       TEXT NOT NULL,
        hash            TEXT NOT NULL UNIQUE,
        run_id          TEXT,
        request_id      TEXT,
        run_decisions   INTEGER,
        sealed          TEXT,
        signer          TEXT,
        signature       TEXT
    ) STRICT"""
RECORDS_INDEXES: Final = (
    "CREATE INDEX records_overrides ON records (overrides_seq) WHERE overrides_seq IS NOT NULL",
    "CREATE INDEX records_run ON records (run_id) WHERE run_id IS NOT NULL",
)
#: Columns of the records table in schema 1 (every column of schema 3 but the run columns and
#: the columns of schema 3).
V1_COLUMNS: Final = (
    "seq", "kind", "recorded_at", "document_kind", "document_id", "outcome", "as_of",
    "decision_json", "input_json", "batch_start", "batch_size", "pack_name", "pack_version",
    "pack_sha256", "engine_name", "engine_version", "overrides_seq", "overrides_hash",
    "override_by", "override_reason", "prev_hash", "hash",
)  # fmt: skip

_SCHEMA: Final = (
    """CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT""",
    RECORDS_DDL.format(name="records"),
    *RECORDS_INDEXES,
    """CREATE TABLE blobs (
        sha256  TEXT PRIMARY KEY,
        content BLOB NOT NULL
    ) STRICT""",
    """CREATE TABLE pack_files (
        pack_sha256 TEXT NOT NULL,
        path        TEXT NOT NULL,
        blob_sha256 TEXT NOT NULL,
        PRIMARY KEY (pack_sha256, path)
    ) STRICT""",
)


# --------------------------------------------------------------------------- errors


def check_header(path: Path, handle: Handle) -> None:
    """Refuse, before SQLite opens it, a file that is not a decision log. The header is read
    through the process's one descriptor of the file (see :mod:`.handles`)."""
    try:
        header = handle.header()
    except OSError as exc:
        raise LogFormatError(f"{describe(path)}: cannot read: {exc.strerror}") from None
    if not header:
        raise NotALogError(f"{describe(path)}: empty file, not a decision log")
    if not header.startswith(_SQLITE_MAGIC):
        raise NotALogError(f"{describe(path)}: not a SQLite database, so not a decision log")
    if len(header) < 100:
        raise CorruptLogError(f"{describe(path)}: corrupt database (truncated header)")
    app_id = int.from_bytes(header[68:72], "big")
    if app_id != APPLICATION_ID:
        raise NotALogError(
            f"{describe(path)}: a SQLite database but not a vasp-rules decision log "
            f"(application_id {app_id:#x})"
        )


def _uri(path: Path, mode: str) -> str:
    return f"file:{urllib.parse.quote(str(path.absolute()))}?mode={mode}"


def connect(path: Path, mode: str, timeout: float) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(_uri(path, mode), uri=True, isolation_level=None, timeout=timeout)
    except sqlite3.Error as exc:
        raise LogFormatError(f"{describe(path)}: cannot open: {exc}") from None
    # Damaged bytes in a text column must not raise UnicodeDecodeError while reading: they
    # read as U+FFFD, so the record no longer matches its hash and verify names it.
    conn.text_factory = _lenient_text
    return conn


#: What reading a damaged file raises: SQLite's errors, and a UnicodeDecodeError when SQLite's
#: own error message quotes damaged bytes (Python cannot decode the message).
DAMAGED = (sqlite3.DatabaseError, UnicodeDecodeError)


def _lenient_text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def check_schema(conn: sqlite3.Connection, path: Path) -> int:
    """Read ``meta``: the magic must match and the schema version must be one we know (and
    the records table must have its columns). Returns the schema version."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "meta" not in tables:
        raise NotALogError(f"{describe(path)}: not a vasp-rules decision log (no meta table)")
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if meta.get("magic") != MAGIC:
        raise NotALogError(f"{describe(path)}: not a vasp-rules decision log (bad magic)")
    try:
        version = int(meta["schema_version"])
    except (KeyError, ValueError):
        raise CorruptLogError(f"{describe(path)}: corrupt log (bad schema_version)") from None
    if version > max(KNOWN_SCHEMA_VERSIONS):
        raise NewerSchemaError(
            f"{describe(path)}: log schema version {version} is newer than this vasp-rules "
            f"supports ({SCHEMA_VERSION}); upgrade vasp-rules to read it"
        )
    if version not in KNOWN_SCHEMA_VERSIONS:
        raise CorruptLogError(f"{describe(path)}: corrupt log (schema_version {version})")
    missing = {"records", "blobs", "pack_files"} - tables
    if missing:
        raise CorruptLogError(
            f"{describe(path)}: corrupt log (missing tables: {', '.join(sorted(missing))})"
        )
    columns = {row[1] for row in conn.execute("PRAGMA table_info(records)")}
    expected = set(V1_COLUMNS) | (set(RUN_COLUMNS) if version >= 2 else set())
    expected |= set(SCHEMA3_COLUMNS) if version >= 3 else set()
    if not expected <= columns:
        raise CorruptLogError(
            f"{describe(path)}: corrupt log (the records table lacks columns of schema "
            f"{version}: {', '.join(sorted(expected - columns))})"
        )
    return version


def create(path: Path) -> None:
    """Create an empty log at ``path`` atomically: build it aside, then hard-link it in place.

    Another process never sees a half-written file, and if two processes create the same log
    at once, one wins and the other uses the winner's file.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.creating")
    try:
        conn = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            conn.execute("BEGIN")
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [
                    ("magic", MAGIC),
                    ("schema_version", str(SCHEMA_VERSION)),
                    ("created_at", format_time(utc_now())),
                    ("head_seq", "0"),
                    ("head_hash", GENESIS_HASH),
                ],
            )
            conn.execute("COMMIT")
            conn.execute("PRAGMA journal_mode = WAL")
        finally:
            conn.close()
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        except OSError:
            # No hard links on this file system: exclusive-create and copy instead.
            try:
                with path.open("xb") as out:
                    out.write(tmp.read_bytes())
                    out.flush()
                    os.fsync(out.fileno())
            except FileExistsError:
                pass
        _fsync_dir(path.parent)
    except OSError as exc:
        raise LogFormatError(f"{describe(path)}: cannot create log: {exc.strerror}") from None
    except sqlite3.Error as exc:
        raise LogFormatError(f"{describe(path)}: cannot create log: {exc}") from None
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            leftover.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- the log


def select_for(columns: set[str]) -> str:
    """The SELECT of every record column for a records table with ``columns``: the columns an
    older schema lacks read as NULL."""
    names = [name if name in columns else "NULL" for name in RECORD_COLUMNS]
    return f"SELECT {', '.join(names)} FROM records"


#: The SELECT of a records table of the current schema.
SELECT: Final = select_for(set(RECORD_COLUMNS))
INSERT: Final = (
    f"INSERT INTO records ({', '.join(RECORD_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in RECORD_COLUMNS)})"
)


def migrate(conn: sqlite3.Connection, version: int, at: str) -> None:
    """Bring the tables of schema ``version`` to :data:`SCHEMA_VERSION`, inside the caller's
    write transaction; ``at`` names the head at the time (for ``meta.migrated``).

    Schema 1 to 3: SQLite cannot change a CHECK constraint in place, so the records table is
    rebuilt beside the old one and every row copied as it is. Schema 2 to 3: the three new
    columns are added. No record's content changes, and since empty new columns are not hashed,
    every hash stays valid.
    """
    if version == 1:
        columns = ", ".join(V1_COLUMNS)
        conn.execute(RECORDS_DDL.format(name="records_new"))
        conn.execute(
            f"INSERT INTO records_new ({columns}) SELECT {columns} FROM records ORDER BY seq"
        )
        conn.execute("DROP TABLE records")
        conn.execute("ALTER TABLE records_new RENAME TO records")
        for statement in RECORDS_INDEXES:
            conn.execute(statement)
    elif version == 2:
        for column in SCHEMA3_COLUMNS:
            conn.execute(f"ALTER TABLE records ADD COLUMN {column} TEXT")
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('migrated', ?)",
        (f"from schema {version} to {SCHEMA_VERSION} at record {at} on {format_time(utc_now())}",),
    )
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def meta_head(conn: sqlite3.Connection, path: Path) -> Head:
    """The head stored in ``meta`` (the last record's ``seq`` and ``hash``)."""
    meta = dict(
        conn.execute(
            "SELECT key, value FROM meta WHERE key IN ('head_seq', 'head_hash')"
        ).fetchall()
    )
    try:
        return Head(int(meta["head_seq"]), str(meta["head_hash"]))
    except (KeyError, ValueError):
        raise TamperedLogError(
            f"{describe(path)}: the log's head entry is missing or damaged"
        ) from None


def set_head(conn: sqlite3.Connection, head: Head) -> None:
    """Move the head stored in ``meta`` (inside a write transaction)."""
    conn.execute("UPDATE meta SET value = ? WHERE key = 'head_seq'", (str(head.seq),))
    conn.execute("UPDATE meta SET value = ? WHERE key = 'head_hash'", (head.hash,))
