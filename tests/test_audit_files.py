"""Issue 21, "Defaults that protect": files the audit code creates are 0600 whatever the umask
(vasp_rules/audit/files.py), and SQLite's own -wal/-shm files follow the database's mode."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from vasp_rules.audit.files import (
    aside,
    create_private,
    discard,
    open_private,
    private_umask,
    publish,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_create_private_is_0600_and_exclusive(tmp_path: Path, lax_umask: None) -> None:
    key = tmp_path / "ops.key"
    with create_private(key) as fh:
        fh.write(b"secret")
    assert mode(key) == 0o600 and key.read_bytes() == b"secret"
    with pytest.raises(FileExistsError):
        create_private(key)
    assert key.read_bytes() == b"secret"  # not truncated
    # a link planted where the file goes is not followed
    target = tmp_path / "elsewhere"
    (tmp_path / "planted.key").symlink_to(target)
    with pytest.raises(FileExistsError):
        create_private(tmp_path / "planted.key")
    assert not target.exists()


def test_open_private_creates_0600_and_reopens(tmp_path: Path, lax_umask: None) -> None:
    lock = tmp_path / "log.db-lock"
    for _ in range(2):
        fd = open_private(lock)
        os.close(fd)
    assert mode(lock) == 0o600
    (tmp_path / "link-lock").symlink_to(tmp_path / "victim")
    with pytest.raises(OSError):
        open_private(tmp_path / "link-lock")
    assert not (tmp_path / "victim").exists()


def test_sqlite_files_created_under_private_umask_are_0600(tmp_path: Path, lax_umask: None) -> None:
    db = tmp_path / "store.db"
    with private_umask():
        conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (1)")
        conn.commit()
        # created after the block: SQLite gives them the database's mode
        companions = [tmp_path / "store.db-wal", tmp_path / "store.db-shm"]
        assert all(p.exists() for p in companions)
        assert {p.name: mode(p) for p in [db, *companions]} == {
            "store.db": 0o600,
            "store.db-wal": 0o600,
            "store.db-shm": 0o600,
        }
    finally:
        conn.close()
    assert os.umask(0o022) == 0o022  # the process's umask came back


def test_private_umask_comes_back_after_overlapping_threads(lax_umask: None) -> None:
    inside = threading.Barrier(4)
    seen: list[int] = []

    def work() -> None:
        with private_umask():
            inside.wait()
            current = os.umask(0o077)
            os.umask(current)
            seen.append(current)
            inside.wait()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [0o077] * 4
    assert os.umask(0o022) == 0o022


def test_publish_never_replaces_and_falls_back_to_a_private_copy(
    tmp_path: Path, lax_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    built, target = aside(tmp_path / "log.db", "building"), tmp_path / "log.db"
    with create_private(built) as fh:
        fh.write(b"whole")
    assert built.parent == tmp_path and built.name.startswith(".log.db.")
    assert publish(built, target) and target.read_bytes() == b"whole" and mode(target) == 0o600
    target.unlink()  # (a hard link of the built file so far)
    target.write_bytes(b"theirs")
    assert not publish(built, target) and target.read_bytes() == b"theirs"

    # a file system without hard links: an exclusive, private create and a copy
    def no_links(*_: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    other = tmp_path / "other.db"
    assert publish(built, other) and other.read_bytes() == b"whole" and mode(other) == 0o600
    assert not publish(built, other)
    discard(built)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.db", "other.db"]
