"""`diff --base DOC`: witnesses grown from a realistic document; outcome changes listed first."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from vasp_rules import RulePack
from vasp_rules.analysis import Side, diff
from vasp_rules.cli import main

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 6, 1)
UNHOSTED = json.loads((ROOT / "examples" / "transfer_unhosted.json").read_text())


@pytest.fixture(scope="module")
def unguarded(tmp_path_factory: pytest.TempPathFactory) -> RulePack:
    """pk with TR-08's `counterparty_vasp is present` guard dropped (the issue's example)."""
    root = tmp_path_factory.mktemp("unguarded") / "mine"
    shutil.copytree(ROOT / "rules" / "pk", root)
    rules = root / "rules" / "travel_rule.yaml"
    text = rules.read_text()
    guarded = "counterparty_vasp is present\n      and counterparty_vasp.jurisdiction in"
    assert guarded in text
    rules.write_text(text.replace(guarded, "counterparty_vasp.jurisdiction in"))
    return RulePack.load(root)


def test_witnesses_grow_from_the_base_document(pk: RulePack, unguarded: RulePack) -> None:
    result = diff(Side(pk, AS_OF), Side(unguarded, AS_OF), kinds=["transfer"], witnesses=2,
                  base={"transfer": UNHOSTED})
    assert result.witnesses and not result.unconfirmed
    for w in result.witnesses:
        doc = w.document
        # the base's own values, not synthetic ones ("1234567890123", "!", empty names): the
        # fields no rule reads are the base's, and so is the text of the fields the rules read
        # (the plainest values are a best effort within a time budget: text is put back after)
        assert doc["asset"] == "USDC" and doc["amount"] == "4200.00"
        assert doc["originator"].get("name", "Bilal Ahmed Qureshi") == "Bilal Ahmed Qureshi"
        wallet = UNHOSTED["beneficiary"]["account_or_wallet"]
        assert doc["beneficiary"].get("account_or_wallet", wallet) == wallet
        # the difference itself: a transfer without a counterparty VASP
        assert "counterparty_vasp" not in doc
    assert result.witnesses[0].old.outcome != result.witnesses[0].new.outcome


def test_outcome_changes_are_listed_first(pk: RulePack, unguarded: RulePack) -> None:
    result = diff(Side(pk, AS_OF), Side(unguarded, AS_OF), kinds=["transfer"], witnesses=4)
    changed = [w.old.outcome != w.new.outcome for w in result.witnesses]
    assert changed and changed[0] and changed == sorted(changed, reverse=True)


def test_cli_base_option(tmp_path: Path, unguarded: RulePack) -> None:
    base = ROOT / "examples" / "transfer_unhosted.json"
    res = CliRunner().invoke(main, ["diff", "pk", str(unguarded.root), "--on", "2026-06-01",
                                    "--kind", "transfer", "--witnesses", "1", "--base", str(base),
                                    "--format", "json"])
    assert res.exit_code == 1, res.output
    (witness,) = json.loads(res.stdout)["witnesses"]
    assert witness["document"]["asset"] == "USDC"
    assert witness["old"]["outcome"] != witness["new"]["outcome"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**UNHOSTED, "direction": "SIDEWAYS"}))
    res = CliRunner().invoke(main, ["diff", "pk", "--on", "2026-06-01", "--base", str(bad)])
    assert res.exit_code == 2 and "bad.json: invalid --base document: direction" in res.stderr
