"""Ed25519 keys for the decision log: signed overrides and signed heads.

Why: anyone who can write the log file can append an override with correct hashes, so the
hash chain alone cannot say *who* overrode a decision. An override signed with a private key
that only its officer holds can be checked by anyone with the public key; a keyring (a file of
public keys) says which keys are trusted. A signed head lets someone who holds only the public
key check that an anchor was issued by the key's holder.

Files:

- ``NAME.key``: the private key, PEM PKCS#8, created 0600 (never overwritten). A private key
  file that other users can read or write is refused, as ssh refuses one.
- ``NAME.pub``: one line ``ed25519 <base64 of the raw 32-byte public key> <label>``.
- a keyring: such lines, one per trusted key; blank lines and ``#`` comments are allowed.

A key's id for humans is the first 16 hex digits of sha256 of the raw public key. In a record
the signer is ``ed25519:`` + base64 of the raw public key, so the signature can be checked
without a keyring; the keyring only decides whether the key is trusted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vasp_rules.audit.files import create_private
from vasp_rules.audit.log.errors import AuditError
from vasp_rules.audit.log.records import Head, Record
from vasp_rules.core.canonical import canonical_bytes

__all__ = [
    "HEAD_DOMAIN",
    "OVERRIDE_DOMAIN",
    "SIGNER_PREFIX",
    "KeyFileError",
    "OverrideSignature",
    "Keyring",
    "PublicKey",
    "SignatureError",
    "SignedHead",
    "SigningKey",
    "generate_key",
    "load_keyring",
    "load_signing_key",
    "override_message",
    "override_signature",
    "parse_anchor",
]

#: What an override's signer column starts with; the rest is base64 of the raw public key.
SIGNER_PREFIX: Final = "ed25519:"
#: Domain separation: an override signature can never be taken for a head signature.
OVERRIDE_DOMAIN: Final = b"vasp-rules override v1\n"
HEAD_DOMAIN: Final = b"vasp-rules head v1\n"
_PUB_TYPE: Final = "ed25519"
_RAW_KEY_BYTES: Final = 32
_SIGNATURE_BYTES: Final = 64
#: The fields of an override record its signature covers (with its seq and prev_hash).
OVERRIDE_SIGNED_FIELDS: Final = (
    "seq",
    "prev_hash",
    "recorded_at",
    "document_kind",
    "document_id",
    "outcome",
    "overrides_seq",
    "overrides_hash",
    "override_by",
    "override_reason",
)


class KeyFileError(AuditError):
    """A key or keyring file cannot be used: missing, unreadable, not UTF-8, wrong kind of
    key, or a private key that other users can read. Invalid input: exit code 2."""


class SignatureError(AuditError):
    """A signature does not verify, or its key is not trusted: the check failed (exit 1)."""

    exit_code = 1


def _b64decode(text: str, size: int) -> bytes | None:
    """Strict base64 of exactly ``size`` bytes, or None."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    return raw if len(raw) == size else None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key (the raw 32 bytes) and the label its .pub line gives it."""

    raw: bytes
    label: str = ""

    @property
    def key_id(self) -> str:
        """The short id for humans: first 16 hex digits of sha256 of the raw key."""
        return hashlib.sha256(self.raw).hexdigest()[:16]

    @property
    def signer(self) -> str:
        """The form stored in a record's ``signer`` column: ``ed25519:`` + base64."""
        return SIGNER_PREFIX + _b64(self.raw)

    @property
    def line(self) -> str:
        """The key's line in a .pub file or keyring."""
        return f"{_PUB_TYPE} {_b64(self.raw)} {self.label}".rstrip()

    def describe(self) -> str:
        """``key ID (label)`` for messages."""
        return f"key {self.key_id}" + (f" ({self.label})" if self.label else "")

    def verifies(self, signature: str, message: bytes) -> bool:
        """Whether ``signature`` (base64) is this key's signature of ``message``."""
        sig = _b64decode(signature, _SIGNATURE_BYTES)
        if sig is None:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(sig, message)
        except InvalidSignature:
            return False
        return True

    @classmethod
    def from_signer(cls, signer: str) -> PublicKey | None:
        """The key a record's ``signer`` column names, or None if it is malformed."""
        if not signer.startswith(SIGNER_PREFIX):
            return None
        raw = _b64decode(signer[len(SIGNER_PREFIX) :], _RAW_KEY_BYTES)
        return None if raw is None else cls(raw)


