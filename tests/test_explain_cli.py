"""The `explain` and `whatif` commands, run through click's test runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from support.explain import application, explain_pack, pack_dir

from vasp_rules.cli.explain import explain, whatif


def _write(tmp_path: Path, doc: Any, name: str = "doc.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc) if name.endswith(".json") else doc, encoding="utf-8")
    return str(path)


def _run(command: Any, args: list[str]) -> Result:
    return CliRunner().invoke(command, args, catch_exceptions=False)


def _pack() -> list[str]:
    explain_pack()  # written and checked once
    return ["--pack", str(pack_dir())]


def _one_line_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_explain_prints_the_explanation(tmp_path: Path) -> None:
    file = _write(tmp_path, application(**{"firm.people[1].outsourced": True}))
    result = _run(explain, [file, "--as-of", "2026-06-01", *_pack()])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Decision APP-1 (licence_application) as of 2026-06-01: REJECT" in out
    assert "X-MLRO" in out and "Why:" in out and "Condition" in out
    assert "firm.people[1].outsourced must be false" in out
    assert f"vasp-rules whatif {file} --as-of 2026-06-01" in " ".join(out.split())


def test_explain_rule_shows_why_not(tmp_path: Path) -> None:
    file = _write(tmp_path, application())
    result = _run(explain, [file, "--as-of", "2026-06-01", *_pack(), "--rule", "X-CUST"])
    assert result.exit_code == 0, result.output
    assert "X-CUST" in result.stdout and "did not apply" in result.stdout
    assert "Why not:" in result.stdout and "FALSE" in result.stdout


def test_explain_json_for_tools(tmp_path: Path) -> None:
    file = _write(tmp_path, application(**{"firm.people[1].outsourced": True}))
    result = _run(explain, [file, "--as-of", "2026-06-01", *_pack(), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["outcome"] == "REJECT"
    [suggestion] = data["explanation"]["suggestions"]
    assert suggestion["changes"][0]["path"] == "firm.people[1].outsourced"


@pytest.mark.parametrize(("fmt", "marker"), [("markdown", "# Decision"), ("html", "<!DOCTYPE")])
def test_explain_writes_a_report_file(tmp_path: Path, fmt: str, marker: str) -> None:
    file = _write(tmp_path, application(**{"firm.people[1].outsourced": True}))
    out = tmp_path / f"report.{fmt}"
    args = [file, "--as-of", "2026-06-01", *_pack(), "--format", fmt, "-o", str(out)]
    result = _run(explain, args)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert out.read_text(encoding="utf-8").startswith(marker)


def test_explain_text_to_a_file_has_no_colour_codes(tmp_path: Path) -> None:
    file = _write(tmp_path, application(**{"firm.people[1].outsourced": True}))
    out = tmp_path / "report.txt"
    result = _run(explain, [file, "--as-of", "2026-06-01", *_pack(), "-o", str(out)])
    assert result.exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert "X-MLRO" in text and "\x1b[" not in text


def test_explain_reads_yaml(tmp_path: Path) -> None:
    text = json.dumps(application(**{"firm.people[1].outsourced": True}))
    file = _write(tmp_path, text, "doc.yaml")  # JSON is valid YAML
    result = _run(explain, [file, "--as-of", "2026-06-01", *_pack(), "--no-suggest"])
    assert result.exit_code == 0, result.output
    assert "X-MLRO" in result.stdout and "What would clear it" not in result.stdout


def test_explain_errors_are_one_line(tmp_path: Path) -> None:
    good = _write(tmp_path, application())
    bad_doc = _write(tmp_path, {"kind": "licence_application", "stage": "X"}, "bad.json")
    two = _write(tmp_path, [application(), application()], "two.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    cases = [
        ([good, *_pack()], "Missing option '--as-of'"),
        ([good, "--as-of", "01/06/2026", *_pack()], "is not a date"),
        ([str(tmp_path / "nope.json"), "--as-of", "2026-06-01", *_pack()], "No such file"),
        ([bad_doc, "--as-of", "2026-06-01", *_pack()], "invalid document: "),
        ([str(broken), "--as-of", "2026-06-01", *_pack()], "invalid JSON"),
        ([two, "--as-of", "2026-06-01", *_pack()], "holds 2 documents"),
        ([good, "--as-of", "2026-06-01", "--pack", str(tmp_path)], "in rule pack"),
        ([good, "--as-of", "2026-06-01", *_pack(), "--rule", "NOPE-1"], "unknown rule"),
    ]
    for args, message in cases:
        line = _one_line_error(_run(explain, args))
        assert message in line, (args, line)


def test_whatif_prints_the_difference(tmp_path: Path) -> None:
    file = _write(tmp_path, application(**{"firm.people[1].outsourced": True}))
    args = [file, "--set", "firm.people[1].outsourced=false", "--as-of", "2026-06-01", *_pack()]
    result = _run(whatif, args)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Outcome: REJECT -> APPROVE" in out
    assert "Findings removed:" in out and "X-MLRO" in out
    assert "set firm.people[1].outsourced=false" in out


def test_whatif_json(tmp_path: Path) -> None:
    file = _write(tmp_path, application())
    args = [file, "--set", "firm.data_locations[1]=AE", "--set", "firm.noc_status=GRANTED"]
    result = _run(whatif, [*args, "--as-of", "2026-06-01", *_pack(), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["outcome_before"], data["outcome_after"]) == ("APPROVE", "APPROVE_WITH_CONDITIONS")
    assert sorted(f["rule_id"] for f in data["added"]) == ["X-DATA", "X-GOAML"]
    assert data["removed"] == [] and data["changed"] == []


def test_whatif_errors_are_one_line(tmp_path: Path) -> None:
    file = _write(tmp_path, application())
    day = ["--as-of", "2026-06-01", *_pack()]
    cases = [
        ([file, *day], "at least one --set"),
        ([file, "--set", "firm.goaml_registered", *day], "expected PATH=VALUE"),
        ([file, "--set", "firm..x=1", *day], "invalid path"),
        ([file, "--set", "firm.people[9].outsourced=true", *day], "does not exist"),
        ([file, "--set", "firm.goaml_registered=maybe", *day], "invalid document: "),
        ([file, "--set", "firm.goaml_registered=true"], "Missing option '--as-of'"),
    ]
    for args, message in cases:
        line = _one_line_error(_run(whatif, args))
        assert message in line, (args, line)


def test_commands_are_click_commands() -> None:
    import click

    assert isinstance(explain, click.Command) and explain.name == "explain"
    assert isinstance(whatif, click.Command) and whatif.name == "whatif"
    options = {p.name for p in explain.params}
    assert {"file", "as_of", "pack", "rules", "fmt", "output"} <= options
    assert {"file", "assignments", "as_of", "pack", "fmt"} <= {p.name for p in whatif.params}
