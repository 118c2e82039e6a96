"""An append-only, hash-chained decision log stored in one SQLite file.

Why: an auditor must be able to see, long after the fact, what was decided, on which input, under
which rule pack and engine, and be shown that the record was not changed since. Every record's
hash covers its own content (including its sequence number) and the previous record's hash, so
editing, deleting, inserting or reordering records breaks the chain at a point :meth:`verify`
reports. The rule pack's files are stored content-addressed, so the log alone is enough to replay
a decision.

The chain makes tampering *evident*, it does not make it impossible: whoever can write the file
can recompute every hash. Keep the head (:meth:`DecisionLog.head`) somewhere else to anchor it.

Concurrency and durability: appends run in ``BEGIN IMMEDIATE`` transactions in WAL mode with
``synchronous=FULL``, so concurrent writers serialise onto one linear chain and a record whose
append call returned survives the process being killed. Readers open the file read-only, after
checking its header, so a file that is not a log is never modified.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import secrets
import sqlite3
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any, Final, Protocol, Self

from pydantic import BaseModel, ValidationError

from vasp_rules.decision import Decision, Outcome

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite's own lock only
    fcntl = None  # type: ignore[assignment]

#: Version of the table layout and hashing scheme. A log with a higher version is refused; a
#: log with a lower one is read as it is and migrated forward when opened for writing.
SCHEMA_VERSION: Final = 2
#: The schema versions this code reads.
KNOWN_SCHEMA_VERSIONS: Final = frozenset({1, 2})
#: SQLite ``application_id`` ("VRDL") written into the file header: identifies a decision log.
APPLICATION_ID: Final = 0x5652444C
#: Value of the ``magic`` row of the ``meta`` table.
MAGIC: Final = "vasp-rules decision log"
#: ``prev_hash`` of the first record.
GENESIS_HASH: Final = "0" * 64

#: The two kinds of record in the chain.
KIND_DECISION: Final = "decision"
KIND_OVERRIDE: Final = "override"
#: Schema 2: the start or end of a run (one `evaluate` run, one service request).
KIND_RUN: Final = "run"
#: ``document_kind`` of a run record (its ``document_id`` is the run id).
RUN_DOCUMENT_KIND: Final = "run"

#: ``outcome`` of a run record: the run began; it ended normally; it ended on an error.
RUN_STARTED: Final = "started"
RUN_COMPLETED: Final = "completed"
RUN_STOPPED: Final = "stopped"
#: Status of a run with a start record and no end record (killed, or still running).
RUN_INCOMPLETE: Final = "incomplete"

_HASH_DOMAIN: Final = b"vasp-rules decision-log v1\n"
_DECISION_OUTCOMES: Final = frozenset(o.value for o in Outcome if o is not Outcome.INFO)
_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
_DEFAULT_TIMEOUT: Final = 60.0
#: Decisions per transaction when a run records as it goes (:meth:`DecisionLog.recorder`).
DEFAULT_CHUNK: Final = 500

#: The records table of schema 2 (``{name}`` is the table's name: a migration builds it aside).
_RECORDS_DDL: Final = """CREATE TABLE {name} (
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
        run_decisions   INTEGER
    ) STRICT"""
_RECORDS_INDEXES: Final = (
    "CREATE INDEX records_overrides ON records (overrides_seq) WHERE overrides_seq IS NOT NULL",
    "CREATE INDEX records_run ON records (run_id) WHERE run_id IS NOT NULL",
)
#: Columns of the records table in schema 1 (every column of schema 2 but the run columns).
_V1_COLUMNS: Final = (
    "seq", "kind", "recorded_at", "document_kind", "document_id", "outcome", "as_of",
    "decision_json", "input_json", "batch_start", "batch_size", "pack_name", "pack_version",
    "pack_sha256", "engine_name", "engine_version", "overrides_seq", "overrides_hash",
    "override_by", "override_reason", "prev_hash", "hash",
)  # fmt: skip
#: Columns added by schema 2. The hash covers them only when set, so every schema-1 record
#: keeps its hash.
RUN_COLUMNS: Final = ("run_id", "request_id", "run_decisions")

_SCHEMA: Final = (
    """CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT""",
    _RECORDS_DDL.format(name="records"),
    *_RECORDS_INDEXES,
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


class AuditError(Exception):
    """Base of every error of the audit log. ``exit_code`` is what the CLI exits with."""

    exit_code: int = 2


class LogFormatError(AuditError):
    """The file cannot be used as a decision log (missing, not a log, corrupt, newer schema)."""


class NotALogError(LogFormatError):
    """The file exists but is not a vasp-rules decision log."""


class NewerSchemaError(LogFormatError):
    """The log was written by a newer vasp-rules with a schema this version does not know."""


class CorruptLogError(LogFormatError):
    """SQLite cannot read the file consistently: the database itself is damaged."""


class UnknownRecordError(AuditError):
    """No record with that sequence number."""


class RecordingError(AuditError):
    """A request to append was invalid (mismatched pack, non-JSON input, bad override)."""


class TamperedLogError(AuditError):
    """The log fails its integrity checks, so the operation was refused (exit code 1)."""

    exit_code = 1


class LogBusyError(AuditError):
    """Another process held the log's write lock for longer than the timeout."""


# --------------------------------------------------------------------------- packs


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


def pack_digest(files: Mapping[str, bytes]) -> str:
    """The rule pack sha256: over sorted paths, ``path NUL sha256(content)-hex LF``."""
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.encode("utf-8"))
        h.update(b"\x00")
        h.update(hashlib.sha256(files[path]).hexdigest().encode("ascii"))
        h.update(b"\n")
    return h.hexdigest()


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


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and fixed separators: the bytes that get hashed."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Head:
    """The last record of a chain: its sequence number and hash (``0`` and zeros when empty)."""

    seq: int
    hash: str

    @property
    def token(self) -> str:
        """``SEQ:HASH``, the form printed by ``audit head`` and accepted by ``--anchor``."""
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, token: str) -> Head:
        """Parse ``SEQ:HASH``; raises :class:`ValueError` on anything else."""
        seq_text, sep, digest = token.strip().partition(":")
        if not sep or not seq_text.isdigit() or len(digest) != 64:
            raise ValueError(f"anchor must look like SEQ:HASH (64 hex digits), got {token!r}")
        try:
            int(digest, 16)
        except ValueError:
            raise ValueError(f"anchor hash is not hexadecimal: {digest!r}") from None
        return cls(int(seq_text), digest.lower())