class SigningKey:
    """A private Ed25519 key loaded from a key file (see :func:`load_signing_key`)."""

    def __init__(self, private: Ed25519PrivateKey, label: str = "") -> None:
        self._private = private
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public = PublicKey(raw, label)

    def sign(self, message: bytes) -> str:
        """The base64 Ed25519 signature of ``message``."""
        return _b64(self._private.sign(message))

    def __repr__(self) -> str:  # never show key material
        return f"SigningKey({self.public.describe()})"


@dataclass(frozen=True)
class Keyring:
    """The public keys trusted to sign overrides and heads."""

    keys: tuple[PublicKey, ...]
    source: str = "keyring"

    def find(self, key: PublicKey) -> PublicKey | None:
        """The keyring's entry (with its label) for ``key``, or None if it is not trusted."""
        for candidate in self.keys:
            if candidate.raw == key.raw:
                return candidate
        return None


# --------------------------------------------------------------------------- key files


def _read_text(path: Path, what: str) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise KeyFileError(f"{path}: is a directory, not a {what}") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise KeyFileError(
            f"{path}: the {what} is not UTF-8 text (byte {exc.start}); is it the right file?"
        ) from None


def _check_label(label: str, where: str = "key label") -> str:
    """The label with its white space collapsed; refused if it is not printable UTF-8 text
    (it is printed in messages: no escape sequences for the terminal)."""
    label = " ".join(label.split())
    try:
        label.encode("utf-8")
    except UnicodeEncodeError:
        raise KeyFileError(f"{where} {label!r} is not UTF-8 text") from None
    if any(not ch.isprintable() for ch in label):
        raise KeyFileError(f"{where} {label!r} holds control characters")
    return label


def _parse_pub_line(line: str, where: str) -> PublicKey:
    parts = line.split(maxsplit=2)
    if len(parts) < 2 or parts[0] != _PUB_TYPE:
        raise KeyFileError(
            f"{where}: not a public key line (expected 'ed25519 <base64 key> <label>')"
        )
    raw = _b64decode(parts[1], _RAW_KEY_BYTES)
    if raw is None:
        raise KeyFileError(f"{where}: the key is not base64 of 32 bytes")
    return PublicKey(raw, _check_label(parts[2] if len(parts) > 2 else "", f"{where}: label"))


def load_keyring(path: str | os.PathLike[str]) -> Keyring:
    """Read a keyring (or a single .pub file): ``ed25519 <base64> <label>`` lines, blank lines
    and ``#`` comments. Raises :class:`KeyFileError` naming the file and line."""
    path = Path(path)
    text = _read_text(path, "keyring")
    keys: list[PublicKey] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("-----BEGIN"):
            raise KeyFileError(
                f"{path} line {number}: a PEM key; a keyring holds .pub lines, not private keys"
            )
        keys.append(_parse_pub_line(stripped, f"{path} line {number}"))
    if not keys:
        raise KeyFileError(f"{path}: the keyring holds no keys")
    return Keyring(tuple(keys), str(path))


