"""Issue 21: concurrent writers must not corrupt the log or lose an acknowledged record.

Two long-lived processes of four threads each (one DecisionLog per thread) append runs with
request ids, while short-lived processes open the log, append one run and close it, in a
loop; some of those are SIGKILLed at a random moment. Every writer acknowledges a record
(seq, document id, run id, request id) only after the append returned (tests/
support/concurrent_writer.py). Afterwards SQLite's integrity check and ``verify_log`` pass, every
acknowledged record is at its number with its document, run and request id, and no number
was acknowledged twice.

Closing any descriptor of a file drops every POSIX lock the process holds on it, SQLite's
included: a second descriptor of the database, opened and closed beside SQLite's connections,
let two writers into the file at once. This test corrupted the log within seconds then.

About 9 seconds of writing by default; VASP_RULES_FUZZ=1 writes for 60 seconds.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from vasp_rules.audit import DecisionLog, UnknownRecordError, verify_log

WRITER = Path(__file__).resolve().parent / "support" / "concurrent_writer.py"
SECONDS = 60.0 if os.environ.get("VASP_RULES_FUZZ") else 9.0
LONG_PROCESSES, THREADS = 2, 4
SHORT_AT_ONCE, SHORT_RUNS = 2, 4
#: every KILL_ONE_IN-th short-lived writer is SIGKILLed at a random moment of its life
KILL_ONE_IN = 3


@dataclass
class Tally:
    """What the run did, for the failure message and the closing note."""

    short: int = 0
    killed: int = 0
    acks: int = 0
    problems: list[str] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)

    def problem(self, kind: str, text: str) -> None:
        self.kinds[kind] += 1
        self.problems.append(text)

    def line(self, seconds: float) -> str:
        return (
            f"{LONG_PROCESSES}x{THREADS} long-lived writer threads, {self.short} short-lived "
            f"writer processes ({self.killed} SIGKILLed), {self.acks} acknowledged records in "
            f"{seconds:.1f} s; {len(self.problems)} problems"
            + "".join(f", {n} {kind}" for kind, n in sorted(self.kinds.items()))
        )


def _writer(db: Path, acks: Path, name: str, *args: object) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, str(WRITER), str(db), str(acks), name, *map(str, args)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _write_concurrently(db: Path, acks: Path, seconds: float, rng: random.Random) -> Tally:
    tally = Tally()
    long = [_writer(db, acks, f"L{i}", "long", THREADS, seconds) for i in range(LONG_PROCESSES)]
    short: list[tuple[subprocess.Popen[bytes], float | None]] = []
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            for proc, kill_at in list(short):
                if proc.poll() is not None:
                    short.remove((proc, kill_at))
                elif kill_at is not None and time.monotonic() >= kill_at:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait()
                    tally.killed += 1
                    short.remove((proc, kill_at))
            while len(short) < SHORT_AT_ONCE:
                tally.short += 1
                proc = _writer(db, acks, f"S{tally.short}", "short", SHORT_RUNS)
                dies = tally.short % KILL_ONE_IN == 1
                short.append((proc, time.monotonic() + rng.uniform(0.3, 2.0) if dies else None))
            time.sleep(0.02)
    finally:
        for proc, _ in short:
            proc.wait(timeout=300)
        for proc in long:
            proc.wait(timeout=300)
    for proc in long + [p for p, _ in short]:
        if proc.returncode not in (0, -signal.SIGKILL):
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            tally.problem("writers crashed", f"writer exited {proc.returncode}: {err[-500:]}")
    return tally


def _check(db: Path, acks: Path, tally: Tally) -> None:
    for err in sorted(acks.glob("*.err")):
        for line in err.read_text().splitlines():
            tally.problem("writer errors", f"{err.stem}: {line}")
    acknowledged: dict[int, tuple[str, str, str]] = {}
    for ack in sorted(acks.glob("*.ack")):
        for line in ack.read_text().splitlines():
            seq, document_id, run_id, request_id = json.loads(line)
            tally.acks += 1
            if seq in acknowledged:
                tally.problem("acknowledged twice", f"record {seq} acknowledged twice ({ack.stem})")
            acknowledged[seq] = (document_id, run_id, request_id)
    try:
        conn = sqlite3.connect(db)
        try:
            integrity = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
        if integrity != [("ok",)]:
            tally.problem("integrity_check failed", f"integrity_check: {str(integrity)[:300]}")
    except sqlite3.DatabaseError as exc:
        tally.problem("integrity_check failed", f"integrity_check: {exc}")
    try:
        report = verify_log(db)
        if not report.ok:
            tally.problem("verify failed", f"verify: {report.summary()}")
    except Exception as exc:
        tally.problem("verify failed", f"verify: {type(exc).__name__}: {exc}")
    try:
        with DecisionLog.open(db) as log:
            for seq, expected in sorted(acknowledged.items()):
                try:
                    record = log.get(seq)
                except UnknownRecordError:
                    tally.problem("missing", f"record {seq}: missing")
                    continue
                except Exception as exc:
                    tally.problem("unreadable", f"record {seq}: unreadable ({exc})")
                    continue
                found = (record.document_id, record.run_id, record.request_id)
                if found != expected:
                    tally.problem(
                        "hold another record",
                        f"record {seq} is {found}, acknowledged as {expected}",
                    )
    except Exception as exc:
        tally.problem("log unreadable", f"opening the log: {type(exc).__name__}: {exc}")


def test_concurrent_writers_keep_every_acknowledged_record(tmp_path: Path) -> None:
    db, acks = tmp_path / "log.db", tmp_path / "acks"
    acks.mkdir()
    DecisionLog.open(db, write=True).close()
    seed = random.randrange(2**32)
    started = time.monotonic()
    tally = _write_concurrently(db, acks, SECONDS, random.Random(seed))
    seconds = time.monotonic() - started
    _check(db, acks, tally)
    print(tally.line(seconds))  # the figures, with pytest -s
    assert tally.acks > 0, tally.line(seconds)
    assert tally.short > SHORT_AT_ONCE and tally.killed >= 1, tally.line(seconds)
    assert not tally.problems, f"seed {seed}: {tally.line(seconds)}:\n" + "\n".join(
        tally.problems[:40]
    )