@dataclass(frozen=True)
class Record:
    """One row of the chain. Decision records carry the decision, input, pack and engine;
    override records carry the link to the decision they override, who, why and the new outcome;
    run records (schema 2) mark the start and the end of a run.

    The run columns (schema 2) come last: ``run_id`` on a run's records, ``request_id`` on
    every record of a service request's run, ``run_decisions`` on run records (announced on
    the start record when known; recorded, on the end record).
    """

    seq: int
    kind: str
    recorded_at: str
    document_kind: str
    document_id: str
    outcome: str
    as_of: str | None
    decision_json: str | None
    input_json: str | None
    batch_start: int | None
    batch_size: int | None
    pack_name: str | None
    pack_version: str | None
    pack_sha256: str | None
    engine_name: str | None
    engine_version: str | None
    overrides_seq: int | None
    overrides_hash: str | None
    override_by: str | None
    override_reason: str | None
    prev_hash: str
    hash: str
    run_id: str | None = None
    request_id: str | None = None
    run_decisions: int | None = None

    def content(self) -> dict[str, Any]:
        """Every column but ``hash``: what the hash covers (seq and prev_hash included). The
        run columns of schema 2 are left out when empty, so a record without them hashes as
        it did in schema 1."""
        data = dataclasses.asdict(self)
        del data["hash"]
        for column in RUN_COLUMNS:
            if data[column] is None:
                del data[column]
        return data

    def computed_hash(self) -> str:
        """The hash this record's content calls for; differs from ``hash`` if it was edited."""
        return hashlib.sha256(_HASH_DOMAIN + canonical_json(self.content()).encode()).hexdigest()

    @property
    def hash_ok(self) -> bool:
        """Whether the stored hash matches the content (the link to the previous is not checked)."""
        return self.computed_hash() == self.hash

    def decision(self) -> Decision:
        """The stored decision (decision records only)."""
        if self.decision_json is None:
            raise RecordingError(f"record {self.seq} is an {self.kind} record, not a decision")
        return Decision.model_validate_json(self.decision_json)

    def document(self) -> dict[str, Any]:
        """The stored input document (decision records only)."""
        if self.input_json is None:
            raise RecordingError(f"record {self.seq} is an {self.kind} record, not a decision")
        try:
            value = json.loads(self.input_json)
        except RecursionError:  # only an edited record can hold this
            raise TamperedLogError(
                f"record {self.seq}: stored input is nested too deeply"
            ) from None
        if not isinstance(value, dict):
            raise TamperedLogError(f"record {self.seq}: stored input is not a JSON object")
        return value

    def as_dict(self) -> dict[str, Any]:
        """All columns, for JSON output."""
        return dataclasses.asdict(self)


RECORD_COLUMNS: Final = tuple(f.name for f in dataclasses.fields(Record))
_SELECT: Final = f"SELECT {', '.join(RECORD_COLUMNS)} FROM records"
#: A schema-1 table read as schema 2: the run columns read as NULL.
_SELECT_V1: Final = (
    f"SELECT {', '.join(_V1_COLUMNS)}, {', '.join('NULL' for _ in RUN_COLUMNS)} FROM records"
)
_INSERT: Final = (
    f"INSERT INTO records ({', '.join(RECORD_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in RECORD_COLUMNS)})"
)


def _row_to_record(row: Sequence[Any]) -> Record:
    return Record(*row)


def _sealed(record: Record) -> Record:
    return dataclasses.replace(record, hash=record.computed_hash())


@dataclass(frozen=True)
class IncompleteRun:
    """A run that started and has no end record: killed, or still running."""

    run_id: str
    start_seq: int
    decisions: int

    def summary(self) -> str:
        """One line for humans."""
        return (
            f"run {self.run_id} (started at record {self.start_seq}) is incomplete: no end "
            f"record, {self.decisions} decisions recorded; it was killed or is still running"
        )


@dataclass(frozen=True)
class VerifyReport:
    """Result of :meth:`DecisionLog.verify`. ``first_bad_seq`` is the first broken record."""

    ok: bool
    records: int
    head: Head
    first_bad_seq: int | None = None
    problem: str | None = None
    #: Runs with a start record and no end record (killed, or still running): not a fault of
    #: the chain, but what they decided is only part of what they were asked to.
    incomplete_runs: tuple[IncompleteRun, ...] = ()

    def summary(self) -> str:
        """One line for humans, and a note line per incomplete run."""
        if self.ok:
            lines = [f"OK: {self.records} records verified; head {self.head.token}"]
            lines += [f"note: {run.summary()}" for run in self.incomplete_runs]
            return "\n".join(lines)
        return f"FAILED at record {self.first_bad_seq}: {self.problem}"

    def as_dict(self) -> dict[str, Any]:
        """For JSON output."""
        return {
            "ok": self.ok,
            "records": self.records,
            "head": self.head.token,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "incomplete_runs": [dataclasses.asdict(run) for run in self.incomplete_runs],
        }


Clock = Callable[[], datetime]
#: An input document: a JSON-like mapping, or a validated pydantic document model.
Document = Mapping[str, Any] | BaseModel


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


