"""The command line: outputs, exit codes (0 ok, 1 scenario failures, 2 invalid input), and
one-line errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner
from support.packs import make_pack, rule_yaml
from support.repo import EXAMPLES, ROOT

from vasp_rules.cli import main


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_evaluate_json_is_the_canonical_decision() -> None:
    code, out, _ = run("evaluate", str(EXAMPLES / "customer.json"), "--as-of", "2026-06-01",
                       "--format", "json")
    assert code == 0
    decision = json.loads(out)
    assert decision["document_kind"] == "customer"
    assert decision["as_of"] == "2026-06-01"
    assert set(decision) >= {"outcome", "findings", "rules_evaluated", "rulepack",
                             "input_sha256", "engine"}


def test_evaluate_several_files_gives_a_list() -> None:
    files = [str(EXAMPLES / f"{k}.json") for k in ("customer", "transfer")]
    code, out, _ = run("evaluate", *files, "--as-of", "2026-06-01", "--format", "json")
    assert code == 0
    assert [d["document_kind"] for d in json.loads(out)] == ["customer", "transfer"]


def test_evaluate_text_shows_reasons_and_citations(tmp_path: Path) -> None:
    doc = json.loads((EXAMPLES / "licence_application.json").read_text())
    doc["firm"]["people"][1]["outsourced"] = True
    path = tmp_path / "app.json"
    path.write_text(json.dumps(doc))
    code, out, _ = run("evaluate", str(path), "--as-of", "2026-06-01")
    assert code == 0
    assert "REJECT" in out and "LIC-07" in out and "source:" in out and "to clear:" in out


def test_invalid_document_is_one_error_with_the_path_and_exit_2(tmp_path: Path) -> None:
    doc = json.loads((EXAMPLES / "customer.json").read_text())
    doc["pep"] = "SOMETIMES"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    code, out, err = run("evaluate", str(path), "--as-of", "2026-06-01")
    assert code == 2
    assert err.startswith(f"error: {path}: invalid document: pep:")  # the file is named
    assert "Traceback" not in err + out and len(err.splitlines()) == 1


def test_bad_date_and_missing_file_exit_2() -> None:
    code, _, err = run("evaluate", str(EXAMPLES / "customer.json"), "--as-of", "01/06/2026")
    assert code == 2 and "is not a date" in err
    code, _, err = run("evaluate", "no-such-file.json", "--as-of", "2026-06-01")
    assert code == 2 and "no-such-file.json" in err


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n "kind": "customer",\n oops\n}')
    code, _, err = run("evaluate", str(path), "--as-of", "2026-06-01")
    assert code == 2 and "broken.json:3: invalid JSON" in err


def test_check_reports_every_problem_and_exits_2(tmp_path: Path) -> None:
    root = make_pack(tmp_path, "rules:\n" + rule_yaml("T-01", "customer", "nope > 1")
                     + rule_yaml("T-02", "customer", "risk_rating == \"HUGE\""))
    code, out, err = run("check", str(root))
    assert code == 2 and out == ""
    listed = err.strip().splitlines()  # problems on stderr, then the count
    assert len(listed) == 3 and "[T-01]" in listed[0] and "[T-02]" in listed[1]
    assert listed[2] == "error: 2 problems in rule pack"


def test_check_bundled_pack_ok() -> None:
    code, out, _ = run("check", "pk")
    assert code == 0 and out.startswith("ok: pack pk")


def test_schema_exports_json_schema() -> None:
    code, out, _ = run("schema", "transfer")
    assert code == 0
    schema = json.loads(out)
    assert "transfer_id" in schema["properties"]


def test_test_command_exit_codes(tmp_path: Path) -> None:
    scenario = tmp_path / "x.scenarios.yaml"
    scenario.write_text(textwrap.dedent(f"""\
        pack: {ROOT / 'rules' / 'pk'}
        cases:
          - name: passes
            as_of: 2026-06-01
            input_file: {EXAMPLES / 'customer.json'}
            expect: {{outcome: APPROVE}}
    """))
    code, out, _ = run("test", str(scenario))
    assert code == 0 and "1 passed, 0 failed" in out
    scenario.write_text(scenario.read_text().replace("APPROVE", "REJECT"))
    code, out, _ = run("test", str(scenario))
    assert code == 1 and "FAIL" in out and "outcome APPROVE, expected REJECT" in out
    scenario.write_text("cases: [{name: x}]\n")
    code, _, err = run("test", str(scenario))
    assert code == 2 and "x.scenarios.yaml" in err


def test_console_script_has_no_traceback_on_bad_pack() -> None:
    """Through the real entry point, as a user runs it."""
    result = subprocess.run([sys.executable, "-m", "vasp_rules.cli", "check", "/nonexistent"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error:")


def test_hostile_files_are_refused_in_one_line(tmp_path: Path) -> None:
    """A YAML alias bomb (refused before it expands), a binary file, a folder."""
    bomb = tmp_path / "bomb.yaml"
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefg", "bcdefgh", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    bomb.write_text("\n".join(lines) + "\nkind: customer\n")
    binary = tmp_path / "bad.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    for path, message in ((bomb, "expands to more than"), (binary, "not UTF-8"),
                          (tmp_path, "Is a directory")):
        for command in ("evaluate", "explain"):
            code, out, err = run(command, str(path), "--as-of", "2026-06-01")
            assert code == 2, (command, path, err)
            assert message in err and "Traceback" not in err + out
            assert len(err.strip().splitlines()) == 1
