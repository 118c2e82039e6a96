"""Rule-pack analysis budget: wall and CPU time of `analyze pk` and of a `diff` of pk against a
copy with one parameter changed (the travel-rule threshold), each also as a ratio to loading
the pack (the baseline, measured in the same process). The aim is under a minute each on a
2-core machine.

Run: ``python benchmarks/analysis.py [--on DATE] [--list-bound N]`` (from the repository root).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from vasp_rules import RulePack
from vasp_rules.analysis import Side, analyze, diff

ROOT = Path(__file__).resolve().parents[1]
PK = ROOT / "rules" / "pk"


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--on", default="2026-06-01")
    parser.add_argument("--list-bound", type=int, default=3)
    args = parser.parse_args()
    on = date.fromisoformat(args.on)
    pk, base_wall, base_cpu = timed(lambda: RulePack.load(PK))
    pk.compiled(on)
    print(f"baseline: load pk                 {base_wall:7.2f} s wall {base_cpu:7.2f} s CPU")
    result, wall, cpu = timed(lambda: analyze(pk, on, bound=args.list_bound))
    findings = sum(k.findings() for k in result.kinds.values())
    print(
        f"analyze pk --on {on}      {wall:7.2f} s wall {cpu:7.2f} s CPU "
        f"({wall / base_wall:5.1f}x baseline; {findings} findings)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        changed = Path(tmp) / "pk"
        shutil.copytree(PK, changed)
        params = changed / "parameters" / "travel_rule.yaml"
        params.write_text(
            params.read_text().replace(
                "value: {amount: 1000, currency: USD}", "value: {amount: 1200, currency: USD}", 1
            )
        )
        other = RulePack.load(changed)
        answer, wall, cpu = timed(
            lambda: diff(Side(pk, on), Side(other, on), bound=args.list_bound)
        )
    print(
        f"diff pk vs threshold change  {wall:7.2f} s wall {cpu:7.2f} s CPU "
        f"({wall / base_wall:5.1f}x baseline; {len(answer.witnesses)} witnesses, "
        f"equivalent={answer.equivalent})"
    )
    same, wall, cpu = timed(lambda: diff(Side(pk, on), Side(pk, on), bound=args.list_bound))
    print(
        f"diff pk vs itself            {wall:7.2f} s wall {cpu:7.2f} s CPU "
        f"({wall / base_wall:5.1f}x baseline; equivalent={same.equivalent})"
    )


if __name__ == "__main__":
    main()