def load_signing_key(path: str | os.PathLike[str]) -> SigningKey:
    """Load a private key written by :func:`generate_key` (PEM PKCS#8, unencrypted).

    Refuses, with a one-line :class:`KeyFileError`: a missing or unreadable file, one that is
    not UTF-8, a public key, a key of another type (RSA, EC, ...), an encrypted key, and a key
    file that users other than its owner can read or write (POSIX), as ssh does.
    """
    path = Path(path)
    text = _read_text(path, "key file")
    stripped = text.strip()
    if stripped.startswith(f"{_PUB_TYPE} ") or "PUBLIC KEY-----" in stripped:
        raise KeyFileError(
            f"{path}: this is a public key; signing needs the private key file (NAME.key)"
        )
    if "PRIVATE KEY-----" not in stripped:
        raise KeyFileError(f"{path}: not a PEM private key (made by `audit keygen`?)")
    if os.name == "posix":
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise KeyFileError(
                f"{path}: private key is accessible by other users (mode {mode:04o}); "
                f"run chmod 600 {path}"
            )
    try:
        private: Any = serialization.load_pem_private_key(stripped.encode("ascii"), None)
    except TypeError:
        raise KeyFileError(f"{path}: the key is encrypted; use a key from `audit keygen`") from None
    except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm):
        raise KeyFileError(f"{path}: not a readable PEM private key") from None
    if not isinstance(private, Ed25519PrivateKey):
        kind = type(private).__name__.removeprefix("_").replace("PrivateKey", "") or "other"
        raise KeyFileError(f"{path}: the key is of type {kind}; only Ed25519 keys can sign")
    key = SigningKey(private)
    pub = path.with_suffix(".pub")
    if pub != path and pub.is_file():  # the label of its .pub, if it lies beside it
        try:
            beside = load_keyring(pub).keys[0]
        except KeyFileError:
            return key
        if beside.raw == key.public.raw:
            return SigningKey(private, beside.label)
    return key


def _public_path(out: Path) -> Path:
    if out.suffix == ".pub":
        raise KeyFileError(f"{out}: the private key file must not end in .pub")
    return out.with_suffix(".pub")


def _create_new(path: Path, data: bytes, *, private: bool) -> None:
    """Write ``data`` to the new file ``path`` (0600 if ``private``, else 0644); never
    overwrite what is there."""
    try:
        if private:
            with create_private(path) as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        else:
            with open(path, "xb") as fh:
                fh.write(data)
    except FileExistsError:
        raise KeyFileError(f"{path}: already exists; refusing to overwrite a key") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot create ({exc.strerror or exc})") from None


def generate_key(out: str | os.PathLike[str], label: str | None = None) -> PublicKey:
    """Make a key pair: ``out`` (private, 0600) and ``out`` with suffix ``.pub`` (public).

    ``label`` (default: the file's stem) names the key in the .pub line. Neither file is
    overwritten; if the .pub cannot be written, the private key just made is removed.
    """
    out = Path(out)
    pub_path = _public_path(out)
    label = _check_label(out.stem if label is None else label)
    for path in (out, pub_path):
        if path.exists() or path.is_symlink():
            raise KeyFileError(f"{path}: already exists; refusing to overwrite a key")
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key = SigningKey(private, label)
    _create_new(out, pem, private=True)
    try:
        _create_new(pub_path, (key.public.line + "\n").encode("utf-8"), private=False)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return key.public


# --------------------------------------------------------------------------- overrides


def override_message(record: Record) -> bytes:
    """The bytes an override's signature covers: who, why, the outcome, the overridden
    record's seq and hash, and the override's own place in the chain."""
    fields = {name: getattr(record, name) for name in OVERRIDE_SIGNED_FIELDS}
    return OVERRIDE_DOMAIN + canonical_bytes(fields)


@dataclass(frozen=True)
class OverrideSignature:
    """What an override record's signature says: by which key, whether it verifies and,
    when a keyring was given, whether the key is in it."""

    key: PublicKey | None  # the signer (the keyring's entry, with its label, when trusted)
    problem: str | None  # why the signature is not valid; None if valid or unsigned
    trusted: bool | None  # None: no keyring was given

    @property
    def signed(self) -> bool:
        """Signed, and the signature verifies (trusted or not)."""
        return self.key is not None and self.problem is None

    def summary(self) -> str:
        """``signed by key ID (label), trusted`` / ``UNSIGNED`` / the problem, for humans."""
        if self.problem is not None:
            return f"BAD SIGNATURE: {self.problem}"
        if self.key is None:
            return "UNSIGNED" + (": not accepted by the keyring" if self.trusted is False else "")
        text = f"signed by {self.key.describe()}"
        if self.trusted is None:
            return text + " (no keyring given: not checked for trust)"
        return text + (", trusted" if self.trusted else ", NOT in the keyring")

    def as_dict(self) -> dict[str, Any]:
        """For JSON output."""
        return {
            "signed": self.signed,
            "key_id": None if self.key is None else self.key.key_id,
            "label": None if self.key is None else self.key.label or None,
            "problem": self.problem,
            "trusted": self.trusted,
        }


