"""The decision log: recording, reading back, content-addressed packs, overrides, the head."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pytest
from pydantic import BaseModel
from support.audit import AS_OF, FakePack, StepClock, document, opened, pack_files, pairs

from vasp_rules.audit import (
    GENESIS_HASH,
    KIND_DECISION,
    KIND_OVERRIDE,
    DecisionLog,
    Head,
    LogFormatError,
    RecordingError,
    TamperedLogError,
    UnknownRecordError,
    pack_digest,
    record_decisions,
    verify_log,
)
from vasp_rules.model.decision import Outcome


@pytest.fixture
def pack() -> FakePack:
    return FakePack(pack_files())


def test_pack_digest_matches_the_interface_formula(pack: FakePack) -> None:
    assert pack_digest(pack.files) == pack.sha256


def test_record_and_read_back_everything(tmp_path: Path, pack: FakePack) -> None:
    db = tmp_path / "decisions.db"
    items = pairs(pack, 1, 3)
    seqs = record_decisions(db, items, pack, clock=StepClock())
    assert seqs == [1, 2, 3]
    with DecisionLog.open(db) as log:
        assert log.count() == 3
        for seq, (decision, doc) in zip(seqs, items, strict=True):
            rec = opened(log, log.get(seq))  # personal data joined back from the key store
            assert rec.kind == KIND_DECISION
            assert rec.decision_json == decision.to_json()
            assert rec.decision() == decision
            assert rec.document() == doc
            assert json.loads(rec.input_json or "") == doc
            assert rec.as_of == AS_OF.isoformat()
            assert (rec.pack_name, rec.pack_version, rec.pack_sha256) == (
                pack.name,
                pack.version,
                pack.sha256,
            )
            assert (rec.engine_name, rec.engine_version) == ("vasp-rules", "0.1.0")
            assert rec.outcome == decision.outcome.value
            assert log.get(seq).hash_ok  # as stored
        first = log.get(1)
        assert first.prev_hash == GENESIS_HASH
        assert log.get(2).prev_hash == first.hash
        assert log.head() == Head(3, log.get(3).hash)
        assert [r.seq for r in log.records(page=2)] == [1, 2, 3]
    assert verify_log(db).ok


def test_recorded_time_comes_from_the_clock_and_is_utc(tmp_path: Path, pack: FakePack) -> None:
    db = tmp_path / "d.db"
    record_decisions(db, pairs(pack, 1, 2), pack, clock=StepClock())
    with DecisionLog.open(db) as log:
        assert [r.recorded_at for r in log.records()] == [
            "2025-07-01T09:00:01.000000Z",
            "2025-07-01T09:00:02.000000Z",
        ]


def test_same_inputs_and_clock_give_identical_chains(tmp_path: Path, pack: FakePack) -> None:
    heads = []
    for name in ("a.db", "b.db"):  # in clear: sealed data has random keys and nonces
        record_decisions(tmp_path / name, pairs(pack, 1, 4), pack, clock=StepClock(), keys=None)
        with DecisionLog.open(tmp_path / name) as log:
            heads.append(log.head())
    assert heads[0] == heads[1]


def test_naive_clock_is_refused(tmp_path: Path, pack: FakePack) -> None:
    with pytest.raises(RecordingError, match="timezone"):
        record_decisions(tmp_path / "d.db", pairs(pack, 1, 1), pack, clock=datetime.now)


def test_input_key_order_is_kept(tmp_path: Path, pack: FakePack) -> None:
    doc = {"zeta": 1, "id": "T-1", "alpha": {"y": 2, "b": 1}}
    decision = pack.evaluate(doc, AS_OF)
    record_decisions(tmp_path / "d.db", [(decision, doc)], pack)
    with DecisionLog.open(tmp_path / "d.db") as log:
        assert list(opened(log, log.get(1)).document()) == ["zeta", "id", "alpha"]


def _blob_rows(db: Path) -> tuple[int, int]:
    conn = sqlite3.connect(db)
    try:
        blobs = conn.execute("SELECT count(*) FROM blobs").fetchone()[0]
        packs = conn.execute("SELECT count(DISTINCT pack_sha256) FROM pack_files").fetchone()[0]
        return int(blobs), int(packs)
    finally:
        conn.close()


def test_pack_files_stored_once_and_content_addressed(tmp_path: Path, pack: FakePack) -> None:
    db = tmp_path / "d.db"
    record_decisions(db, pairs(pack, 1, 2), pack)
    record_decisions(db, pairs(pack, 3, 2), pack)
    assert _blob_rows(db) == (3, 1)
    # A second version sharing two files with the first adds one blob and one pack.
    pack2 = FakePack(pack_files(threshold=500, version="1.1.0"))
    record_decisions(db, pairs(pack2, 5, 1), pack2)
    blobs, packs = _blob_rows(db)
    assert packs == 2
    # pack.toml and threshold.txt differ; README.md is shared.
    assert blobs == 5
    with DecisionLog.open(db) as log:
        assert log.pack_files(pack.sha256) == pack.files
        assert log.pack_files(pack2.sha256) == pack2.files
    conn = sqlite3.connect(db)
    for sha, content in conn.execute("SELECT sha256, content FROM blobs"):
        assert hashlib.sha256(content).hexdigest() == sha
    conn.close()
    assert verify_log(db).ok


def test_decision_from_another_pack_is_refused(tmp_path: Path, pack: FakePack) -> None:
    other = FakePack(pack_files(threshold=5))
    decision, doc = pairs(other, 1, 1)[0]
    db = tmp_path / "d.db"
    with pytest.raises(RecordingError, match="was made with rule pack"):
        record_decisions(db, [(decision, doc)], pack)
    with DecisionLog.open(db) as log:
        assert log.count() == 0


def test_pack_whose_files_do_not_hash_to_its_sha_is_refused(tmp_path: Path, pack: FakePack) -> None:
    items = pairs(pack, 1, 1)
    pack.files["extra.txt"] = b"not part of the hash"
    with pytest.raises(RecordingError, match="could not replay"):
        record_decisions(tmp_path / "d.db", items, pack)


@pytest.mark.parametrize("bad_path", ["../escape.txt", "/etc/passwd", "a//b", "a/./b", "a\\b"])
def test_pack_with_unsafe_paths_is_refused(tmp_path: Path, bad_path: str) -> None:
    files = pack_files()
    files[bad_path] = b"x"
    pack = FakePack(files)
    with pytest.raises(RecordingError, match="path"):
        record_decisions(tmp_path / "d.db", pairs(pack, 1, 1), pack)


@pytest.mark.parametrize(
    "extra",
    [{"when": datetime(2025, 1, 1)}, {"t": (1, 2)}, {"f": float("nan")}, {"k": {1: "int key"}}],
)
def test_input_that_would_not_replay_exactly_is_refused(
    tmp_path: Path, pack: FakePack, extra: dict[str, object]
) -> None:
    doc = {**document(1, 10), **extra}
    decision = pack.evaluate(document(1, 10), AS_OF)
    with pytest.raises(RecordingError, match="JSON"):
        record_decisions(tmp_path / "d.db", [(decision, doc)], pack)


def test_batch_is_atomic(tmp_path: Path, pack: FakePack) -> None:
    db = tmp_path / "d.db"
    good = pairs(pack, 1, 2)
    bad = [(good[0][0], {"id": "x", "bad": object()})]
    with pytest.raises(RecordingError):
        record_decisions(db, good + bad, pack)
    with DecisionLog.open(db) as log:
        assert log.count() == 0


def test_empty_batch_records_nothing(tmp_path: Path, pack: FakePack) -> None:
    assert record_decisions(tmp_path / "d.db", [], pack) == []
    report = verify_log(tmp_path / "d.db")
    assert report.ok and report.records == 0 and report.head == Head(0, GENESIS_HASH)


def test_read_only_log_refuses_appends(tmp_path: Path, pack: FakePack) -> None:
    db = tmp_path / "d.db"
    record_decisions(db, pairs(pack, 1, 1), pack)
    with DecisionLog.open(db) as log, pytest.raises(Exception, match="read-only"):
        log.record(*pairs(pack, 2, 1)[0], pack)


def test_override_appends_and_leaves_the_original(tmp_path: Path, pack: FakePack) -> None:
    db = tmp_path / "d.db"
    record_decisions(db, pairs(pack, 1, 2), pack, clock=StepClock())
    with DecisionLog.open(db) as log:
        before = log.get(1)
    with DecisionLog.open(db, write=True, clock=StepClock()) as log:
        first = log.override(1, by="A. Khan", reason="manual review", outcome="REFER")
        second = log.override(1, by="B. Ali", reason="second look", outcome=Outcome.APPROVE)
        assert (first, second) == (3, 4)
        assert log.get(1) == before
        ov = log.get(3)
        assert ov.kind == KIND_OVERRIDE
        assert (ov.overrides_seq, ov.overrides_hash) == (1, before.hash)
        assert (ov.override_by, ov.override_reason, ov.outcome) == (
            "A. Khan",
            "manual review",
            "REFER",
        )
        assert (ov.document_kind, ov.document_id) == (before.document_kind, before.document_id)
        assert [o.seq for o in log.overrides_of(1)] == [3, 4]
        assert log.effective_outcome(1) is Outcome.APPROVE
        assert log.effective_outcome(2).value == log.get(2).outcome
    assert verify_log(db).ok


@pytest.mark.parametrize(
    ("seq", "by", "reason", "outcome", "error", "match"),
    [
        (9, "x", "y", "REFER", UnknownRecordError, "no record 9"),
        (1, " ", "y", "REFER", RecordingError, "--by"),
        (1, "x", "", "REFER", RecordingError, "--reason"),
        (1, "x", "y", "MAYBE", RecordingError, "unknown outcome"),
        (1, "x", "y", "INFO", RecordingError, "not a decision outcome"),
        (2, "x", "y", "REFER", RecordingError, "itself an override"),
    ],
)
def test_invalid_overrides_are_refused(
    tmp_path: Path,
    pack: FakePack,
    seq: int,
    by: str,
    reason: str,
    outcome: str,
    error: type[Exception],
    match: str,
) -> None:
    db = tmp_path / "d.db"
    record_decisions(db, pairs(pack, 1, 1), pack)
    with DecisionLog.open(db, write=True) as log:
        log.override(1, by="a", reason="b", outcome="REFER")
        with pytest.raises(error, match=match):
            log.override(seq, by=by, reason=reason, outcome=outcome)
        assert log.count() == 2


def test_append_is_refused_after_the_tail_was_cut(tmp_path: Path, pack: FakePack) -> None:
    db = tmp_path / "d.db"
    record_decisions(db, pairs(pack, 1, 3), pack)
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM records WHERE seq = 3")
    conn.commit()
    conn.close()
    with pytest.raises(TamperedLogError, match="refusing to append"):
        record_decisions(db, pairs(pack, 4, 1), pack)
    with DecisionLog.open(db) as log:
        assert log.count() == 2


def test_append_is_refused_after_the_last_record_was_edited(tmp_path: Path, pack: FakePack) -> None:
    db = tmp_path / "d.db"
    record_decisions(db, pairs(pack, 1, 2), pack)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE records SET outcome = 'APPROVE', document_id = 'X' WHERE seq = 2")
    conn.commit()
    conn.close()
    with pytest.raises(TamperedLogError):
        record_decisions(db, pairs(pack, 3, 1), pack)


def test_head_token_round_trips() -> None:
    head = Head(12, "ab" * 32)
    assert Head.parse(head.token) == head
    for bad in ("12", "x:" + "a" * 64, "3:" + "g" * 64, "3:abc"):
        with pytest.raises(ValueError):
            Head.parse(bad)


def test_anchor_detects_a_rewritten_or_shortened_chain(tmp_path: Path, pack: FakePack) -> None:
    real = tmp_path / "real.db"
    record_decisions(real, pairs(pack, 1, 4), pack, clock=StepClock())
    anchor = verify_log(real).head
    assert verify_log(real, anchor=anchor).ok
    # Someone with write access rebuilds the whole log with one decision changed: every hash
    # is valid, so only the anchor kept elsewhere can tell.
    forged = tmp_path / "forged.db"
    items = pairs(pack, 1, 4)
    items[1] = (pack.evaluate(document(2, 1), AS_OF), document(2, 1))
    record_decisions(forged, items, pack, clock=StepClock())
    assert verify_log(forged).ok
    report = verify_log(forged, anchor=anchor)
    assert not report.ok and report.first_bad_seq == 4
    # A log rebuilt shorter than the anchor.
    short = tmp_path / "short.db"
    record_decisions(short, pairs(pack, 1, 3), pack, clock=StepClock())
    report = verify_log(short, anchor=anchor)
    assert not report.ok and "removed" in (report.problem or "")
    # The log may grow after the anchor was taken.
    record_decisions(real, pairs(pack, 5, 2), pack)
    assert verify_log(real, anchor=anchor).ok


def test_batch_records_carry_their_batch(tmp_path: Path, pack: FakePack) -> None:
    db = tmp_path / "d.db"
    record_decisions(db, pairs(pack, 1, 2), pack)  # alone: no batch
    seqs = record_decisions(db, pairs(pack, 3, 3), pack, batch=True)
    record_decisions(db, pairs(pack, 6, 1), pack, batch=True)  # a batch of one is alone
    with DecisionLog.open(db) as log:
        batch = {r.seq: (r.batch_start, r.batch_size) for r in log.records()}
    assert seqs == [3, 4, 5]
    assert batch == {
        1: (None, None),
        2: (None, None),
        3: (3, 3),
        4: (3, 3),
        5: (3, 3),
        6: (None, None),
    }
    assert verify_log(db).ok


def test_batch_needs_one_as_of(tmp_path: Path, pack: FakePack) -> None:
    first = pairs(pack, 1, 1)[0]
    other_day = (pack.evaluate(first[1], date(2026, 1, 1)), first[1])
    with pytest.raises(RecordingError, match="one as_of"):
        record_decisions(tmp_path / "d.db", [first, other_day], pack, batch=True)
    assert record_decisions(tmp_path / "d.db", [first, other_day], pack) == [1, 2]


def test_a_validated_document_model_is_stored_as_its_json(tmp_path: Path, pack: FakePack) -> None:
    class Doc(BaseModel):
        id: str
        amount: int

    model = Doc(id="T-1", amount=5)
    decision = pack.evaluate(model.model_dump(mode="json"), AS_OF)
    record_decisions(tmp_path / "d.db", [(decision, model)], pack)
    with DecisionLog.open(tmp_path / "d.db") as log:
        assert opened(log, log.get(1)).document() == {"id": "T-1", "amount": 5}


def test_log_in_a_missing_folder_is_a_clear_error(tmp_path: Path, pack: FakePack) -> None:
    with pytest.raises(LogFormatError, match="cannot create log"):
        record_decisions(tmp_path / "no" / "such" / "d.db", pairs(pack, 1, 1), pack)
