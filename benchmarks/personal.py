"""Cost of finding the personal data of a logged decision: µs per ``audit.personal.split`` (and
``join``) of each example document with its decision, next to the evaluation it follows.

Run: ``python benchmarks/personal.py [--repeat N]`` (from the repository root). Each figure is
the best of five runs of N calls, so a busy machine inflates it least.
"""

from __future__ import annotations

import argparse
import json
import timeit
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from vasp_rules import RulePack
from vasp_rules.audit.personal import join, split

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 6, 1)


def _micros(call: Callable[[], Any], repeat: int) -> float:
    return min(timeit.repeat(call, number=repeat, repeat=5)) / repeat * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=500)
    args = parser.parse_args()
    pack = RulePack.load(ROOT / "rules" / "pk")
    print(f"{'example':34} {'split µs':>9} {'join µs':>8} {'evaluate µs':>12} {'items':>6}")
    for example in sorted((ROOT / "examples").glob("*.json")):
        document = json.loads(example.read_text(encoding="utf-8"))
        decision = json.loads(pack.evaluate(document, AS_OF).to_json())
        parts = split(document, decision)
        items = [item for part in parts.parts for item in part.items]
        cost = _micros(lambda d=document, e=decision: split(d, e), args.repeat)
        back = _micros(lambda p=parts, i=items: join(p.input, p.decision, i), args.repeat)
        evaluate = _micros(lambda d=document: pack.evaluate(d, AS_OF), max(args.repeat // 10, 1))
        print(f"{example.name:34} {cost:9.0f} {back:8.0f} {evaluate:12.0f} {len(items):6}")


if __name__ == "__main__":
    main()
