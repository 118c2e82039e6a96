"""Input limits: nesting depth, extreme exponents, YAML bombs, catastrophic patterns, symlinks
and stray files in a pack, duplicate keys. Every bad input is one clear error, quickly; never a
traceback, a hang or a silent choice (issue 11, findings 1, 2, 4-8). Limits are those of
vasp_rules.core.limits."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support.packs import make_pack, rule_yaml
from support.repo import AS_OF, EXAMPLES, PK, example

from vasp_rules import DocumentError, RulePack
from vasp_rules.cli import main
from vasp_rules.core.docfiles import InputFileError, read_document_file
from vasp_rules.core.limits import MAX_DEPTH, LimitError, check_yaml_text, load_json
from vasp_rules.explain.whatif import WhatIfError, parse_value
from vasp_rules.pack.loader import PackError, load_pack
from vasp_rules.testing.scenarios import ScenarioError, load_cases

DEEP = 100_000


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert not (result.exception and not isinstance(result.exception, SystemExit)), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    return result.exit_code, result.stderr


def _one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def quick() -> Any:
    """Each refusal must come within a few seconds (a hang guard, not a speed target)."""
    start = time.monotonic()
    yield
    assert time.monotonic() - start < 30


# -- 1: deep nesting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["[" * DEEP + "]" * DEEP, '{"a":' * DEEP + "1" + "}" * DEEP], ids=["list", "map"]
)
def test_deeply_nested_json_is_refused(tmp_path: Path, text: str, quick: None) -> None:
    f = tmp_path / "deep.json"
    f.write_text(text)
    with pytest.raises(InputFileError, match=f"nested more than {MAX_DEPTH} levels"):
        read_document_file(str(f))
    _one_line_error(*_cli("evaluate", str(f), "--as-of", "2026-06-01"), "nested")


def test_nesting_up_to_the_limit_is_read_and_one_more_is_refused() -> None:
    ok = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert load_json(ok) is not None
    with pytest.raises(LimitError):
        load_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))


# -- 2: decimal overflow --------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["1e999999999", "-1e999999999", "1e-999999999"])
def test_extreme_exponents_are_refused_with_their_path(
    tmp_path: Path, pk: RulePack, amount: str
) -> None:
    doc = example("customer")
    doc["largest_cash_transaction"] = {"amount": "X", "currency": "PKR"}
    f = tmp_path / "c.json"
    f.write_text(json.dumps(doc).replace('"X"', amount))
    docs = read_document_file(str(f))[0]
    with pytest.raises(DocumentError) as info:
        pk.evaluate(docs[0], AS_OF)
    assert "largest_cash_transaction.amount" in str(info.value.errors)
    code, err = _cli("evaluate", str(f), "--as-of", "2026-06-01")
    _one_line_error(code, err, "largest_cash_transaction.amount")


# -- 4 and 6: YAML depth, alias cycles and expansion -----------------------------------------

_YAML_BOMBS = {
    "flow1000": "[" * 1000 + "]" * 1000,
    "flow5000": "[" * 5000 + "]" * 5000,
    "block3000": "".join(" " * i + "a:\n" for i in range(3000)),
    "cycle": "&a [*a]",
    "cycle_in_map": "a: &x {b: [1, *x]}",
    "laughs": "a: &a [x,x,x,x,x,x,x,x,x]\n"
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n"
        for i in range(8)
    ),
}


@pytest.mark.parametrize("name", sorted(_YAML_BOMBS))
def test_yaml_bombs_are_refused_quickly_everywhere(tmp_path: Path, name: str, quick: None) -> None:
    text = _YAML_BOMBS[name]
    expected = "cycle" if "cycle" in name else ("expands" if name == "laughs" else "nested")
    doc = tmp_path / "doc.yaml"
    doc.write_text(text)
    with pytest.raises(InputFileError, match=expected):
        read_document_file(str(doc))
    scen = tmp_path / "x.scenarios.yaml"
    scen.write_text(text)
    with pytest.raises(ScenarioError, match=expected):
        load_cases(scen)
    pack = make_pack(tmp_path, "rules: []\n")
    (pack / "rules" / "test.yaml").write_text(text)
    with pytest.raises(PackError, match=expected):
        load_pack(pack)
    with pytest.raises(WhatIfError, match=expected):
        parse_value(text)


def test_cycle_is_found_by_detection_not_by_a_budget(quick: None) -> None:
    with pytest.raises(LimitError, match=r"alias \*a refers to a node that contains it"):
        check_yaml_text("&a [*a]")
    check_yaml_text("a: &a [1, 2]\nb: *a\nc: [*a, *a]\n")  # aliases without a cycle are fine


def test_yaml_document_errors_are_yaml_errors_with_a_line(tmp_path: Path) -> None:
    f = tmp_path / "doc.yaml"
    f.write_text("kind: customer\nfull_name: [unclosed\n")
    with pytest.raises(InputFileError) as info:
        read_document_file(str(f))
    assert "invalid JSON" not in str(info.value) and "doc.yaml:" in str(info.value)


def test_deep_set_value_is_refused_on_the_command_line(tmp_path: Path, quick: None) -> None:
    code, err = _cli(
        "whatif", str(EXAMPLES / "customer.json"), "--as-of", "2026-06-01",
        "--set", "full_name=" + "[" * 5000 + "]" * 5000,
    )  # fmt: skip
    _one_line_error(code, err, "nested")


# -- 5: regular expressions cannot hang -----------------------------------------------------


def test_catastrophic_pattern_is_matched_in_linear_time(tmp_path: Path, quick: None) -> None:
    root = make_pack(
        tmp_path, "rules:\n" + rule_yaml("T-1", "customer", 'matches(full_name, "(a+)+$")')
    )
    pack = RulePack.load(root)
    doc = example("customer")
    for name, fires in (("a" * 40 + "!", False), ("a" * 5000, True)):
        doc["full_name"] = name
        for engine in ("durable", "reference"):
            decision = pack.evaluate(doc, AS_OF, engine=engine)  # type: ignore[arg-type]
            assert ("T-1" in [f.rule_id for f in decision.findings]) is fires


@pytest.mark.parametrize("pattern", [r"(a)\\1", "(?=a)a", "(?<!b)a", "a{1000}{1000}", "("])
def test_patterns_outside_re2_are_refused_at_load(tmp_path: Path, pattern: str) -> None:
    root = make_pack(
        tmp_path, "rules:\n" + rule_yaml("T-1", "customer", f'matches(full_name, "{pattern}")')
    )
    with pytest.raises(PackError) as info:
        RulePack.load(root)
    text = str(info.value)
    assert "rules/test.yaml:" in text and "[T-1]" in text and "RE2" in text


# -- 7: pack folders ------------------------------------------------------------------------


def test_symlink_in_a_pack_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "secret.yaml"
    outside.write_text("rules: []\n")
    root = make_pack(tmp_path, "rules:\n" + rule_yaml("T-1", "customer", "true"))
    os.symlink(outside, root / "rules" / "linked.yaml")
    with pytest.raises(PackError) as info:
        RulePack.load(root)
    assert "rules/linked.yaml" in str(info.value) and "symbolic link" in str(info.value)
    result = CliRunner().invoke(main, ["check", str(root)])
    assert result.exit_code == 2 and "rules/linked.yaml: a symbolic link" in result.output


def test_symlinked_folder_in_a_pack_is_refused(tmp_path: Path) -> None:
    root = make_pack(tmp_path, "rules:\n" + rule_yaml("T-1", "customer", "true"))
    (tmp_path / "elsewhere").mkdir()
    os.rename(root / "parameters", tmp_path / "elsewhere" / "parameters")
    os.symlink(tmp_path / "elsewhere" / "parameters", root / "parameters")
    with pytest.raises(PackError, match="parameters: a symbolic link"):
        RulePack.load(root)


@pytest.mark.parametrize(
    "stray", ["notes.txt", "rules/.hidden.yaml", "rules/old.yml", "rules/sub/x.yaml", "extra/a"]
)
def test_files_the_layout_does_not_account_for_are_refused(tmp_path: Path, stray: str) -> None:
    root = make_pack(tmp_path, "rules:\n" + rule_yaml("T-1", "customer", "true"))
    target = root / stray
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("rules: []\n")
    with pytest.raises(PackError) as info:
        RulePack.load(root)
    assert "not part of a rule pack" in str(info.value)


def test_pack_sha256_covers_exactly_the_files_it_reads(pk: RulePack) -> None:
    on_disk = sorted(
        p.relative_to(PK).as_posix() for p in PK.rglob("*") if p.is_file()
    )
    assert sorted(pk.files) == on_disk
    assert all(f == "pack.yaml" or f.startswith(("rules/", "parameters/")) for f in pk.files)


# -- 8: duplicate keys ----------------------------------------------------------------------


def test_duplicate_json_key_is_refused_with_its_path(tmp_path: Path) -> None:
    clean = (EXAMPLES / "customer.json").read_text()
    doubled = clean.replace(
        '"risk_rating"',
        '"sanctions_screening": {"result": "CLEAR", "screened_on": "2026-02-27"},\n'
        '  "risk_rating"',
        1,
    ).replace('"result": "CLEAR"', '"result": "CONFIRMED_MATCH"', 1)
    f = tmp_path / "dup.json"
    f.write_text(doubled)
    with pytest.raises(InputFileError, match="sanctions_screening: duplicate key"):
        read_document_file(str(f))
    _one_line_error(*_cli("evaluate", str(f), "--as-of", "2026-06-01"), "duplicate key")


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('[{"kind": "x"}, {"a": {"b": 1, "b": 2}}]', "[1].a.b"),
        ('{"a": [1, {"c": 1, "d": 2, "c": 3}]}', "a[1].c"),
    ],
)
def test_nested_duplicate_json_keys_name_their_path(text: str, path: str) -> None:
    with pytest.raises(LimitError, match="^" + re.escape(path) + ":"):
        load_json(text)


def test_duplicate_yaml_key_is_refused_with_its_path(tmp_path: Path) -> None:
    f = tmp_path / "dup.yaml"
    f.write_text("kind: customer\nsanctions_screening:\n  result: CLEAR\n  result: HIT\n")
    with pytest.raises(InputFileError, match=r"dup.yaml:4: sanctions_screening.result: dup"):
        read_document_file(str(f))
