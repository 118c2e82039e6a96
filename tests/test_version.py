"""`vasp-rules --version` names everything a decision's build depends on: the library, the
engines and validator (durable-rules, z3, pydantic) and each bundled pack with its sha256."""

from __future__ import annotations

from importlib import metadata

from click.testing import CliRunner

from vasp_rules import RulePack, __version__
from vasp_rules.cli import main


def test_version_names_the_library_its_engines_and_the_bundled_packs(pk: RulePack) -> None:
    res = CliRunner().invoke(main, ["--version"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0] == f"vasp-rules {__version__}"
    assert f"durable-rules {metadata.version('durable-rules')}" in lines
    assert f"z3 {metadata.version('z3-solver')}" in lines
    assert f"pydantic {metadata.version('pydantic')}" in lines
    assert f"  pk {pk.version} sha256 {pk.sha256}" in lines


def test_version_is_eager_and_needs_no_command() -> None:
    res = CliRunner().invoke(main, ["--version", "evaluate"])
    assert res.exit_code == 0
    assert res.output.startswith("vasp-rules ")
