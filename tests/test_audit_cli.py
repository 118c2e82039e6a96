"""The ``audit`` click group: verify, head, show, replay, override, and their exit codes."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from support.audit import FakePack, StepClock, pack_files, pairs

from vasp_rules import RulePack
from vasp_rules.audit import DecisionLog, Head, record_decisions
from vasp_rules.cli.audit import audit
from vasp_rules.model.decision import notice

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(*args: Any, loader: Any = FakePack.load) -> Result:
    return CliRunner().invoke(
        audit, [str(a) for a in args], obj={"pack_loader": loader}, catch_exceptions=False
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "decisions.db"
    pack = FakePack(pack_files())
    record_decisions(path, pairs(pack, 1, 4), pack, clock=StepClock())
    return path


def _sql(db: Path, statement: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute(statement)
    conn.commit()
    conn.close()


def test_verify_ok(db: Path) -> None:
    result = run("verify", db)
    assert result.exit_code == 0
    with DecisionLog.open(db) as log:
        head = log.head()
    assert result.stdout == f"OK: 4 records verified; head {head.token}\n"
    as_json = json.loads(run("verify", "--json", db).stdout)
    assert as_json == {
        "ok": True,
        "records": 4,
        "head": head.token,
        "first_bad_seq": None,
        "problem": None,
        "incomplete_runs": [],
        "unsigned_overrides": [],
        "keyring": None,
        "anchor_key": None,
    }


def test_verify_reports_the_first_broken_record(db: Path) -> None:
    _sql(db, "UPDATE records SET outcome = 'REFER' WHERE seq = 3")
    _sql(db, "UPDATE records SET document_id = 'X' WHERE seq = 2")
    result = run("verify", db)
    assert result.exit_code == 1
    assert result.stdout.startswith("FAILED at record 2: ")
    assert json.loads(run("verify", "--json", db).stdout)["first_bad_seq"] == 2


def test_head_and_anchor(db: Path, tmp_path: Path) -> None:
    token = run("head", db).stdout.strip()
    head = Head.parse(token)
    assert head.seq == 4
    assert run("verify", db, "--anchor", token).exit_code == 0
    # Rebuild the log from scratch with different content: valid chain, wrong anchor.
    db.unlink()
    pack = FakePack(pack_files())
    record_decisions(db, pairs(pack, 2, 4), pack, clock=StepClock())
    assert run("verify", db).exit_code == 0
    result = run("verify", db, "--anchor", token)
    assert result.exit_code == 1 and "rewritten" in result.stdout


def test_head_refuses_a_broken_log(db: Path) -> None:
    _sql(db, "DELETE FROM records WHERE seq = 2")
    result = run("head", db)
    assert result.exit_code == 1 and result.stdout == ""
    assert "FAILED at record 2" in result.stderr


def test_show_decision(db: Path) -> None:
    result = run("show", db, "2")
    assert result.exit_code == 0
    with DecisionLog.open(db) as log:
        record = log.get(2)
    out = result.stdout
    assert out.startswith(f"record 2  decision  recorded {record.recorded_at}\n")
    assert record.hash in out and record.prev_hash in out
    assert record.decision_json is not None and record.decision_json in out
    assert '"id": "T-0002"' in out  # the input, pretty-printed
    assert "override:" not in out and "overridden" not in out
    # a pack without a pack.yaml disclaimer: the tags' meaning alone ends the output
    assert out.endswith("\n\n" + notice("") + "\n")


def test_show_states_the_notice_of_the_pack_that_made_the_decision(
    tmp_path: Path, pk: RulePack
) -> None:
    """The disclaimer comes from the pack.yaml stored with the decision, with the P/S/A
    legend."""
    document = json.loads((EXAMPLES / "transfer.json").read_text())
    path = tmp_path / "pk.db"
    (decision,) = pk.evaluate_many([document], date(2026, 3, 2))
    record_decisions(path, [(decision, document)], pk, clock=StepClock())
    shown = run("show", path, "1").stdout
    assert shown.rstrip("\n").endswith(pk.disclaimer)
    assert "Not legal advice." in shown and "A = an illustrative assumption" in shown


def test_show_flags_a_record_that_does_not_match_its_hash(db: Path) -> None:
    _sql(db, "UPDATE records SET outcome = 'REFER' WHERE seq = 2")
    result = run("show", db, "2")
    assert result.exit_code == 0 and "DOES NOT MATCH" in result.stdout


def test_override_then_show_displays_both(db: Path) -> None:
    with DecisionLog.open(db) as log:
        original = log.get(3)
    result = run(
        "override", db, "3", "--by", "A. Khan", "--reason", "EDD cleared", "--outcome", "refer"
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"recorded override 5 of record 3: {original.outcome} -> REFER\n"
    with DecisionLog.open(db) as log:
        assert log.get(3) == original
        assert log.get(5).overrides_seq == 3
    assert run("verify", db).exit_code == 0

    shown = run("show", db, "3").stdout
    assert "effective   REFER (overridden by record 5" in shown
    assert "by          A. Khan" in shown and "reason      EDD cleared" in shown
    assert original.decision_json is not None and original.decision_json in shown

    shown = run("show", db, "5").stdout
    assert shown.startswith("record 5  override")
    assert "overridden decision:" in shown and "record 3  decision" in shown

    payload = json.loads(run("show", "--json", db, "5").stdout)
    assert payload["record"]["seq"] == 5 and payload["original"]["seq"] == 3
    assert [o["seq"] for o in payload["overrides"]] == [5]
    assert payload["hash_ok"] is True


def test_override_validation(db: Path) -> None:
    bad_outcome = run("override", db, "1", "--by", "x", "--reason", "y", "--outcome", "MAYBE")
    assert bad_outcome.exit_code == 2
    empty_reason = run("override", db, "1", "--by", "x", "--reason", " ", "--outcome", "REJECT")
    assert empty_reason.exit_code == 2 and empty_reason.stderr.startswith("error: ")
    run("override", db, "1", "--by", "x", "--reason", "y", "--outcome", "REJECT")
    of_override = run("override", db, "5", "--by", "x", "--reason", "y", "--outcome", "REFER")
    assert of_override.exit_code == 2 and "itself an override" in of_override.stderr
    with DecisionLog.open(db) as log:
        assert log.count() == 5


def test_override_of_a_tampered_log_is_refused(db: Path) -> None:
    _sql(db, "DELETE FROM records WHERE seq = 4")
    result = run("override", db, "1", "--by", "x", "--reason", "y", "--outcome", "REJECT")
    assert result.exit_code == 1 and "refusing" in result.stderr
    with DecisionLog.open(db) as log:
        assert log.count() == 3


def test_replay_same(db: Path) -> None:
    result = run("replay", db, "2")
    assert result.exit_code == 0
    assert result.stdout == "SAME: record 2 replays byte for byte\n"


def test_replay_different_prints_a_diff(db: Path) -> None:
    def newer_engine(root: Path) -> FakePack:
        return FakePack.load(root, engine_version="0.2.0")

    result = run("replay", db, "2", loader=newer_engine)
    assert result.exit_code == 1
    assert "DIFFERENT: record 2" in result.stdout
    assert '+    "version": "0.2.0"' in result.stdout
    assert "note: recorded with engine vasp-rules 0.1.0" in result.stdout


def test_replay_engine_failure_exits_1(db: Path) -> None:
    def broken(root: Path) -> FakePack:
        raise ValueError("bad pack")

    result = run("replay", db, "1", loader=broken)
    assert result.exit_code == 1 and result.stderr.startswith("error: could not re-evaluate")


def test_show_displays_a_damaged_record_without_crashing(db: Path) -> None:
    _sql(db, "UPDATE records SET input_json = '{not json', decision_json = 'x' WHERE seq = 1")
    result = run("show", db, "1")
    assert result.exit_code == 0
    assert "{not json" in result.stdout and "DOES NOT MATCH" in result.stdout
    assert run("verify", db).exit_code == 1