def _format_time(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise RecordingError("the clock returned a naive datetime; it must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class _Run:
    """What every record of one run repeats: its id, the service request id, the pack, as_of."""

    run_id: str
    request_id: str | None
    pack: PackFiles
    as_of: str | None

    @classmethod
    def new(cls, pack: PackFiles, request_id: str | None, as_of: str | None) -> _Run:
        """A run with a fresh id (32 random hex digits: never reused)."""
        if request_id is not None and (not request_id.strip() or len(request_id) > 200):
            raise RecordingError("a request id is a non-empty text of at most 200 characters")
        return cls(secrets.token_hex(16), request_id, pack, as_of)


@dataclass(frozen=True)
class RunRecorded:
    """What :meth:`DecisionLog.record_run` appended: the run id, its decision records, and its
    start and end records."""

    run_id: str
    seqs: list[int]
    start_seq: int
    end_seq: int


@dataclass(frozen=True)
class RunSummary:
    """One run of the log, as :meth:`DecisionLog.runs` lists it (read, not verified).

    ``status`` is ``completed``, ``stopped`` (ended on an error: what it decided before is
    recorded) or ``incomplete`` (no end record: the process was killed, or is still running).
    ``announced`` is the number of decisions the run announced at its start (None when it did
    not know, as for a stream); ``decisions`` the number recorded.
    """

    run_id: str
    status: str
    start_seq: int
    end_seq: int | None
    started_at: str
    ended_at: str | None
    decisions: int
    announced: int | None
    first_seq: int | None
    last_seq: int | None
    request_id: str | None
    as_of: str | None
    pack_name: str | None
    pack_version: str | None
    pack_sha256: str | None

    @property
    def complete(self) -> bool:
        """Whether the run reached its end normally."""
        return self.status == RUN_COMPLETED

    def as_dict(self) -> dict[str, Any]:
        """For JSON output."""
        return dataclasses.asdict(self)

    def summary(self) -> str:
        """One line for humans."""
        span = "" if self.first_seq is None else f", records {self.first_seq}-{self.last_seq}"
        of = "" if self.announced is None else f" of {self.announced}"
        request = "" if self.request_id is None else f", request {self.request_id}"
        what = {
            RUN_COMPLETED: "completed",
            RUN_STOPPED: "STOPPED on an error",
            RUN_INCOMPLETE: "INCOMPLETE (no end record: killed, or still running)",
        }.get(self.status, self.status)
        return (
            f"run {self.run_id}  {what}: {self.decisions}{of} decisions{span}; "
            f"started {self.started_at} (record {self.start_seq}){request}"
        )


# --------------------------------------------------------------------------- opening


def _describe(path: Path) -> str:
    return str(path)


def _check_header(path: Path) -> None:
    """Refuse, without opening it with SQLite, a file that is not a decision log."""
    try:
        with path.open("rb") as fh:
            header = fh.read(100)
    except FileNotFoundError:
        raise LogFormatError(f"{_describe(path)}: no such file") from None
    except IsADirectoryError:
        raise NotALogError(f"{_describe(path)}: is a directory, not a decision log") from None
    except OSError as exc:
        raise LogFormatError(f"{_describe(path)}: cannot read: {exc.strerror}") from None
    if not header:
        raise NotALogError(f"{_describe(path)}: empty file, not a decision log")
    if not header.startswith(_SQLITE_MAGIC):
        raise NotALogError(f"{_describe(path)}: not a SQLite database, so not a decision log")
    if len(header) < 100:
        raise CorruptLogError(f"{_describe(path)}: corrupt database (truncated header)")
    app_id = int.from_bytes(header[68:72], "big")
    if app_id != APPLICATION_ID:
        raise NotALogError(
            f"{_describe(path)}: a SQLite database but not a vasp-rules decision log "
            f"(application_id {app_id:#x})"
        )


def _uri(path: Path, mode: str) -> str:
    return f"file:{urllib.parse.quote(str(path.absolute()))}?mode={mode}"


def _connect(path: Path, mode: str, timeout: float) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(_uri(path, mode), uri=True, isolation_level=None, timeout=timeout)
    except sqlite3.Error as exc:
        raise LogFormatError(f"{_describe(path)}: cannot open: {exc}") from None
    # Damaged bytes in a text column must not raise UnicodeDecodeError while reading: they
    # read as U+FFFD, so the record no longer matches its hash and verify names it.
    conn.text_factory = _lenient_text
    return conn


#: What reading a damaged file raises: SQLite's errors, and a UnicodeDecodeError when SQLite's
#: own error message quotes damaged bytes (Python cannot decode the message).
_DAMAGED = (sqlite3.DatabaseError, UnicodeDecodeError)


def _lenient_text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _check_schema(conn: sqlite3.Connection, path: Path) -> int:
    """Read ``meta``: the magic must match and the schema version must be one we know (and
    the records table must have its columns). Returns the schema version."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "meta" not in tables:
        raise NotALogError(f"{_describe(path)}: not a vasp-rules decision log (no meta table)")
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if meta.get("magic") != MAGIC:
        raise NotALogError(f"{_describe(path)}: not a vasp-rules decision log (bad magic)")
    try:
        version = int(meta["schema_version"])
    except (KeyError, ValueError):
        raise CorruptLogError(f"{_describe(path)}: corrupt log (bad schema_version)") from None
    if version > max(KNOWN_SCHEMA_VERSIONS):
        raise NewerSchemaError(
            f"{_describe(path)}: log schema version {version} is newer than this vasp-rules "
            f"supports ({SCHEMA_VERSION}); upgrade vasp-rules to read it"
        )
    if version not in KNOWN_SCHEMA_VERSIONS:
        raise CorruptLogError(f"{_describe(path)}: corrupt log (schema_version {version})")
    missing = {"records", "blobs", "pack_files"} - tables
    if missing:
        raise CorruptLogError(
            f"{_describe(path)}: corrupt log (missing tables: {', '.join(sorted(missing))})"
        )
    columns = {row[1] for row in conn.execute("PRAGMA table_info(records)")}
    expected = set(_V1_COLUMNS) | (set(RUN_COLUMNS) if version >= 2 else set())
    if not expected <= columns:
        raise CorruptLogError(
            f"{_describe(path)}: corrupt log (the records table lacks columns of schema "
            f"{version}: {', '.join(sorted(expected - columns))})"
        )
    return version


def _create(path: Path) -> None:
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
                    ("created_at", _format_time(utc_now())),
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
        raise LogFormatError(f"{_describe(path)}: cannot create log: {exc.strerror}") from None
    except sqlite3.Error as exc:
        raise LogFormatError(f"{_describe(path)}: cannot create log: {exc}") from None
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


class DecisionLog:
    """A decision log file. Open with :meth:`open`; use as a context manager.

    One instance wraps one SQLite connection: do not share it between threads. Any number of
    processes may open the same file; appends are serialised by SQLite's write lock.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        writable: bool,
        clock: Clock,
        timeout: float = _DEFAULT_TIMEOUT,
    ) -> None:
        self._conn = conn
        self._path = path
        self._writable = writable
        self._clock = clock
        self._timeout = timeout
        self._run_fd: int | None = None
        self._cookie: int | None = None  # SQLite's schema cookie when _select_sql was chosen
        self._select_sql = _SELECT

    def _select(self, conn: sqlite3.Connection) -> str:
        """The SELECT of every record column, for this file's table layout (a schema-1 table,
        read-only, has no run columns: they read as NULL). Re-checked whenever SQLite's schema
        cookie changes, so a reader sees a migration another process made meanwhile."""
        cookie = conn.execute("PRAGMA schema_version").fetchone()[0]
        if cookie != self._cookie:
            columns = {row[1] for row in conn.execute("PRAGMA table_info(records)")}
            self._select_sql = _SELECT if set(RUN_COLUMNS) <= columns else _SELECT_V1
            self._cookie = cookie
        return self._select_sql

    def _migrate(self) -> None:
        """Bring a log of an older schema to :data:`SCHEMA_VERSION`, in one transaction.

        Schema 1 to 2: the records table gains the run columns (``run_id``, ``request_id``,
        ``run_decisions``) and the ``run`` kind. SQLite cannot change a CHECK constraint in
        place, so the table is rebuilt beside the old one and every row copied as it is: no
        record's content changes, and since empty run columns are not hashed, every hash
        stays valid. ``meta.migrated`` notes the version, the head and the time.
        """
        with self._writing() as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            version = int(meta["schema_version"])
            if version >= SCHEMA_VERSION:  # another process migrated it first
                return
            try:
                at = str(self._meta_head(conn).seq)
            except TamperedLogError:
                at = "(unknown: damaged head)"
            if version == 1:
                columns = ", ".join(_V1_COLUMNS)
                conn.execute(_RECORDS_DDL.format(name="records_v2"))
                conn.execute(
                    f"INSERT INTO records_v2 ({columns}) SELECT {columns} FROM records ORDER BY seq"
                )
                conn.execute("DROP TABLE records")
                conn.execute("ALTER TABLE records_v2 RENAME TO records")
                for statement in _RECORDS_INDEXES:
                    conn.execute(statement)
            conn.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
            )
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('migrated', ?)",
                (
                    f"from schema {version} to {SCHEMA_VERSION} at record {at} on "
                    f"{_format_time(utc_now())}",
                ),
            )
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        write: bool = False,
        clock: Clock | None = None,
        timeout: float = _DEFAULT_TIMEOUT,
    ) -> DecisionLog:
        """Open the log at ``path``: read-only by default; ``write=True`` creates it if absent.

        The file is checked (header, application id, magic, schema version) before anything
        could write to it; :class:`LogFormatError` says why it was refused. ``clock`` gives the
        recorded time of appends (default: UTC now). ``timeout`` is how long to wait for
        another writer's lock, in seconds.
        """
        p = Path(path)
        if write and not p.exists():
            _create(p)
        _check_header(p)
        # Check the schema over a read-only connection first, so that even a write-mode open
        # never touches a file that turns out not to be a log (or to be a newer one).
        probe = _connect(p, "ro", timeout)
        try:
            version = _check_schema(probe, p)
        except _DAMAGED as exc:
            raise CorruptLogError(
                f"{_describe(p)}: corrupt or unreadable database ({exc})"
            ) from None
        finally:
            probe.close()
        conn = _connect(p, "rw" if write else "ro", timeout)
        try:
            if write:
                conn.execute("PRAGMA synchronous = FULL")
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                if str(mode).lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            conn.close()
            raise LogBusyError(f"{_describe(p)}: cannot open for writing: {exc}") from None
        except _DAMAGED as exc:
            conn.close()
            raise CorruptLogError(
                f"{_describe(p)}: corrupt or unreadable database ({exc})"
            ) from None
        log = cls(conn, p, writable=write, clock=clock or utc_now, timeout=timeout)
        if write and version < SCHEMA_VERSION:
            try:
                log._migrate()
            except BaseException:
                log.close()
                raise
        return log

    @property
    def path(self) -> Path:
        """The file this log lives in."""
        return self._path

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        """Run a block in one transaction; map SQLite failures onto audit errors."""
        try:
            self._conn.execute(begin)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise LogBusyError(f"{_describe(self._path)}: log is busy: {exc}") from None
            raise CorruptLogError(f"{_describe(self._path)}: {exc}") from None
        except _DAMAGED as exc:
            raise CorruptLogError(
                f"{_describe(self._path)}: corrupt or unreadable database ({exc})"
            ) from None
        try:
            yield self._conn
        except _DAMAGED as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise CorruptLogError(
                f"{_describe(self._path)}: corrupt or unreadable database ({exc})"
            ) from None
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        try:
            self._conn.execute("COMMIT")
        except _DAMAGED as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise CorruptLogError(f"{_describe(self._path)}: commit failed ({exc})") from None

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot even while others append."""
        with self._transaction("BEGIN") as conn:
            yield conn

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, taken at once so that concurrent writers queue."""
        if not self._writable:
            raise AuditError("log was opened read-only")
        with self._run_lock(), self._transaction("BEGIN IMMEDIATE") as conn:
            yield conn

    @contextmanager
    def _run_lock(self) -> Iterator[None]:
        """An exclusive flock on the log file, held by every append and, across all its commits,
        by a chunked run (:meth:`recorder`), so that a batch recorded in several transactions
        stays one contiguous run of records. (SQLite uses POSIX record locks, which on Linux are
        independent of flock.) Re-entrant within this instance."""
        if self._run_fd is not None or fcntl is None:
            yield
            return
        fd = os.open(self._path, os.O_RDONLY)
        try:
            deadline = time.monotonic() + self._timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise LogBusyError(
                            f"{_describe(self._path)}: log is busy: another run is recording"
                        ) from None
                    time.sleep(0.01)
            self._run_fd = fd
            yield
        finally:
            self._run_fd = None
            os.close(fd)  # releases the flock

    # ------------------------------------------------------------------ reading

    def _get(self, conn: sqlite3.Connection, seq: int) -> Record:
        row = conn.execute(f"{self._select(conn)} WHERE seq = ?", (seq,)).fetchone()
        if row is None:
            raise UnknownRecordError(f"{_describe(self._path)}: no record {seq}")
        return _row_to_record(row)

    def _last(self, conn: sqlite3.Connection) -> Record | None:
        row = conn.execute(f"{self._select(conn)} ORDER BY seq DESC LIMIT 1").fetchone()
        return None if row is None else _row_to_record(row)

    def _meta_head(self, conn: sqlite3.Connection) -> Head:
        meta = dict(
            conn.execute(
                "SELECT key, value FROM meta WHERE key IN ('head_seq', 'head_hash')"
            ).fetchall()
        )
        try:
            return Head(int(meta["head_seq"]), str(meta["head_hash"]))
        except (KeyError, ValueError):
            raise TamperedLogError(
                f"{_describe(self._path)}: the log's head entry is missing or damaged"
            ) from None

    def get(self, seq: int) -> Record:
        """The record with sequence number ``seq``; :class:`UnknownRecordError` if none."""
        with self._reading() as conn:
            return self._get(conn, seq)

    def records(self, *, page: int = 500) -> Iterator[Record]:
        """All records in sequence order, read ``page`` at a time (each page one snapshot)."""
        after = 0
        while True:
            with self._reading() as conn:
                rows = conn.execute(
                    f"{self._select(conn)} WHERE seq > ? ORDER BY seq LIMIT ?", (after, page)
                ).fetchall()
            if not rows:
                return
            for row in rows:
                yield _row_to_record(row)
            after = rows[-1][0]

    def count(self) -> int:
        """Number of records."""
        with self._reading() as conn:
            return int(conn.execute("SELECT count(*) FROM records").fetchone()[0])

    def head(self) -> Head:
        """The last record's sequence number and hash (unverified: see :meth:`verify`)."""
        with self._reading() as conn:
            last = self._last(conn)
        return Head(0, GENESIS_HASH) if last is None else Head(last.seq, last.hash)

    def overrides_of(self, seq: int) -> list[Record]:
        """The override records that point at decision ``seq``, oldest first."""
        with self._reading() as conn:
            rows = conn.execute(
                f"{self._select(conn)} WHERE overrides_seq = ? AND kind = ? ORDER BY seq",
                (seq, KIND_OVERRIDE),
            ).fetchall()
        return [_row_to_record(r) for r in rows]

    def runs(self, *, run_id: str | None = None, incomplete: bool = False) -> list[RunSummary]:
        """The runs of the log in the order they started (only ``run_id``'s, if given; only
        those that did not complete, with ``incomplete``). Read, not verified: see
        :meth:`verify`. A log of schema 1 has no runs."""
        with self._reading() as conn:
            select = self._select(conn)
            if select == _SELECT_V1:
                return []
            where, params = ("AND run_id = ?", (run_id,)) if run_id is not None else ("", ())
            marks = [
                _row_to_record(row)
                for row in conn.execute(
                    f"{select} WHERE kind = ? {where} ORDER BY seq", (KIND_RUN, *params)
                )
            ]
            counts = {
                rid: (n, first, last)
                for rid, n, first, last in conn.execute(
                    "SELECT run_id, count(*), min(seq), max(seq) FROM records "
                    f"WHERE run_id IS NOT NULL AND kind = ? {where} GROUP BY run_id",
                    (KIND_DECISION, *params),
                )
            }
        starts: dict[str, Record] = {}
        ends: dict[str, Record] = {}
        for mark in marks:
            rid = mark.run_id or ""
            if mark.outcome == RUN_STARTED:
                starts.setdefault(rid, mark)
            else:
                ends.setdefault(rid, mark)
        out: list[RunSummary] = []
        for rid, start in starts.items():
            end = ends.get(rid)
            n, first, last = counts.get(rid, (0, None, None))
            status = RUN_INCOMPLETE if end is None else end.outcome
            if incomplete and status == RUN_COMPLETED:
                continue
            out.append(
                RunSummary(
                    run_id=rid,
                    status=status,
                    start_seq=start.seq,
                    end_seq=None if end is None else end.seq,
                    started_at=start.recorded_at,
                    ended_at=None if end is None else end.recorded_at,
                    decisions=n,
                    announced=start.run_decisions,
                    first_seq=first,
                    last_seq=last,
                    request_id=start.request_id,
                    as_of=start.as_of,
                    pack_name=start.pack_name,
                    pack_version=start.pack_version,
                    pack_sha256=start.pack_sha256,
                )
            )
        return out

    def effective_outcome(self, seq: int) -> Outcome:
        """The outcome that stands for decision ``seq``: the latest override's, else its own."""
        record = self.get(seq)
        overrides = self.overrides_of(seq)
        return Outcome((overrides[-1] if overrides else record).outcome)

    def pack_files(self, pack_sha256: str) -> dict[str, bytes]:
        """The stored files of a rule pack, checked against their hashes and the pack hash.

        Raises :class:`TamperedLogError` if they do not reproduce ``pack_sha256``.
        """
        with self._reading() as conn:
            files, problem = self._load_pack(conn, pack_sha256)
        if problem is not None:
            raise TamperedLogError(f"{_describe(self._path)}: {problem}")
        return files

    def _load_pack(
        self, conn: sqlite3.Connection, pack_sha256: str
    ) -> tuple[dict[str, bytes], str | None]:
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

    # ------------------------------------------------------------------ appending

    def _checked_head(self, conn: sqlite3.Connection) -> Head:
        """The head to append after; refuses if the tail was truncated, extended or edited."""
        last = self._last(conn)
        actual = Head(0, GENESIS_HASH) if last is None else Head(last.seq, last.hash)
        if self._meta_head(conn) != actual or (last is not None and not last.hash_ok):
            raise TamperedLogError(
                f"{_describe(self._path)}: the end of the chain does not match the log's head; "
                "refusing to append (run `vasp-rules audit verify`)"
            )
        return actual

    def _set_head(self, conn: sqlite3.Connection, head: Head) -> None:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'head_seq'", (str(head.seq),))
        conn.execute("UPDATE meta SET value = ? WHERE key = 'head_hash'", (head.hash,))

    def _store_pack(
        self, conn: sqlite3.Connection, pack_sha256: str, files: Mapping[str, bytes]
    ) -> None:
        known = conn.execute(
            "SELECT 1 FROM pack_files WHERE pack_sha256 = ? LIMIT 1", (pack_sha256,)
        ).fetchone()
        if known is not None:
            return
        for path in sorted(files):
            content = bytes(files[path])
            blob = hashlib.sha256(content).hexdigest()
            conn.execute(
                "INSERT OR IGNORE INTO blobs (sha256, content) VALUES (?, ?)", (blob, content)
            )
            conn.execute(
                "INSERT INTO pack_files (pack_sha256, path, blob_sha256) VALUES (?, ?, ?)",
                (pack_sha256, path, blob),
            )

    def _now(self) -> str:
        return _format_time(self._clock())

    def record(self, decision: Decision, document: Document, pack: PackFiles) -> int:
        """Append one decision, the input it was made on and the pack that made it.

        Returns the new record's sequence number. When this returns, the record is durable.
        """
        return self.record_many([(decision, document)], pack)[0]

    def record_many(
        self,
        pairs: Sequence[tuple[Decision, Document]],
        pack: PackFiles,
        *,
        batch: bool = False,
    ) -> list[int]:
        """Append several decisions made with one pack, atomically (all or none).

        ``batch=True`` says the documents were evaluated together, in this order, in one
        ``evaluate_many`` call, so cross-document rules may have related them; replay then
        re-evaluates them together. Otherwise each decision is replayed alone.
        """
        files = _checked_pack(pack)
        prepared = [(d, d.to_json(), _input_json(doc, d)) for d, doc in pairs]
        for decision, _, _ in prepared:
            _check_decision_matches_pack(decision, pack)
        if not prepared:
            return []
        together = batch and len(prepared) > 1
        if together and len({d.as_of for d, _, _ in prepared}) > 1:
            raise RecordingError("decisions evaluated as one batch must share one as_of")
        with self._writing() as conn:
            head = self._checked_head(conn)
            self._store_pack(conn, pack.sha256, files)
            batch_start = head.seq + 1 if together else None
            batch_size = len(prepared) if together else None
            return self._append(conn, head, prepared, batch_start, batch_size)

    def _append(
        self,
        conn: sqlite3.Connection,
        head: Head,
        prepared: Sequence[tuple[Decision, str, str]],
        batch_start: int | None,
        batch_size: int | None,
        run: _Run | None = None,
    ) -> list[int]:
        """Insert decision records after ``head`` and move the head; inside a write
        transaction."""
        seqs: list[int] = []
        for decision, decision_json, input_json in prepared:
            record = _sealed(
                Record(
                    seq=head.seq + 1,
                    kind=KIND_DECISION,
                    recorded_at=self._now(),
                    document_kind=decision.document_kind,
                    document_id=decision.document_id,
                    outcome=decision.outcome.value,
                    as_of=decision.as_of.isoformat(),
                    decision_json=decision_json,
                    input_json=input_json,
                    batch_start=batch_start,
                    batch_size=batch_size,
                    pack_name=decision.rulepack.name,
                    pack_version=decision.rulepack.version,
                    pack_sha256=decision.rulepack.sha256,
                    engine_name=decision.engine.name,
                    engine_version=decision.engine.version,
                    overrides_seq=None,
                    overrides_hash=None,
                    override_by=None,
                    override_reason=None,
                    prev_hash=head.hash,
                    hash="",
                    run_id=None if run is None else run.run_id,
                    request_id=None if run is None else run.request_id,
                )
            )
            conn.execute(_INSERT, dataclasses.astuple(record))
            head = Head(record.seq, record.hash)
            seqs.append(record.seq)
        self._set_head(conn, head)
        return seqs

    def _append_run(
        self, conn: sqlite3.Connection, head: Head, run: _Run, status: str, decisions: int | None
    ) -> Head:
        """Insert the start or end record of ``run`` after ``head`` and move the head; inside a
        write transaction."""
        record = _sealed(
            Record(
                seq=head.seq + 1,
                kind=KIND_RUN,
                recorded_at=self._now(),
                document_kind=RUN_DOCUMENT_KIND,
                document_id=run.run_id,
                outcome=status,
                as_of=run.as_of,
                decision_json=None,
                input_json=None,
                batch_start=None,
                batch_size=None,
                pack_name=run.pack.name,
                pack_version=run.pack.version,
                pack_sha256=run.pack.sha256,
                engine_name=None,
                engine_version=None,
                overrides_seq=None,
                overrides_hash=None,
                override_by=None,
                override_reason=None,
                prev_hash=head.hash,
                hash="",
                run_id=run.run_id,
                request_id=run.request_id,
                run_decisions=decisions,
            )
        )
        conn.execute(_INSERT, dataclasses.astuple(record))
        head = Head(record.seq, record.hash)
        self._set_head(conn, head)
        return head

    def record_run(
        self,
        pairs: Sequence[tuple[Decision, Document]],
        pack: PackFiles,
        *,
        batch: bool = False,
        request_id: str | None = None,
    ) -> RunRecorded:
        """Append the decisions of one whole run (one service request) atomically, between a
        start and an end record of a new run; ``request_id`` goes on every record of it.

        Returns the run's id, its decision records' numbers and its start and end records'.
        ``batch`` as for :meth:`record_many`.
        """
        files = _checked_pack(pack)
        prepared = [(d, d.to_json(), _input_json(doc, d)) for d, doc in pairs]
        for decision, _, _ in prepared:
            _check_decision_matches_pack(decision, pack)
        days = {d.as_of for d, _, _ in prepared}
        together = batch and len(prepared) > 1
        if together and len(days) > 1:
            raise RecordingError("decisions evaluated as one batch must share one as_of")
        run = _Run.new(pack, request_id, days.pop().isoformat() if len(days) == 1 else None)
        with self._writing() as conn:
            head = self._checked_head(conn)
            self._store_pack(conn, pack.sha256, files)
            head = self._append_run(conn, head, run, RUN_STARTED, len(prepared))
            start_seq = head.seq
            batch_start = head.seq + 1 if together else None
            batch_size = len(prepared) if together else None
            seqs = self._append(conn, head, prepared, batch_start, batch_size, run)
            head = self._meta_head(conn)
            end = self._append_run(conn, head, run, RUN_COMPLETED, len(seqs))
        return RunRecorded(run.run_id, seqs, start_seq, end.seq)

    def recorder(
        self,
        pack: PackFiles,
        *,
        total: int | None,
        batch: bool = False,
        chunk: int = DEFAULT_CHUNK,
        request_id: str | None = None,
        as_of: date | None = None,
    ) -> ChunkedRecorder:
        """Record the decisions of one run as they are made (``total`` of them, or None when
        not known in advance, as in a stream), committing every ``chunk`` of them: a run
        killed midway keeps every decision of each committed chunk and the chain verifies. The
        run gets a start record when it begins and an end record when it ends, so a killed run
        shows as incomplete. ``as_of``, when given, is recorded on the run records and every
        decision must be as of it. Use as a context manager; see :class:`ChunkedRecorder`."""
        return ChunkedRecorder(
            self, pack, total=total, batch=batch, chunk=chunk, request_id=request_id, as_of=as_of
        )

    def override(self, seq: int, *, by: str, reason: str, outcome: Outcome | str) -> int:
        """Append an override of decision ``seq``; the original record is left as it was.

        Returns the override's sequence number. ``by`` and ``reason`` must be non-empty.
        """
        by, reason = by.strip(), reason.strip()
        if not by:
            raise RecordingError("an override needs --by: who overrides the decision")
        if not reason:
            raise RecordingError("an override needs --reason: why the decision is overridden")
        try:
            new_outcome = Outcome(outcome)
        except ValueError:
            raise RecordingError(f"unknown outcome {outcome!r}") from None
        if new_outcome is Outcome.INFO:
            raise RecordingError("INFO is not a decision outcome")
        if new_outcome is Outcome.NO_RULES_IN_FORCE:
            raise RecordingError("an override is a person's decision, not 'no rules in force'")
        with self._writing() as conn:
            head = self._checked_head(conn)
            original = self._get(conn, seq)
            if original.kind != KIND_DECISION:
                raise RecordingError(
                    f"record {seq} is itself an override; override the decision "
                    f"{original.overrides_seq} instead"
                )
            if not original.hash_ok:
                raise TamperedLogError(
                    f"{_describe(self._path)}: record {seq} does not match its hash; "
                    "refusing to override it"
                )
            record = _sealed(
                Record(
                    seq=head.seq + 1,
                    kind=KIND_OVERRIDE,
                    recorded_at=self._now(),
                    document_kind=original.document_kind,
                    document_id=original.document_id,
                    outcome=new_outcome.value,
                    as_of=None,
                    decision_json=None,
                    input_json=None,
                    batch_start=None,
                    batch_size=None,
                    pack_name=None,
                    pack_version=None,
                    pack_sha256=None,
                    engine_name=None,
                    engine_version=None,
                    overrides_seq=original.seq,
                    overrides_hash=original.hash,
                    override_by=by,
                    override_reason=reason,
                    prev_hash=head.hash,
                    hash="",
                )
            )
            conn.execute(_INSERT, dataclasses.astuple(record))
            self._set_head(conn, Head(record.seq, record.hash))
        return record.seq

    # ------------------------------------------------------------------ verifying

    def verify(self, *, anchor: Head | None = None) -> VerifyReport:
        """Check the whole log and report the first broken record.

        Checks, in one snapshot: sequence numbers run 1..n without gaps; each record links to
        the previous record's hash and matches its own; each record is internally consistent;
        the stored head matches the last record (detects a truncated or extended tail); every
        rule pack a decision used is stored intact; and, if given, ``anchor`` (a head kept
        elsewhere) is still part of the chain. Damage SQLite itself reports raises
        :class:`CorruptLogError`.
        """
        with self._reading() as conn:
            check = conn.execute("PRAGMA quick_check").fetchall()
            if [tuple(r) for r in check] != [("ok",)]:
                detail = "; ".join(str(r[0]) for r in check[:3])
                raise CorruptLogError(f"{_describe(self._path)}: corrupt database ({detail})")
            return self._verify(conn, anchor)

    def _verify(self, conn: sqlite3.Connection, anchor: Head | None) -> VerifyReport:
        prev = Head(0, GENESIS_HASH)
        count = 0
        chain_bad: tuple[int, str] | None = None
        pack_first_use: dict[str, int] = {}
        leader: Record | None = None  # first record of a batch still expecting members
        open_runs: dict[str, _OpenRun] = {}  # runs started and not yet ended
        for row in conn.execute(f"{self._select(conn)} ORDER BY seq"):
            record = _row_to_record(row)
            expected = prev.seq + 1
            if record.seq != expected:
                chain_bad = (expected, f"record {expected} is missing (next is {record.seq})")
                break
            if record.prev_hash != prev.hash:
                chain_bad = (record.seq, f"does not link to record {prev.seq} (prev_hash differs)")
                break
            if not record.hash_ok:
                chain_bad = (record.seq, "content does not match its hash (record was changed)")
                break
            if (
                leader is not None
                and leader.batch_size is None
                and record.batch_start != leader.seq
            ):
                leader = None  # a batch recorded in chunks ends at its first non-member
            problem = (
                self._consistency(conn, record)
                or _batch_problem(record, leader)
                or _run_problem(record, open_runs)
            )
            if problem is not None:
                chain_bad = (record.seq, problem)
                break
            if record.kind in (KIND_DECISION, KIND_RUN) and record.pack_sha256 is not None:
                pack_first_use.setdefault(record.pack_sha256, record.seq)
            if record.batch_start == record.seq:
                leader = record
            if leader is not None and leader.batch_size and record.seq == _batch_end(leader):
                leader = None
            prev = Head(record.seq, record.hash)
            count += 1

        if chain_bad is None:
            try:
                meta_head = self._meta_head(conn)
            except TamperedLogError:
                meta_head = Head(-1, "")
            if meta_head != prev:
                if meta_head.seq > prev.seq:
                    first = prev.seq + 1
                    why = (
                        f"the log's head is record {meta_head.seq} but the chain ends at "
                        f"{prev.seq}: records were removed from the end"
                    )
                elif 0 <= meta_head.seq < prev.seq:
                    first = meta_head.seq + 1
                    why = (
                        f"records after the log's head ({meta_head.seq}) were added "
                        "without going through the log"
                    )
                else:
                    first = max(prev.seq, 1)
                    why = "the log's head entry does not match the last record"
                chain_bad = (first, why)

        if chain_bad is None and leader is not None and leader.batch_size is not None:
            chain_bad = (
                prev.seq + 1,
                f"batch of records {leader.seq}-{_batch_end(leader)} ends early at {prev.seq}",
            )

        bad: list[tuple[int, str]] = [] if chain_bad is None else [chain_bad]
        for sha, first_use in sorted(pack_first_use.items(), key=lambda kv: kv[1]):
            _, problem = self._load_pack(conn, sha)
            if problem is not None:
                bad.append((first_use, problem))
                break

        if not bad and anchor is not None:
            if anchor.seq > prev.seq:
                bad.append(
                    (
                        prev.seq + 1,
                        f"the anchor names record {anchor.seq} but the chain ends at "
                        f"{prev.seq}: records were removed",
                    )
                )
            elif anchor.seq >= 1:
                row = conn.execute("SELECT hash FROM records WHERE seq = ?", (anchor.seq,))
                stored = row.fetchone()
                if stored is None or stored[0] != anchor.hash:
                    bad.append(
                        (anchor.seq, "differs from the anchored hash: the chain was rewritten")
                    )
            elif anchor.hash != GENESIS_HASH:
                bad.append((1, "the anchor is not a head of this log"))

        if bad:
            first_seq, problem = min(bad, key=lambda b: b[0])
            return VerifyReport(False, count, prev, first_seq, problem)
        incomplete = tuple(
            IncompleteRun(run.start.run_id or "", run.start.seq, run.decisions)
            for run in sorted(open_runs.values(), key=lambda r: r.start.seq)
        )
        return VerifyReport(True, count, prev, incomplete_runs=incomplete)

    def _consistency(self, conn: sqlite3.Connection, record: Record) -> str | None:
        """Problems a well-formed record cannot have (a forger who recomputed hashes might)."""
        if record.kind == KIND_DECISION:
            return _decision_consistency(record)
        if record.kind == KIND_OVERRIDE:
            if record.overrides_seq is None or record.overrides_seq >= record.seq:
                return "override does not point at an earlier record"
            target = conn.execute(
                "SELECT kind, hash, document_kind, document_id FROM records WHERE seq = ?",
                (record.overrides_seq,),
            ).fetchone()
            if target is None or target[0] != KIND_DECISION:
                return f"override points at record {record.overrides_seq}, not a decision"
            if target[1] != record.overrides_hash:
                return f"override does not match the hash of record {record.overrides_seq}"
            if (target[2], target[3]) != (record.document_kind, record.document_id):
                return "override names a different document than the decision it overrides"
            if not (record.override_by or "").strip() or not (record.override_reason or "").strip():
                return "override without who or why"
            if record.outcome not in _DECISION_OUTCOMES:
                return f"override has an invalid outcome {record.outcome!r}"
            return None
        if record.kind == KIND_RUN:
            return None  # checked with the run it belongs to (_run_problem)
        return f"unknown record kind {record.kind!r}"


