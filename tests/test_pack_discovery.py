"""Finding packs: installed names (bundled or from another distribution's entry point),
case-insensitive, never shadowed by a folder of the current directory; folders as paths."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.repo import PK

from vasp_rules import PackError, RulePack
from vasp_rules.cli import main
from vasp_rules.pack.discovery import discover, find_pack
from vasp_rules.pack.loader import load_pack, pack_sha256


def _broken_pack(folder: Path) -> None:
    (folder / "rules").mkdir(parents=True)
    (folder / "pack.yaml").write_text("name: [not, a, pack]\n")


def test_bare_name_is_case_insensitive_and_never_a_folder_of_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _broken_pack(tmp_path / "pk")
    _broken_pack(tmp_path / "rules" / "pk")
    monkeypatch.chdir(tmp_path)
    assert find_pack("pk") == find_pack("Pk") != (tmp_path / "pk").resolve()
    assert load_pack(find_pack("PK")).manifest.name == "pk"
    with pytest.raises(PackError):  # as a path, the local folder is what is meant
        RulePack.load("./pk")


def test_unknown_name_lists_the_installed_packs_and_hints_at_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pk: RulePack
) -> None:
    shutil.copytree(PK, tmp_path / "mine")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PackError) as exc:
        find_pack("mine")
    message = str(exc.value.issues[0])
    assert "no such rule pack" in message and "installed: pk" in message
    assert "./mine" in message
    assert pack_sha256(load_pack(find_pack("./mine")).files) == pk.sha256


def test_a_folder_without_manifest_is_refused_at_once(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    with pytest.raises(PackError, match="pack.yaml"):
        find_pack(tmp_path)
    with pytest.raises(PackError, match="no such rule pack folder"):
        find_pack(tmp_path / "absent")


def _install_distribution(root: Path, monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    """A fake installed distribution `vasp-rules-xx` registering pack `xx`."""
    package = root / "vasp_rules_xx"
    shutil.copytree(PK, package / "pack")
    manifest = package / "pack" / "pack.yaml"
    manifest.write_text(manifest.read_text().replace("name: pk", "name: xx", 1))
    (package / "__init__.py").write_text(
        "from pathlib import Path\nPACK = Path(__file__).parent / 'pack'\n"
    )
    info = root / "vasp_rules_xx-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vasp-rules-xx\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text(f"[vasp_rules.packs]\nxx = {target}\n")
    monkeypatch.syspath_prepend(str(root))


def test_packs_from_other_distributions_are_found_by_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pk: RulePack
) -> None:
    _install_distribution(tmp_path, monkeypatch, "vasp_rules_xx:PACK")
    found = discover()
    assert found.problems == []
    assert found.packs["xx"].origin.startswith("distribution vasp-rules-xx 1.2")
    assert find_pack("XX") == tmp_path / "vasp_rules_xx" / "pack"
    result = CliRunner().invoke(main, ["packs"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"pk  {pk.version}  sha256 {pk.sha256}")
    assert "bundled with vasp-rules" in lines[1]
    assert lines[2].startswith(f"xx  {pk.version}  sha256 ")
    assert "distribution vasp-rules-xx 1.2" in lines[3]


def test_a_broken_entry_point_is_reported_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_distribution(tmp_path, monkeypatch, "vasp_rules_xx:MISSING")
    found = discover()
    assert "pk" in found.packs and "xx" not in found.packs
    assert any("unusable" in p for p in found.problems)
    result = CliRunner().invoke(main, ["packs"])
    assert result.exit_code == 0
    assert "warning: pack 'xx'" in result.stderr


def test_check_lists_problems_once(tmp_path: Path) -> None:
    _broken_pack(tmp_path / "bad")
    result = CliRunner().invoke(main, ["check", str(tmp_path / "bad")])
    assert result.exit_code == 2
    *issues, last = result.stderr.splitlines()  # each problem on stderr, then the count
    assert len(issues) == len(set(issues)) == 5 and result.stdout == ""
    assert last == "error: 5 problems in rule pack"
