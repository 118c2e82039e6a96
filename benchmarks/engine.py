"""Throughput of the durable-rules matcher against the reference interpreter, in one run.

Generates a seeded synthetic batch (default 10,000 documents of all four kinds, perturbed from
examples/), evaluates it with each engine, and prints decisions per second, their ratio, and
peak memory. Figures are ratios measured in the same process: this machine is shared and noisy.

    python benchmarks/engine.py [--count 10000] [--seed 7] [--pack pk] [--batch-size 0]
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import resource
import sys
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vasp_rules import RulePack  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))
from support.addresses import wallet_for  # noqa: E402

KINDS = ["licence_application", "customer", "amnesty_declaration", "transfer"]


def synthetic(count: int, seed: int) -> list[dict[str, Any]]:
    """Documents perturbed from the examples so that rules fire in varied combinations."""
    rng = random.Random(seed)
    templates = {k: json.loads((ROOT / "examples" / f"{k}.json").read_text()) for k in KINDS}
    docs: list[dict[str, Any]] = []
    for i in range(count):
        kind = KINDS[i % 4]
        doc = copy.deepcopy(templates[kind])
        if kind == "licence_application":
            doc["application_id"] = f"APP-{i}"
            doc["stage"] = rng.choice(["EOI", "NOC", "FULL"])
            doc["firm"]["paid_up_capital"]["amount"] = str(rng.randrange(10**6, 10**9))
            if rng.random() < 0.2:
                doc["firm"].pop("annual_fixed_overheads", None)
            for person in doc["firm"]["people"]:
                person["outsourced"] = rng.random() < 0.05
                person["years_relevant_experience"] = rng.randrange(0, 20)
        elif kind == "customer":
            doc["customer_id"] = f"CUST-{i:08d}"
            doc["risk_rating"] = rng.choice(["LOW", "MEDIUM", "HIGH"])
            doc["outward_transfers_this_year"]["amount"] = str(rng.randrange(0, 200_000))
            if rng.random() < 0.3:
                flagged = date(2026, 1, 1) + timedelta(days=rng.randrange(0, 120))
                doc["suspicion_flagged_on"] = flagged.isoformat()
                if rng.random() < 0.5:
                    doc["str_filed_on"] = (
                        flagged + timedelta(days=rng.randrange(0, 20))
                    ).isoformat()
        elif kind == "amnesty_declaration":
            doc["declaration_id"] = f"DECL-{i}"
            for h in doc["holdings"]:
                h["wallet_address"] = wallet_for(h, f"w{rng.randrange(0, count)}")
        else:
            doc["transfer_id"] = f"TX-{i}"
            doc["value"]["amount"] = str(rng.randrange(10, 3000))
            doc["originator"]["account_or_wallet"] = f"ACC-{rng.randrange(0, count // 20 + 1)}"
            doc["executed_at"] = (
                f"2026-03-01T{rng.randrange(0, 24):02d}:{rng.randrange(0, 60):02d}:00+05:00"
            )
        docs.append(doc)
    return docs


def measure(
    pack: RulePack, docs: list[dict[str, Any]], as_of: date, engine: str, batch_size: int
) -> tuple[float, int, list[str]]:
    """Seconds and outcomes of a timed pass, then peak traced bytes of a second, traced pass
    (tracing slows allocation-heavy code, so it never runs while timing)."""
    elapsed, outcomes = _run(pack, docs, as_of, engine, batch_size)
    tracemalloc.start()
    _run(pack, docs, as_of, engine, batch_size, label=" (memory)")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak, outcomes


def _run(
    pack: RulePack,
    docs: list[dict[str, Any]],
    as_of: date,
    engine: str,
    batch_size: int,
    label: str = "",
) -> tuple[float, list[str]]:
    started = time.perf_counter()
    outcomes: list[str] = []
    step = batch_size or 1000
    for start in range(0, len(docs), step):
        part = docs[start : start + step]
        decisions = pack.evaluate_many(
            part,
            as_of,
            engine=engine,  # type: ignore[arg-type]
            batch=batch_size > 0,
        )
        outcomes.extend(d.outcome.value for d in decisions)
        done = start + len(part)
        print(f"\r  {engine}{label}: {done:>6}/{len(docs)}", end="", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    print(file=sys.stderr)
    return elapsed, outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pack", default=str(ROOT / "rules" / "pk"))
    parser.add_argument("--as-of", default="2026-06-01")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=0,
        help="evaluate in related batches of this size (0: each document alone)",
    )
    args = parser.parse_args()
    as_of = date.fromisoformat(args.as_of)
    pack = RulePack.load(args.pack)
    docs = synthetic(args.count, args.seed)
    pack.evaluate_many(docs[:20], as_of)  # compile and warm up both paths
    pack.evaluate_many(docs[:20], as_of, engine="reference")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    d_time, d_peak, d_out = measure(pack, docs, as_of, "durable", args.batch_size)
    r_time, r_peak, r_out = measure(pack, docs, as_of, "reference", args.batch_size)
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    n = len(docs)
    print(
        f"documents: {n} (seed {args.seed}, pack {pack.name} {pack.version}, "
        f"{len(pack.compiled(as_of).rules)} rules in force on {as_of}, "
        f"batch size {args.batch_size or 'none'})"
    )
    print(
        f"durable-rules : {n / d_time:8.0f} decisions/s  ({d_time:6.2f} s)  "
        f"peak traced {d_peak / 2**20:6.1f} MiB"
    )
    print(
        f"reference     : {n / r_time:8.0f} decisions/s  ({r_time:6.2f} s)  "
        f"peak traced {r_peak / 2**20:6.1f} MiB"
    )
    print(f"ratio durable/reference throughput: {r_time / d_time:.2f}")
    print(
        f"process max RSS: {rss_after / 1024:.0f} MiB (before timing: {rss_before / 1024:.0f} MiB)"
    )
    print(f"outcomes agree: {d_out == r_out}")
    if d_out != r_out:
        sys.exit(1)


if __name__ == "__main__":
    main()
