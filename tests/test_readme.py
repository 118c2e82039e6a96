"""The README's promises: the example decisions it shows, its set-up commands, and every
command of its tour (run as written, so the README cannot drift)."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from support.readme_run import chains, cli_lines, python_tour, run_readme
from support.repo import ROOT

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
    decisions = pk.evaluate_many(
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


def test_readme_says_how_long_the_suite_takes_and_offers_a_fast_subset() -> None:
    assert re.search(r"whole test suite \(.{0,40}about \d+ minutes", README, re.S)
    assert '.venv/bin/python -m pytest -m "not slow"' in README
    assert "slow:" in (ROOT / "pyproject.toml").read_text()  # the marker is registered


def test_readme_cli_tour_parses() -> None:
    commands = cli_lines(README)
    assert len(commands) >= 10 and all(c.split()[0] in ("vasp-rules", "cat") for c in commands)
    assert "def main() -> None:" in python_tour(README)
    assert 'if __name__ == "__main__":' in python_tour(README)


def test_commands_using_a_file_the_tour_writes_run_in_order(tmp_path: Path) -> None:
    """The tour's commands run side by side, except those naming a file another one writes
    (the decision log): they run one after the other, in README order."""
    (tmp_path / "in.json").write_text("{}")
    commands = [
        "vasp-rules evaluate in.json --log run.db", "vasp-rules packs",
        "vasp-rules audit verify run.db", "vasp-rules whatif in.json --set a.b=1",
        "vasp-rules docs pk -o out.md", "cat in.json | vasp-rules evaluate - > run.db",
    ]
    assert chains(commands, tmp_path) == [[0, 2, 5], [1], [3], [4]]
    readme = chains(cli_lines(README), ROOT)
    logged = [i for i, c in enumerate(cli_lines(README)) if "decisions.db" in c]
    assert len(logged) >= 2 and logged in readme


@pytest.mark.slow
def test_every_readme_command_runs_as_written(tmp_path: Path) -> None:
    """The Python tour as a script and each command-line line as a shell command, in a fresh
    copy of the repository (commands write files such as decisions.db there)."""
    clone = tmp_path / "clone"
    shutil.copytree(ROOT, clone, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", ".*_cache", ".hypothesis", "__pycache__",
        "*.db"))
    problems = run_readme(clone / "README.md", clone)
    assert not problems, "\n\n".join(problems)
    assert (clone / "decisions.db").exists() and (clone / "catalogue.md").exists()
