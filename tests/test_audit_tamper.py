"""Tamper evidence: any edit, deletion, insertion or reordering is caught by verify.

A template log (decisions from two packs plus overrides) is built once; each hypothesis example
copies it, tampers with the copy through plain SQLite, and checks that ``verify`` fails at the
expected record.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.audit import FakePack, StepClock, pack_files, pairs

from vasp_rules.audit import DecisionLog, Record, verify_log
from vasp_rules.audit.log import RECORD_COLUMNS

N_RECORDS = 13


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("tamper") / "template.db"
    clock = StepClock()
    a = FakePack(pack_files())
    b = FakePack(pack_files(threshold=300, version="2.0.0"))
    with DecisionLog.open(db, write=True, clock=clock) as log:
        log.record_many(pairs(a, 1, 3), a)  # 1-3
        log.override(2, by="Officer A", reason="checked by hand", outcome="REFER")  # 4
        log.record_many(pairs(b, 4, 3), b, batch=True)  # 5-7, evaluated together
        log.override(6, by="Officer B", reason="sanctions hit", outcome="REJECT")  # 8
        log.record(*pairs(a, 7, 1)[0], a)  # 9
        # a run (schema 2): start 10, a batch of decisions 11-12 with a request id, end 13
        log.record_run(pairs(a, 8, 2), a, batch=True, request_id="req-1")
    assert verify_log(db).ok and verify_log(db).records == N_RECORDS
    return db


@pytest.fixture
def copy_of(template: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "log.db"
        shutil.copyfile(template, target)
        yield target


def _records(db: Path) -> dict[int, Record]:
    with DecisionLog.open(db) as log:
        return {r.seq: r for r in log.records()}


def _mutated(old: Any, column: str, data: st.DataObject, taken: set[int]) -> Any:
    """A value for ``column`` that differs from ``old`` and that SQLite's constraints accept."""
    if column == "seq":
        return data.draw(st.integers(1, 10_000).filter(lambda v: v not in taken), label="seq")
    if column == "kind":
        return "override" if old == "decision" else "decision"
    if column in {"overrides_seq", "batch_start", "batch_size", "run_decisions"}:
        if old is None:
            return data.draw(st.integers(-5, 50), label=column)
        return data.draw(st.none() | st.integers(-5, 50).filter(lambda v: v != old), label=column)
    if old is None:
        return data.draw(st.text(max_size=8), label="new text")
    nullable = column not in {"kind", "recorded_at", "document_kind", "document_id", "outcome"}
    nullable = nullable and column not in {"prev_hash", "hash"}
    how = data.draw(
        st.sampled_from(["flip", "append", "truncate", "replace"] + (["null"] if nullable else [])),
        label="how",
    )
    if how == "null":
        return None
    if how == "append":
        return old + data.draw(st.text(min_size=1, max_size=3), label="suffix")
    if how == "truncate" and old:
        return old[: data.draw(st.integers(0, len(old) - 1), label="cut")]
    if how == "flip" and old:
        i = data.draw(st.integers(0, len(old) - 1), label="at")
        new_char = data.draw(st.characters().filter(lambda c: c != old[i]), label="char")
        return old[:i] + new_char + old[i + 1 :]
    return data.draw(st.text(max_size=20).filter(lambda v: v != old), label="replacement")


def _tamper(db: Path, action: str, data: st.DataObject) -> set[int]:
    """Apply one tampering; return the sequence numbers verify may name as first broken."""
    records = _records(db)
    seqs = sorted(records)
    conn = sqlite3.connect(db)
    try:
        if action == "edit":
            seq = data.draw(st.sampled_from(seqs), label="record")
            column = data.draw(st.sampled_from(RECORD_COLUMNS), label="column")
            old = getattr(records[seq], column)
            new = _mutated(old, column, data, set(seqs))
            assert new != old
            conn.execute(f"UPDATE records SET {column} = ? WHERE seq = ?", (new, seq))
            expected = {seq}
        elif action == "delete":
            seq = data.draw(st.sampled_from(seqs), label="record")
            conn.execute("DELETE FROM records WHERE seq = ?", (seq,))
            expected = {seq}
        elif action == "insert":
            at = data.draw(st.integers(1, len(seqs) + 1), label="position")
            source = records[data.draw(st.sampled_from(seqs), label="copied from")]
            prev_hash = records[at - 1].hash if at > 1 else source.prev_hash
            forged = dataclasses.replace(
                source, seq=at, prev_hash=prev_hash, recorded_at="2030-01-01T00:00:00.000000Z"
            )
            if data.draw(st.booleans(), label="recompute hash"):
                forged = dataclasses.replace(forged, hash=forged.computed_hash())
            else:
                forged = dataclasses.replace(forged, hash="f" * 64)
            conn.execute("UPDATE records SET seq = seq + 100000 WHERE seq >= ?", (at,))
            conn.execute("UPDATE records SET seq = seq - 99999 WHERE seq >= 100000")
            columns = ", ".join(RECORD_COLUMNS)
            marks = ", ".join("?" for _ in RECORD_COLUMNS)
            conn.execute(
                f"INSERT INTO records ({columns}) VALUES ({marks})", dataclasses.astuple(forged)
            )
            # A well-forged record only shows as the one after it (or the head) breaking.
            expected = {at, at + 1}
        elif action == "reorder":
            i, j = data.draw(
                st.lists(st.sampled_from(seqs), min_size=2, max_size=2, unique=True),
                label="swap",
            )
            conn.execute("UPDATE records SET seq = 999999 WHERE seq = ?", (i,))
            conn.execute("UPDATE records SET seq = ? WHERE seq = ?", (i, j))
            conn.execute("UPDATE records SET seq = ? WHERE seq = 999999", (j,))
            expected = {min(i, j)}
        else:
            raise AssertionError(action)
        conn.commit()
    finally:
        conn.close()
    return expected


