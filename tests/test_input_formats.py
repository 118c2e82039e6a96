"""Input conventions: `-` is standard input, .jsonl/.ndjson are JSON Lines, the format comes from
the suffix or --input-format, unknown suffixes are refused in one line, YAML and JSON errors
carry file and line, and input is read and validated before the pack is loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from support.repo import EXAMPLES

from vasp_rules.cli import main
from vasp_rules.core.docfiles import InputFileError, read_document_file, read_json_line

CUSTOMER = json.loads((EXAMPLES / "customer.json").read_text())
TRANSFER = json.loads((EXAMPLES / "transfer.json").read_text())


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin)


def _one_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def _jsonl(*docs: object) -> str:
    return "".join(json.dumps(d) + "\n" for d in docs)


def test_stdin_is_json_by_default() -> None:
    result = run("evaluate", "-", "--as-of", "2026-06-01", "--format", "json",
                 stdin=json.dumps(CUSTOMER))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["document_id"] == CUSTOMER["customer_id"]


def test_stdin_as_json_lines_and_yaml() -> None:
    result = run("evaluate", "-", "--input-format", "jsonl", "--as-of", "2026-06-01",
                 "--format", "json", stdin=_jsonl(CUSTOMER, TRANSFER) + "\n")
    assert result.exit_code == 0, result.output
    assert [d["document_kind"] for d in json.loads(result.stdout)] == ["customer", "transfer"]
    yaml_text = "kind: customer\n" + "\n".join(
        f"{k}: {json.dumps(v)}" for k, v in CUSTOMER.items() if k != "kind")
    result = run("evaluate", "-", "--input-format", "yaml", "--as-of", "2026-06-01",
                 "--format", "json", stdin=yaml_text)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["input_sha256"] == json.loads(
        run("evaluate", str(EXAMPLES / "customer.json"), "--as-of", "2026-06-01",
            "--format", "json").stdout)["input_sha256"]


@pytest.mark.parametrize("suffix", [".jsonl", ".ndjson", ".JSONL"])
def test_json_lines_files_by_suffix(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"docs{suffix}"
    path.write_text(_jsonl(CUSTOMER, TRANSFER))
    documents, is_list = read_document_file(str(path))
    assert is_list and [d["kind"] for d in documents] == ["customer", "transfer"]
    result = run("evaluate", str(path), "--as-of", "2026-06-01", "--format", "json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 2


def test_json_lines_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text(_jsonl(CUSTOMER) + "{broken\n")
    assert _one_line(run("evaluate", str(path), "--as-of", "2026-06-01")).startswith(
        f"error: {path}:2: invalid JSON")
    path.write_text(_jsonl(CUSTOMER) + "[1, 2]\n")
    assert f"{path}:2: each line of a JSON Lines file is one document" in _one_line(
        run("evaluate", str(path), "--as-of", "2026-06-01"))


def test_read_json_line_is_reusable() -> None:
    assert read_json_line("  ", "f", 3) is None
    assert read_json_line('{"a": 1.50}', "f", 3) == {"a": __import__("decimal").Decimal("1.50")}
    with pytest.raises(InputFileError, match="^f:3: invalid JSON"):
        read_json_line("{", "f", 3)


def test_unknown_suffix_is_one_line_naming_the_supported_ones(tmp_path: Path) -> None:
    path = tmp_path / "doc.txt"
    path.write_text(json.dumps(CUSTOMER))
    line = _one_line(run("evaluate", str(path), "--as-of", "2026-06-01"))
    assert ".json, .jsonl, .ndjson, .yaml, .yml" in line and "--input-format" in line
    result = run("evaluate", str(path), "--input-format", "json", "--as-of", "2026-06-01")
    assert result.exit_code == 0, result.output


def test_yaml_errors_carry_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text("kind: customer\ncustomer_id: C-1\nrisk: [unclosed\n")
    line = _one_line(run("evaluate", str(path), "--as-of", "2026-06-01"))
    assert line.startswith(f"error: {path}:") and "invalid YAML" in line
    assert "invalid JSON" not in line


def test_json_errors_carry_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_text('{\n  "kind": "customer",\n  oops\n}\n')
    assert _one_line(run("evaluate", str(path), "--as-of", "2026-06-01")).startswith(
        f"error: {path}:3: invalid JSON")


def test_input_is_validated_before_the_pack_is_loaded(tmp_path: Path) -> None:
    """A bad file or document is reported even when the pack named does not exist: the
    input is read first."""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([CUSTOMER, {**CUSTOMER, "risk_rating": "HUGE"}]))
    line = _one_line(run("evaluate", str(bad), "--as-of", "2026-06-01", "--pack", "no-such"))
    assert line.startswith(f"error: {bad}[1]: invalid document: risk_rating")
    line = _one_line(run("evaluate", str(tmp_path / "absent.json"), "--as-of", "2026-06-01",
                         "--pack", "no-such"))
    assert "absent.json" in line and "rule pack" not in line


def test_stdin_only_once() -> None:
    line = _one_line(run("evaluate", "-", "-", "--as-of", "2026-06-01", stdin="{}"))
    assert "only once" in line


def test_scenario_as_of_accepts_an_iso_string(tmp_path: Path) -> None:
    scenario = tmp_path / "s.scenarios.yaml"
    scenario.write_text(
        "cases:\n"
        "  - name: quoted date\n"
        "    as_of: '2026-06-01'\n"
        f"    input_file: {EXAMPLES / 'customer.json'}\n"
        "    expect: {outcome: APPROVE}\n"
        "  - name: plain date\n"
        "    as_of: 2026-06-01\n"
        f"    input_file: {EXAMPLES / 'customer.json'}\n"
        "    expect: {outcome: APPROVE}\n"
    )
    result = run("test", str(scenario))
    assert result.exit_code == 0, result.output
    assert "2 passed, 0 failed" in result.stdout
    scenario.write_text(scenario.read_text().replace("'2026-06-01'", "'June 1st'"))
    result = run("test", str(scenario))
    assert result.exit_code == 2 and "as_of must be a date" in result.stderr


def test_json_lines_on_stdin_read_as_json_say_how_to_read_them() -> None:
    line = _one_line(run("evaluate", "-", "--as-of", "2026-06-01",
                         stdin=_jsonl(CUSTOMER, CUSTOMER)))
    assert line.startswith("error: <stdin>:2: invalid JSON: Extra data")
    assert "--input-format jsonl" in line


def test_a_json_lines_file_streams_unless_a_format_is_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text(_jsonl(CUSTOMER, TRANSFER))
    streamed = run("evaluate", str(path), "--as-of", "2026-06-01")
    assert streamed.exit_code == 0, streamed.output
    lines = streamed.stdout.splitlines()  # one decision per line, in input order
    assert [json.loads(x)["document_kind"] for x in lines] == ["customer", "transfer"]
    listed = json.loads(run("evaluate", str(path), "--as-of", "2026-06-01",
                            "--format", "json").stdout)
    assert [json.loads(x) for x in lines] == listed
    text = run("evaluate", str(path), "--as-of", "2026-06-01", "--format", "text")
    assert text.exit_code == 0 and "customer " in text.stdout and "->" in text.stdout


def test_streamed_runs_refuse_other_input_formats_and_pass_overrides(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text(_jsonl(CUSTOMER))
    line = _one_line(run("evaluate", str(path), "--input-format", "yaml", "-o", "-",
                         "--as-of", "2026-06-01"))
    assert "streamed runs read JSON Lines" in line
    line = _one_line(run("evaluate", str(path), "--set-param", "no_such_parameter=1",
                         "--as-of", "2026-06-01"))
    assert "no_such_parameter" in line
