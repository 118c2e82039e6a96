"""`vasp-rules check`: problems on stderr, `--format json`, warnings for an unguarded optional
read and for a changed copy keeping an installed pack's name and version, and an error for a
rule file holding no rules."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.packs import make_pack, rule_yaml

from vasp_rules import PackError, RulePack
from vasp_rules.cli import main

ROOT = Path(__file__).resolve().parent.parent
PK = ROOT / "rules" / "pk"


def check(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["check", *args])
    return result.exit_code, result.stdout, result.stderr


def own_pack(tmp_path: Path, rules: str) -> Path:
    """A small pack of one's own (pk's manifest renamed, so no identity warning)."""
    root = make_pack(tmp_path, rules)
    manifest = root / "pack.yaml"
    manifest.write_text(manifest.read_text().replace("name: pk", "name: mine", 1))
    return root


def copy_pk(tmp_path: Path) -> Path:
    root = tmp_path / "mypk"
    shutil.copytree(PK, root)
    return root


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "rules: []\n"])
def test_a_rule_file_with_no_rules_is_an_error(tmp_path: Path, text: str) -> None:
    root = copy_pk(tmp_path)
    (root / "rules" / "amnesty.yaml").write_text(text)
    with pytest.raises(PackError, match="rules/amnesty.yaml:1: holds no rules"):
        RulePack.load(root)
    code, out, err = check(str(root))
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "rules/amnesty.yaml:1: holds no rules: a rule file lists at least one rule under "
        "'rules' (delete the file if it is meant to hold none)",
        "error: 1 problem in rule pack",
    ]


UNGUARDED = 'counterparty_vasp.jurisdiction != "PK"'


def test_an_unguarded_optional_read_is_a_warning_naming_rule_and_field(tmp_path: Path) -> None:
    root = own_pack(tmp_path, "rules:\n" + rule_yaml("T-01", "transfer", UNGUARDED))
    code, out, err = check(str(root))
    assert code == 0 and out.startswith("ok: pack mine") and "1 warning" in out
    (line,) = err.splitlines()
    assert line.startswith("rules/test.yaml:6 [T-01]: warning: reads the optional field "
                           "counterparty_vasp (counterparty_vasp.jurisdiction) on transfer")
    assert "counterparty_vasp is present" in line
    assert check(str(root), "--strict")[0] == 1
    # what the warning is about: a transfer without a counterparty VASP asks for documents
    unhosted = json.loads((ROOT / "examples" / "transfer.json").read_text())
    unhosted.pop("counterparty_vasp", None)
    decision = RulePack.load(root).evaluate(unhosted, date(2026, 6, 1))
    assert decision.outcome.value == "REQUIRE_DOCUMENTS"


@pytest.mark.parametrize(
    "when, extra",
    [
        (f"counterparty_vasp is present and {UNGUARDED}", {}),
        (f"counterparty_vasp is missing or {UNGUARDED}", {}),
        (UNGUARDED, {"on_missing": "skip"}),
        ("originator.name is present and beneficiary.name is present "
         "and originator.name != beneficiary.name", {}),
    ],
)
def test_guarded_or_skipping_reads_are_not_warned(
    tmp_path: Path, when: str, extra: dict[str, str]
) -> None:
    root = own_pack(tmp_path, "rules:\n" + rule_yaml("T-01", "transfer", when, **extra))
    code, out, err = check(str(root), "--strict")
    assert (code, err) == (0, ""), err


def test_an_unguarded_optional_scalar_is_named(tmp_path: Path) -> None:
    root = own_pack(tmp_path, "rules:\n" + rule_yaml("T-02", "transfer", "originator.name == 'x'"))
    _, _, err = check(str(root))
    assert "[T-02]: warning: reads the optional field originator.name on transfer" in err


def test_a_changed_copy_keeping_the_bundled_name_and_version_is_warned(tmp_path: Path) -> None:
    root = copy_pk(tmp_path)
    code, _, err = check(str(root), "--strict")
    assert (code, err) == (0, "")  # an exact copy decides as pk does: nothing to say
    rules = root / "rules" / "travel_rule.yaml"
    rules.write_text(rules.read_text().replace("version: 1", "version: 2", 1))
    code, _, err = check(str(root))
    assert code == 0
    warned = "pack.yaml: warning: name 'pk' and version '0.4.0' are those of the installed pack"
    assert warned in err
    manifest = root / "pack.yaml"
    manifest.write_text(manifest.read_text().replace("version: 0.4.0", "version: 0.4.1"))
    assert check(str(root), "--strict")[0] == 0


def test_json_report(tmp_path: Path) -> None:
    root = own_pack(tmp_path, "rules:\n" + rule_yaml("T-01", "transfer", UNGUARDED)
                     + rule_yaml("T-02", "customer", "nope > 1"))
    code, out, err = check(str(root), "--format", "json")
    assert code == 2 and err == ""
    report = json.loads(out)
    assert report["ok"] is False and report["pack"] is None
    (problem,) = report["problems"]
    assert problem == {
        "file": "rules/test.yaml",
        "line": problem["line"],
        "column": 5,
        "rule_id": "T-02",
        "message": problem["message"],
        "severity": "error",
    }
    assert "nope" in problem["message"] and problem["line"] > 10
    root = own_pack(tmp_path, "rules:\n" + rule_yaml("T-01", "transfer", UNGUARDED))
    code, out, _ = check(str(root), "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["ok"] is True and report["pack"]["rules"] == 1
    assert [(p["rule_id"], p["severity"], p["line"], p["column"]) for p in report["problems"]] == [
        ("T-01", "warning", 6, 5)  # the rule's `when:`
    ]


def test_the_bundled_pack_has_no_warnings() -> None:
    code, out, err = check("pk", "--strict", "--format", "json")
    assert code == 0 and err == ""
    report = json.loads(out)
    assert report["problems"] == [] and report["pack"]["rules"] == 62
