"""The key store: subjects as HMAC digests of their identifiers, keys per subject, onion
sealing, and erasure that leaves no key or identifier bytes in the file or its write-ahead log."""

from __future__ import annotations

import multiprocessing
import sqlite3
import stat
from pathlib import Path

import pytest

from vasp_rules.audit.keystore import (
    SEAL_CONTEXT,
    KeyStore,
    KeyStoreError,
    SealError,
    UnknownSubjectError,
    default_keys_path,
    seal,
    unseal,
)

CNIC = ("cnic", "35202-1234567-1")
PASSPORT = ("passport", "AB1234567")
WALLET = ("wallet", "bc1qexamplewalletaddress0000000000000000")
OTHER = ("cnic", "42101-7654321-9")


def file_bytes(path: Path) -> bytes:
    """The bytes of the store and of its -wal (what an attacker with the disk would read)."""
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    with KeyStore.open(tmp_path / "log.db-keys", create=True) as opened:
        yield opened


def test_default_path_is_beside_the_log(tmp_path: Path) -> None:
    assert default_keys_path(tmp_path / "decisions.db") == tmp_path / "decisions.db-keys"


def test_created_private_and_identifiers_never_in_clear(store: KeyStore) -> None:
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    store.keys_for([[CNIC, PASSPORT]])
    for suffix in ("-wal", "-shm"):  # SQLite gives its companion files the store's mode
        companion = store.path.with_name(store.path.name + suffix)
        assert stat.S_IMODE(companion.stat().st_mode) == 0o600, suffix
    data = file_bytes(store.path)
    for _, value in (CNIC, PASSPORT):
        assert value.encode() not in data
        assert value.encode("utf-16-le") not in data
    assert store.digest(CNIC) in data  # only the digest is kept


def test_missing_store_is_not_created_unless_asked(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match="no key store"):
        KeyStore.open(tmp_path / "absent")
    assert not (tmp_path / "absent").exists()