class ChunkedRecorder:
    """Records the decisions of one run as they are made, one transaction per ``chunk``.

    Why: a run over a large population takes long; recording everything in one transaction
    at the end lost the whole run when the process was killed. Each committed chunk is durable
    and the chain verifies after a kill. The run is framed by run records: a start record when
    the recorder is entered (announcing ``total`` decisions when known) and an end record,
    committed with the last chunk, saying ``completed`` (or ``stopped`` when the run ended on
    an exception or :meth:`stop` was called) and how many decisions were recorded. A run
    killed midway has no end record: it shows as incomplete.

    With ``batch`` (documents evaluated together), every record carries the whole run's batch
    fields, and the run holds the log's writer lock from its start record to its end record so
    the batch stays contiguous. Such a batch has no recorded size (it ends at its first
    non-member): cut short by a kill, it verifies and replays with the members that were
    recorded.
    """

    def __init__(
        self,
        log: DecisionLog,
        pack: PackFiles,
        *,
        total: int | None,
        batch: bool,
        chunk: int,
        request_id: str | None = None,
        as_of: date | None = None,
    ) -> None:
        if chunk < 1:
            raise RecordingError("chunk size must be at least 1")
        self._log = log
        self._pack = pack
        self._files = _checked_pack(pack)
        self._total = total
        self._together = batch and (total is None or total > 1)
        self._chunk = chunk
        self._run = _Run.new(pack, request_id, None if as_of is None else as_of.isoformat())
        self._pending: list[tuple[Decision, str, str]] = []
        self._seqs: list[int] = []
        self._last_seq: int | None = None  # this run's last record (start or decision)
        self._batch_start: int | None = None
        self._as_of: date | None = as_of
        self._lock: contextlib.ExitStack | None = None
        self._stopped = False
        self._ended = False

    @property
    def run_id(self) -> str:
        """The id of this run (on its start, decision and end records)."""
        return self._run.run_id

    @property
    def seqs(self) -> list[int]:
        """Sequence numbers of the decision records committed so far."""
        return list(self._seqs)

    def __enter__(self) -> Self:
        stack = contextlib.ExitStack()
        if self._together:
            stack.enter_context(self._log._run_lock())
        try:
            self._start()
        except BaseException:
            stack.close()
            raise
        self._lock = stack
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self._end(RUN_STOPPED if self._stopped else RUN_COMPLETED)
            elif issubclass(exc_type, Exception):
                # what was decided before a failure is kept, and the run says it stopped; if
                # even that cannot be written, the run stays visibly incomplete and the
                # original error goes on
                with contextlib.suppress(AuditError):
                    self._end(RUN_STOPPED)
        finally:
            if self._lock is not None:
                self._lock.close()
                self._lock = None

    def stop(self) -> None:
        """Mark the run as stopped before its end (a bad input line, say): its end record
        will say ``stopped`` rather than ``completed``."""
        self._stopped = True

    def add(self, decision: Decision, document: Document) -> None:
        """Queue one decision; commits when a chunk is full."""
        if self._ended:
            raise RecordingError("this run has ended; start a new one")
        _check_decision_matches_pack(decision, self._pack)
        if self._run.as_of is not None and decision.as_of != self._as_of:
            raise RecordingError(
                f"decision on {decision.document_id} is as of {decision.as_of}, not as of "
                f"{self._as_of} as this run announced"
            )
        if self._as_of is None:
            self._as_of = decision.as_of
        elif self._together and decision.as_of != self._as_of:
            raise RecordingError("decisions evaluated as one batch must share one as_of")
        if self._total is not None and len(self._seqs) + len(self._pending) >= self._total:
            raise RecordingError(f"more decisions than the {self._total} this run announced")
        self._pending.append((decision, decision.to_json(), _input_json(document, decision)))
        if len(self._pending) >= self._chunk:
            self.flush()

    def flush(self) -> None:
        """Commit the queued decisions now."""
        if not self._pending:
            return
        with self._log._writing() as conn:
            self._commit_pending(conn)

    def _start(self) -> None:
        log = self._log
        with log._writing() as conn:
            head = log._checked_head(conn)
            log._store_pack(conn, self._pack.sha256, self._files)
            head = log._append_run(conn, head, self._run, RUN_STARTED, self._total)
        self._last_seq = head.seq

    def _commit_pending(self, conn: sqlite3.Connection) -> Head:
        """Append the queued decisions (inside a write transaction); returns the new head."""
        log = self._log
        pending, self._pending = self._pending, []  # never retried after a failure
        head = log._checked_head(conn)
        if self._together and head.seq != self._last_seq:
            raise RecordingError(
                "another writer appended in the middle of this batch run; "
                "its remaining decisions were not recorded"
            )
        if not pending:
            return head
        if self._together and self._batch_start is None:
            self._batch_start = head.seq + 1
        seqs = log._append(conn, head, pending, self._batch_start, None, self._run)
        self._seqs.extend(seqs)
        self._last_seq = seqs[-1]
        return log._meta_head(conn)

    def _end(self, status: str) -> None:
        """Commit what is queued and the end record, in one transaction."""
        if self._ended:
            return
        self._ended = True
        log = self._log
        with log._writing() as conn:
            head = self._commit_pending(conn)
            log._append_run(conn, head, self._run, status, len(self._seqs))


