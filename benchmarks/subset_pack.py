"""A copy of an installed pack with only some of its rules, for benchmarks that compare
`pack.evaluate` with hand-written code on the same rules (benchmarks/fastpath.py).

The pack's files are copied to a folder and each rule file keeps only the rules named (every
parameter, the manifest and the calendar stay). The rule files are rewritten by ruamel.yaml's
round-trip mode, so the kept rules' text is the pack's own.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from ruamel.yaml import YAML

from vasp_rules import RulePack


def subset_pack(ids: Iterable[str], where: Path, source: str = "pk") -> RulePack:
    """Load a copy of `source` (a pack name or folder) in `where` holding only the rules `ids`
    (every kind a kept rule applies to); raise KeyError naming ids the pack does not have."""
    wanted = set(ids)
    root = RulePack.load(source).root
    target = where / root.name
    shutil.copytree(root, target)
    yaml = YAML()
    yaml.width = 4096
    kept: set[str] = set()
    for path in sorted((target / "rules").glob("*.yaml")):
        node = yaml.load(path.read_text(encoding="utf-8"))
        rules = [r for r in node["rules"] if str(r["id"]) in wanted]
        kept |= {str(r["id"]) for r in rules}
        if rules:
            node["rules"] = rules
            with path.open("w", encoding="utf-8") as out:
                yaml.dump(node, out)
        else:
            path.unlink()
    if wanted - kept:
        raise KeyError(f"not rules of {source}: {sorted(wanted - kept)}")
    return RulePack.load(target)
