"""Privacy by design: a decision log keeps personal data sealed per data subject, and erasing one
person leaves the chain intact, the others readable, and the person's data nowhere in the bytes
of the log, the key store or their write-ahead logs."""

from __future__ import annotations

import copy
import json
import shutil
import sqlite3
import stat
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support.repo import ROOT, example

from vasp_rules import RulePack
from vasp_rules.audit import KIND_DECISION, DecisionLog, personal, replay, verify_log
from vasp_rules.audit.keystore import UnknownSubjectError
from vasp_rules.audit.sealing import ErasedRecordError
from vasp_rules.cli import main

AS_OF = date(2026, 3, 1)
STAND_IN = "Stand-in" in (personal.__doc__ or "")

# person A (erased): a transfer's originator, and a customer twice (CNIC, then passport)
A_NAME = "Bilal Ahmed Qureshi"
A_CNIC = "42101-7734290-5"
A_PASSPORT = "AB1234567"
A_WALLET = "0x4b1a9c7e2d5f8036a1b4c7e9d2f5a8b3c6e9d1f4"
A_DOB = "1994-03-08"
A_SECRETS = (A_NAME, A_CNIC, A_CNIC.replace("-", ""), A_PASSPORT, A_WALLET, A_DOB)
# person B (kept): a director of a licence application, and another transfer's originator
B_NAME = "Ayesha Siddiqui"
B_CNIC = "35202-4718263-4"
BENEFICIARY = "Hamza Traders LLC"


def _documents() -> dict[str, dict[str, Any]]:
    t1 = example("transfer")
    t1["originator"]["account_or_wallet"] = A_WALLET
    customer = example("customer")
    customer_passport = copy.deepcopy(customer)
    customer_passport["id_document"] = {
        "type": "PASSPORT",
        "number": A_PASSPORT,
        "expires_on": "2030-12-04",
    }
    t2 = example("transfer")
    t2["transfer_id"] = "TX-20260301-B00002"
    t2["originator"] = {
        "name": B_NAME,
        "account_or_wallet": "CUST-00777001",
        "address": "House 3, Street 9, DHA Phase 5, Lahore",
        "national_id": B_CNIC.replace("-", ""),
        "customer_id": "CUST-00777001",
        "date_of_birth": "1981-06-04",
        "place_of_birth": "Lahore",
    }
    t2["beneficiary"] = {
        "name": "Indus Bullion FZE",
        "account_or_wallet": "0x2c6a1d9e4b7f03a58e1c6b2d94f7a0e3c5b81f46",
    }
    return {
        "t1": t1,
        "customer": customer,
        "customer_passport": customer_passport,
        "t2": t2,
        "licence": example("licence_application"),
    }


def _raw(path: Path) -> bytes:
    """The bytes of a SQLite file and of its -wal, when there is one."""
    data = path.read_bytes() if path.exists() else b""
    wal = path.with_name(path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def _found_in(blob: bytes, text: str) -> bool:
    return any(text.encode(codec) in blob for codec in ("utf-8", "utf-16-le", "utf-16-be"))


@pytest.fixture(scope="module")
def pack(pk: RulePack) -> RulePack:
    return pk


@pytest.fixture
def logged(tmp_path: Path, pack: RulePack) -> tuple[Path, dict[str, int], dict[str, Any]]:
    """A log holding a run of the five documents, by name -> record number."""
    docs = _documents()
    db = tmp_path / "decisions.db"
    pairs = [(pack.evaluate(doc, AS_OF), doc) for doc in docs.values()]
    with DecisionLog.open(db, write=True) as log:
        run = log.record_run(pairs, pack, request_id="privacy-1")
    return db, dict(zip(docs, run.seqs, strict=True)), docs


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, ["audit", *args])


@pytest.mark.skipif(STAND_IN, reason="needs audit.personal for customers and licence people")
def test_personal_data_is_sealed_and_reads_back(logged: Any, pack: RulePack) -> None:
    db, seqs, docs = logged
    keys = db.with_name(db.name + "-keys")
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    raw = _raw(db)
    for secret in (A_NAME, A_WALLET, B_NAME, BENEFICIARY):
        assert not _found_in(raw, secret), secret  # never in clear in the log
    with DecisionLog.open(db) as log:
        for name, seq in seqs.items():
            record = log.get(seq)
            assert record.sealed is not None and personal.PLACEHOLDER in (record.input_json or "")
            opened = log.opened(record)
            assert opened.complete and opened.input == docs[name]
            assert record.decision(log._store(create=False)).to_json() == (
                pack.evaluate(docs[name], AS_OF).to_json()
            )
            assert replay(log, seq).same
    # public fields stay readable for supervision
    with sqlite3.connect(db) as conn:
        outcome, document_id = conn.execute(
            "SELECT outcome, document_id FROM records WHERE seq = ?", (seqs["t1"],)
        ).fetchone()
    assert (outcome, document_id) == ("APPROVE", "TX-20260301-8F3A21")