# --------------------------------------------------------------------------- helpers


@dataclass
class _OpenRun:
    """A run being verified: its start record and the decisions seen so far."""

    start: Record
    decisions: int = 0


def _run_problem(record: Record, open_runs: dict[str, _OpenRun]) -> str | None:
    """Runs (schema 2): a start record opens a run, its decisions name it, and its end record
    closes it with the number of decisions it recorded. Updates ``open_runs``."""
    run_fields = (record.run_id, record.request_id, record.run_decisions)
    if record.kind == KIND_OVERRIDE:
        return None if run_fields == (None, None, None) else "override record carries run fields"
    if record.kind == KIND_DECISION:
        if record.run_decisions is not None:
            return "decision record carries a run's count"
        if record.run_id is None:
            return None if record.request_id is None else "request id outside of any run"
        run = open_runs.get(record.run_id)
        if run is None:
            return f"names run {record.run_id!r}, which has not started or has already ended"
        problem = _differs_from_run(record, run.start)
        if problem is None:
            run.decisions += 1
        return problem
    if record.kind != KIND_RUN:
        return None
    run_id = record.run_id
    if not run_id:
        return "run record without a run id"
    if (record.document_kind, record.document_id) != (RUN_DOCUMENT_KIND, run_id):
        return "run record names a document other than its run"
    stray = (
        record.decision_json, record.input_json, record.batch_start, record.batch_size,
        record.engine_name, record.engine_version, record.overrides_seq, record.overrides_hash,
        record.override_by, record.override_reason,
    )  # fmt: skip
    if any(v is not None for v in stray):
        return "run record carries decision or override fields"
    pack = (record.pack_name, record.pack_version, record.pack_sha256)
    if None in pack and pack != (None, None, None):
        return "run record names its rule pack in part"
    if record.run_decisions is not None and record.run_decisions < 0:
        return "run record with a negative count"
    if record.outcome == RUN_STARTED:
        if run_id in open_runs:
            return f"starts run {run_id!r} again before it ended"
        open_runs[run_id] = _OpenRun(record)
        return None
    if record.outcome not in (RUN_COMPLETED, RUN_STOPPED):
        return f"run record with an unknown status {record.outcome!r}"
    run = open_runs.get(run_id)
    if run is None:
        return f"ends run {run_id!r}, which has not started"
    problem = _differs_from_run(record, run.start)
    if problem is not None:
        return problem
    if record.run_decisions != run.decisions:
        return (
            f"says run {run_id!r} recorded {record.run_decisions} decisions, but the log holds "
            f"{run.decisions}"
        )
    del open_runs[run_id]
    return None


