"""A logged run killed with SIGKILL: `evaluate --log` commits in chunks, so the run keeps
every decision of each committed chunk (issue 11, finding 9), the chain verifies, each kept
decision is the one a fresh evaluation gives, and the run shows as incomplete (it has a start
record and no end record). tests/test_audit_runs.py does the same for streamed runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.audit import opened
from support.processes import customers, sigkill_after_commits
from support.repo import AS_OF

from vasp_rules import RulePack
from vasp_rules.audit.log import (
    KIND_DECISION,
    RUN_COMPLETED,
    RUN_INCOMPLETE,
    DecisionLog,
    verify_log,
)
from vasp_rules.audit.replay import replay

CHUNK = 40
N = 1500


def _population(tmp: Path) -> tuple[Path, list[dict[str, object]]]:
    docs = customers(N)
    path = tmp / "customers.json"
    path.write_text(json.dumps(docs))
    return path, docs


@pytest.mark.parametrize("separate", [True, False], ids=["separate", "batch"])
def test_sigkilled_logged_run_keeps_committed_chunks(
    tmp_path: Path, separate: bool, pk: RulePack
) -> None:
    docs_file, docs = _population(tmp_path)
    db = tmp_path / "log.db"
    cmd = [
        sys.executable, "-m", "vasp_rules.cli", "evaluate", str(docs_file),
        "--as-of", AS_OF.isoformat(), "--log", str(db), "--log-chunk", str(CHUNK),
        "--format", "json",
    ] + (["--separate"] if separate else [])  # fmt: skip
    sigkill_after_commits(cmd, db, 3 * CHUNK)
    report = verify_log(db)
    assert report.ok, report.summary()
    kept = report.records - 1  # the run's start record, then its committed decisions
    assert 3 * CHUNK <= kept < N and kept % CHUNK == 0, kept
    [incomplete] = report.incomplete_runs
    assert (incomplete.start_seq, incomplete.decisions) == (1, kept)
    if separate:
        expected = [pk.evaluate(d, AS_OF).to_json() for d in docs[:kept]]
    else:
        expected = [d.to_json() for d in pk.evaluate_many(docs, AS_OF)[:kept]]
    with DecisionLog.open(db) as log:
        records = [opened(log, r) for r in log.records() if r.kind == KIND_DECISION]
        assert [r.decision_json for r in records] == expected
        assert [r.document() for r in records] == docs[:kept]
        assert [(r.status, r.announced, r.decisions) for r in log.runs()] == [
            (RUN_INCOMPLETE, N, kept)
        ]
        if not separate:
            assert {(r.batch_start, r.batch_size) for r in records} == {(2, None)}
            result = replay(log, 3)
            assert any("if its run was stopped" in n for n in result.notes)
    # the log goes on: a later run appends after the interrupted one, and still verifies
    done = subprocess.run(
        [sys.executable, "-m", "vasp_rules.cli", "evaluate", "examples/customer.json",
         "examples/transfer.json", "--as-of", AS_OF.isoformat(), "--log", str(db)],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    after = verify_log(db)
    assert after.ok and after.records == kept + 1 + 4, after.summary()
    with DecisionLog.open(db) as log:
        assert [r.status for r in log.runs()] == [RUN_INCOMPLETE, RUN_COMPLETED]
