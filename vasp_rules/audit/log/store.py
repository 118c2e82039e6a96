# Over 800 lines on purpose: every transaction shares one connection discipline (WAL, locks).
"""The decision log: one SQLite file holding an append-only, hash-chained list of records.

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
checking its header, so a file that is not a log is never modified. Nothing but SQLite opens or
closes the database file (see :mod:`.handles`): the header is read through one descriptor per
process, and the run lock is taken on the sibling file ``DB-lock``.

This module is the store: opening, transactions, reading and appending. The other modules of
the package hold the schema, the records, the runs, the rule packs and verification.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final, Self

from vasp_rules.audit import personal
from vasp_rules.audit.log.copy import backup_snapshot
from vasp_rules.audit.log.errors import (
    AuditError,
    CorruptLogError,
    LogBusyError,
    RecordingError,
    TamperedLogError,
    UnknownRecordError,
    describe,
)
from vasp_rules.audit.log.handles import Handle, hold, release, run_lock
from vasp_rules.audit.log.packs import (
    PackFiles,
    check_decision_matches_pack,
    checked_pack,
    load_pack,
    store_pack,
)
from vasp_rules.audit.log.records import (
    GENESIS_HASH,
    KIND_DECISION,
    KIND_OVERRIDE,
    KIND_RUN,
    RUN_COMPLETED,
    RUN_STARTED,
    Clock,
    Document,
    Head,
    Record,
    decision_record,
    format_time,
    input_json,
    override_record,
    run_record,
    seal,
    utc_now,
)
from vasp_rules.audit.log.runs import (
    ChunkedRecorder,
    Run,
    RunRecorded,
    RunSummary,
    summarize_runs,
)
from vasp_rules.audit.log.schema import (
    DAMAGED,
    INSERT,
    SCHEMA_VERSION,
    SELECT,
    check_header,
    check_schema,
    connect,
    create,
    meta_head,
    migrate,
    select_for,
    set_head,
)
from vasp_rules.audit.log.verify import VerifyReport, verify_chain
from vasp_rules.audit.signing import (
    Keyring,
    SignedHead,
    SigningKey,
    override_message,
    override_signature,
)
from vasp_rules.model.decision import Decision, Outcome

if TYPE_CHECKING:
    from vasp_rules.audit.keystore import KeyStore
    from vasp_rules.audit.sealing import OpenedRecord, Prepared

DEFAULT_TIMEOUT: Final = 60.0
#: Decisions per transaction when a run records as it goes (:meth:`DecisionLog.recorder`).
DEFAULT_CHUNK: Final = 500


class _Beside(enum.Enum):
    BESIDE = "beside"


#: ``keys=`` default of :meth:`DecisionLog.open`: the key store ``DB-keys`` beside the log.
KEYS_BESIDE: Final = _Beside.BESIDE


@dataclass(frozen=True)
class ErasureReport:
    """What :meth:`DecisionLog.erase` destroyed and which decision records it affected."""

    subjects: int
    keys: int
    records: tuple[int, ...]
    erased_at: str
    wiped: bool


@dataclass(frozen=True)
class SubjectRecord:
    """A decision record about a data subject, with its personal data joined back."""

    record: Record
    opened: OpenedRecord


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
        timeout: float = DEFAULT_TIMEOUT,
        handle: Handle,
        keys: KeyStore | Path | None = None,
    ) -> None:
        self._conn = conn
        self._keys_path = keys if isinstance(keys, Path) else None
        self._keystore = None if isinstance(keys, Path) else keys
        self._own_keystore = False
        self._path = path
        self._writable = writable
        self._clock = clock
        self._timeout = timeout
        self._handle = handle
        self._closed = False
        self._run_depth = 0  # re-entrancy of the run lock within this instance
        self._cookie: int | None = None  # SQLite's schema cookie when _select_sql was chosen
        self._select_sql = SELECT
        self._has_runs = True  # the records table has the run columns (schema 2 and later)
        self._has_sealed = True  # the records table has the columns of schema 3

    def _select(self, conn: sqlite3.Connection) -> str:
        """The SELECT of every record column, for this file's table layout (a schema-1 table,
        read-only, has no run columns: they read as NULL). Re-checked whenever SQLite's schema
        cookie changes, so a reader sees a migration another process made meanwhile."""
        cookie = conn.execute("PRAGMA schema_version").fetchone()[0]
        if cookie != self._cookie:
            columns = {row[1] for row in conn.execute("PRAGMA table_info(records)")}
            self._select_sql = select_for(columns)
            self._has_runs = "run_id" in columns
            self._has_sealed = "sealed" in columns
            self._cookie = cookie
        return self._select_sql

    def _migrate(self) -> None:
        """Bring a log of an older schema to :data:`SCHEMA_VERSION`, in one transaction (see
        :func:`.schema.migrate`); ``meta.migrated`` notes the version, the head and the time."""
        with self._writing() as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            version = int(meta["schema_version"])
            if version >= SCHEMA_VERSION:  # another process migrated it first
                return
            try:
                at = str(meta_head(conn, self._path).seq)
            except TamperedLogError:
                at = "(unknown: damaged head)"
            migrate(conn, version, at)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        write: bool = False,
        clock: Clock | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        keys: KeyStore | str | os.PathLike[str] | _Beside | None = KEYS_BESIDE,
    ) -> DecisionLog:
        """Open the log at ``path``: read-only by default; ``write=True`` creates it if absent.

        The file is checked (header, application id, magic, schema version) before anything
        could write to it; :class:`LogFormatError` says why it was refused. ``clock`` gives the
        recorded time of appends (default: UTC now). ``timeout`` is how long to wait for
        another writer's lock, in seconds. ``keys`` is the key store of the personal data:
        by default ``DB-keys`` beside the log (created, 0600, when a decision first holds
        personal data), or a path, or an open :class:`~vasp_rules.audit.keystore.KeyStore`;
        None records personal data in clear and reads sealed data as redacted.
        """
        p = Path(path)
        if write and not p.exists():
            create(p)
        if keys is KEYS_BESIDE:
            from vasp_rules.audit.keystore import default_keys_path

            keys = default_keys_path(p)
        elif isinstance(keys, str | os.PathLike):
            keys = Path(keys)
        handle = hold(p)
        try:
            return cls._open_held(p, handle, write, clock, timeout, keys)
        except BaseException:
            release(handle)
            raise

    @classmethod
    def _open_held(
        cls,
        p: Path,
        handle: Handle,
        write: bool,
        clock: Clock | None,
        timeout: float,
        keys: KeyStore | Path | None,
    ) -> DecisionLog:
        check_header(p, handle)
        # Check the schema over a read-only connection first, so that even a write-mode open
        # never touches a file that turns out not to be a log (or to be a newer one).
        probe = connect(p, "ro", timeout)
        try:
            version = check_schema(probe, p)
        except DAMAGED as exc:
            raise CorruptLogError(
                f"{describe(p)}: corrupt or unreadable database ({exc})"
            ) from None
        finally:
            probe.close()
        conn = connect(p, "rw" if write else "ro", timeout)
        try:
            if write:
                conn.execute("PRAGMA synchronous = FULL")
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                if str(mode).lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            conn.close()
            raise LogBusyError(f"{describe(p)}: cannot open for writing: {exc}") from None
        except DAMAGED as exc:
            conn.close()
            raise CorruptLogError(
                f"{describe(p)}: corrupt or unreadable database ({exc})"
            ) from None
        log = cls(
            conn,
            p,
            writable=write,
            clock=clock or utc_now,
            timeout=timeout,
            handle=handle,
            keys=keys,
        )
        if write and version < SCHEMA_VERSION:
            try:
                log._migrate()
            except BaseException:
                log._conn.close()
                raise
        return log

    @property
    def path(self) -> Path:
        """The file this log lives in."""
        return self._path

    @property
    def timeout(self) -> float:
        """How long appends wait for another writer's lock, in seconds."""
        return self._timeout

    def close(self) -> None:
        """Close the connection (and, with the last log of this file in the process, the
        process's descriptor of it: see :mod:`.handles`). Closing twice is harmless.

        Closing a writable log first checkpoints it (:meth:`checkpoint`), so that the database
        file alone holds every record."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._writable:
                self.checkpoint()
            self._conn.close()
            if self._own_keystore and self._keystore is not None:
                self._keystore.close()
        finally:
            release(self._handle)

    def checkpoint(self) -> bool:
        """Copy every committed record from the ``-wal`` file into the database file and
        empty the ``-wal`` file (``PRAGMA wal_checkpoint(TRUNCATE)``); True if it did.

        Why: in WAL mode a commit is durable once it is in the ``-wal`` file, and SQLite moves
        it into the database file only now and then; a copy of the database file alone lacks
        what was not moved yet. Best effort: it never waits, and while another connection
        reads or writes the log it does what it can (False) and SQLite finishes the job
        later (the last connection to close does it)."""
        if self._conn.in_transaction:
            return False
        try:
            self._conn.execute("PRAGMA busy_timeout = 0")
            try:
                busy, _, _ = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                self._conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
        except sqlite3.Error:
            return False
        return not busy

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
                raise LogBusyError(f"{describe(self._path)}: log is busy: {exc}") from None
            raise CorruptLogError(f"{describe(self._path)}: {exc}") from None
        except DAMAGED as exc:
            raise CorruptLogError(
                f"{describe(self._path)}: corrupt or unreadable database ({exc})"
            ) from None
        try:
            yield self._conn
        except DAMAGED as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise CorruptLogError(
                f"{describe(self._path)}: corrupt or unreadable database ({exc})"
            ) from None
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        try:
            self._conn.execute("COMMIT")
        except DAMAGED as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise CorruptLogError(f"{describe(self._path)}: commit failed ({exc})") from None

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
        """The log's run lock (an ``flock`` on the sibling ``DB-lock`` file, never on the
        database file: see :mod:`.handles`), held by every append and, across all its
        commits, by a batch run (:meth:`recorder`), so that a batch recorded in several
        transactions stays one contiguous run of records. Re-entrant within this instance."""
        if self._run_depth:
            self._run_depth += 1
            try:
                yield
            finally:
                self._run_depth -= 1
            return
        with run_lock(self._path, self._timeout):
            self._run_depth = 1
            try:
                yield
            finally:
                self._run_depth = 0

    # ------------------------------------------------------------------ reading

    def _get(self, conn: sqlite3.Connection, seq: int) -> Record:
        row = conn.execute(f"{self._select(conn)} WHERE seq = ?", (seq,)).fetchone()
        if row is None:
            raise UnknownRecordError(f"{describe(self._path)}: no record {seq}")
        return Record.from_row(row)

    def _last(self, conn: sqlite3.Connection) -> Record | None:
        row = conn.execute(f"{self._select(conn)} ORDER BY seq DESC LIMIT 1").fetchone()
        return None if row is None else Record.from_row(row)

    def _meta_head(self, conn: sqlite3.Connection) -> Head:
        return meta_head(conn, self._path)

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
                yield Record.from_row(row)
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

    def backup(self, out: str | os.PathLike[str]) -> Head:
        """Copy the log to the new file ``out`` with SQLite's backup API; returns the head of
        the copy, which is this log's head at the moment of the copy.

        Why: copying the file of a live log is not safe (the latest records may be only in the
        ``-wal`` file, and a copy taken during a commit can be torn); the backup API copies
        one consistent snapshot, even while other processes append. The copy is built aside,
        0600, and linked in place when whole: ``out`` never exists half-written, and an
        existing ``out`` is refused (:class:`RecordingError`), never overwritten.
        """
        with self._reading() as conn:  # one snapshot: its head is the copy's
            return backup_snapshot(conn, self._last(conn), self._path, Path(out))

    def overrides_of(self, seq: int) -> list[Record]:
        """The override records that point at decision ``seq``, oldest first."""
        with self._reading() as conn:
            rows = conn.execute(
                f"{self._select(conn)} WHERE overrides_seq = ? AND kind = ? ORDER BY seq",
                (seq, KIND_OVERRIDE),
            ).fetchall()
        return [Record.from_row(r) for r in rows]

    def runs(self, *, run_id: str | None = None, incomplete: bool = False) -> list[RunSummary]:
        """The runs of the log in the order they started (only ``run_id``'s, if given; only
        those that did not complete, with ``incomplete``). Read, not verified: see
        :meth:`verify`. A log of schema 1 has no runs."""
        with self._reading() as conn:
            select = self._select(conn)
            if not self._has_runs:
                return []
            where, params = ("AND run_id = ?", (run_id,)) if run_id is not None else ("", ())
            marks = [
                Record.from_row(row)
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
        return summarize_runs(marks, counts, incomplete=incomplete)

    def effective_outcome(self, seq: int, *, keyring: Keyring | None = None) -> Outcome:
        """The outcome that stands for decision ``seq``: the latest override's, else its own.

        With ``keyring``, only overrides signed by one of its keys count (an unsigned or
        untrusted override, as anyone who can write the file could append, is ignored).
        """
        record = self.get(seq)
        overrides = self.overrides_of(seq)
        if keyring is not None:
            overrides = [o for o in overrides if override_signature(o, keyring).trusted]
        return Outcome((overrides[-1] if overrides else record).outcome)

    def pack_files(self, pack_sha256: str) -> dict[str, bytes]:
        """The stored files of a rule pack, checked against their hashes and the pack hash.

        Raises :class:`TamperedLogError` if they do not reproduce ``pack_sha256``.
        """
        with self._reading() as conn:
            files, problem = load_pack(conn, pack_sha256)
        if problem is not None:
            raise TamperedLogError(f"{describe(self._path)}: {problem}")
        return files

    # ------------------------------------------------------------------ appending

    def _checked_head(self, conn: sqlite3.Connection) -> Head:
        """The head to append after; refuses if the tail was truncated, extended or edited."""
        last = self._last(conn)
        actual = Head(0, GENESIS_HASH) if last is None else Head(last.seq, last.hash)
        if self._meta_head(conn) != actual or (last is not None and not last.hash_ok):
            raise TamperedLogError(
                f"{describe(self._path)}: the end of the chain does not match the log's head; "
                "refusing to append (run `vasp-rules audit verify`)"
            )
        return actual

    def _now(self) -> str:
        return format_time(self._clock())

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
        files = checked_pack(pack)
        prepared = [(d, d.to_json(), input_json(doc, d)) for d, doc in pairs]
        for decision, _, _ in prepared:
            check_decision_matches_pack(decision, pack)
        if not prepared:
            return []
        together = batch and len(prepared) > 1
        if together and len({d.as_of for d, _, _ in prepared}) > 1:
            raise RecordingError("decisions evaluated as one batch must share one as_of")
        sealed = self._seal_all(prepared)
        with self._writing() as conn:
            head = self._checked_head(conn)
            store_pack(conn, pack.sha256, files)
            batch_start = head.seq + 1 if together else None
            batch_size = len(prepared) if together else None
            return self._append(conn, head, sealed, batch_start, batch_size)

    def _append(
        self,
        conn: sqlite3.Connection,
        head: Head,
        prepared: Sequence[Prepared],
        batch_start: int | None,
        batch_size: int | None,
        run: Run | None = None,
    ) -> list[int]:
        """Insert decision records after ``head`` and move the head; inside a write
        transaction. ``prepared`` comes from :meth:`_seal_all`."""
        seqs: list[int] = []
        for decision, decision_json, input_text, sealed in prepared:
            record = decision_record(
                head=head,
                recorded_at=self._now(),
                decision=decision,
                decision_json=decision_json,
                input_json=input_text,
                batch_start=batch_start,
                batch_size=batch_size,
                run_id=None if run is None else run.run_id,
                request_id=None if run is None else run.request_id,
                sealed=sealed,
            )
            conn.execute(INSERT, dataclasses.astuple(record))
            head = Head(record.seq, record.hash)
            seqs.append(record.seq)
        set_head(conn, head)
        return seqs

    def _append_run(
        self, conn: sqlite3.Connection, head: Head, run: Run, status: str, decisions: int | None
    ) -> Head:
        """Insert the start or end record of ``run`` after ``head`` and move the head; inside a
        write transaction."""
        record = run_record(
            head=head,
            recorded_at=self._now(),
            run_id=run.run_id,
            request_id=run.request_id,
            status=status,
            as_of=run.as_of,
            pack=run.pack,
            decisions=decisions,
        )
        conn.execute(INSERT, dataclasses.astuple(record))
        head = Head(record.seq, record.hash)
        set_head(conn, head)
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
        files = checked_pack(pack)
        prepared = [(d, d.to_json(), input_json(doc, d)) for d, doc in pairs]
        for decision, _, _ in prepared:
            check_decision_matches_pack(decision, pack)
        days = {d.as_of for d, _, _ in prepared}
        together = batch and len(prepared) > 1
        if together and len(days) > 1:
            raise RecordingError("decisions evaluated as one batch must share one as_of")
        run = Run.new(pack, request_id, days.pop().isoformat() if len(days) == 1 else None)
        sealed = self._seal_all(prepared)
        with self._writing() as conn:
            head = self._checked_head(conn)
            store_pack(conn, pack.sha256, files)
            head = self._append_run(conn, head, run, RUN_STARTED, len(prepared))
            start_seq = head.seq
            batch_start = head.seq + 1 if together else None
            batch_size = len(prepared) if together else None
            seqs = self._append(conn, head, sealed, batch_start, batch_size, run)
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

    def override(
        self,
        seq: int,
        *,
        by: str,
        reason: str,
        outcome: Outcome | str,
        signing_key: SigningKey | None = None,
    ) -> int:
        """Append an override of decision ``seq``; the original record is left as it was.

        Returns the override's sequence number. ``by`` and ``reason`` must be non-empty. With
        ``signing_key`` the override is signed (who, why, the outcome, the overridden record's
        hash and the override's place in the chain: :func:`~vasp_rules.audit.signing.
        override_message`), so ``verify`` with a keyring can tell who made it.
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
            if original.kind == KIND_OVERRIDE:
                raise RecordingError(
                    f"record {seq} is itself an override; override the decision "
                    f"{original.overrides_seq} instead"
                )
            if original.kind != KIND_DECISION:
                raise RecordingError(f"record {seq} is a {original.kind} record, not a decision")
            if not original.hash_ok:
                raise TamperedLogError(
                    f"{describe(self._path)}: record {seq} does not match its hash; "
                    "refusing to override it"
                )
            record = override_record(
                head=head,
                recorded_at=self._now(),
                original=original,
                outcome=new_outcome.value,
                by=by,
                reason=reason,
                signer=None if signing_key is None else signing_key.public.signer,
            )
            if signing_key is not None:
                signature = signing_key.sign(override_message(record))
                record = seal(dataclasses.replace(record, signature=signature))
            conn.execute(INSERT, dataclasses.astuple(record))
            set_head(conn, Head(record.seq, record.hash))
        return record.seq

    # ------------------------------------------------------------------ personal data

    @property
    def keys_path(self) -> Path | None:
        """The key store's file (None when the log was opened without one)."""
        if self._keystore is not None:
            return self._keystore.path
        return self._keys_path

    def _store(self, *, create: bool) -> KeyStore | None:
        """The key store, opened on first use (and created, with ``create``); None if there is
        none."""
        if self._keystore is None and self._keys_path is not None:
            if create or self._keys_path.exists():
                from vasp_rules.audit.keystore import KeyStore

                self._keystore = KeyStore.open(self._keys_path, create=create)
                self._own_keystore = True
        return self._keystore

    def _needed_store(self) -> KeyStore:
        from vasp_rules.audit.keystore import KeyStoreError

        store = self._store(create=False)
        if store is None:
            where = "none was given" if self._keys_path is None else f"no file {self._keys_path}"
            raise KeyStoreError(f"{describe(self._path)}: no key store ({where}; pass --keys)")
        return store

    def _seal_all(self, prepared: Sequence[tuple[Decision, str, str]]) -> list[Prepared]:
        """Each prepared (decision, decision JSON, input JSON) with the JSON to store and its
        ``sealed`` column: redacted and sealed when it holds personal data and the log has a
        key store, as they are otherwise. Called before the log's write lock is taken."""
        if self._keystore is None and self._keys_path is None:
            return [(d, dj, ij, None) for d, dj, ij in prepared]
        from vasp_rules.audit.sealing import seal_prepared

        return seal_prepared(prepared, self._created_store)

    def _created_store(self) -> KeyStore:
        store = self._store(create=True)
        assert store is not None  # a path or a store was given: _seal_all checked
        return store

    def opened(self, record: Record) -> OpenedRecord:
        """Decision ``record``'s input and decision with its personal data joined back, as far
        as the key store holds the keys (see :class:`~vasp_rules.audit.sealing.OpenedRecord`)."""
        return record.opened(self._store(create=False) if record.sealed is not None else None)

    def _sealed_under(self, key_ids: Sequence[str]) -> list[Record]:
        """The decision records with a part sealed under any of ``key_ids``."""
        from vasp_rules.audit.sealing import sealed_key_ids

        if not key_ids:
            return []
        with self._reading() as conn:
            select = self._select(conn)
            if not self._has_sealed:
                return []
            found: list[Record] = []
            for start in range(0, len(key_ids), 500):
                chunk = key_ids[start : start + 500]
                clause = " OR ".join("instr(sealed, ?) > 0" for _ in chunk)
                found += [
                    Record.from_row(row)
                    for row in conn.execute(
                        f"{select} WHERE kind = ? AND sealed IS NOT NULL AND ({clause})",
                        (KIND_DECISION, *chunk),
                    )
                ]
        wanted = set(key_ids)
        unique = {r.seq: r for r in found if sealed_key_ids(r.sealed) & wanted}
        return [unique[seq] for seq in sorted(unique)]

    def about(self, value: str) -> list[SubjectRecord]:
        """Every decision record about the person ``value`` identifies (a CNIC/NICOP, passport
        or customer number, a wallet address...), with their personal data joined back: the
        answer to a subject access request. :class:`UnknownSubjectError` if none."""
        from vasp_rules.audit.keystore import UnknownSubjectError

        store = self._needed_store()
        found = store.find(personal.identifiers_of(value))
        if not found.subjects:
            raise UnknownSubjectError(
                "no data subject in the key store has that identifier (never recorded, or "
                "already erased)"
            )
        return [SubjectRecord(r, r.opened(store)) for r in self._sealed_under(found.key_ids)]

    def erase(self, value: str) -> ErasureReport:
        """Erase the personal data of the person ``value`` identifies: destroy every key of
        their subject(s) in the key store (see :meth:`KeyStore.erase`). The log is not changed
        and still verifies; the records sealed under those keys read as erased.
        :class:`UnknownSubjectError` if no subject has ``value``."""
        store = self._needed_store()
        erasure = store.erase(personal.identifiers_of(value), at=self._now())
        records = self._sealed_under(erasure.key_ids)
        return ErasureReport(
            erasure.subjects,
            len(erasure.key_ids),
            tuple(r.seq for r in records),
            erasure.erased_at,
            erasure.wiped,
        )

    # ------------------------------------------------------------------ verifying

    def verify(
        self, *, anchor: Head | SignedHead | None = None, keyring: Keyring | None = None
    ) -> VerifyReport:
        """Check the whole log and report the first broken record.

        Checks, in one snapshot: sequence numbers run 1..n without gaps; each record links to
        the previous record's hash and matches its own; each record is internally consistent;
        the stored head matches the last record (detects a truncated or extended tail); every
        rule pack a decision used is stored intact; and, if given, ``anchor`` (a head kept
        elsewhere) is still part of the chain. Damage SQLite itself reports raises
        :class:`CorruptLogError`.

        Signatures: every override signature present must verify with the key its record
        names; unsigned overrides are listed in the report. With ``keyring``, an override that
        is unsigned or signed by a key not in it fails verification at that record. A signed
        ``anchor`` must verify (and, with ``keyring``, be signed by one of its keys), else
        :class:`~vasp_rules.audit.signing.SignatureError` is raised.
        """
        with self._reading() as conn:
            check = conn.execute("PRAGMA quick_check").fetchall()
            if [tuple(r) for r in check] != [("ok",)]:
                detail = "; ".join(str(r[0]) for r in check[:3])
                raise CorruptLogError(f"{describe(self._path)}: corrupt database ({detail})")
            return verify_chain(conn, self._select(conn), self._path, anchor, keyring)


def record_decisions(
    log_path: str | os.PathLike[str],
    pairs: Sequence[tuple[Decision, Document]],
    pack: PackFiles,
    *,
    batch: bool = False,
    clock: Clock | None = None,
    keys: KeyStore | str | os.PathLike[str] | _Beside | None = KEYS_BESIDE,
) -> list[int]:
    """Append decisions made with ``pack`` to the log at ``log_path`` (created if absent),
    personal data sealed with the key store ``keys`` (see :meth:`DecisionLog.open`).

    All pairs are recorded in one transaction; returns their sequence numbers. Pass
    ``batch=True`` when the documents were evaluated together (``evaluate_many`` with
    cross-document rules), so that replay evaluates them together again. Raises an
    :class:`AuditError` (see its ``exit_code``) if the file is not a usable log or the request
    is invalid.
    """
    with DecisionLog.open(log_path, write=True, clock=clock, keys=keys) as log:
        return log.record_many(pairs, pack, batch=batch)


def verify_log(
    log_path: str | os.PathLike[str],
    *,
    anchor: Head | SignedHead | None = None,
    keyring: Keyring | None = None,
) -> VerifyReport:
    """Open ``log_path`` read-only and verify it (see :meth:`DecisionLog.verify`)."""
    with DecisionLog.open(log_path) as log:
        return log.verify(anchor=anchor, keyring=keyring)