def _differs_from_run(record: Record, start: Record) -> str | None:
    if record.request_id != start.request_id:
        return f"request id differs from that of its run (record {start.seq})"
    if start.pack_sha256 is not None and record.pack_sha256 != start.pack_sha256:
        return f"rule pack differs from that of its run (record {start.seq})"
    if start.as_of is not None and record.as_of != start.as_of:
        return f"as_of differs from that of its run (record {start.seq})"
    return None


def _batch_end(leader: Record) -> int:
    return leader.seq + (leader.batch_size or 1) - 1


def _batch_problem(record: Record, leader: Record | None) -> str | None:
    """Batches are contiguous runs of decisions sharing batch fields, as_of and pack. A batch
    recorded in one transaction has its size; one recorded in chunks as it was evaluated
    (:class:`ChunkedRecorder`) has none, and ends at its first non-member (a run killed
    midway keeps its committed chunks)."""
    if leader is not None:
        same = (
            record.kind == KIND_DECISION
            and record.batch_start == leader.seq
            and record.batch_size == leader.batch_size
            and record.as_of == leader.as_of
            and record.pack_sha256 == leader.pack_sha256
        )
        if not same:
            return f"breaks the batch of records {leader.seq}-{_batch_end(leader)}"
        return None
    if record.batch_start is None and record.batch_size is None:
        return None
    if record.kind != KIND_DECISION or record.batch_start is None:
        return "malformed batch fields"
    if record.batch_size is None:
        if record.batch_start != record.seq:
            return f"claims a batch starting at record {record.batch_start} it is not part of"
        return None
    if record.batch_size < 2 or record.batch_start != record.seq:
        return f"claims a batch starting at record {record.batch_start} it is not part of"
    return None


