"""Canonical JSON before and after orjson, in one process, on the same documents.

For licence applications and transfers (the generators of benchmarks/fastpath.py) it times,
per document: ``model_dump(mode="json")`` alone; ``input_sha256`` as the library computed it
before (``model_dump`` + ``json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` + sha256) and as vasp_rules.core.canonical computes it now; and
``Decision.to_json()`` before (``model_dump`` + ``json.dumps(indent=2, sort_keys=True,
ensure_ascii=False)``) and now. It first checks that every digest and every decision's bytes are
identical. CPU time, median of --rounds interleaved rounds, with the objects the benchmark holds
frozen out of the garbage collector's way; nothing here is asserted.

    python benchmarks/canonical.py [--count 1000] [--rounds 5] [--seed 11]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from fastpath import licence_applications, transfers  # noqa: E402

from vasp_rules import Decision, RulePack  # noqa: E402
from vasp_rules.core.canonical import document_sha256  # noqa: E402
from vasp_rules.runtime.rulepack import _item  # noqa: E402

AS_OF = date(2026, 6, 1)


def old_input_sha256(model: Any) -> str:
    """input_sha256 as rulepack.document_sha256 computed it before vasp_rules.core.canonical."""
    data = model.model_dump(mode="json")
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def old_to_json(decision: Decision) -> str:
    """Decision.to_json() as written before vasp_rules.core.canonical."""
    data = decision.model_dump(mode="json", exclude=decision._json_exclude())
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)


def per_item_us(step: Callable[[Any], object], items: list[Any]) -> Callable[[], float]:
    def run() -> float:
        start = time.process_time()
        for item in items:
            step(item)
        return (time.process_time() - start) / len(items) * 1e6

    return run


def measure(kind: str, docs: list[dict[str, Any]], pack: RulePack, rounds: int) -> None:
    models = [_item(d, None).model for d in docs]
    decisions = pack.evaluate_many(docs, AS_OF)
    digests = sum(document_sha256(m) == old_input_sha256(m) for m in models)
    same = sum(d.to_json() == old_to_json(d) for d in decisions)
    print(f"{kind}: {len(models)} documents; input_sha256 identical {digests}/{len(models)}, "
          f"decision JSON identical {same}/{len(decisions)}")
    steps = {
        "model_dump(mode='json')": per_item_us(lambda m: m.model_dump(mode="json"), models),
        "input_sha256 before (json.dumps)": per_item_us(old_input_sha256, models),
        "input_sha256 now (canonical)": per_item_us(document_sha256, models),
        "Decision.to_json before (json.dumps)": per_item_us(old_to_json, decisions),
        "Decision.to_json now (canonical)": per_item_us(Decision.to_json, decisions),
    }
    gc.collect()
    gc.freeze()  # the documents and decisions held here are not walked by every collection
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):  # interleaved: each round runs every step once
        for name, run in steps.items():
            times[name].append(run())
    median = {name: statistics.median(t) for name, t in times.items()}
    for name, value in median.items():
        print(f"  {name:<40} {value:8.1f} us CPU")
    for what in ("input_sha256", "Decision.to_json"):
        before, now = median[f"{what} before (json.dumps)"], median[f"{what} now (canonical)"]
        print(f"  {what}: {before:.1f} -> {now:.1f} us ({before / now:.2f}x)")
    gc.unfreeze()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    pack = RulePack.load("pk")
    print(f"median of {args.rounds} interleaved rounds, CPU time per document")
    measure("licence applications", licence_applications(args.count, args.seed), pack, args.rounds)
    measure("transfers", transfers(args.count, args.seed), pack, args.rounds)


if __name__ == "__main__":
    main()
