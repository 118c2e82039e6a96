"""The README's promises: the example decisions it shows, and its two set-up commands."""

from __future__ import annotations

import json
import re
from datetime import date

from conftest import ROOT

from vasp_rules import RulePack

README = (ROOT / "README.md").read_text()


def test_examples_decide_as_the_readme_table_shows(pk: RulePack) -> None:
    """`vasp-rules evaluate examples/*.json --as-of 2026-06-01` evaluates the files together,
    in the shell's (sorted) order; each row of the README table must match its decision."""
    block = README.split("<!-- examples:start -->")[1].split("<!-- examples:end -->")[0]
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in block.strip().splitlines()[2:]
    ]
    files = sorted((ROOT / "examples").glob("*.json"))
    assert [r[0].strip("`") for r in rows] == [f"examples/{f.name}" for f in files]
    decisions = RulePack.load("pk").evaluate_many(
        [json.loads(f.read_text()) for f in files], date(2026, 6, 1))
    for row, decision in zip(rows, decisions, strict=True):
        fired = [r for r in re.split(r",\s*", row[3]) if r] if row[3] else []
        assert (row[1], row[2], sorted(fired)) == (
            decision.document_kind, decision.outcome.value, sorted(decision.fired)), row[0]


def test_readme_gives_the_two_setup_commands_and_ci_runs_the_test_one() -> None:
    commands = re.findall(r"```\n(python3 -m venv .*)\n```", README)
    assert len(commands) == 2
    main_job, tests = commands
    assert "vasp-rules evaluate examples/*.json --as-of 2026-06-01" in main_job
    assert tests.endswith("-m pytest")
    assert tests in (ROOT / ".ci" / "run").read_text()


def test_the_library_tour_runs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The README's Python tour, run as a user's script would run it (from the repository)."""
    import subprocess
    import sys

    code = re.search(r"### The library\n\n```python\n(.*?)```", README, re.S)
    assert code is not None
    script = tmp_path / "tour.py"
    body = code.group(1).replace("\n", "\n    ")
    script.write_text(
        f"def main() -> None:\n    {body}\n\nif __name__ == '__main__':\n    main()\n"
    )
    result = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "LIC-21" in result.stdout