def _decision_consistency(record: Record) -> str | None:
    try:
        decision = record.decision()
    except (ValidationError, RecordingError):
        return "stored decision is not a valid decision"
    if decision.to_json() != record.decision_json:
        return "stored decision is not in canonical form"
    expected = (
        decision.document_kind,
        decision.document_id,
        decision.outcome.value,
        decision.as_of.isoformat(),
        decision.rulepack.name,
        decision.rulepack.version,
        decision.rulepack.sha256,
        decision.engine.name,
        decision.engine.version,
    )
    actual = (
        record.document_kind,
        record.document_id,
        record.outcome,
        record.as_of,
        record.pack_name,
        record.pack_version,
        record.pack_sha256,
        record.engine_name,
        record.engine_version,
    )
    if expected != actual:
        return "columns disagree with the stored decision"
    if any(
        v is not None
        for v in (
            record.overrides_seq,
            record.overrides_hash,
            record.override_by,
            record.override_reason,
        )
    ):
        return "decision record carries override fields"
    try:
        record.document()
    except (ValueError, TamperedLogError):
        return "stored input is not a JSON object"
    return None


def _checked_pack(pack: PackFiles) -> dict[str, bytes]:
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


def _check_decision_matches_pack(decision: Decision, pack: PackFiles) -> None:
    ref = decision.rulepack
    if (ref.name, ref.version, ref.sha256) != (pack.name, pack.version, pack.sha256):
        raise RecordingError(
            f"decision on {decision.document_id} was made with rule pack "
            f"{ref.name} {ref.version} ({ref.sha256[:12]}), not with {pack.name} "
            f"{pack.version} ({pack.sha256[:12]})"
        )