def override_signature(record: Record, keyring: Keyring | None = None) -> OverrideSignature:
    """Check the signature of override ``record`` (and, with ``keyring``, trust in its key).

    An override without a signer and a signature is unsigned (never trusted by a keyring).
    """
    untrusted = None if keyring is None else False
    if record.signer is None and record.signature is None:
        return OverrideSignature(None, None, untrusted)
    if record.signer is None or record.signature is None:
        return OverrideSignature(None, "override has only one of signer and signature", untrusted)
    key = PublicKey.from_signer(record.signer)
    if key is None:
        why = f"override signer is not an Ed25519 key ({record.signer[:40]!r})"
        return OverrideSignature(None, why, untrusted)
    if not key.verifies(record.signature, override_message(record)):
        why = f"override signature by key {key.key_id} does not verify"
        return OverrideSignature(key, why, untrusted)
    if keyring is None:
        return OverrideSignature(key, None, None)
    trusted = keyring.find(key)
    return OverrideSignature(trusted or key, None, trusted is not None)


# --------------------------------------------------------------------------- heads


def _head_message(head: Head) -> bytes:
    return HEAD_DOMAIN + canonical_bytes({"seq": head.seq, "hash": head.hash})


@dataclass(frozen=True)
class SignedHead:
    """A head signed by a key: the token ``SEQ:HASH:ed25519:KEY:SIGNATURE`` (one line).

    It begins with the plain anchor ``SEQ:HASH``; the key and signature are base64, which
    holds no colon. Anyone with the token checks the signature with the key inside it; a
    keyring says whether that key is trusted.
    """

    head: Head
    key: PublicKey
    signature: str

    @classmethod
    def sign(cls, head: Head, key: SigningKey) -> SignedHead:
        """Sign ``head`` with ``key``."""
        return cls(head, key.public, key.sign(_head_message(head)))

    @property
    def token(self) -> str:
        """The one-line form printed by ``audit head --key``."""
        return f"{self.head.token}:{self.key.signer}:{self.signature}"

    @classmethod
    def parse(cls, token: str) -> SignedHead:
        """Parse a signed head token; raises :class:`ValueError` on a malformed one."""
        parts = token.strip().split(":")
        if len(parts) != 5 or parts[2] != _PUB_TYPE:
            raise ValueError(
                "a signed head must look like SEQ:HASH:ed25519:KEY:SIGNATURE, "
                f"got {token.strip()[:100]!r}"
            )
        try:
            head = Head.parse(f"{parts[0]}:{parts[1]}")
        except ValueError as exc:
            raise ValueError(f"the signed head's SEQ:HASH is malformed: {exc}") from None
        key = PublicKey.from_signer(f"{parts[2]}:{parts[3]}")
        if key is None:
            raise ValueError("the signed head's key is not base64 of 32 bytes")
        if _b64decode(parts[4], _SIGNATURE_BYTES) is None:
            raise ValueError("the signed head's signature is not base64 of 64 bytes")
        return cls(head, key, parts[4])

    def check(self, keyring: Keyring | None) -> PublicKey:
        """Check the signature (and, with ``keyring``, that the key is trusted); return the
        key (the keyring's entry, with its label, when given). Raises :class:`SignatureError`.
        """
        if not self.key.verifies(self.signature, _head_message(self.head)):
            raise SignatureError(
                f"the signed head {self.head.seq}:{self.head.hash[:12]}... does not verify "
                f"with key {self.key.key_id}: it was altered or not signed by that key"
            )
        if keyring is None:
            return self.key
        trusted = keyring.find(self.key)
        if trusted is None:
            raise SignatureError(
                f"the signed head is signed by key {self.key.key_id}, which is not in "
                f"{keyring.source}"
            )
        return trusted


def parse_anchor(token: str) -> Head | SignedHead:
    """A plain ``SEQ:HASH`` anchor or a signed head; raises :class:`ValueError`."""
    if token.strip().count(":") > 1:
        return SignedHead.parse(token)
    return Head.parse(token)