def test_another_database_is_refused_and_untouched(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    before = other.read_bytes()
    with pytest.raises(KeyStoreError, match="not a vasp-rules key store"):
        KeyStore.open(other, create=True)
    assert other.read_bytes() == before
    text = tmp_path / "text"
    text.write_text("hello, this is not a database at all " * 10)
    with pytest.raises(KeyStoreError):
        KeyStore.open(text)


def test_same_identifier_same_key_and_reopen_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "k"
    with KeyStore.open(path, create=True) as store:
        first = store.keys_for([[CNIC]])[0]
        assert store.keys_for([[CNIC, PASSPORT]])[0] == first
        assert store.keys_for([[PASSPORT]])[0] == first  # joined the subject of the CNIC
        assert store.keys_for([[OTHER]])[0] != first
    with KeyStore.open(path) as store:
        assert store.keys_for([[CNIC]])[0] == first
        assert store.keys([first.key_id]) == {first.key_id: first.key}
        assert len(first.key) == 32


def test_a_person_linking_two_subjects_merges_them(store: KeyStore) -> None:
    by_cnic, by_wallet = store.keys_for([[CNIC], [WALLET]])
    assert by_cnic != by_wallet
    store.keys_for([[WALLET, CNIC]])
    found = store.find([WALLET])
    assert found.subjects == 1
    assert set(found.key_ids) == {by_cnic.key_id, by_wallet.key_id}
    erasure = store.erase([CNIC])
    assert erasure.subjects == 1
    assert set(erasure.key_ids) == {by_cnic.key_id, by_wallet.key_id}
    assert store.keys([by_cnic.key_id, by_wallet.key_id]) == {}


def test_subject_without_identifiers_gets_a_fresh_key(store: KeyStore) -> None:
    first, second = store.keys_for([[], []])
    assert first.key_id != second.key_id


def test_erase_destroys_keys_and_digests_and_keeps_a_tombstone(store: KeyStore) -> None:
    gone, kept = store.keys_for([[CNIC, PASSPORT, WALLET], [OTHER]])
    digests = [store.digest(i) for i in (CNIC, PASSPORT, WALLET)]
    assert gone.key in file_bytes(store.path)
    erasure = store.erase([PASSPORT], at="2026-01-02T03:04:05.000000Z")
    assert erasure.wiped
    assert erasure.key_ids == (gone.key_id,)
    data = file_bytes(store.path)
    assert gone.key not in data
    for digest in digests:
        assert digest not in data
    assert kept.key in data
    assert store.keys([gone.key_id, kept.key_id]) == {kept.key_id: kept.key}
    assert store.erased([gone.key_id, kept.key_id]) == {gone.key_id: "2026-01-02T03:04:05.000000Z"}
    assert store.find([CNIC]).subjects == 0
    with pytest.raises(UnknownSubjectError) as info:
        store.erase([CNIC])
    assert info.value.exit_code == 1
    # A person seen again after erasure is a new subject with a new key.
    assert store.keys_for([[CNIC]])[0].key_id != gone.key_id


def test_seal_roundtrip_and_onion(store: KeyStore) -> None:
    a, b = store.keys_for([[CNIC], [OTHER]])
    context = SEAL_CONTEXT + b"0"
    part = seal(b"Ali Khan", [a, b], context)
    assert part["keys"] == [a.key_id, b.key_id]
    both = {a.key_id: a.key, b.key_id: b.key}
    assert unseal(part, both, context) == b"Ali Khan"
    assert unseal(part, {a.key_id: a.key}, context) is None  # either key erased: gone
    assert unseal(part, {b.key_id: b.key}, context) is None
    with pytest.raises(SealError):
        unseal(part, both, SEAL_CONTEXT + b"1")  # moved to another place
    with pytest.raises(SealError):
        unseal(part, {a.key_id: b.key, b.key_id: a.key}, context)
    assert seal(b"x", [a], context)["nonce"] != seal(b"x", [a], context)["nonce"]
    assert seal(b"x", [a, a], context)["keys"] == [a.key_id]


def _resolve_many(path: str, identifiers: list[tuple[str, str]]) -> list[str]:
    with KeyStore.open(path, create=True) as store:
        return [store.keys_for([[i]])[0].key_id for i in identifiers]


def test_processes_resolve_one_person_to_one_key(tmp_path: Path) -> None:
    path = str(tmp_path / "k")
    people = [("cnic", f"35202-{n:07d}-1") for n in range(15)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        results = pool.starmap(_resolve_many, [(path, people)] * 3)
    assert results[0] == results[1] == results[2]
    assert len(set(results[0])) == len(people)


def _open_at(path: str, start: float) -> str:
    """Open (creating) the key store at ``path`` at the moment ``start``; the error, if any."""
    import time

    time.sleep(max(0.0, start - time.time()))
    try:
        with KeyStore.open(path, create=True) as store:
            return store.keys_for([[("cnic", "3520200000011")]])[0].key_id
    except Exception as exc:  # noqa: BLE001 - reported to the test, which names it
        return f"error: {exc}"


def test_processes_creating_one_store_at_once_all_open_it(tmp_path: Path) -> None:
    """Regression: a process that read the header before another's creation committed and the
    tables after it took a fresh key store for another database ("is not a vasp-rules key
    store"); the check and the creation now happen under one write lock."""
    import time

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        pool.map(str, range(4))  # the workers are up before the races start
        for attempt in range(12):
            path = str(tmp_path / f"race-{attempt}")
            start = time.time() + 0.3
            results = pool.starmap(_open_at, [(path, start)] * 4)
            assert not [r for r in results if r.startswith("error")], results
            assert len(set(results)) == 1, results


def test_switching_a_new_store_to_wal_tries_again_when_sqlite_refuses_at_once(
    tmp_path: Path,
) -> None:
    """Regression (seen in CI under load): writers opening a new log at once each switch its key
    store to WAL, and SQLite answers one of two connections upgrading their shared locks
    together with an immediate "database is locked" (no busy wait), which failed the writer.
    The switch is tried again; any other error still surfaces."""
    import sqlite3

    from vasp_rules.audit.keystore import _use_wal

    real = sqlite3.connect(tmp_path / "k.db", isolation_level=None)

    class RefusesTwice:
        refused = 0

        def execute(self, sql: str) -> sqlite3.Cursor:
            if sql == "PRAGMA journal_mode=WAL" and self.refused < 2:
                self.refused += 1
                raise sqlite3.OperationalError("database is locked")
            return real.execute(sql)

    flaky = RefusesTwice()
    _use_wal(flaky)  # type: ignore[arg-type]
    assert flaky.refused == 2
    assert real.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    other = sqlite3.connect(tmp_path / "other.db", isolation_level=None)

    class Broken:
        def execute(self, sql: str) -> sqlite3.Cursor:
            if sql == "PRAGMA journal_mode=WAL":
                raise sqlite3.OperationalError("disk I/O error")
            return other.execute(sql)

    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        _use_wal(Broken())  # type: ignore[arg-type]
    real.close()
    other.close()