def _input_json(document: Document, decision: Decision) -> str:
    """The input as JSON, key order kept; refuse what would not come back identical."""
    if isinstance(document, BaseModel):
        plain = document.model_dump(mode="json")
    else:
        plain = dict(document)
    try:
        text = json.dumps(plain, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise RecordingError(
            f"input for {decision.document_id} is not plain JSON ({exc}); "
            "it could not be replayed exactly"
        ) from None
    if json.loads(text) != plain:
        raise RecordingError(
            f"input for {decision.document_id} does not survive a JSON round trip "
            "(tuples, non-string keys?); it could not be replayed exactly"
        )
    return text


def record_decisions(
    log_path: str | os.PathLike[str],
    pairs: Sequence[tuple[Decision, Document]],
    pack: PackFiles,
    *,
    batch: bool = False,
    clock: Clock | None = None,
) -> list[int]:
    """Append decisions made with ``pack`` to the log at ``log_path`` (created if absent).

    All pairs are recorded in one transaction; returns their sequence numbers. Pass
    ``batch=True`` when the documents were evaluated together (``evaluate_many`` with
    cross-document rules), so that replay evaluates them together again. Raises an
    :class:`AuditError` (see its ``exit_code``) if the file is not a usable log or the request
    is invalid.
    """
    with DecisionLog.open(log_path, write=True, clock=clock) as log:
        return log.record_many(pairs, pack, batch=batch)


def verify_log(log_path: str | os.PathLike[str], *, anchor: Head | None = None) -> VerifyReport:
    """Open ``log_path`` read-only and verify it (see :meth:`DecisionLog.verify`)."""
    with DecisionLog.open(log_path) as log:
        return log.verify(anchor=anchor)


def as_of_date(record: Record) -> date:
    """The ``as_of`` of a decision record."""
    if record.as_of is None:
        raise RecordingError(f"record {record.seq} has no as_of (not a decision)")
    return date.fromisoformat(record.as_of)