@pytest.mark.skipif(STAND_IN, reason="needs audit.personal for customers and licence people")
def test_erasing_one_person_by_cnic(logged: Any) -> None:
    db, seqs, docs = logged
    keys = db.with_name(db.name + "-keys")
    before = verify_log(db)
    assert before.ok, before.summary()

    result = _cli("erase", str(db), "--subject", A_CNIC)
    assert result.exit_code == 0, result.output
    affected = sorted(seqs[n] for n in ("t1", "customer", "customer_passport"))
    assert "erased 1 subject" in result.stdout
    assert "records: " + " ".join(map(str, affected)) in result.stdout

    after = verify_log(db)  # the chain is intact: same head, no key needed
    assert after.ok and after.head == before.head, after.summary()

    for path in (db, keys):
        blob = _raw(path)
        for secret in A_SECRETS:
            assert not _found_in(blob, secret), (path.name, secret)

    with DecisionLog.open(db) as log:
        for name in ("t2", "licence"):  # the other person's records read back and replay
            opened = log.opened(log.get(seqs[name]))
            assert opened.complete and opened.input == docs[name]
            assert replay(log, seqs[name]).same
        t1 = log.opened(log.get(seqs["t1"]))
        assert t1.erased and not t1.complete
        assert t1.input["beneficiary"]["name"] == BENEFICIARY  # another subject's part
        assert t1.input["originator"]["name"] == personal.PLACEHOLDER
        with pytest.raises(ErasedRecordError) as erased:
            replay(log, seqs["customer"])
        assert erased.value.exit_code == 3

    shown = _cli("show", str(db), str(seqs["customer"]))
    assert shown.exit_code == 0, shown.output
    assert "personal    ERASED on" in shown.stdout and A_NAME not in shown.stdout
    replayed = _cli("replay", str(db), str(seqs["t1"]))
    assert replayed.exit_code == 3 and "erased" in replayed.stderr
    assert _cli("replay", str(db), str(seqs["licence"])).exit_code == 0

    again = _cli("erase", str(db), "--subject", A_PASSPORT)  # the same person: already gone
    assert again.exit_code == 1 and "no data subject" in again.stderr
    assert _cli("export", str(db), "--subject", A_CNIC).exit_code == 1


@pytest.mark.skipif(STAND_IN, reason="needs audit.personal for customers and licence people")
def test_export_finds_a_person_by_any_identifier(logged: Any) -> None:
    db, seqs, docs = logged
    a_records = sorted(seqs[n] for n in ("t1", "customer", "customer_passport"))
    for value in (A_CNIC, A_CNIC.replace("-", ""), A_PASSPORT, A_WALLET, "CUST-00481977"):
        result = _cli("export", str(db), "--subject", value)
        assert result.exit_code == 0, (value, result.output)
        exported = json.loads(result.stdout)
        assert [d["seq"] for d in exported["decisions"]] == a_records, value
        assert exported["decisions"][1]["input"] == docs["customer"]
    b = json.loads(_cli("export", str(db), "--subject", B_CNIC).stdout)
    assert [d["seq"] for d in b["decisions"]] == sorted([seqs["t2"], seqs["licence"]])
    unknown = _cli("export", str(db), "--subject", "99999-9999999-9")
    assert unknown.exit_code == 1 and "no data subject" in unknown.stderr


def test_transfer_parties_erase_separately(logged: Any) -> None:
    db, seqs, docs = logged
    head = verify_log(db).head
    with DecisionLog.open(db) as log:
        report = log.erase(BENEFICIARY_WALLET := docs["t1"]["beneficiary"]["account_or_wallet"])
        assert report.records == (seqs["t1"],)
        t1 = log.opened(log.get(seqs["t1"]))
        assert t1.input["originator"]["name"] == A_NAME  # the originator's part still opens
        assert t1.input["beneficiary"]["name"] == personal.PLACEHOLDER
        assert log.opened(log.get(seqs["t2"])).complete
        with pytest.raises(UnknownSubjectError):
            log.erase(BENEFICIARY_WALLET)
    assert verify_log(db).head == head
    assert not _found_in(_raw(db) + _raw(db.with_name(db.name + "-keys")), BENEFICIARY)


