"""The notice (the pack's disclaimer and what P, S and A mean): named by id in every JSON
decision, stated in every output a person reads (evaluate, explain, whatif, audit show, the
population impact; those of audit show and the impact are tested with their commands)."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date
from pathlib import Path

from click.testing import CliRunner
from support.repo import EXAMPLES, ROOT, example

from vasp_rules import RulePack
from vasp_rules.audit import DecisionLog, record_decisions
from vasp_rules.audit.replay import replay
from vasp_rules.cli import main
from vasp_rules.model.decision import CONFIDENCE_TAGS, Decision, make_notice, notice
from vasp_rules.scale.wire import decode, encode

AS_OF = date(2026, 3, 2)


def test_a_decision_names_its_notice_by_a_stable_id(pk: RulePack) -> None:
    decision = pk.evaluate(example("transfer"), AS_OF)
    assert decision.notice is not None and decision.notice.id == pk.notice.id
    digest = hashlib.sha256(pk.disclaimer.encode("utf-8")).hexdigest()[:16]
    assert pk.notice.id == f"notice-{digest}"
    data = json.loads(decision.to_json())
    assert data["notice"] == {"id": pk.notice.id}
    # the text behind the id: the disclaimer, then the tags
    assert pk.notice.text == pk.disclaimer == notice(pk.notice.disclaimer)
    assert pk.notice.text.startswith("Not legal advice.")
    assert pk.notice.confidence_tags == CONFIDENCE_TAGS
    # stable: the same in another load of the pack, and independent of the document and date
    again = RulePack.load("pk").evaluate(example("customer"), date(2026, 6, 1))
    assert again.notice == decision.notice


def test_the_id_changes_with_the_disclaimer() -> None:
    assert make_notice("One text.").id != make_notice("Another text.").id
    assert make_notice("One  text.\n").id == make_notice("One text.").id  # spacing is layout


def test_both_engines_and_the_worker_wire_give_the_same_bytes(pk: RulePack) -> None:
    docs = [example("transfer"), example("customer"), example("licence_application")]
    durable = pk.evaluate_many(docs, AS_OF, batch=False)
    reference = pk.evaluate_many(docs, AS_OF, batch=False, engine="reference")
    assert [d.to_json() for d in durable] == [d.to_json() for d in reference]
    payload = [(i, d) for i, d in enumerate(durable)]
    rebuilt = [d for _i, d in decode(encode(payload))]
    assert [d.to_json() for d in rebuilt] == [d.to_json() for d in durable]
    assert all(d.notice == durable[0].notice for d in rebuilt)


def test_a_decision_made_before_the_notice_keeps_its_canonical_bytes(pk: RulePack) -> None:
    """A stored decision without `notice` (made before 0.4) parses, and serialises to the
    same bytes: audit logs of earlier decisions stay in canonical form."""
    data = json.loads(pk.evaluate(example("transfer"), AS_OF).to_json())
    del data["notice"]
    old = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
    parsed = Decision.model_validate_json(old)
    assert parsed.notice is None and parsed.to_json() == old


def test_replaying_a_decision_recorded_without_the_notice_says_so(
    pk: RulePack, tmp_path: Path
) -> None:
    document = example("transfer")
    (decision,) = pk.evaluate_many([document], AS_OF)
    old = decision.model_copy(update={"notice": None})
    db = tmp_path / "log.db"
    record_decisions(db, [(old, document)], pk)
    with DecisionLog.open(db) as log:
        seq = next(r.seq for r in log.records() if r.kind == "decision")
        result = replay(log, seq)
    assert result.same, result.diff()
    assert any("notice id" in n and pk.notice.id in n for n in result.notes)


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_whatif_text_ends_with_the_notice_and_its_json_names_it(pk: RulePack) -> None:
    args = [str(EXAMPLES / "transfer.json"), "--as-of", AS_OF.isoformat(),
            "--set", "data_transmitted_at=null"]
    text = _cli("whatif", *args)
    assert "Findings added:" in text and "TR-07" in text
    assert " ".join(text.split()).endswith(pk.disclaimer)
    data = json.loads(_cli("whatif", *args, "--format", "json"))
    assert data["notice"] == {"id": pk.notice.id}


def test_evaluate_json_and_packs_json_agree_on_the_notice(pk: RulePack) -> None:
    decision = json.loads(
        _cli("evaluate", str(EXAMPLES / "transfer.json"), "--as-of", "2026-03-02",
             "--format", "json")
    )
    (row,) = [r for r in json.loads(_cli("packs", "--format", "json")) if r["name"] == "pk"]
    assert decision["notice"]["id"] == row["notice_id"] == pk.notice.id
    assert row["notice"] == pk.disclaimer


def test_another_disclaimer_gives_another_id(tmp_path: Path, pk: RulePack) -> None:
    root = tmp_path / "pk"
    shutil.copytree(ROOT / "rules" / "pk", root)
    manifest = root / "pack.yaml"
    text = manifest.read_text()
    manifest.write_text(text.replace("Not legal advice.", "Not legal advice at all.", 1))
    other = RulePack.load(root)
    decision = other.evaluate(example("transfer"), AS_OF)
    assert decision.notice is not None and decision.notice.id == other.notice.id
    assert other.notice.id != pk.notice.id
    assert other.disclaimer.startswith("Not legal advice at all.")
