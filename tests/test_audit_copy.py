"""Issue 21, "Durability you can copy" and "Defaults that protect": closing a log (and
stopping `serve --log`) leaves every record in the database file itself; `audit backup` is a
consistent, verified, private copy of a live log; `audit verify` does not vouch for an empty
log beside a non-empty -wal file; new logs, their lock file and backups are 0600."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.audit import FakePack, pack_files, pairs

from vasp_rules.audit import DecisionLog, Head, verify_log
from vasp_rules.cli import main

PACK = FakePack(pack_files())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def alone(db: Path, where: Path) -> Path:
    """A copy of the database file only, as a plain file copy makes it (no -wal, no -shm)."""
    where.mkdir()
    return Path(shutil.copy(db, where / db.name))


def test_closing_a_writable_log_moves_every_record_into_the_db(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    DecisionLog.open(db, write=True).close()
    reader = sqlite3.connect(db)  # another user of the file: SQLite alone would keep the WAL
    reader.execute("SELECT count(*) FROM records").fetchone()
    try:
        with DecisionLog.open(db, write=True) as log:
            for i in range(5):
                log.record_run(pairs(PACK, 10 * i, 3), PACK, request_id=f"r{i}")
            assert Path(f"{db}-wal").stat().st_size > 0  # the records are in the WAL so far
        assert Path(f"{db}-wal").stat().st_size == 0
        copy = alone(db, tmp_path / "copy")
        assert verify_log(copy).records == 25
    finally:
        reader.close()


def test_backup_of_a_live_log_is_consistent_private_and_verified(
    tmp_path: Path, lax_umask: None
) -> None:
    db, out = tmp_path / "log.db", tmp_path / "backups" / "log-copy.db"
    out.parent.mkdir()
    with DecisionLog.open(db, write=True) as log:
        log.record_run(pairs(PACK, 0, 3), PACK, request_id="first")
    stop = threading.Event()

    def append() -> None:  # another writer goes on appending during the copies
        with DecisionLog.open(db, write=True) as log:
            i = 100
            while not stop.is_set():
                log.record_run(pairs(PACK, i, 2), PACK, request_id=f"r{i}")
                i += 2

    writer = threading.Thread(target=append)
    writer.start()
    try:
        results = [
            CliRunner().invoke(main, ["audit", "backup", str(db), str(out.with_suffix(f".{n}"))])
            for n in range(3)
        ]
    finally:
        stop.set()
        writer.join()
    with DecisionLog.open(db) as source:
        for n, done in enumerate(results):
            assert done.exit_code == 0, done.output
            copy = out.with_suffix(f".{n}")
            head = Head.parse(done.output.split("head ")[-1].strip())
            assert done.output == f"copied {head.seq} records to {copy}; head {head.token}\n"
            # the copy's head is a head the source had: the record at that number is the same
            assert source.get(head.seq).hash == head.hash
            assert mode(copy) == 0o600
            alone_copy = alone(copy, tmp_path / f"alone-{n}")
            report = verify_log(alone_copy)
            assert report.ok and report.head == head, report.summary()
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "log-copy.0",
        "log-copy.1",
        "log-copy.2",
    ]  # nothing left aside, and no -wal beside a copy
    # an existing file is never overwritten
    before = out.with_suffix(".0").read_bytes()
    again = CliRunner().invoke(main, ["audit", "backup", str(db), str(out.with_suffix(".0"))])
    assert again.exit_code == 2
    assert again.output == f"error: {out.with_suffix('.0')}: already exists; choose a new file\n"
    assert out.with_suffix(".0").read_bytes() == before


def test_verify_refuses_an_empty_log_beside_a_non_empty_wal(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    DecisionLog.open(db, write=True).close()
    ok = CliRunner().invoke(main, ["audit", "verify", str(db)])
    assert ok.exit_code == 0 and ok.output.startswith("OK: 0 records"), ok.output
    # a -wal file SQLite cannot use (another file's, a damaged one): its records are unseen
    Path(f"{db}-wal").write_bytes(os.urandom(8192))
    refused = CliRunner().invoke(main, ["audit", "verify", str(db)])
    assert refused.exit_code == 1, refused.output
    assert refused.output.startswith(
        f"error: {db}: the log reads as empty, but log.db-wal beside it holds 8192 bytes"
    )
    assert "OK" not in refused.output
    head = CliRunner().invoke(main, ["audit", "head", str(db)])
    assert head.exit_code == 1 and "the log reads as empty" in head.output, head.output


def test_new_log_lock_file_and_wal_are_private(tmp_path: Path, lax_umask: None) -> None:
    db = tmp_path / "log.db"
    other = sqlite3.connect(db.parent / "other.db")  # made by others: the umask applies
    other.close()
    with DecisionLog.open(db, write=True) as log:
        log.record_run(pairs(PACK, 0, 2), PACK, batch=True, request_id="r")
        made = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("log.db"))
        assert {"log.db", "log.db-lock", "log.db-shm", "log.db-wal", "log.db-keys"} <= set(made)
        assert {name: mode(tmp_path / name) for name in made} == dict.fromkeys(made, 0o600)
    assert mode(db.parent / "other.db") == 0o644  # the umask was not changed for others


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopping_serve_leaves_every_record_in_the_db(tmp_path: Path, stop: int) -> None:
    pytest.importorskip("uvicorn")
    from support.repo import example
    from support.service import start_server

    db = tmp_path / "audit.db"
    server = start_server(tmp_path, "--log", str(db))
    try:
        documents = [example("transfer"), example("customer")]
        heads = []
        for _ in range(3):
            status, headers, body = server.request(
                "POST", "/v1/evaluate?as_of=2026-06-01", documents, key=None
            )
            assert status == 200, body
            heads.append(Head.parse(headers["x-audit-head"]))
        server.process.send_signal(stop)
        server.process.wait(timeout=30)
    finally:
        server.stop()
    assert "Traceback" not in server.output.read_text(), server.output.read_text()
    copy = alone(db, tmp_path / "copy")
    report = verify_log(copy)
    # each request: a run of a start record, two decisions and an end record
    assert report.ok and report.records == 12 and report.head == heads[-1], report.summary()
