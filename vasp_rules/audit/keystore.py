"""The key store: one random key per data subject, so a person's data can be erased from a log.

Why: a decision log is append-only and hash-chained, so personal data cannot be deleted from it
without breaking every later hash. Instead each person's data is stored encrypted under keys of
their own (:func:`seal`), kept in this separate SQLite file. Destroying the keys
(:meth:`KeyStore.erase`) makes the ciphertext in the log unreadable for good while the chain,
which covers the ciphertext, still verifies.

A *subject* is the set of identifiers (CNIC/NICOP/passport number, customer id, national id,
wallet address, ...) seen on one person. The store keeps them only as HMAC-SHA256 digests under a
random secret of its own, so the file lists no identifier in clear. Two identifiers seen on one
person join one subject; a person seen with identifiers of two subjects merges them. A subject
has one or more random 256-bit keys, each with a random key id (the ids are what the log names).

Erasure deletes the subject's keys and digests with ``secure_delete`` on, keeps a tombstone
(key ids and the time, no identifier), then checkpoints the write-ahead log and vacuums, so the
key bytes are gone from the file and its ``-wal``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vasp_rules.audit.files import create_private
from vasp_rules.audit.log.errors import AuditError

#: SQLite ``application_id`` ("VRKS") of a key store.
KEYSTORE_APPLICATION_ID: Final = 0x56524B53
#: Value of the ``magic`` row of the key store's ``meta`` table.
KEYSTORE_MAGIC: Final = "vasp-rules key store"
KEYSTORE_VERSION: Final = 1
#: Suffix of the default key store beside a log: ``DB`` -> ``DB-keys``.
KEYS_SUFFIX: Final = "-keys"
#: Associated data of every sealed part starts with this (the caller appends the part's place).
SEAL_CONTEXT: Final = b"vasp-rules sealed v1\n"

_KEY_BYTES: Final = 32
_NONCE_BYTES: Final = 12
_TIMEOUT: Final = 60.0


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch the store to WAL. Processes opening a new store at once all try it, and SQLite
    answers one of two connections upgrading their shared locks together with an immediate
    "database is locked" (no busy wait: waiting would deadlock), so try again until the
    timeout; the switch is idempotent and whoever wins, every process sees WAL."""
    deadline = time.monotonic() + _TIMEOUT
    while conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005 + secrets.randbelow(20) / 1000)

_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT",
    "CREATE TABLE IF NOT EXISTS secret (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " value BLOB NOT NULL) STRICT",
    "CREATE TABLE IF NOT EXISTS subjects (id INTEGER PRIMARY KEY) STRICT",
    "CREATE TABLE IF NOT EXISTS identifiers (digest BLOB PRIMARY KEY,"
    " subject INTEGER NOT NULL) STRICT",
    "CREATE INDEX IF NOT EXISTS identifiers_subject ON identifiers (subject)",
    "CREATE TABLE IF NOT EXISTS keys (key_id TEXT PRIMARY KEY, subject INTEGER NOT NULL,"
    " key BLOB NOT NULL) STRICT",
    "CREATE INDEX IF NOT EXISTS keys_subject ON keys (subject)",
    "CREATE TABLE IF NOT EXISTS erased (key_id TEXT PRIMARY KEY, erased_at TEXT NOT NULL) STRICT",
)


class KeyStoreError(AuditError):
    """The key store cannot be used (missing, not a key store, damaged)."""


class UnknownSubjectError(AuditError):
    """No subject in the key store has that identifier (never seen, or already erased)."""

    exit_code = 1


class SealError(AuditError):
    """A sealed part is malformed or fails authentication (the log or the key store is damaged)."""

    exit_code = 1


Identifier = tuple[str, str]


@dataclass(frozen=True)
class SubjectKey:
    """The key a subject's data is sealed under, and its id (what the log names)."""

    key_id: str
    key: bytes = field(repr=False)


@dataclass(frozen=True)
class Found:
    """The subjects an identifier names, and every key of them."""

    subjects: int
    key_ids: tuple[str, ...]


