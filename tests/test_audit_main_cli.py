"""End to end through the main ``vasp-rules`` CLI: ``evaluate --log``, then ``audit ...``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]


def test_evaluate_log_then_verify_show_replay_override(tmp_path: Path) -> None:
    import vasp_rules.cli.commands as cli
    examples = [str(p) for p in sorted((ROOT / "examples").glob("*.json"))]
    db = tmp_path / "decisions.db"
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(cli.main, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    code, out, err = run(
        "evaluate", *examples, "--as-of", "2025-07-01", "--format", "json", "--log", str(db)
    )
    assert code in (0, 1), err  # the evaluate command may signal outcomes in its exit code
    code, out, _ = run("audit", "verify", str(db))
    # the run's start record, its decisions, its end record
    assert code == 0 and out.startswith(f"OK: {len(examples) + 2} records verified"), out
    code, out, _ = run("audit", "runs", str(db))
    assert code == 0 and "completed" in out and f"{len(examples)} of {len(examples)}" in out
    code, out, _ = run("audit", "replay", str(db), "2")
    assert code == 0 and any(line.startswith("SAME") for line in out.splitlines()), out
    code, out, _ = run(
        "audit", "override", str(db), "2", "--by", "QA", "--reason", "test", "--outcome", "REFER"
    )
    assert code == 0
    code, out, _ = run("audit", "show", "--json", str(db), "2")
    payload = json.loads(out)
    assert [o["outcome"] for o in payload["overrides"]] == ["REFER"]


def test_evaluate_log_into_a_file_that_is_not_a_log(tmp_path: Path) -> None:
    import vasp_rules.cli.commands as cli
    example = str(sorted((ROOT / "examples").glob("*.json"))[0])
    not_a_log = tmp_path / "notes.txt"
    not_a_log.write_text("hello\n")
    result = CliRunner().invoke(
        cli.main, ["evaluate", example, "--as-of", "2025-07-01", "--log", str(not_a_log)]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and "Traceback" not in result.output
    assert not_a_log.read_text() == "hello\n"
