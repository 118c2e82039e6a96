"""Signed overrides and heads: key files, keyrings, forged overrides, signed anchors.

The attack of issue 21: anyone who can write the log file can append an override with
correct hashes. Here it is built as an attacker would (plain SQLite, hashes recomputed) and
``verify --keyring`` must name the forged record.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shutil
import sqlite3
import stat
import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.audit import FakePack, StepClock, pack_files, pairs

from vasp_rules.audit import DecisionLog, Head, record_decisions, verify_log
from vasp_rules.audit.log import RECORD_COLUMNS
from vasp_rules.audit.log.records import override_record
from vasp_rules.audit.signing import (
    KeyFileError,
    PublicKey,
    SignatureError,
    SignedHead,
    generate_key,
    load_keyring,
    load_signing_key,
    override_message,
)
from vasp_rules.cli.audit import audit
from vasp_rules.model.decision import Outcome


def run(*args: Any) -> Result:
    return CliRunner().invoke(audit, [str(a) for a in args], catch_exceptions=False)


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
        (
            b"ed25519 " + base64.b64encode(bytes(32)) + b" evil \x1b[2J label\n",
            "line 1: label 'evil .* holds control characters",
        ),
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


# --------------------------------------------------------------------------- signed overrides


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    """Two officers' keys (A is trusted: officers.keyring holds A only) and an anchor key."""
    for name in ("officer-a", "officer-b", "anchor"):
        generate_key(tmp_path / f"{name}.key", name.replace("-", " ").title())
    (tmp_path / "officers.keyring").write_text(
        "# officers who may override\n" + (tmp_path / "officer-a.pub").read_text()
    )
    return {
        "a": tmp_path / "officer-a.key",
        "b": tmp_path / "officer-b.key",
        "anchor": tmp_path / "anchor.key",
        "ring": tmp_path / "officers.keyring",
        "anchor.pub": tmp_path / "anchor.pub",
    }


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "decisions.db"
    pack = FakePack(pack_files())
    record_decisions(path, pairs(pack, 1, 3), pack, clock=StepClock())
    return path


def _forge_override(db: Path, **changes: Any) -> int:
    """Append an override as an attacker with write access would: plain SQLite, a correct
    hash, the head moved to it. ``changes`` set columns (signer, signature, outcome...)."""
    with DecisionLog.open(db) as log:
        last = log.get(log.count())
        target = log.get(3)  # a REJECT
    forged = override_record(  # the log's own factory: a well-formed record
        head=Head(last.seq, last.hash),
        recorded_at="2026-01-01T00:00:00.000000Z",
        original=target,
        outcome="APPROVE",
        by="Chief Compliance Officer",
        reason="approved",
    )
    forged = dataclasses.replace(forged, **changes)
    if "signature" in changes and callable(changes["signature"]):
        forged = dataclasses.replace(forged, signature=changes["signature"](forged))
    forged = dataclasses.replace(forged, hash=forged.computed_hash())
    columns = ", ".join(RECORD_COLUMNS)
    marks = ", ".join("?" for _ in RECORD_COLUMNS)
    conn = sqlite3.connect(db)
    conn.execute(f"INSERT INTO records ({columns}) VALUES ({marks})", dataclasses.astuple(forged))
    conn.execute("UPDATE meta SET value = ? WHERE key = 'head_seq'", (str(forged.seq),))
    conn.execute("UPDATE meta SET value = ? WHERE key = 'head_hash'", (forged.hash,))
    conn.commit()
    conn.close()
    return forged.seq


