"""`vasp-rules init DIR`: a starter folder in which the README's main job and `vasp-rules test`
run as documented, written whole or not at all. (.ci/run also runs it from the installed wheel,
outside the checkout.)"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from support.repo import EXAMPLES, ROOT

from vasp_rules import RulePack
from vasp_rules.cli import main
from vasp_rules.cli import starter as starter_module
from vasp_rules.entities.registry import KINDS


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "my-rules"
    res = run("init", str(target))
    assert res.exit_code == 0, res.output
    assert "vasp-rules test scenarios" in res.output
    return target


def test_starter_holds_examples_of_every_kind_a_pack_a_scenario_file_and_a_readme(
    folder: Path,
) -> None:
    kinds = {
        json.loads(p.read_text(encoding="utf-8"))["kind"] for p in folder.glob("examples/*.json")
    }
    assert kinds == set(KINDS)
    for path in folder.glob("examples/*.json"):  # the repository's examples, as they are
        assert path.read_bytes() == (EXAMPLES / path.name).read_bytes()
    assert len((folder / "README.md").read_text(encoding="utf-8").splitlines()) == 3
    assert list(folder.glob("scenarios/*.scenarios.yaml"))
    own = RulePack.load(folder / "mypack")
    assert own.name == "mypack" and own.name != "pk"
    assert {r.id for r in own.loaded.rules} == {"MY-01", "MY-02"}  # its own rules only


def test_main_job_and_scenarios_run_in_the_starter_folder(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(folder)
    examples = sorted(str(p.relative_to(folder)) for p in folder.glob("examples/*.json"))
    res = run("evaluate", *examples, "--as-of", "2026-06-01")
    assert res.exit_code == 0, res.output
    assert res.output.count("as of 2026-06-01  ->") == len(examples)
    own = run(
        "evaluate",
        "examples/transfer_unhosted.json",
        "--as-of",
        "2026-06-01",
        "--pack",
        "./mypack",
        "--format",
        "json",
    )
    assert own.exit_code == 0, own.output
    assert json.loads(own.output)["outcome"] == "REQUIRE_DOCUMENTS"
    tested = run("test", "scenarios")
    assert tested.exit_code == 0, tested.output
    assert "3 passed, 0 failed" in tested.output
    checked = run("check", "./mypack")
    assert checked.exit_code == 0, checked.output


def test_a_folder_that_is_not_empty_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    res = run("init", str(tmp_path))
    assert res.exit_code == 2
    assert "is not empty (notes.txt)" in res.output and "--force" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_force_writes_into_a_folder_and_keeps_other_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    (tmp_path / "README.md").write_text("old", encoding="utf-8")
    res = run("init", str(tmp_path), "--force")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert "vasp-rules evaluate" in (tmp_path / "README.md").read_text(encoding="utf-8")
    assert (tmp_path / "mypack" / "pack.yaml").is_file()
    assert not [p for p in tmp_path.parent.iterdir() if p.name.startswith(".vasp-rules-init-")]


def test_a_file_in_the_way_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "examples").write_text("a file, not a folder", encoding="utf-8")
    res = run("init", str(tmp_path), "--force")
    assert res.exit_code == 2
    assert "in the way" in res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["examples"]
    target = tmp_path / "file"
    target.write_text("x", encoding="utf-8")
    res = run("init", str(target))
    assert res.exit_code == 2 and "is not a folder" in res.output


def test_a_failure_midway_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copied: list[str] = []
    real = shutil.copyfile

    def flaky(src: str, dst: str) -> str:
        if len(copied) == 5:
            raise OSError(28, "No space left on device")
        copied.append(dst)
        return str(real(src, dst))

    monkeypatch.setattr(starter_module.shutil, "copyfile", flaky)
    res = run("init", str(tmp_path / "new"))
    assert res.exit_code == 2
    assert "No space left on device" in res.output
    assert list(tmp_path.iterdir()) == []  # neither the folder nor a staging folder


def test_the_wheel_declares_every_starter_file_as_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["vasp_rules"]
    package = ROOT / "vasp_rules"
    declared = {p for pattern in patterns for p in package.glob(pattern) if p.is_file()}
    files = {p for p in (package / "_starter").rglob("*") if p.is_file()}
    assert files and files <= declared
    assert "graft vasp_rules/_starter" in (ROOT / "MANIFEST.in").read_text(encoding="utf-8")
