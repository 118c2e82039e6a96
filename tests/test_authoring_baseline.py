"""`analyze --baseline FILE` accepts known findings and fails only on new ones;
`--write-baseline FILE` writes them."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result
from support.packs import make_pack, rule_yaml

from vasp_rules.cli import main

GAPPY = """
parameters:
  gappy:
    type: int
    description: a parameter with a hole in its timeline
    values:
      - {from: 2018-01-01, to: 2019-12-31, value: 1, source: test, confidence: A}
      - {from: 2020-02-01, value: 2, source: test, confidence: A}
"""
DEAD = rule_yaml("T-DEAD", "customer", 'pep == "NONE" and pep != "NONE"')
OK = rule_yaml("T-OK", "customer", 'pep != "NONE"')
ALWAYS = rule_yaml("T-ALWAYS", "customer", 'pep == "NONE" or pep != "NONE"', "REFER")


def analyze(root: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["analyze", str(root), "--on", "2026-06-01", *args])


def test_a_baseline_accepts_known_findings_and_fails_on_new_ones(tmp_path: Path) -> None:
    root = make_pack(tmp_path, "rules:\n" + DEAD + OK, params_yaml=GAPPY)
    baseline = tmp_path / "baseline.json"
    assert analyze(root).exit_code == 1
    written = analyze(root, "--write-baseline", str(baseline))
    assert written.exit_code == 0 and f"wrote {baseline} (2 findings accepted)" in written.stderr
    assert json.loads(baseline.read_text())["findings"] == [
        {"finding": "dead", "kind": "customer", "rule": "T-DEAD"},
        {"finding": "parameter_gap", "from": "2020-01-01", "parameter": "gappy",
         "to": "2020-01-31"},
    ]  # fmt: skip
    known = analyze(root, "--baseline", str(baseline))
    assert known.exit_code == 0, known.output
    assert "T-DEAD" not in known.stdout and "2 known finding(s) accepted" in known.stdout
    # a derived pack (another folder, a new rule) keeps the accepted findings accepted
    derived = make_pack(tmp_path / "derived", "rules:\n" + DEAD + OK + ALWAYS, params_yaml=GAPPY)
    new = analyze(derived, "--baseline", str(baseline), "--format", "json")
    assert new.exit_code == 1
    report = json.loads(new.stdout)
    assert report["kinds"]["customer"]["always"] == ["T-ALWAYS"]
    assert report["kinds"]["customer"]["dead"] == [] and report["timeline"] == []
    assert report["baseline"]["accepted"] == 2 and report["baseline"]["stale"] == []


def test_fixed_findings_are_named_as_stale(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"baseline": 1, "findings": [
        {"finding": "dead", "kind": "customer", "rule": "T-GONE"}]}))  # fmt: skip
    root = make_pack(tmp_path, "rules:\n" + OK)
    res = analyze(root, "--baseline", str(baseline))
    assert res.exit_code == 0
    assert 'no longer found (may leave the baseline): {"kind": "customer", "finding": "dead", ' \
        '"rule": "T-GONE"}' in res.stdout


def test_analyze_json_output_is_read_as_a_baseline(tmp_path: Path) -> None:
    root = make_pack(tmp_path, "rules:\n" + DEAD + OK)
    report = tmp_path / "report.json"
    report.write_text(analyze(root, "--format", "json").stdout)
    assert analyze(root, "--baseline", str(report)).exit_code == 0


def test_a_broken_baseline_is_one_line_exit_2(tmp_path: Path) -> None:
    root = make_pack(tmp_path, "rules:\n" + OK)
    for text in ("{", '{"findings": 3}', "[]"):
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        res = analyze(root, "--baseline", str(bad))
        assert res.exit_code == 2 and res.stderr.startswith(f"error: {bad}"), res.stderr
        assert len(res.stderr.splitlines()) == 1