def test_without_the_key_store_the_chain_still_verifies(logged: Any) -> None:
    db, seqs, _ = logged
    db.with_name(db.name + "-keys").unlink()
    assert verify_log(db).ok
    shown = _cli("show", str(db), str(seqs["t1"]))
    assert shown.exit_code == 0 and "lacks its keys" in shown.stdout
    replayed = _cli("replay", str(db), str(seqs["t1"]))
    assert replayed.exit_code == 2 and "lacks the keys" in replayed.stderr
    assert _cli("erase", str(db), "--subject", A_CNIC).exit_code == 2


def test_a_key_store_elsewhere(tmp_path: Path, pack: RulePack) -> None:
    db, keys = tmp_path / "d.db", tmp_path / "vault" / "d.keys"
    keys.parent.mkdir()
    doc = example("transfer")
    with DecisionLog.open(db, write=True, keys=keys) as log:
        seq = log.record(pack.evaluate(doc, AS_OF), doc, pack)
    assert keys.exists() and not db.with_name("d.db-keys").exists()
    assert _cli("replay", str(db), str(seq)).exit_code == 2  # not beside: not found
    assert _cli("replay", str(db), str(seq), "--keys", str(keys)).exit_code == 0
    missing = _cli("show", str(db), str(seq), "--keys", str(tmp_path / "nope"))
    assert missing.exit_code == 2 and "no such key store" in missing.stderr


def test_evaluate_log_seals_by_default(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    result = CliRunner().invoke(
        main,
        ["evaluate", str(ROOT / "examples" / "transfer.json"), "--as-of", "2026-03-01",
         "--log", str(db)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert not _found_in(_raw(db), A_NAME)
    assert db.with_name("cli.db-keys").exists()
    with DecisionLog.open(db) as log:
        [record] = [r for r in log.records() if r.kind == KIND_DECISION]
        assert log.opened(record).input["originator"]["name"] == A_NAME


def test_a_schema2_log_opens_verifies_and_takes_sealed_records(
    tmp_path: Path, pack: RulePack
) -> None:
    db = tmp_path / "old.db"
    shutil.copy(ROOT / "tests" / "fixtures" / "audit_log_schema2_personal.db", db)
    head = verify_log(db).head
    assert head.seq == 4
    with DecisionLog.open(db) as log:  # read-only: read as it is, in clear
        old = log.get(2)
        assert old.sealed is None and log.opened(old).input["originator"]["name"] == A_NAME
        assert replay(log, 2).same
    doc = example("transfer")
    with DecisionLog.open(db, write=True) as log:  # migrated to schema 3, then sealed
        seq = log.record(pack.evaluate(doc, AS_OF), doc, pack)
        assert log.get(seq).sealed is not None
    report = verify_log(db, anchor=head)
    assert report.ok and report.records == 5, report.summary()


def test_editing_sealed_data_breaks_the_chain(logged: Any) -> None:
    db, seqs, _ = logged
    with sqlite3.connect(db) as conn:
        sealed = conn.execute("SELECT sealed FROM records WHERE seq = ?", (seqs["t2"],)).fetchone()
        parts = json.loads(sealed[0])
        parts[0]["keys"] = parts[0]["keys"][::-1] + ["0" * 32]  # claim another key
        conn.execute("UPDATE records SET sealed = ? WHERE seq = ?", (json.dumps(parts), seqs["t2"]))
    report = verify_log(db)
    assert not report.ok and report.first_bad_seq == seqs["t2"]


def test_a_reason_quoting_two_persons_is_erased_with_either(tmp_path: Path) -> None:
    from support.audit import FakePack, pack_files

    from vasp_rules.model.decision import Decision

    pack = FakePack(pack_files())
    doc = example("transfer")
    decision = pack.evaluate({"kind": "transfer", "id": "TX-1", "amount": 5000}, AS_OF)
    data = json.loads(decision.to_json())
    data["findings"][0]["reason"] = f"{A_NAME} pays {BENEFICIARY}"
    decision = Decision.model_validate(data)
    db = tmp_path / "d.db"
    with DecisionLog.open(db, write=True) as log:
        seq = log.record(decision, doc, pack)
        sealed = json.loads(log.get(seq).sealed or "[]")
        assert any(len(part["keys"]) == 2 for part in sealed)  # under both persons' keys
        log.erase(doc["beneficiary"]["account_or_wallet"])
        opened = log.opened(log.get(seq))
    assert opened.input["originator"]["name"] == A_NAME
    assert opened.decision["findings"][0]["reason"] == personal.PLACEHOLDER
    assert not _found_in(_raw(db), A_NAME)
