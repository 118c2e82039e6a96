"""Bad input: files that are not logs, logs from a newer schema, corrupt databases.

Every command exits with code 2 and a one-line error on stderr, prints no traceback, and leaves
the file byte for byte as it was. The library raises a :class:`LogFormatError` for the same.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.audit import FakePack, pack_files, pairs

from vasp_rules.audit import (
    SCHEMA_VERSION,
    CorruptLogError,
    DecisionLog,
    LogFormatError,
    NewerSchemaError,
    NotALogError,
    record_decisions,
    verify_log,
)
from vasp_rules.cli.audit import audit

PAGE = 4096


def _good_log(path: Path) -> Path:
    pack = FakePack(pack_files())
    record_decisions(path, pairs(pack, 1, 3), pack)
    return path


def _text(path: Path) -> Path:
    path.write_text("id,outcome\n1,APPROVE\n")
    return path


def _random_bytes(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 40)
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _other_sqlite(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE records (seq INTEGER, hash TEXT)")
    conn.execute("INSERT INTO records VALUES (1, 'x')")
    conn.commit()
    conn.close()
    return path


def _our_id_without_meta(path: Path) -> Path:
    _other_sqlite(path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 0x5652444C")
    conn.close()
    return path


def _wrong_magic(path: Path) -> Path:
    _good_log(path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = 'something else' WHERE key = 'magic'")
    conn.commit()
    conn.close()
    return path


def _newer_schema(path: Path) -> Path:
    _good_log(path)
    conn = sqlite3.connect(path)
    conn.execute(
        "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),)
    )
    conn.commit()
    conn.close()
    return path


def _garble(path: Path, first_page: int, last_page: int | None = None) -> Path:
    data = bytearray(path.read_bytes())
    end = len(data) if last_page is None else last_page * PAGE
    for i in range((first_page - 1) * PAGE, end):
        data[i] = (i * 151 + 7) % 256
    path.write_bytes(bytes(data))
    return path


def _corrupt_all_pages(path: Path) -> Path:
    return _garble(_good_log(path), 2)


def _corrupt_records_page(path: Path) -> Path:
    _good_log(path)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'records'").fetchone()
    conn.close()
    return _garble(path, root, root)


def _truncated(path: Path) -> Path:
    _good_log(path)
    path.write_bytes(path.read_bytes()[: 3 * PAGE])
    return path


def _truncated_header(path: Path) -> Path:
    _good_log(path)
    path.write_bytes(path.read_bytes()[:60])
    return path


BAD_FILES: dict[str, Callable[[Path], Path]] = {
    "text": _text,
    "random-bytes": _random_bytes,
    "empty": _empty,
    "other-sqlite": _other_sqlite,
    "our-id-without-meta": _our_id_without_meta,
    "wrong-magic": _wrong_magic,
    "newer-schema": _newer_schema,
    "corrupt-all-pages": _corrupt_all_pages,
    "corrupt-records-page": _corrupt_records_page,
    "truncated": _truncated,
    "truncated-header": _truncated_header,
}

COMMANDS = {
    "verify": ["verify", "{db}"],
    "verify-json": ["verify", "--json", "{db}"],
    "head": ["head", "{db}"],
    "show": ["show", "{db}", "1"],
    "replay": ["replay", "{db}", "1"],
    "override": ["override", "{db}", "1", "--by", "x", "--reason", "y", "--outcome", "REFER"],
}


def _fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), os.stat(path).st_mtime_ns


def _side_files(path: Path) -> set[str]:
    return {p.name for p in path.parent.iterdir()} - {path.name}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", BAD_FILES)
def test_cli_refuses_bad_files_cleanly(tmp_path: Path, kind: str, command: str) -> None:
    db = BAD_FILES[kind](tmp_path / "input.db")
    before = _fingerprint(db)
    sides_before = _side_files(db)  # a log made to be damaged has its run-lock file
    args = [a.format(db=db) for a in COMMANDS[command]]
    result = CliRunner().invoke(
        audit, args, obj={"pack_loader": FakePack.load}, catch_exceptions=False
    )
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    assert _fingerprint(db) == before
    if kind in {"text", "random-bytes", "empty", "other-sqlite", "truncated-header"}:
        assert _side_files(db) == sides_before  # SQLite never even opened it
    if kind == "newer-schema":
        assert "newer" in lines[0]
    if kind in {"text", "random-bytes", "empty", "other-sqlite", "wrong-magic"}:
        assert "not" in lines[0] and "decision log" in lines[0]


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("text", NotALogError),
        ("empty", NotALogError),
        ("other-sqlite", NotALogError),
        ("wrong-magic", NotALogError),
        ("newer-schema", NewerSchemaError),
        ("corrupt-all-pages", CorruptLogError),
        ("truncated-header", CorruptLogError),
    ],
)
def test_library_raises_format_errors_and_does_not_write(
    tmp_path: Path, kind: str, error: type[Exception]
) -> None:
    db = BAD_FILES[kind](tmp_path / "input.db")
    before = _fingerprint(db)
    pack = FakePack(pack_files())
    with pytest.raises(error):
        record_decisions(db, pairs(pack, 10, 1), pack)
    with pytest.raises(error):
        verify_log(db)
    assert _fingerprint(db) == before


def test_corrupt_records_page_is_a_format_error_not_a_failed_verification(tmp_path: Path) -> None:
    db = _corrupt_records_page(tmp_path / "input.db")
    with pytest.raises(LogFormatError, match="corrupt"):
        verify_log(db)


@pytest.mark.parametrize("command", COMMANDS)
def test_missing_file_and_directory(tmp_path: Path, command: str) -> None:
    for target in (tmp_path / "absent.db", tmp_path):
        args = [a.format(db=target) for a in COMMANDS[command]]
        result = CliRunner().invoke(audit, args, catch_exceptions=False)
        assert result.exit_code == 2
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert not (tmp_path / "absent.db").exists()  # not even override creates a log


@pytest.mark.parametrize("command", ["show", "replay", "override"])
@pytest.mark.parametrize("record_id", ["99", "0", "abc", "1.5"])
def test_unknown_or_malformed_id(tmp_path: Path, command: str, record_id: str) -> None:
    db = _good_log(tmp_path / "d.db")
    args = [a.format(db=db) for a in COMMANDS[command]]
    args[2] = record_id
    result = CliRunner().invoke(
        audit, args, obj={"pack_loader": FakePack.load}, catch_exceptions=False
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    with DecisionLog.open(db) as log:
        assert log.count() == 3


def test_malformed_anchor(tmp_path: Path) -> None:
    db = _good_log(tmp_path / "d.db")
    result = CliRunner().invoke(audit, ["verify", str(db), "--anchor", "nonsense"])
    assert result.exit_code == 2 and result.stderr.startswith("error: anchor")
