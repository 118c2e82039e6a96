"""Replay: the stored input, pack files and as_of reproduce the decision byte for byte."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support.audit import AS_OF, FakePack, StepClock, pack_files, pairs

from vasp_rules.audit import (
    DecisionLog,
    ReplayError,
    TamperedLogError,
    record_decisions,
    replay,
    verify_log,
)
from vasp_rules.cli.audit import audit
from vasp_rules.model.decision import Decision, Outcome

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    db = tmp_path / "d.db"
    a = FakePack(pack_files())
    b = FakePack(pack_files(threshold=300, version="2.0.0"))
    record_decisions(db, pairs(a, 1, 5), a, clock=StepClock())  # 1-5
    record_decisions(db, pairs(b, 6, 5), b, clock=StepClock())  # 6-10
    with DecisionLog.open(db, write=True) as log:
        log.override(7, by="Officer", reason="review", outcome="APPROVE")  # 11
    return db


def test_every_decision_replays_byte_for_byte(log_path: Path) -> None:
    loaded: list[Path] = []

    def loader(root: Path) -> FakePack:
        loaded.append(root)
        return FakePack.load(root)

    with DecisionLog.open(log_path) as log:
        for seq in range(1, 11):
            result = replay(log, seq, loader)
            assert result.same, result.diff()
            assert result.seq == seq and result.notes == ()
            assert result.replayed == log.get(seq).decision_json
            assert result.diff() == ""
    assert len(loaded) == 10
    assert all(not p.exists() for p in loaded)  # temporary folders are cleaned up


def test_replay_uses_the_stored_pack_not_the_current_one(log_path: Path) -> None:
    """Records 6-10 were made with threshold 300; the replayed outcomes depend on it."""
    with DecisionLog.open(log_path) as log:
        outcomes = {replay(log, s, FakePack.load).replayed for s in range(6, 11)}
        assert any('"outcome": "REJECT"' in text for text in outcomes)
        assert all(replay(log, s, FakePack.load).same for s in range(6, 11))


def test_replay_of_an_override_replays_its_decision(log_path: Path) -> None:
    with DecisionLog.open(log_path) as log:
        result = replay(log, 11, FakePack.load)
    assert result.same and result.requested_seq == 11 and result.seq == 7
    assert "override" in result.notes[0]


@dataclass
class DriftedEngine:
    """A pack loaded by a changed engine: a new version string and, optionally, new logic."""

    inner: FakePack
    version: str = "9.9.9"
    approve_everything: bool = False

    @property
    def sha256(self) -> str:
        return self.inner.sha256

    def evaluate(self, document: Mapping[str, Any], as_of: date) -> Decision:
        self.inner.engine_version = self.version
        decision = self.inner.evaluate(document, as_of)
        if self.approve_everything:
            decision = decision.model_copy(update={"outcome": Outcome.APPROVE, "findings": []})
        return decision


def test_a_different_engine_shows_the_difference(log_path: Path) -> None:
    with DecisionLog.open(log_path) as log:
        result = replay(log, 1, lambda root: DriftedEngine(FakePack.load(root)))
    assert not result.same
    diff = result.diff()
    assert diff.startswith("--- recorded (record 1)\n+++ replayed\n")
    assert '-    "version": "0.1.0"' in diff and '+    "version": "9.9.9"' in diff
    assert any("engine" in n and "9.9.9" in n for n in result.notes)


def test_a_changed_outcome_shows_in_the_diff(log_path: Path) -> None:
    with DecisionLog.open(log_path) as log:
        rejected = [r.seq for r in log.records() if r.kind == "decision" and r.outcome == "REJECT"]
        assert rejected
        result = replay(
            log,
            rejected[0],
            lambda root: DriftedEngine(FakePack.load(root), "0.1.0", approve_everything=True),
        )
    assert not result.same
    assert '-  "outcome": "REJECT"' in result.diff()
    assert '+  "outcome": "APPROVE"' in result.diff()


def test_engine_failure_is_a_replay_error(log_path: Path) -> None:
    def broken(root: Path) -> FakePack:
        raise RuntimeError("engine exploded")

    with DecisionLog.open(log_path) as log, pytest.raises(ReplayError, match="engine exploded"):
        replay(log, 1, broken)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE blobs SET content = CAST('999999' AS BLOB) "
        "WHERE sha256 = (SELECT blob_sha256 FROM pack_files WHERE path LIKE '%threshold.txt' "
        "LIMIT 1)",
        "UPDATE pack_files SET path = '../../outside.txt' WHERE path = 'rules/README.md'",
        'UPDATE records SET input_json = \'{"id":"T-0001","amount":1}\' WHERE seq = 1',
    ],
)
def test_replay_refuses_a_tampered_record_or_pack(log_path: Path, sql: str) -> None:
    conn = sqlite3.connect(log_path)
    conn.execute(sql)
    conn.commit()
    conn.close()
    with DecisionLog.open(log_path) as log, pytest.raises(TamperedLogError):
        replay(log, 1, FakePack.load)
    assert not (log_path.parent.parent / "outside.txt").exists()


def test_replay_with_the_real_rule_pack(tmp_path: Path) -> None:
    """Record every example with the bundled PK pack, then replay each from the log alone."""
    from vasp_rules import RulePack
    from vasp_rules.audit import default_pack_loader

    pack = RulePack.load(ROOT / "rules" / "pk")
    examples = sorted((ROOT / "examples").glob("*.json"))
    assert examples
    items = []
    for example in examples:
        document = json.loads(example.read_text(encoding="utf-8"))
        items.append((pack.evaluate(document, AS_OF), document))
    db = tmp_path / "decisions.db"
    seqs = record_decisions(db, items, pack)
    assert verify_log(db).ok
    with DecisionLog.open(db) as log:
        assert log.pack_files(pack.sha256) == dict(pack.files)
        for seq in seqs:
            result = replay(log, seq, default_pack_loader())
            assert result.same, result.diff()
    cli = CliRunner().invoke(audit, ["replay", str(db), str(seqs[-1])], catch_exceptions=False)
    assert cli.exit_code == 0 and cli.stdout.startswith("SAME"), cli.output


def _wallet_docs() -> list[dict[str, Any]]:
    return [
        {"kind": "transfer", "id": "W-1", "amount": 10, "wallet": "bc1-shared"},
        {"kind": "transfer", "id": "W-2", "amount": 20, "wallet": "bc1-own"},
        {"kind": "transfer", "id": "W-3", "amount": 30, "wallet": "bc1-shared"},
    ]


def test_a_batch_replays_together(tmp_path: Path) -> None:
    """Cross-document findings only reproduce when the batch is evaluated together again."""
    pack = FakePack(pack_files())
    docs = _wallet_docs()
    decisions = pack.evaluate_many(docs, AS_OF)
    assert [d.outcome for d in decisions] == [Outcome.REFER, Outcome.APPROVE, Outcome.REFER]
    assert pack.evaluate(docs[0], AS_OF).outcome is Outcome.APPROVE  # alone, it differs
    db = tmp_path / "d.db"
    record_decisions(db, pairs(pack, 1, 1), pack)
    seqs = record_decisions(db, list(zip(decisions, docs, strict=True)), pack, batch=True)
    assert seqs == [2, 3, 4]
    with DecisionLog.open(db) as log:
        for seq in seqs:
            result = replay(log, seq, FakePack.load)
            assert result.same, result.diff()
            assert any("batch" in n and "2-4" in n for n in result.notes)


def test_a_batch_recorded_as_singles_does_not_replay(tmp_path: Path) -> None:
    """Recording batch decisions without batch=True loses their context: replay says so."""
    pack = FakePack(pack_files())
    docs = _wallet_docs()
    decisions = pack.evaluate_many(docs, AS_OF)
    db = tmp_path / "d.db"
    record_decisions(db, list(zip(decisions, docs, strict=True)), pack)
    with DecisionLog.open(db) as log:
        result = replay(log, 1, FakePack.load)
    assert not result.same
    assert '-  "outcome": "REFER"' in result.diff()


def test_replay_refuses_a_batch_with_a_tampered_member(tmp_path: Path) -> None:
    pack = FakePack(pack_files())
    docs = _wallet_docs()
    decisions = pack.evaluate_many(docs, AS_OF)
    db = tmp_path / "d.db"
    record_decisions(db, list(zip(decisions, docs, strict=True)), pack, batch=True)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE records SET input_json = replace(input_json, '30', '31') WHERE seq = 3")
    conn.commit()
    conn.close()
    with DecisionLog.open(db) as log, pytest.raises(TamperedLogError, match="batch"):
        replay(log, 1, FakePack.load)


def test_replay_a_real_batch(tmp_path: Path) -> None:
    """The bundled examples evaluated together in one batch replay together."""
    from vasp_rules import RulePack
    from vasp_rules.audit import default_pack_loader

    pack = RulePack.load(ROOT / "rules" / "pk")
    documents = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((ROOT / "examples").glob("*.json"))
    ]
    decisions = pack.evaluate_many(documents, AS_OF)
    db = tmp_path / "decisions.db"
    seqs = record_decisions(db, list(zip(decisions, documents, strict=True)), pack, batch=True)
    assert verify_log(db).ok
    with DecisionLog.open(db) as log:
        for seq in seqs:
            result = replay(log, seq, default_pack_loader())
            assert result.same, result.diff()
