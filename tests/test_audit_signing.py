"""Signed overrides and heads: key files, keyrings, forged overrides, signed anchors.

The attack of issue 21: anyone who can write the log file can append an override with
correct hashes. Here it is built as an attacker would (plain SQLite, hashes recomputed) and
``verify --keyring`` must name the forged record.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from vasp_rules.audit.cli import audit
from vasp_rules.audit.log import Head
from vasp_rules.audit.signing import (
    KeyFileError,
    PublicKey,
    SignatureError,
    SignedHead,
    generate_key,
    load_keyring,
    load_signing_key,
)


def run(*args: Any) -> Result:
    return CliRunner().invoke(audit, [os.fsdecode(a) for a in args], catch_exceptions=False)


# --------------------------------------------------------------------------- key files


def test_keygen_writes_a_private_key_only_its_owner_reads_and_a_one_line_public_key(
    tmp_path: Path,
) -> None:
    out = tmp_path / "khan.key"
    result = run("keygen", "--out", out, "--label", "A. Khan, CCO")
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    lines = (tmp_path / "khan.pub").read_text().splitlines()
    assert len(lines) == 1
    kind, b64, label = lines[0].split(" ", 2)
    assert (kind, label) == ("ed25519", "A. Khan, CCO")
    key = load_signing_key(out)
    assert key.public.line == lines[0]
    assert key.public.label == "A. Khan, CCO"  # read from the .pub beside it
    assert f"key id {key.public.key_id}" in result.stdout
    assert len(key.public.key_id) == 16


def test_keygen_never_overwrites(tmp_path: Path) -> None:
    out = tmp_path / "k.key"
    generate_key(out)
    before = out.read_bytes(), (tmp_path / "k.pub").read_bytes()
    result = run("keygen", "--out", out)
    assert result.exit_code == 2
    assert result.stderr == f"error: {out}: already exists; refusing to overwrite a key\n"
    assert (out.read_bytes(), (tmp_path / "k.pub").read_bytes()) == before
    # a .pub alone in the way also stops it, and no private key is left behind
    (tmp_path / "other.pub").write_text("x\n")
    assert run("keygen", "--out", tmp_path / "other.key").exit_code == 2
    assert not (tmp_path / "other.key").exists()


def test_keygen_ignores_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        generate_key(tmp_path / "k.key")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k.key").stat().st_mode) == 0o600


def _one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    for fragment in fragments:
        assert fragment in result.stderr
    assert "Traceback" not in result.output


def _write_private(path: Path, data: bytes) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, data)
    os.close(fd)
    return path


@pytest.mark.parametrize(
    ("setup", "fragment"),
    [
        (lambda d: d / "missing.key", "no such key file"),
        (lambda d: _write_private(d / "bin.key", b"\xff\xfe-----BEGIN"), "not UTF-8"),
        (lambda d: _write_private(d / "junk.key", b"hello\n"), "not a PEM private key"),
        (
            lambda d: _write_private(
                d / "ec.key",
                ec.generate_private_key(ec.SECP256R1()).private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
            ),
            "only Ed25519 keys can sign",
        ),
    ],
)
def test_bad_key_files_give_one_line_errors(tmp_path: Path, setup: Any, fragment: str) -> None:
    path = setup(tmp_path)
    with pytest.raises(KeyFileError, match=fragment) as info:
        load_signing_key(path)
    assert info.value.exit_code == 2
    assert "\n" not in str(info.value)


def test_a_public_key_given_as_the_private_key_is_refused(tmp_path: Path) -> None:
    generate_key(tmp_path / "k.key")
    with pytest.raises(KeyFileError, match="this is a public key"):
        load_signing_key(tmp_path / "k.pub")


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_private_key_other_users_can_read_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "k.key"
    generate_key(key)
    key.chmod(0o644)
    with pytest.raises(KeyFileError, match=r"accessible by other users \(mode 0644\)"):
        load_signing_key(key)
    key.chmod(0o600)
    load_signing_key(key)


def test_keyrings_hold_several_keys_with_comments(tmp_path: Path) -> None:
    a = generate_key(tmp_path / "a.key", "Officer A")
    b = generate_key(tmp_path / "b.key", "Officer B")
    ring = tmp_path / "ring"
    ring.write_text(f"# compliance officers\n\n{a.line}\n  {b.line}  \n")
    keyring = load_keyring(ring)
    assert [k.label for k in keyring.keys] == ["Officer A", "Officer B"]
    assert keyring.find(PublicKey(b.raw)) == b
    assert keyring.find(generate_key(tmp_path / "c.key")) is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (b"ed25519 notbase64 x\n", "line 1: the key is not base64 of 32 bytes"),
        (b"# only a comment\n", "holds no keys"),
        (b"\n\nssh-rsa AAAA x\n", "line 3: not a public key line"),
        (b"ed25519 \xff\n", "not UTF-8"),
    ],
)
def test_bad_keyrings_name_file_and_line(tmp_path: Path, text: bytes, fragment: str) -> None:
    ring = tmp_path / "ring"
    ring.write_bytes(text)
    with pytest.raises(KeyFileError, match=fragment):
        load_keyring(ring)


def test_a_private_key_in_a_keyring_is_refused(tmp_path: Path) -> None:
    generate_key(tmp_path / "k.key")
    with pytest.raises(KeyFileError, match="line 1: a PEM key"):
        load_keyring(tmp_path / "k.key")


# --------------------------------------------------------------------------- signed heads


def test_a_signed_head_checks_with_the_public_key_alone(tmp_path: Path) -> None:
    generate_key(tmp_path / "k.key")
    head = Head(7, "ab" * 32)
    token = SignedHead.sign(head, load_signing_key(tmp_path / "k.key")).token
    assert token.startswith(f"{head.token}:ed25519:") and "\n" not in token
    parsed = SignedHead.parse(token)
    assert parsed.head == head
    assert parsed.check(load_keyring(tmp_path / "k.pub")).key_id == parsed.key.key_id


def test_a_tampered_or_untrusted_signed_head_fails(tmp_path: Path) -> None:
    generate_key(tmp_path / "k.key")
    generate_key(tmp_path / "other.key")
    token = SignedHead.sign(Head(7, "ab" * 32), load_signing_key(tmp_path / "k.key")).token
    seq, digest, rest = token.split(":", 2)
    moved = f"8:{digest}:{rest}"  # the same signature claimed for another record
    with pytest.raises(SignatureError, match="does not verify"):
        SignedHead.parse(moved).check(None)
    with pytest.raises(SignatureError, match="not in"):
        SignedHead.parse(token).check(load_keyring(tmp_path / "other.pub"))
    with pytest.raises(ValueError, match="SEQ:HASH:ed25519:KEY:SIGNATURE"):
        SignedHead.parse(token + ":x")