#: tamperings tried: 100 by default (each of the four kinds about 25 times), 1000 with
#: VASP_RULES_FUZZ=1; AUDIT_TAMPER_EXAMPLES sets the count
TAMPER_EXAMPLES = int(
    os.environ.get("AUDIT_TAMPER_EXAMPLES", "1000" if os.environ.get("VASP_RULES_FUZZ") else "100")
)


@settings(
    max_examples=TAMPER_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(action=st.sampled_from(["edit", "delete", "insert", "reorder"]), data=st.data())
def test_any_tampering_is_detected(template: Path, action: str, data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "log.db"
        shutil.copyfile(template, db)
        expected = _tamper(db, action, data)
        report = verify_log(db)
        assert not report.ok, f"{action} went unnoticed"
        assert report.first_bad_seq in expected, report.summary()


def test_untampered_copy_verifies(copy_of: Path) -> None:
    report = verify_log(copy_of)
    assert report.ok and report.records == N_RECORDS


def _execute(db: Path, sql: str, *params: Any) -> None:
    conn = sqlite3.connect(db)
    conn.execute(sql, params)
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("sql", "first_bad"),
    [
        # The first pack (records 1-3, 9) and the second (5-7) are stored content-addressed.
        ("UPDATE blobs SET content = CAST(content || 'x' AS BLOB) WHERE rowid = 1", None),
        ("DELETE FROM blobs WHERE rowid = 2", None),
        ("DELETE FROM pack_files WHERE rowid = 1", None),
        ("UPDATE pack_files SET path = path || '.bak' WHERE rowid = 1", None),
        ("UPDATE pack_files SET path = '../../evil' WHERE rowid = 1", None),
        (
            "INSERT INTO pack_files SELECT pack_sha256, 'extra.txt', blob_sha256 "
            "FROM pack_files WHERE rowid = 1",
            None,
        ),
        ("UPDATE meta SET value = '5' WHERE key = 'head_seq'", 6),
        ("UPDATE meta SET value = 'abc' WHERE key = 'head_hash'", N_RECORDS),
        ("DELETE FROM meta WHERE key = 'head_hash'", N_RECORDS),
    ],
)
def test_tampering_outside_the_records_table_is_detected(
    copy_of: Path, sql: str, first_bad: int | None
) -> None:
    _execute(copy_of, sql)
    report = verify_log(copy_of)
    assert not report.ok
    if first_bad is None:  # a pack problem is reported at the first decision using that pack
        assert report.first_bad_seq in {1, 5}, report.summary()
        assert "rule pack" in (report.problem or "")
    else:
        assert report.first_bad_seq == first_bad, report.summary()


def test_cutting_the_tail_is_detected(copy_of: Path) -> None:
    _execute(copy_of, "DELETE FROM records WHERE seq >= 7")
    report = verify_log(copy_of)
    assert not report.ok and report.first_bad_seq == 7
    assert "removed" in (report.problem or "")


def test_appending_a_well_forged_record_behind_the_logs_back_is_detected(copy_of: Path) -> None:
    records = _records(copy_of)
    last = records[N_RECORDS]
    forged = dataclasses.replace(last, seq=N_RECORDS + 1, prev_hash=last.hash)
    forged = dataclasses.replace(forged, hash=forged.computed_hash())
    conn = sqlite3.connect(copy_of)
    columns = ", ".join(RECORD_COLUMNS)
    marks = ", ".join("?" for _ in RECORD_COLUMNS)
    conn.execute(f"INSERT INTO records ({columns}) VALUES ({marks})", dataclasses.astuple(forged))
    conn.commit()
    conn.close()
    report = verify_log(copy_of)
    assert not report.ok and report.first_bad_seq == N_RECORDS + 1


def test_consistently_forged_override_link_is_detected(copy_of: Path) -> None:
    """Even with its own hash recomputed, an override must point at the decision's hash."""
    records = _records(copy_of)
    forged = dataclasses.replace(records[8], overrides_hash="0" * 64)
    forged = dataclasses.replace(forged, hash=forged.computed_hash())
    conn = sqlite3.connect(copy_of)
    conn.execute(
        "UPDATE records SET overrides_hash = ?, hash = ? WHERE seq = ?",
        (forged.overrides_hash, forged.hash, forged.seq),
    )
    conn.commit()
    conn.close()
    report = verify_log(copy_of)
    assert not report.ok and report.first_bad_seq == 8


def test_cutting_a_batch_short_is_detected_even_with_the_head_forged(copy_of: Path) -> None:
    """Remove the tail from inside the batch 5-7 and fix up the head entry to match."""
    records = _records(copy_of)
    conn = sqlite3.connect(copy_of)
    conn.execute("DELETE FROM records WHERE seq >= 7")
    conn.execute("UPDATE meta SET value = '6' WHERE key = 'head_seq'")
    conn.execute("UPDATE meta SET value = ? WHERE key = 'head_hash'", (records[6].hash,))
    conn.commit()
    conn.close()
    report = verify_log(copy_of)
    assert not report.ok and report.first_bad_seq == 7
    assert "batch" in (report.problem or "")
