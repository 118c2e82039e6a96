"""JSON Lines in, JSON Lines out, in bounded chunks.

`stream_decisions` reads documents one line at a time and yields one record per document, in
input order, as chunks are decided: a decision (canonical JSON) or, for a bad line, an error
naming its line number. Memory stays flat: at most a few chunks are in flight.

When the pack relates documents (batch rules in force), every document must be read before any
can be decided: a first pass reads the input once (copying a pipe to a temporary file), validates
each document and records its group keys (interp/batchplan.py) in a temporary SQLite file; the
second pass decides chunk after chunk, each beside the neighbours its batch rules may visit, read
back by file offset. Memory stays flat in both passes; only documents with no usable key, which
every document may visit, are held in memory.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

from ..core.errors import VaspRulesError
from ..core.jsonlines import numbered_lines
from ..core.limits import load_json
from .chunks import Invalid, Job, relates, run_job
from .groups import DocKeys

if TYPE_CHECKING:
    from ..runtime.rulepack import RulePack

CHUNK = 500


@dataclass(frozen=True)
class Record:
    """One output line: a decision (JSON text) or the error of a bad input line. `source` is
    the input line itself, when asked for (`keep_input`: the audit log records it)."""

    line: int
    decision: str | None = None
    error: str | None = None
    outcome: str = ""
    fired: tuple[str, ...] = ()
    source: bytes | None = None

    def to_json(self) -> str:
        if self.decision is not None:
            return self.decision
        return json.dumps({"line": self.line, "error": self.error}, ensure_ascii=False)


class StreamError(VaspRulesError):
    """A bad line when the run was asked to stop on errors."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass
class Summary:
    """Counts per outcome and per rule fired."""

    documents: int = 0
    errors: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, record: Record) -> None:
        if record.error is not None:
            self.errors += 1
            return
        self.documents += 1
        self.outcomes[record.outcome] += 1
        self.rules.update(record.fired)

    def to_json(self) -> str:
        return json.dumps(
            {
                "documents": self.documents,
                "errors": self.errors,
                "outcomes": dict(sorted(self.outcomes.items())),
                "rules_fired": dict(sorted(self.rules.items())),
                "seconds": round(self.seconds, 3),
            },
            sort_keys=True,
        )

    def to_text(self) -> str:
        lines = [f"{self.documents} decisions, {self.errors} bad lines, {self.seconds:.1f} s"]
        for outcome, n in sorted(self.outcomes.items(), key=lambda e: (-e[1], e[0])):
            lines.append(f"  {outcome:<24} {n}")
        if self.rules:
            lines.append("rules fired:")
            for rule, n in sorted(self.rules.items(), key=lambda e: (-e[1], e[0])):
                lines.append(f"  {rule:<24} {n}")
        return "\n".join(lines)


