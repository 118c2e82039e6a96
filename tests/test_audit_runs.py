"""Issue 9 ("audit log at scale") and issue 14 (request ids): runs in the decision log.

Streamed `evaluate --log` runs record every decision as it is written, in committed chunks; each
run is framed by a start and an end record, so a run killed with SIGKILL keeps its committed
chunks, the chain verifies and the run shows as incomplete; logs of schema 1 still open,
verify and take new records; a streamed run replays byte for byte.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support.audit import AS_OF as FAKE_AS_OF
from support.audit import FakePack, StepClock, opened, pack_files, pairs
from support.batches import _mixed
from support.processes import customers, sigkill_after_commits
from support.repo import AS_OF

from vasp_rules import RulePack
from vasp_rules.audit import (
    RUN_COMPLETED,
    RUN_INCOMPLETE,
    RUN_STOPPED,
    SCHEMA_VERSION,
    DecisionLog,
    RecordingError,
    replay,
    verify_log,
)
from vasp_rules.audit.log import KIND_DECISION, KIND_RUN
from vasp_rules.cli import main

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "audit_log_schema1.db"
CHUNK = 40
N = 1500


def _lines(docs: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(d) + "\n" for d in docs)


def _decisions(db: Path) -> list[Any]:
    with DecisionLog.open(db) as log:  # as read with the key store beside the log
        return [opened(log, r) for r in log.records() if r.kind == KIND_DECISION]


def _evaluate(*args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(
        main, ["evaluate", *args], input=None if stdin is None else stdin.encode()
    )


# --------------------------------------------------------------------------- streamed runs


@pytest.mark.parametrize(
    "how", ["file-batch", "stdin-separate", "file-workers"],
)
def test_streamed_run_records_every_decision_and_completes(
    tmp_path: Path, how: str, pk: RulePack
) -> None:
    docs = _mixed()
    db = tmp_path / "log.db"
    out = tmp_path / "out.jsonl"
    separate = how == "stdin-separate"
    extra = ["--separate"] if separate else []
    if how == "file-workers":
        extra = ["--workers", "2"]
    if how.startswith("stdin"):
        result = _evaluate("-", "--input-format", "jsonl", "--as-of", AS_OF.isoformat(),
                           "-o", str(out), "--chunk-size", "5", "--log", str(db),
                           "--log-chunk", "7", *extra, stdin=_lines(docs))  # fmt: skip
    else:
        src = tmp_path / "in.jsonl"
        src.write_text(_lines(docs))
        result = _evaluate(str(src), "--as-of", AS_OF.isoformat(), "-o", str(out),
                           "--chunk-size", "5", "--log", str(db), "--log-chunk", "7",
                           *extra)  # fmt: skip
    assert result.exit_code == 0, result.output
    report = verify_log(db)
    assert report.ok and report.incomplete_runs == (), report.summary()
    assert report.records == len(docs) + 2  # the run's start, its decisions, its end
    written = [json.loads(line) for line in out.read_text().splitlines()]
    records = _decisions(db)
    assert [json.loads(r.decision_json) for r in records] == written
    assert [r.document() for r in records] == docs
    expected = pk.evaluate_many(docs, AS_OF, batch=not separate)
    assert [r.decision_json for r in records] == [d.to_json() for d in expected]
    with DecisionLog.open(db) as log:
        [run] = log.runs()
        assert run.status == RUN_COMPLETED and run.complete
        assert (run.decisions, run.announced, run.as_of) == (len(docs), None, AS_OF.isoformat())
        assert {r.run_id for r in records} == {run.run_id}
        # cross-document rules relate these documents: a batch run is recorded as one batch
        batches = {(r.batch_start, r.batch_size) for r in records}
        assert batches == ({(None, None)} if separate else {(2, None)})
        for seq in (2, 3, len(docs) + 1):  # first, second and last decision
            result = replay(log, seq)
            assert result.same, result.diff()
            if not separate:
                assert any("which completed" in note for note in result.notes), result.notes


def test_streamed_run_replays_byte_for_byte_through_the_cli(tmp_path: Path) -> None:
    docs = _mixed()[:9]
    db = tmp_path / "log.db"
    src = tmp_path / "in.jsonl"
    src.write_text(_lines(docs))
    result = _evaluate(str(src), "--as-of", AS_OF.isoformat(), "-o", str(tmp_path / "o.jsonl"),
                       "--log", str(db), "--log-chunk", "2")  # fmt: skip
    assert result.exit_code == 0, result.output
    for seq in range(2, len(docs) + 2):
        replayed = CliRunner().invoke(main, ["audit", "replay", str(db), str(seq)])
        assert replayed.exit_code == 0 and f"SAME: record {seq}" in replayed.stdout, (
            replayed.output
        )


def test_bad_line_stops_the_run_and_the_run_says_so(tmp_path: Path) -> None:
    docs = _mixed()[:9]
    src = tmp_path / "in.jsonl"
    src.write_text(_lines(docs[:6]) + '{"kind": "transfer", "transfer_id": 12\n' + _lines(docs[6:]))
    db = tmp_path / "log.db"
    result = _evaluate(str(src), "--as-of", AS_OF.isoformat(), "-o", str(tmp_path / "o.jsonl"),
                       "--log", str(db), "--log-chunk", "4")  # fmt: skip
    assert result.exit_code == 2 and ":7:" in result.stderr, result.output
    report = verify_log(db)
    assert report.ok and report.incomplete_runs == (), report.summary()
    records = _decisions(db)
    assert [r.document() for r in records] == docs[:6]
    with DecisionLog.open(db) as log:
        [run] = log.runs()
        assert (run.status, run.decisions) == (RUN_STOPPED, 6)
        # the six were decided as one batch of the documents before the bad line: so they replay
        assert all(replay(log, r.seq).same for r in records[:2])
    runs = CliRunner().invoke(main, ["audit", "runs", str(db)])
    assert runs.exit_code == 0 and "STOPPED" in runs.stdout


def test_error_records_are_not_logged(tmp_path: Path) -> None:
    docs = _mixed()[:6]
    src = tmp_path / "in.jsonl"
    src.write_text(_lines(docs[:3]) + "not json\n" + _lines(docs[3:]))
    db = tmp_path / "log.db"
    out = tmp_path / "o.jsonl"
    result = _evaluate(str(src), "--as-of", AS_OF.isoformat(), "-o", str(out), "--log", str(db),
                       "--on-error", "record")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 7
    records = _decisions(db)
    assert [r.document() for r in records] == docs
    assert all(replay_same(db, r.seq) for r in records[:1])
    with DecisionLog.open(db) as log:
        assert [r.status for r in log.runs()] == [RUN_COMPLETED]


def replay_same(db: Path, seq: int) -> bool:
    with DecisionLog.open(db) as log:
        return replay(log, seq).same


def test_dask_runs_are_refused_with_log(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(_lines(_mixed()[:2]))
    result = _evaluate(str(src), "--as-of", AS_OF.isoformat(), "--dask", "local",
                       "--log", str(tmp_path / "log.db"))  # fmt: skip
    assert result.exit_code == 2 and "--dask" in result.stderr
    assert not (tmp_path / "log.db").exists()


# --------------------------------------------------------------------------- killed runs


@pytest.mark.parametrize("separate", [True, False], ids=["separate", "batch"])
def test_sigkilled_streamed_run_keeps_committed_chunks_and_shows_incomplete(
    tmp_path: Path, separate: bool, pk: RulePack
) -> None:
    docs = customers(N)
    src = tmp_path / "customers.jsonl"
    src.write_text(_lines(docs))
    db = tmp_path / "log.db"
    cmd = [
        sys.executable, "-m", "vasp_rules.cli", "evaluate", str(src), "--as-of",
        AS_OF.isoformat(), "-o", str(tmp_path / "out.jsonl"), "--chunk-size", "20",
        "--log", str(db), "--log-chunk", str(CHUNK),
    ] + (["--separate"] if separate else [])  # fmt: skip
    sigkill_after_commits(cmd, db, 3 * CHUNK)
    report = verify_log(db)
    assert report.ok, report.summary()
    records = _decisions(db)
    kept = len(records)
    assert 3 * CHUNK <= kept < N and kept % CHUNK == 0, kept
    assert report.records == kept + 1  # the start record, and no end record
    [incomplete] = report.incomplete_runs
    assert (incomplete.start_seq, incomplete.decisions) == (1, kept)
    assert "incomplete" in report.summary()
    if separate:
        expected = [pk.evaluate(d, AS_OF).to_json() for d in docs[:kept]]
    else:
        expected = [d.to_json() for d in pk.evaluate_many(docs, AS_OF)[:kept]]
    assert [r.decision_json for r in records] == expected
    assert [r.document() for r in records] == docs[:kept]
    # the output never runs ahead of the log: it holds committed decisions only
    written = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert written == [json.loads(r.decision_json) for r in records[: len(written)]]
    with DecisionLog.open(db) as log:
        [run] = log.runs()
        assert (run.status, run.decisions, run.end_seq) == (RUN_INCOMPLETE, kept, None)
        assert not separate or replay(log, 2).same
    listing = CliRunner().invoke(main, ["audit", "runs", str(db), "--incomplete"])
    assert listing.exit_code == 0 and "INCOMPLETE" in listing.stdout, listing.output
    verified = CliRunner().invoke(main, ["audit", "verify", str(db)])
    assert verified.exit_code == 0 and "is incomplete" in verified.stdout
    as_json = json.loads(
        CliRunner().invoke(main, ["audit", "verify", str(db), "--format", "json"]).stdout
    )
    assert as_json["ok"] and as_json["incomplete_runs"][0]["decisions"] == kept
    # the log goes on: a later run appends after the interrupted one and completes
    done = _evaluate("examples/customer.json", "--as-of", AS_OF.isoformat(), "--log", str(db))
    assert done.exit_code == 0, done.output
    after = verify_log(db)
    assert after.ok and after.records == kept + 1 + 3, after.summary()
    with DecisionLog.open(db) as log:
        assert [r.status for r in log.runs()] == [RUN_INCOMPLETE, RUN_COMPLETED]


# --------------------------------------------------------------------------- the recorder


def test_recorder_frames_a_run_and_a_failure_stops_it(tmp_path: Path) -> None:
    a = FakePack(pack_files())
    db = tmp_path / "log.db"
    with DecisionLog.open(db, write=True, clock=StepClock()) as log:
        with log.recorder(a, total=3, chunk=2, as_of=FAKE_AS_OF) as rec:
            for decision, doc in pairs(a, 1, 3):
                rec.add(decision, doc)
        with pytest.raises(RecordingError):
            with log.recorder(a, total=1, chunk=5) as rec:
                for decision, doc in pairs(a, 4, 2):  # one more than announced
                    rec.add(decision, doc)
        runs = log.runs()
    assert [(r.status, r.decisions, r.announced) for r in runs] == [
        (RUN_COMPLETED, 3, 3),
        (RUN_STOPPED, 1, 1),
    ]
    assert verify_log(db).ok


# --------------------------------------------------------------------------- tampering with runs


def _tampered(tmp_path: Path, sql: str, params: tuple[Any, ...]) -> str:
    a = FakePack(pack_files())
    db = tmp_path / "log.db"
    with DecisionLog.open(db, write=True, clock=StepClock()) as log:
        log.record_run(pairs(a, 1, 2), a, request_id="req-1")  # 1 start, 2-3, 4 end
    conn = sqlite3.connect(db)
    conn.execute(sql, params)
    conn.commit()
    conn.close()
    # recompute every hash from the changed record on, as a forger would
    with DecisionLog.open(db) as log:
        records = list(log.records())
    conn = sqlite3.connect(db)
    prev = "0" * 64
    import dataclasses

    for record in records:
        fixed = dataclasses.replace(record, prev_hash=prev)
        fixed = dataclasses.replace(fixed, hash=fixed.computed_hash())
        conn.execute(
            "UPDATE records SET prev_hash = ?, hash = ? WHERE seq = ?",
            (fixed.prev_hash, fixed.hash, record.seq),
        )
        prev = fixed.hash
    conn.execute("UPDATE meta SET value = ? WHERE key = 'head_hash'", (prev,))
    conn.commit()
    conn.close()
    report = verify_log(db)
    assert not report.ok
    return f"{report.first_bad_seq}: {report.problem}"


@pytest.mark.parametrize(
    ("sql", "params", "expected"),
    [
        ("UPDATE records SET run_decisions = 5 WHERE seq = 4", (), "4: says run"),
        ("UPDATE records SET request_id = 'other' WHERE seq = 3", (), "3: request id differs"),
        ("UPDATE records SET run_id = 'x' WHERE seq = 2", (), "2: names run 'x'"),
        ("UPDATE records SET outcome = 'started' WHERE seq = 4", (), "4: starts run"),
        ("DELETE FROM records WHERE seq = 3", (), "3: record 3 is missing"),
    ],
)
def test_forged_runs_fail_verification_even_with_hashes_recomputed(
    tmp_path: Path, sql: str, params: tuple[Any, ...], expected: str
) -> None:
    assert _tampered(tmp_path, sql, params).startswith(expected)


# --------------------------------------------------------------------------- schema 1 logs


def _schema1_copy(tmp_path: Path) -> Path:
    db = tmp_path / "old.db"
    shutil.copyfile(FIXTURE, db)
    return db


def _meta(db: Path) -> dict[str, str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        meta["user_version"] = str(conn.execute("PRAGMA user_version").fetchone()[0])
        return meta
    finally:
        conn.close()


def test_schema1_log_reads_and_verifies_without_being_changed(tmp_path: Path) -> None:
    db = _schema1_copy(tmp_path)
    before = db.read_bytes()
    report = verify_log(db)
    assert report.ok and report.records == 10, report.summary()
    with DecisionLog.open(db) as log:
        records = list(log.records())
        assert log.runs() == []
        assert all(r.run_id is None and r.hash_ok for r in records)
        assert replay(log, 9, FakePack.load).same  # a chunked batch of schema 1
    assert db.read_bytes() == before and _meta(db)["schema_version"] == "1"
    shown = CliRunner().invoke(main, ["audit", "show", str(db), "5", "--format", "json"])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["record"]["run_id"] is None


def test_schema1_log_is_migrated_when_opened_for_writing_and_takes_new_records(
    tmp_path: Path,
) -> None:
    db = _schema1_copy(tmp_path)
    with DecisionLog.open(db) as log:
        old = list(log.records())
    a = FakePack(pack_files())
    with DecisionLog.open(db, write=True, clock=StepClock()) as log:
        meta = _meta(db)
        assert meta["schema_version"] == str(SCHEMA_VERSION) == meta["user_version"]
        assert meta["migrated"].startswith("from schema 1 to 3 at record 10 on ")
        assert list(log.records())[: len(old)] == old  # every old record and hash kept
        done = log.record_run(pairs(a, 20, 2), a, batch=True, request_id="req-9")
        log.override(done.seqs[0], by="QA", reason="checked", outcome="REFER")
        log.record(*pairs(a, 30, 1)[0], a)
    assert (done.start_seq, done.seqs, done.end_seq) == (11, [12, 13], 14)
    report = verify_log(db)
    assert report.ok and report.records == 16, report.summary()
    with DecisionLog.open(db) as log:
        assert replay(log, 12, FakePack.load).same and replay(log, 6, FakePack.load).same
        [run] = log.runs()
        assert (run.status, run.request_id, run.decisions) == (RUN_COMPLETED, "req-9", 2)
    # the CLI appends to it too (another pack, the bundled one), and it still verifies
    result = _evaluate("examples/transfer.json", "--as-of", AS_OF.isoformat(), "--log", str(db))
    assert result.exit_code == 0, result.output
    assert verify_log(db).ok


def test_a_log_of_a_newer_schema_is_still_refused(tmp_path: Path) -> None:
    db = _schema1_copy(tmp_path)
    conn = sqlite3.connect(db)
    conn.execute(
        "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),)
    )
    conn.commit()
    conn.close()
    result = CliRunner().invoke(main, ["audit", "verify", str(db)])
    assert result.exit_code == 2 and "newer" in result.stderr


def test_schema2_marker_without_the_run_columns_is_corrupt(tmp_path: Path) -> None:
    db = _schema1_copy(tmp_path)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    result = CliRunner().invoke(main, ["audit", "verify", str(db)])
    assert result.exit_code == 2 and "lacks columns" in result.stderr


def test_run_records_are_in_the_chain(tmp_path: Path) -> None:
    a = FakePack(pack_files())
    db = tmp_path / "log.db"
    with DecisionLog.open(db, write=True, clock=StepClock()) as log:
        log.record_run(pairs(a, 1, 1), a, request_id="abc")
        kinds = [(r.kind, r.outcome, r.run_decisions, r.request_id) for r in log.records()]
    assert kinds[0] == (KIND_RUN, "started", 1, "abc")
    assert kinds[2] == (KIND_RUN, "completed", 1, "abc")
    assert kinds[1][0] == KIND_DECISION and kinds[1][3] == "abc"


# --------------------------------------------------------------------------- schema 2 logs

FIXTURE2 = ROOT / "tests" / "fixtures" / "audit_log_schema2.db"


def test_schema2_log_reads_and_verifies_without_being_changed(tmp_path: Path) -> None:
    """A log written by vasp-rules with schema 2 (runs, a chunked batch, an override) reads,
    verifies and replays as it is; reading never migrates it."""
    db = tmp_path / "v2.db"
    shutil.copyfile(FIXTURE2, db)
    before = db.read_bytes()
    report = verify_log(db)
    assert report.ok and report.records == 14, report.summary()
    with DecisionLog.open(db) as log:
        records = list(log.records())
        assert all(r.hash_ok and r.sealed is None and r.signer is None for r in records)
        assert [run.status for run in log.runs()] == [RUN_COMPLETED, RUN_COMPLETED]
        assert replay(log, 3, FakePack.load).same
    assert db.read_bytes() == before and _meta(db)["schema_version"] == "2"


def test_schema2_log_is_migrated_to_3_keeping_every_hash(tmp_path: Path) -> None:
    db = tmp_path / "v2.db"
    shutil.copyfile(FIXTURE2, db)
    with DecisionLog.open(db) as log:
        old = list(log.records())
        old_head = log.head()
    a = FakePack(pack_files())
    with DecisionLog.open(db, write=True, clock=StepClock()) as log:
        meta = _meta(db)
        assert meta["schema_version"] == "3" == meta["user_version"]
        assert meta["migrated"].startswith("from schema 2 to 3 at record 14 on ")
        assert list(log.records())[: len(old)] == old
        log.override(old[1].seq + 1, by="QA", reason="second look", outcome="REFER")
        log.record(*pairs(a, 40, 1)[0], a)
    report = verify_log(db, anchor=old_head)
    assert report.ok and report.records == 16, report.summary()