@dataclass(frozen=True)
class Erasure:
    """What :meth:`KeyStore.erase` destroyed. ``wiped`` is False when other connections kept the
    write-ahead log from being emptied (the keys are deleted; run the erasure's wipe again)."""

    subjects: int
    key_ids: tuple[str, ...]
    erased_at: str
    wiped: bool


def default_keys_path(log_path: str | os.PathLike[str]) -> Path:
    """The key store beside a log: ``DB`` -> ``DB-keys``."""
    path = Path(log_path)
    return path.with_name(path.name + KEYS_SUFFIX)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class KeyStore:
    """An open key store. Thread-safe; each call is one transaction (``BEGIN IMMEDIATE`` when it
    writes), so processes sharing the file resolve a person to one subject."""

    def __init__(self, path: Path, conn: sqlite3.Connection, secret: bytes) -> None:
        self._path = path
        self._conn = conn
        self._secret = secret
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, create: bool = False) -> KeyStore:
        """Open the key store at ``path``; with ``create``, make it (0600) if it does not exist."""
        target = Path(path)
        if not target.exists():
            if not create:
                raise KeyStoreError(f"no key store at {target}")
            with contextlib.suppress(FileExistsError):  # another process made it first
                create_private(target).close()
        elif not target.is_file():
            raise KeyStoreError(f"{target} is not a file")
        try:
            conn = sqlite3.connect(
                target, timeout=_TIMEOUT, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise KeyStoreError(f"cannot open key store {target}: {exc}") from exc
        try:
            secret = cls._prepare(conn, target, create)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise KeyStoreError(f"{target} is not a usable key store: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return cls(target, conn, secret)

    @staticmethod
    def _prepare(conn: sqlite3.Connection, path: Path, create: bool) -> bytes:
        conn.execute("PRAGMA secure_delete=ON")
        if conn.execute("PRAGMA application_id").fetchone()[0] != KEYSTORE_APPLICATION_ID:
            # Not (yet) a key store. Another process may be creating it right now: decide
            # under the write lock, where its creation is either complete or not begun (two
            # separate reads could see the id before its commit and the tables after it).
            conn.execute("BEGIN IMMEDIATE")
            try:
                app_id = conn.execute("PRAGMA application_id").fetchone()[0]
                empty = not conn.execute("SELECT 1 FROM sqlite_schema LIMIT 1").fetchone()
                if app_id != KEYSTORE_APPLICATION_ID:
                    if not (empty and create):
                        raise KeyStoreError(f"{path} is not a vasp-rules key store")
                    for statement in _SCHEMA:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA application_id={KEYSTORE_APPLICATION_ID}")
                    conn.execute(
                        "INSERT OR IGNORE INTO meta VALUES ('magic', ?), ('version', ?)",
                        (KEYSTORE_MAGIC, str(KEYSTORE_VERSION)),
                    )
                    conn.execute(
                        "INSERT OR IGNORE INTO secret VALUES (1, ?)", (secrets.token_bytes(32),)
                    )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        _use_wal(conn)
        conn.execute("PRAGMA synchronous=FULL")
        row = conn.execute("SELECT value FROM meta WHERE key = 'magic'").fetchone()
        if row is None or row[0] != KEYSTORE_MAGIC:
            raise KeyStoreError(f"{path} is not a vasp-rules key store")
        secret = conn.execute("SELECT value FROM secret WHERE id = 1").fetchone()
        if secret is None or len(secret[0]) != 32:
            raise KeyStoreError(f"{path}: the key store has no secret")
        return bytes(secret[0])

    @property
    def path(self) -> Path:
        """The key store's file."""
        return self._path

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._conn.execute(begin)
            except sqlite3.OperationalError as exc:
                raise KeyStoreError(f"key store {self._path} is busy: {exc}") from exc
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def digest(self, identifier: Identifier) -> bytes:
        """The HMAC-SHA256 digest the store keeps for one (kind, canonical value) identifier."""
        kind, value = identifier
        message = kind.encode() + b"\x00" + value.encode()
        return hmac.new(self._secret, message, hashlib.sha256).digest()

    # ------------------------------------------------------------------ resolving subjects

    def keys_for(self, subjects: Sequence[Iterable[Identifier]]) -> list[SubjectKey]:
        """The key to seal each subject's data under, given each subject by its identifiers.

        One transaction: unknown identifiers join the subject of the others, or a new subject;
        identifiers of several subjects merge them (their keys all stay the merged subject's).
        A subject with no identifier gets a subject and key of its own.
        """
        with self._transaction("BEGIN IMMEDIATE") as conn:
            return [self._resolve(conn, {self.digest(i) for i in ids}) for ids in subjects]

    def _resolve(self, conn: sqlite3.Connection, digests: set[bytes]) -> SubjectKey:
        found: set[int] = set()
        for digest in digests:
            row = conn.execute(
                "SELECT subject FROM identifiers WHERE digest = ?", (digest,)
            ).fetchone()
            if row is not None:
                found.add(int(row[0]))
        if not found:
            subject = int(conn.execute("INSERT INTO subjects DEFAULT VALUES").lastrowid or 0)
            key = SubjectKey(secrets.token_hex(16), secrets.token_bytes(_KEY_BYTES))
            conn.execute("INSERT INTO keys VALUES (?, ?, ?)", (key.key_id, subject, key.key))
        else:
            subject = min(found)
            for other in found - {subject}:
                conn.execute(
                    "UPDATE identifiers SET subject = ? WHERE subject = ?", (subject, other)
                )
                conn.execute("UPDATE keys SET subject = ? WHERE subject = ?", (subject, other))
                conn.execute("DELETE FROM subjects WHERE id = ?", (other,))
            row = conn.execute(
                "SELECT key_id, key FROM keys WHERE subject = ? ORDER BY rowid LIMIT 1", (subject,)
            ).fetchone()
            key = SubjectKey(str(row[0]), bytes(row[1]))
        conn.executemany(
            "INSERT OR IGNORE INTO identifiers VALUES (?, ?)", [(d, subject) for d in digests]
        )
        return key

    # ------------------------------------------------------------------ reading keys

    def _by_key_id(self, select: str, key_ids: Iterable[str]) -> dict[str, Any]:
        """``select`` (one value, one ``?`` for the key id) for each of ``key_ids`` that has a
        row, in one snapshot."""
        found: dict[str, Any] = {}
        with self._transaction("BEGIN") as conn:
            for key_id in sorted(set(key_ids)):
                row = conn.execute(select, (key_id,)).fetchone()
                if row is not None:
                    found[key_id] = row[0]
        return found

    def keys(self, key_ids: Iterable[str]) -> dict[str, bytes]:
        """The keys that still exist among ``key_ids``."""
        found = self._by_key_id("SELECT key FROM keys WHERE key_id = ?", key_ids)
        return {k: bytes(v) for k, v in found.items()}

    def erased(self, key_ids: Iterable[str]) -> dict[str, str]:
        """When each erased key among ``key_ids`` was erased."""
        found = self._by_key_id("SELECT erased_at FROM erased WHERE key_id = ?", key_ids)
        return {k: str(v) for k, v in found.items()}

    def find(self, identifiers: Iterable[Identifier]) -> Found:
        """The subjects any of ``identifiers`` names, and all their keys (empty if none)."""
        with self._transaction("BEGIN") as conn:
            subjects = self._subjects(conn, identifiers)
            return Found(len(subjects), self._key_ids(conn, subjects))

    def _subjects(self, conn: sqlite3.Connection, identifiers: Iterable[Identifier]) -> list[int]:
        found: set[int] = set()
        for identifier in identifiers:
            row = conn.execute(
                "SELECT subject FROM identifiers WHERE digest = ?", (self.digest(identifier),)
            ).fetchone()
            if row is not None:
                found.add(int(row[0]))
        return sorted(found)

    @staticmethod
    def _key_ids(conn: sqlite3.Connection, subjects: Sequence[int]) -> tuple[str, ...]:
        key_ids: list[str] = []
        for subject in subjects:
            rows = conn.execute(
                "SELECT key_id FROM keys WHERE subject = ? ORDER BY rowid", (subject,)
            ).fetchall()
            key_ids.extend(str(r[0]) for r in rows)
        return tuple(key_ids)

    # ------------------------------------------------------------------ erasure

    def erase(self, identifiers: Iterable[Identifier], *, at: str | None = None) -> Erasure:
        """Destroy every key and identifier digest of the subjects ``identifiers`` names.

        Keeps a tombstone per key (its id and ``erased_at``), then empties the write-ahead log
        and vacuums so the destroyed bytes are in neither file. Raises
        :class:`UnknownSubjectError` when no subject has any of the identifiers.
        """
        erased_at = at or _now()
        with self._transaction("BEGIN IMMEDIATE") as conn:
            subjects = self._subjects(conn, list(identifiers))
            if not subjects:
                raise UnknownSubjectError(
                    "no data subject in the key store has that identifier (never recorded, or"
                    " already erased)"
                )
            key_ids = self._key_ids(conn, subjects)
            conn.executemany(
                "INSERT OR REPLACE INTO erased VALUES (?, ?)", [(k, erased_at) for k in key_ids]
            )
            for subject in subjects:
                conn.execute("DELETE FROM keys WHERE subject = ?", (subject,))
                conn.execute("DELETE FROM identifiers WHERE subject = ?", (subject,))
                conn.execute("DELETE FROM subjects WHERE id = ?", (subject,))
        return Erasure(len(subjects), key_ids, erased_at, self.wipe())

    def wipe(self, *, attempts: int = 20) -> bool:
        """Checkpoint the write-ahead log into the file, vacuum, and truncate the log to zero
        bytes. False when another connection's open read kept the log from being emptied."""
        with self._lock:
            for attempt in range(attempts):
                busy = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                if not busy:
                    try:
                        self._conn.execute("VACUUM")
                    except sqlite3.OperationalError:  # another writer: try again
                        busy = 1
                    else:
                        busy = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                if not busy:
                    return True
                time.sleep(0.05 * (attempt + 1))
        return False


# ---------------------------------------------------------------------- sealing


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def seal(plaintext: bytes, keys: Sequence[SubjectKey], context: bytes) -> dict[str, Any]:
    """Encrypt ``plaintext`` with AES-256-GCM under each key in turn (an onion: losing any one
    key loses the plaintext), with ``context`` as associated data and one random nonce."""
    unique = list({k.key_id: k for k in keys}.values())
    if not unique:
        raise ValueError("a sealed part needs at least one key")
    nonce = os.urandom(_NONCE_BYTES)
    data = plaintext
    for key in unique:
        data = AESGCM(key.key).encrypt(nonce, data, context)
    return {"keys": [k.key_id for k in unique], "nonce": _b64(nonce), "ct": _b64(data)}


def part_key_ids(part: Mapping[str, Any]) -> list[str]:
    """The key ids a sealed part names (checked to be a list of strings)."""
    key_ids = part.get("keys")
    if not isinstance(key_ids, list) or not key_ids or not all(isinstance(k, str) for k in key_ids):
        raise SealError("a sealed part names no keys")
    return key_ids


def unseal(part: Mapping[str, Any], keys: Mapping[str, bytes], context: bytes) -> bytes | None:
    """The plaintext of a sealed part, or None when one of its keys is missing (erased)."""
    key_ids = part_key_ids(part)
    if any(k not in keys for k in key_ids):
        return None
    try:
        nonce = base64.b64decode(str(part["nonce"]), validate=True)
        data = base64.b64decode(str(part["ct"]), validate=True)
    except (KeyError, binascii.Error) as exc:
        raise SealError(f"a sealed part is malformed: {exc}") from exc
    try:
        for key_id in reversed(key_ids):
            data = AESGCM(keys[key_id]).decrypt(nonce, data, context)
    except (InvalidTag, ValueError) as exc:
        raise SealError("a sealed part fails authentication (wrong key store?)") from exc
    return data