def read_lines(source: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """(line number, text) of each non-blank line, read lazily (vasp_rules.core.jsonlines)."""
    for number, _offset, line in numbered_lines(source):
        yield number, line


def parse_line(text: bytes | str) -> Any:
    """One JSON Lines document (numbers read as exact decimals, as from .json files), within
    the input limits (nesting, duplicate keys: vasp_rules.core.limits)."""
    return load_json(text.decode("utf-8") if isinstance(text, bytes) else text, parse_float=Decimal)


def stream_decisions(
    pack: RulePack,
    source: IO[bytes],
    as_of: date,
    *,
    batch: bool = True,
    workers: int = 1,
    chunk: int = CHUNK,
    on_error: str = "stop",
    progress: Callable[[int, int, int], None] | None = None,
    keep_input: bool = False,
) -> Iterator[Record]:
    """Decisions for a JSON Lines stream, in input order, as they are made. `on_error` is
    "stop" (raise StreamError at the first bad line, after yielding every decision before it)
    or "record" (yield an error record in its place). `progress` is called with (documents
    decided, bytes read or -1, total documents or 0). With `keep_input`, each record carries
    its input line (`Record.source`).

    When the pack relates documents on `as_of` (batch rules; see `relates`), every decision is
    made as inside one batch of all the valid documents of the stream (up to the first bad
    line, when the run stops there): what `evaluate_many` on those documents, in input order,
    decides."""
    if relates(pack, as_of, batch):
        yield from _two_pass(pack, source, as_of, workers, chunk, on_error, progress, keep_input)
        return
    lines = read_lines(source)
    done = 0
    position = 0

    def jobs() -> Iterator[tuple[Job, list[tuple[int, bytes | None]]]]:
        nonlocal position
        while True:
            part = _take(lines, chunk)
            if not part:
                return
            lines_in = [(n, text if keep_input else None) for n, text in part]
            docs = [(position + i, text) for i, (_, text) in enumerate(part)]
            position += len(part)
            job = Job(
                phase="decide",
                chunk=len(part),
                as_of=as_of,
                docs=docs,
                neighbours=[],
                engine="durable",
                batch=batch,
                as_json=True,
            )
            yield job, lines_in

    read = 0
    for lines_in, results in _run(pack, workers, jobs()):
        for (number, text), (_, result) in zip(lines_in, results, strict=True):
            yield _record(number, result, on_error, text)
            done += 1
        read = max(read, _tell(source))
        if progress is not None:
            progress(done, read, 0)


def _two_pass(
    pack: RulePack,
    source: IO[bytes],
    as_of: date,
    workers: int,
    chunk: int,
    on_error: str,
    progress: Callable[[int, int, int], None] | None,
    keep_input: bool,
) -> Iterator[Record]:
    with tempfile.TemporaryDirectory(prefix="vasp-rules-") as tmp:
        spool = _seekable(source, tmp)
        store = _KeyStore(os.path.join(tmp, "keys.db"))
        offsets = array("q")
        numbers = array("q")
        errors: dict[int, str] = {}
        stop_at: int | None = None

        def lines() -> Iterator[tuple[int, int, bytes]]:
            spool.seek(0)
            yield from numbered_lines(spool)

        # pass 1: validate, record each document's offset and group keys (in the workers)
        position = 0

        def key_jobs() -> Iterator[tuple[Job, list[Any]]]:
            nonlocal position
            it = lines()
            while True:
                part = _take(it, chunk)
                if not part:
                    return
                docs = []
                for number, start, text in part:
                    offsets.append(start)
                    numbers.append(number)
                    docs.append((position, text))
                    position += 1
                yield Job(phase="keys", chunk=0, as_of=as_of, docs=docs, neighbours=[]), []

        for _, results in _run(pack, workers, key_jobs(), summarise=False):
            for p, keys in results:
                if isinstance(keys, Invalid):
                    if on_error == "stop":
                        errors[p] = keys.message()
                        stop_at = p
                        break
                else:
                    store.add(p, keys)
            if stop_at is not None:
                break
            if progress is not None:
                progress(0, spool.tell(), 0)
        total = position if stop_at is None else stop_at
        store.finish()
        # pass 2: decide chunk by chunk, each beside its neighbours
        reader = open(spool.name, "rb")  # noqa: SIM115 (closed below)

        def text_at(p: int) -> bytes:
            reader.seek(offsets[p])
            return reader.readline()

        def jobs() -> Iterator[tuple[Job, list[tuple[int, bytes | None]]]]:
            for start in range(0, total, chunk):
                stop = min(start + chunk, total)
                own = [(p, text_at(p)) for p in range(start, stop)]
                near = [(p, text_at(p)) for p in store.neighbours(start, stop) if p < total]
                job = Job(
                    phase="decide",
                    chunk=start,
                    as_of=as_of,
                    docs=own,
                    neighbours=near,
                    engine="durable",
                    batch=True,
                    as_json=True,
                )
                yield job, [(numbers[p], text if keep_input else None) for p, text in own]

        done = 0
        try:
            for lines_in, results in _run(pack, workers, jobs()):
                for (number, text), (_, result) in zip(lines_in, results, strict=True):
                    yield _record(number, result, "record", text)
                    done += 1
                if progress is not None:
                    progress(done, -1, total)
        finally:
            reader.close()
            store.close()
            if spool is not source:
                spool.close()
        if stop_at is not None:
            raise StreamError(numbers[stop_at], errors[stop_at])


def _record(number: int, result: Any, on_error: str, source: bytes | None = None) -> Record:
    if isinstance(result, Invalid):
        if on_error == "stop":
            raise StreamError(number, result.message())
        return Record(number, error=result.message(), source=source)
    text, outcome, fired = result
    return Record(number, decision=text, outcome=outcome, fired=fired, source=source)


def _run(
    pack: RulePack,
    workers: int,
    jobs: Iterable[tuple[Job, list[Any]]],
    *,
    summarise: bool = True,
) -> Iterator[tuple[list[Any], list[tuple[int, Any]]]]:
    """Run (job, what the caller keeps of its lines) pairs in order, in this process or the
    pool."""
    done = _summarised if summarise else (lambda r: r)
    if workers <= 1:
        for job, numbers in jobs:
            yield numbers, done(run_job(pack, job, {}))
        return
    pool = pack.worker_pool(workers)
    pending: list[list[Any]] = []

    def only_jobs() -> Iterator[Job]:
        for job, numbers in jobs:
            pending.append(numbers)
            yield job

    try:
        for results in pool.run(only_jobs()):
            yield pending.pop(0), done(results)
    finally:
        if len(pending):
            pool.close()  # abandoned mid-run: results still in flight


def _summarised(results: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
    """Decision texts with the outcome and fired rules the summary counts."""
    out: list[tuple[int, Any]] = []
    for p, r in results:
        if isinstance(r, Invalid):
            out.append((p, r))
        else:
            data = json.loads(r)
            fired = tuple(sorted({f["rule_id"] for f in data["findings"]}))
            out.append((p, (r, data["outcome"], fired)))
    return out


def _take(it: Iterator[Any], n: int) -> list[Any]:
    out = []
    for x in it:
        out.append(x)
        if len(out) >= n:
            break
    return out


def _tell(source: IO[bytes]) -> int:
    try:
        return source.tell()
    except (OSError, ValueError):
        return -1


def _seekable(source: IO[bytes], tmp: str) -> IO[bytes]:
    """The input as a file that can be read again (a pipe is copied to a temporary file)."""
    name = getattr(source, "name", None)
    if isinstance(name, str) and os.path.isfile(name):
        return source
    copy = open(os.path.join(tmp, "input.jsonl"), "w+b")  # noqa: SIM115 (closed by caller)
    shutil.copyfileobj(source, copy)
    copy.flush()
    return copy


class _KeyStore:
    """Group keys of a stream's documents, on disk (flat memory), and the neighbour query."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path)
        self.db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
            "CREATE TABLE pub(space INTEGER, key TEXT, pos INTEGER);"
            "CREATE TABLE probe(pos INTEGER, space INTEGER, key TEXT);"
            "CREATE TABLE wild(space INTEGER, pos INTEGER);"
            "CREATE TABLE needs(pos INTEGER, kind TEXT);"
            "CREATE TABLE doc(pos INTEGER PRIMARY KEY, kind TEXT);"
            "CREATE TABLE link(space INTEGER, key TEXT, pos INTEGER);"
        )

    def add(self, pos: int, keys: DocKeys) -> None:
        db = self.db
        db.execute("INSERT INTO doc VALUES (?, ?)", (pos, keys.kind))
        if keys.publishes:
            db.executemany(
                "INSERT INTO pub VALUES (?, ?, ?)", [(n, _text(k), pos) for n, k in keys.publishes]
            )
        if keys.probes:
            db.executemany(
                "INSERT INTO probe VALUES (?, ?, ?)", [(pos, n, _text(k)) for n, k in keys.probes]
            )
        if keys.wild:
            db.executemany("INSERT INTO wild VALUES (?, ?)", [(n, pos) for n in keys.wild])
        if keys.needs_all:
            db.executemany(
                "INSERT INTO needs VALUES (?, ?)", [(pos, k) for k in set(keys.needs_all)]
            )
        if keys.links:
            db.executemany(
                "INSERT INTO link VALUES (?, ?, ?)", [(n, _text(k), pos) for n, k in keys.links]
            )

    def finish(self) -> None:
        self.db.executescript(
            "CREATE INDEX pub_key ON pub(space, key); CREATE INDEX probe_pos ON probe(pos);"
            "CREATE INDEX needs_pos ON needs(pos); CREATE INDEX doc_kind ON doc(kind);"
            "CREATE INDEX link_key ON link(space, key); CREATE INDEX link_pos ON link(pos);"
        )
        self.db.commit()

    def neighbours(self, start: int, stop: int) -> list[int]:
        rows = self.db.execute(
            "SELECT pub.pos FROM probe JOIN pub ON pub.space = probe.space AND pub.key = "
            "probe.key WHERE probe.pos >= ?1 AND probe.pos < ?2 "
            "UNION SELECT wild.pos FROM wild WHERE wild.space IN "
            "(SELECT space FROM probe WHERE pos >= ?1 AND pos < ?2) "
            "UNION SELECT doc.pos FROM doc WHERE doc.kind IN "
            "(SELECT kind FROM needs WHERE pos >= ?1 AND pos < ?2)",
            (start, stop),
        ).fetchall()
        # transitive links: the documents joined to the chunk's by chains of shared keys; the
        # recursion runs over keys (each expanded once), so a key shared by m documents costs
        # O(m), not O(m²) as following documents would
        rows += self.db.execute(
            "WITH RECURSIVE reach(space, key) AS ("
            "SELECT space, key FROM link WHERE pos >= ?1 AND pos < ?2 "
            "UNION SELECT b.space, b.key FROM reach "
            "JOIN link a ON a.space = reach.space AND a.key = reach.key "
            "JOIN link b ON b.pos = a.pos AND b.space = a.space) "
            "SELECT link.pos FROM reach JOIN link ON link.space = reach.space "
            "AND link.key = reach.key",
            (start, stop),
        ).fetchall()
        return sorted({p for (p,) in rows if not start <= p < stop})

    def close(self) -> None:
        self.db.close()


def _text(key: Any) -> str:
    """A key as text, equal exactly when the keys compare equal (1 == 1.0 == True)."""
    return repr(_canon(key))


def _canon(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_canon(v) for v in value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        return str(value.normalize())
    return value