def test_a_signed_override_verifies_against_the_keyring(db: Path, keys: dict[str, Path]) -> None:
    result = run(
        "override", db, 3, "--by", "Officer A", "--reason", "EDD cleared",
        "--outcome", "APPROVE", "--key", keys["a"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    key_id = load_signing_key(keys["a"]).public.key_id
    assert f"signed by key {key_id} (Officer A)" in result.stdout
    verified = run("verify", db, "--keyring", keys["ring"])
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.startswith("OK: 4 records verified")
    assert verified.stdout.rstrip().endswith(f"every override is signed by a key of {keys['ring']}")
    with DecisionLog.open(db) as log:
        override = log.get(4)
        assert override.signer == load_signing_key(keys["a"]).public.signer
        assert log.effective_outcome(3, keyring=load_keyring(keys["ring"])) is Outcome.APPROVE
    shown = run("show", db, 4, "--keyring", keys["ring"])
    assert f"signed by key {key_id} (Officer A), trusted" in shown.stdout
    payload = json.loads(run("show", db, 3, "--format", "json").stdout)
    assert payload["overrides"][0]["signature"]["key_id"] == key_id
    assert payload["overrides"][0]["signature"]["trusted"] is None


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("unsigned", "override is not signed"),
        ("unknown key", "is not in"),
        ("bad signature", "does not verify"),
        ("signature copied from a real override", "does not verify"),
    ],
)
def test_a_forged_override_with_correct_hashes_fails_verify_with_a_keyring(
    db: Path, keys: dict[str, Path], how: str, expected: str
) -> None:
    """The issue's attack: a well-hashed "Chief Compliance Officer" APPROVE appended with
    SQLite. It passes the chain; the keyring names it."""
    officer_a = load_signing_key(keys["a"])
    with DecisionLog.open(db, write=True) as log:
        real = log.get(log.override(3, by="Officer A", reason="ok", outcome="REFER",
                                    signing_key=officer_a))  # fmt: skip
    changes: dict[str, Any] = {}
    if how == "unknown key":  # the attacker's own key: a valid signature, an untrusted key
        attacker = load_signing_key(keys["b"])
        changes = {"signer": attacker.public.signer,
                   "signature": lambda r: attacker.sign(override_message(r))}  # fmt: skip
    elif how == "bad signature":  # claims officer A's key, cannot sign with it
        changes = {"signer": officer_a.public.signer, "signature": base64.b64encode(
            bytes(64)).decode()}  # fmt: skip
    elif how == "signature copied from a real override":
        changes = {"signer": real.signer, "signature": real.signature}
    seq = _forge_override(db, **changes)
    assert seq == 5

    with_ring = run("verify", db, "--keyring", keys["ring"])
    assert with_ring.exit_code == 1
    assert with_ring.stdout.startswith(f"FAILED at record {seq}: ")
    assert expected in with_ring.stdout

    without = run("verify", db)  # an untrusted key or no signature: the chain alone holds
    if how in ("unsigned", "unknown key"):
        assert without.exit_code == 0, without.output
        if how == "unsigned":
            assert f"note: 1 override is unsigned: record {seq}" in without.stdout
            report = json.loads(run("verify", db, "--format", "json").stdout)
            assert report["unsigned_overrides"] == [seq]
    else:  # a signature that does not verify breaks its record, keyring or not
        assert without.exit_code == 1
        assert without.stdout.startswith(f"FAILED at record {seq}: ")
    with DecisionLog.open(db) as log:  # the keyring keeps the forgery from standing
        assert log.effective_outcome(3) is Outcome.APPROVE
        assert log.effective_outcome(3, keyring=load_keyring(keys["ring"])) is Outcome.REFER
    shown = run("show", db, 3, "--keyring", keys["ring"])
    assert "  effective   REFER (overridden by record 4, signed by key" in shown.stdout


def test_unsigned_overrides_are_still_possible_and_reported(db: Path) -> None:
    assert run("override", db, 1, "--by", "X", "--reason", "y", "--outcome", "REFER").exit_code == 0
    report = run("verify", db)
    assert report.exit_code == 0
    assert report.stdout.splitlines()[1:] == [
        "note: 1 override is unsigned: record 4 (verify with --keyring to require signatures)"
    ]
    assert "UNSIGNED" in run("show", db, 4).stdout


def test_removing_a_signature_breaks_the_chain(db: Path, keys: dict[str, Path]) -> None:
    with DecisionLog.open(db, write=True) as log:
        seq = log.override(1, by="A", reason="r", outcome="REFER",
                           signing_key=load_signing_key(keys["a"]))  # fmt: skip
    conn = sqlite3.connect(db)
    conn.execute("UPDATE records SET signer = NULL, signature = NULL WHERE seq = ?", (seq,))
    conn.commit()
    conn.close()
    result = run("verify", db)
    assert result.exit_code == 1 and result.stdout.startswith(f"FAILED at record {seq}")


