"""The packs the tests share, each loaded once per run: the bundled pack and the test packs
under tests/packs. A test that needs a pack of its own (closed, patched, freshly compiled)
loads it itself; `make_pack` and `rule_yaml` write small packs on disk."""

from __future__ import annotations

import functools
import json
import shutil
import textwrap
from pathlib import Path

from support.repo import PK
from vasp_rules import RulePack

HERE = Path(__file__).resolve().parent.parent
PACKS = {
    "pk": HERE.parent / "rules" / "pk",
    "constructs": HERE / "packs" / "constructs",
    "batchshapes": HERE / "packs" / "batchshapes",
}


@functools.cache
def pack(name: str) -> RulePack:
    """The named pack, loaded on first use and shared by every test after."""
    return RulePack.load(PACKS[name])


def make_pack(tmp: Path, rules_yaml: str, *, params_yaml: str | None = None) -> Path:
    """A pack folder: the bundled manifest and parameters, plus the given rule file."""
    root = tmp / "pack"
    if root.exists():
        shutil.rmtree(root)
    (root / "rules").mkdir(parents=True)
    shutil.copy(PK / "pack.yaml", root / "pack.yaml")
    shutil.copytree(PK / "parameters", root / "parameters")
    if params_yaml is not None:
        (root / "parameters" / "extra.yaml").write_text(textwrap.dedent(params_yaml))
    (root / "rules" / "test.yaml").write_text(textwrap.dedent(rules_yaml))
    return root


def rule_yaml(rule_id: str, kind: str, when: str, outcome: str = "REJECT", **extra: str) -> str:
    """One rule as YAML text (a list item), with a valid citation and dates."""
    lines = [
        f"  - id: {rule_id}",
        "    version: 1",
        f"    title: test rule {rule_id}",
        f"    applies_to: {kind}",
        f"    when: {json.dumps(when)}",
        f"    outcome: {outcome}",
        f"    reason: {json.dumps(extra.pop('reason', 'fired'))}",
        "    citation: {instrument: Test, provision: s.1, confidence: A}",
        "    remediation: fix it",
        f"    effective_from: {extra.pop('effective_from', '2018-01-01')}",
    ]
    for key, value in extra.items():
        lines.append(f"    {key}: {value}")
    return "\n".join(lines) + "\n"
