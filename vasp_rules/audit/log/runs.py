"""Runs: one `evaluate --log` run or one service request, framed by a start and an end record;
:class:`ChunkedRecorder` records a run as it goes; :func:`run_problem` checks runs in verify."""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

from vasp_rules.audit.log.errors import AuditError, RecordingError
from vasp_rules.audit.log.packs import (
    PackFiles,
    check_decision_matches_pack,
    checked_pack,
    store_pack,
)
from vasp_rules.audit.log.records import (
    KIND_DECISION,
    KIND_OVERRIDE,
    KIND_RUN,
    RUN_COMPLETED,
    RUN_DOCUMENT_KIND,
    RUN_INCOMPLETE,
    RUN_STARTED,
    RUN_STOPPED,
    Document,
    Head,
    Record,
    input_json,
)
from vasp_rules.model.decision import Decision

if TYPE_CHECKING:
    from vasp_rules.audit.sealing import Prepared


class DecisionLog(Protocol):
    """What a run writes through: store.DecisionLog's append internals (store.py imports this
    module, so a run names the log by what it uses)."""

    def _run_lock(self) -> contextlib.AbstractContextManager[None]: ...

    def _writing(self) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...

    def _seal_all(self, prepared: Sequence[tuple[Decision, str, str]]) -> list[Prepared]: ...

    def _checked_head(self, conn: sqlite3.Connection) -> Head: ...

    def _meta_head(self, conn: sqlite3.Connection) -> Head: ...

    def _append(
        self,
        conn: sqlite3.Connection,
        head: Head,
        prepared: Sequence[Prepared],
        batch_start: int | None,
        batch_size: int | None,
        run: Run | None = None,
    ) -> list[int]: ...

    def _append_run(
        self, conn: sqlite3.Connection, head: Head, run: Run, status: str, decisions: int | None
    ) -> Head: ...


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
class Run:
    """What every record of one run repeats: its id, the service request id, the pack, as_of."""

    run_id: str
    request_id: str | None
    pack: PackFiles
    as_of: str | None

    @classmethod
    def new(cls, pack: PackFiles, request_id: str | None, as_of: str | None) -> Run:
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
        self._files = checked_pack(pack)
        self._total = total
        self._together = batch and (total is None or total > 1)
        self._chunk = chunk
        self._run = Run.new(pack, request_id, None if as_of is None else as_of.isoformat())
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

    @property
    def committed(self) -> int:
        """How many decisions have been committed so far: the first ``committed`` decisions
        added are durable in the log (a streamed run writes its output up to there)."""
        return len(self._seqs)

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
        check_decision_matches_pack(decision, self._pack)
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
        self._pending.append((decision, decision.to_json(), input_json(document, decision)))
        if len(self._pending) >= self._chunk:
            self.flush()

    def flush(self) -> None:
        """Commit the queued decisions now."""
        if not self._pending:
            return
        sealed = self._seal_pending()
        with self._log._writing() as conn:
            seqs, _ = self._commit_pending(conn, sealed)
        self._committed_now(seqs)

    def _seal_pending(self) -> list[Prepared]:
        """The queued decisions, their personal data sealed (before the log's write lock is
        taken: the key store has its own transaction); never retried after a failure."""
        pending, self._pending = self._pending, []
        return self._log._seal_all(pending)

    def _start(self) -> None:
        log = self._log
        with log._writing() as conn:
            head = log._checked_head(conn)
            store_pack(conn, self._pack.sha256, self._files)
            head = log._append_run(conn, head, self._run, RUN_STARTED, self._total)
        self._last_seq = head.seq

    def _commit_pending(
        self, conn: sqlite3.Connection, pending: Sequence[Prepared]
    ) -> tuple[list[int], Head]:
        """Append the sealed queued decisions (inside a write transaction); returns their
        sequence numbers and the new head. They count as committed (:meth:`_committed_now`)
        only once the transaction has."""
        log = self._log
        head = log._checked_head(conn)
        if self._together and head.seq != self._last_seq:
            raise RecordingError(
                "another writer appended in the middle of this batch run; "
                "its remaining decisions were not recorded"
            )
        if not pending:
            return [], head
        if self._together and self._batch_start is None:
            self._batch_start = head.seq + 1
        seqs = log._append(conn, head, pending, self._batch_start, None, self._run)
        return seqs, log._meta_head(conn)

    def _committed_now(self, seqs: list[int]) -> None:
        if seqs:
            self._seqs.extend(seqs)
            self._last_seq = seqs[-1]

    def _end(self, status: str) -> None:
        """Commit what is queued and the end record, in one transaction."""
        if self._ended:
            return
        self._ended = True
        log = self._log
        sealed = self._seal_pending()
        with log._writing() as conn:
            seqs, head = self._commit_pending(conn, sealed)
            log._append_run(conn, head, self._run, status, len(self._seqs) + len(seqs))
        self._committed_now(seqs)


@dataclass
class OpenRun:
    """A run being verified: its start record and the decisions seen so far."""

    start: Record
    decisions: int = 0


def run_problem(record: Record, open_runs: dict[str, OpenRun]) -> str | None:
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
        problem = differs_from_run(record, run.start)
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
        open_runs[run_id] = OpenRun(record)
        return None
    if record.outcome not in (RUN_COMPLETED, RUN_STOPPED):
        return f"run record with an unknown status {record.outcome!r}"
    run = open_runs.get(run_id)
    if run is None:
        return f"ends run {run_id!r}, which has not started"
    problem = differs_from_run(record, run.start)
    if problem is not None:
        return problem
    if record.run_decisions != run.decisions:
        return (
            f"says run {run_id!r} recorded {record.run_decisions} decisions, but the log holds "
            f"{run.decisions}"
        )
    del open_runs[run_id]
    return None


def differs_from_run(record: Record, start: Record) -> str | None:
    """How a record of a run differs from the run's start record, or None."""
    if record.request_id != start.request_id:
        return f"request id differs from that of its run (record {start.seq})"
    if start.pack_sha256 is not None and record.pack_sha256 != start.pack_sha256:
        return f"rule pack differs from that of its run (record {start.seq})"
    if start.as_of is not None and record.as_of != start.as_of:
        return f"as_of differs from that of its run (record {start.seq})"
    return None


def summarize_runs(
    marks: Sequence[Record],
    counts: Mapping[str, tuple[int, int | None, int | None]],
    *,
    incomplete: bool = False,
) -> list[RunSummary]:
    """The runs told by their run records ``marks`` (in sequence order) and, per run id, the
    count, first and last sequence number of its decision records; only the runs that did not
    complete with ``incomplete``."""
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
