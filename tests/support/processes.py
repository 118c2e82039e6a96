"""Processes a test runs and kills: a logged `evaluate` stopped with SIGKILL mid-run, over a
population of customers large enough to be stopped halfway."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.repo import example


def customers(n: int) -> list[dict[str, Any]]:
    """`n` copies of the example customer with their own ids, every third one of high risk."""
    base = example("customer")
    docs = []
    for i in range(n):
        doc = dict(base, customer_id=f"CUST-{i:08d}")
        if i % 3 == 0:
            doc["risk_rating"] = "HIGH"
        docs.append(doc)
    return docs


def logged_decisions(db: Path) -> int:
    """Decision records committed to the audit log `db` so far (0 while it is being created)."""
    from vasp_rules.audit.log import KIND_DECISION, DecisionLog

    if not db.exists():
        return 0
    try:
        with DecisionLog.open(db) as log:
            return sum(1 for r in log.records() if r.kind == KIND_DECISION)
    except Exception:  # not created yet, or mid-creation
        return 0


def sigkill_after_commits(cmd: list[str], db: Path, decisions: int) -> None:
    """Run `cmd` (an `evaluate --log db` run) and kill it with SIGKILL as soon as `db` holds
    at least `decisions` committed decision records; fails if it ends or stalls before."""
    import os
    import signal
    import subprocess
    import time

    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while logged_decisions(db) < decisions:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the run committed nothing in two minutes"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