def test_override_with_a_bad_key_file_changes_nothing(db: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_bytes(b"\xff\x00")
    bad.chmod(0o600)
    result = run("override", db, 1, "--by", "A", "--reason", "r", "--outcome", "REFER",
                 "--key", bad)  # fmt: skip
    _one_line_error(result, "not UTF-8")
    with DecisionLog.open(db) as log:
        assert log.count() == 3


# --------------------------------------------------------------------------- signed anchors


def test_a_signed_head_anchors_the_log_with_only_the_public_key(
    db: Path, keys: dict[str, Path]
) -> None:
    signed = run("head", db, "--key", keys["anchor"])
    assert signed.exit_code == 0, signed.output
    token = signed.stdout.strip()
    assert token.count(":") == 4
    ok = run("verify", db, "--anchor", token, "--keyring", keys["anchor.pub"])
    assert ok.exit_code == 0, ok.output
    key_id = load_signing_key(keys["anchor"]).public.key_id
    assert f"note: the anchor is signed by key {key_id} (Anchor), in the keyring" in ok.stdout
    plain = ":".join(token.split(":")[:2])  # the SEQ:HASH part alone still works
    assert run("verify", db, "--anchor", plain).exit_code == 0

    # a signed head from a key the keyring does not hold
    untrusted = run("verify", db, "--anchor", token, "--keyring", keys["ring"])
    assert untrusted.exit_code == 1 and "not in" in untrusted.stderr

    # tampering: point the signed head at a rewritten record
    seq, digest, rest = token.split(":", 2)
    altered = f"{seq}:{'0' * 64}:{rest}"
    bad = run("verify", db, "--anchor", altered, "--keyring", keys["anchor.pub"])
    assert bad.exit_code == 1 and "does not verify" in bad.stderr
    garbled = run("verify", db, "--anchor", token[:-10] + "!!!!!!!!==")
    assert garbled.exit_code == 2


def test_a_rewritten_chain_fails_its_signed_anchor(db: Path, keys: dict[str, Path]) -> None:
    token = run("head", db, "--key", keys["anchor"]).stdout.strip()
    with DecisionLog.open(db) as log:
        last = log.get(3)
    rewritten = dataclasses.replace(last, recorded_at="2020-01-01T00:00:00.000000Z")
    rewritten = dataclasses.replace(rewritten, hash=rewritten.computed_hash())
    conn = sqlite3.connect(db)  # rewrite the last record and the head, as a forger would
    conn.execute("UPDATE records SET recorded_at = ?, hash = ? WHERE seq = 3",
                 (rewritten.recorded_at, rewritten.hash))  # fmt: skip
    conn.execute("UPDATE meta SET value = ? WHERE key = 'head_hash'", (rewritten.hash,))
    conn.commit()
    conn.close()
    assert run("verify", db).exit_code == 0  # internally consistent
    result = run("verify", db, "--anchor", token, "--keyring", keys["anchor.pub"])
    assert result.exit_code == 1
    assert "FAILED at record 3: differs from the anchored hash" in result.stdout


def test_a_signature_on_a_decision_record_breaks_it(db: Path, keys: dict[str, Path]) -> None:
    """Only overrides are signed: a forger cannot dress a decision up as signed."""
    with DecisionLog.open(db) as log:
        record = log.get(3)
    signer = load_signing_key(keys["a"]).public.signer
    forged = dataclasses.replace(record, signer=signer, signature="x")
    forged = dataclasses.replace(forged, hash=forged.computed_hash())
    conn = sqlite3.connect(db)
    conn.execute("UPDATE records SET signer = ?, signature = ?, hash = ? WHERE seq = 3",
                 (forged.signer, forged.signature, forged.hash))  # fmt: skip
    conn.execute("UPDATE meta SET value = ? WHERE key = 'head_hash'", (forged.hash,))
    conn.commit()
    conn.close()
    result = run("verify", db)
    assert result.exit_code == 1
    assert result.stdout.startswith("FAILED at record 3: a decision record carries a signature")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_the_signature_covers_who_why_and_the_outcome(
    db: Path, keys: dict[str, Path], data: st.DataObject
) -> None:
    """Change who, why or the outcome of a signed override and recompute every hash, as a
    forger with write access can: the signature no longer verifies, at that record."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "log.db"
        shutil.copyfile(db, copy)
        with DecisionLog.open(copy, write=True) as log:
            seq = log.override(3, by="Officer A", reason="EDD cleared", outcome="REFER",
                               signing_key=load_signing_key(keys["a"]))  # fmt: skip
            signed = log.get(seq)
        column = data.draw(st.sampled_from(["override_by", "override_reason", "outcome"]))
        if column == "outcome":
            new = data.draw(st.sampled_from(["APPROVE", "REJECT", "REQUIRE_DOCUMENTS"]))
        else:
            text = st.text(st.characters(categories=["L", "N", "P", "Zs"]), min_size=1)
            new = data.draw(text.filter(lambda t: t.strip() and t != getattr(signed, column)))
        forged = dataclasses.replace(signed, **{column: new})
        forged = dataclasses.replace(forged, hash=forged.computed_hash())
        conn = sqlite3.connect(copy)
        conn.execute(f"UPDATE records SET {column} = ?, hash = ? WHERE seq = ?",
                     (new, forged.hash, seq))  # fmt: skip
        conn.execute("UPDATE meta SET value = ? WHERE key = 'head_hash'", (forged.hash,))
        conn.commit()
        conn.close()
        report = verify_log(copy)
        assert not report.ok
        assert report.first_bad_seq == seq
        assert report.problem is not None and "does not verify" in report.problem
