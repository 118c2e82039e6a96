"""Durability and concurrency, with real processes.

* A writer killed with SIGKILL, between or in the middle of a batch, leaves a log that verifies
  and holds every record whose recording call had returned.
* Several processes appending to one (initially absent) log produce one valid chain, losing
  nothing.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from support.audit import FakePack, pack_files, pairs

from vasp_rules.audit import DecisionLog, verify_log

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

ROOT = Path(__file__).resolve().parents[1]

WRITER = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, datetime
    from support.audit import FakePack, pack_files, pairs
    from vasp_rules.audit import DecisionLog

    db, mode, arg = sys.argv[1], sys.argv[2], int(sys.argv[3])
    pack = FakePack(pack_files())

    if mode == "hang-in-batch":
        # Batches of 3; the clock (called inside the write transaction, after earlier records
        # of the batch were inserted) hangs on call number `arg` so the kill lands mid-batch.
        calls = 0
        def clock():
            global calls
            calls += 1
            if calls == arg:
                print("IN-TRANSACTION", flush=True)
                time.sleep(60)
            return datetime.now(UTC)
        with DecisionLog.open(db, write=True, clock=clock) as log:
            for start in range(1, 1000, 3):
                seqs = log.record_many(pairs(pack, start, 3), pack)
                print(" ".join(map(str, seqs)), flush=True)
    elif mode == "loop":
        with DecisionLog.open(db, write=True) as log:
            for i in range(1, 100000):
                batch = pairs(pack, i, 1 + i % 3)
                seqs = log.record_many(batch, pack)
                print(" ".join(map(str, seqs)), flush=True)
    elif mode == "concurrent":
        start_at, count = float(sys.argv[4]), arg
        time.sleep(max(0.0, start_at - time.time()))
        for i in range(count):
            with DecisionLog.open(db, write=True) as log:  # open per call: also races creation
                seq = log.record(*pairs(pack, i, 1)[0], pack)
            print(seq, flush=True)
    """
)


def _spawn(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests"), env.get("PYTHONPATH", "")])
    return subprocess.Popen(
        [sys.executable, str(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _returned(lines: list[str]) -> list[int]:
    return [int(tok) for line in lines for tok in line.split()]


def _kill(proc: subprocess.Popen[str]) -> list[str]:
    proc.send_signal(signal.SIGKILL)
    # read() drains what the line iterator already buffered; communicate() would read the
    # pipe's descriptor directly and lose those lines
    rest = proc.stdout.read() if proc.stdout is not None else ""
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return rest.splitlines()


def test_sigkill_in_the_middle_of_a_batch(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    # Clock call 8 is the 2nd record of the 3rd batch: records 7 is inserted but uncommitted.
    proc = _spawn(tmp_path, str(db), "hang-in-batch", "8")
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        if line.strip() == "IN-TRANSACTION":
            break
        lines.append(line)
    else:
        raise AssertionError(proc.stderr.read() if proc.stderr else "writer ended early")
    lines += _kill(proc)
    returned = _returned(lines)
    assert returned == [1, 2, 3, 4, 5, 6]
    report = verify_log(db)
    assert report.ok, report.summary()
    assert report.records == 6  # the interrupted batch left nothing behind
    # The log stays appendable and the chain continues where it was.
    pack = FakePack(pack_files())
    with DecisionLog.open(db, write=True) as log:
        assert log.record(*pairs(pack, 50, 1)[0], pack) == 7
    assert verify_log(db).ok


@pytest.mark.parametrize("attempt", range(3))
def test_sigkill_at_a_random_moment(tmp_path: Path, attempt: int) -> None:
    db = tmp_path / "d.db"
    proc = _spawn(tmp_path, str(db), "loop", "0")
    assert proc.stdout is not None
    lines = []
    wanted = 15 + 10 * attempt
    for line in proc.stdout:
        lines.append(line)
        if len(lines) >= wanted:
            break
    else:
        raise AssertionError(proc.stderr.read() if proc.stderr else "writer ended early")
    time.sleep(random.Random(attempt).uniform(0, 0.02))
    lines += _kill(proc)
    returned = _returned(lines)
    assert returned == list(range(1, len(returned) + 1))
    report = verify_log(db)
    assert report.ok, report.summary()
    # Every returned record is there; at most one batch committed but not yet reported.
    assert len(returned) <= report.records <= len(returned) + 3
    with DecisionLog.open(db) as log:
        stored = {r.seq: r.document_id for r in log.records()}
    assert set(returned) <= set(stored)


def test_concurrent_writers_build_one_chain(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"  # does not exist yet: the writers race to create it
    writers, per_writer = 4, 25
    start_at = time.time() + 1.0
    procs = [
        _spawn(tmp_path, str(db), "concurrent", str(per_writer), str(start_at))
        for _ in range(writers)
    ]
    returned: list[int] = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        returned += _returned(out.splitlines())
    total = writers * per_writer
    assert sorted(returned) == list(range(1, total + 1))  # no seq handed out twice, none lost
    report = verify_log(db)
    assert report.ok, report.summary()
    assert report.records == total
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".creating")]
    assert leftovers == []
