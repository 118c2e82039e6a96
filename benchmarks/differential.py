"""Long differential run: durable-rules against the reference interpreter on many documents.

Why: the reference interpreter is the oracle; any difference in decisions (byte for byte) is a
bug in lowering, projection or the engine guards. Documents are half seeded perturbations of
examples/ (benchmarks/engine.py) and half made from documents drawn from the property-test
strategies (tests/support/strategies.py: every kind, optional facts absent; --drawn of them,
recombined by swapping fields between documents of one kind, since drawing is slow); they are
evaluated in related batches at random dates across the regime's timeline (mostly from
mid-2025, when the rules come into force). Opt-in and slow (tens of minutes per 100,000
documents here):

    python benchmarks/differential.py [--count 100000] [--seed 11] [--batch 25] [--dates 150]
                                      [--drawn 3000]

Prints the counts, every disagreement (first few in full) and the time each engine took; exits
1 if any decision differs.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from vasp_rules import DocumentError, RulePack  # noqa: E402

FIRST = date(2025, 3, 1)
DAYS = 365 * 4


def drawn(count: int, seed: int) -> list[dict[str, Any]]:
    """`count` documents from the property-test strategies (seeded)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    from support.strategies import any_document

    out: list[dict[str, Any]] = []

    @hseed(seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(any_document())
    def collect(doc: dict[str, Any]) -> None:
        out.append(doc)
        if len(out) % 1000 == 0:
            print(f"\r  drawing documents: {len(out):>7}/{count}", end="", file=sys.stderr)

    collect()
    print(file=sys.stderr)
    return out


ID_FIELDS = {
    "licence_application": "application_id",
    "customer": "customer_id",
    "amnesty_declaration": "declaration_id",
    "transfer": "transfer_id",
}


def recombined(
    templates: list[dict[str, Any]], count: int, rng: random.Random
) -> list[dict[str, Any]]:
    """`count` documents made from drawn ones (drawing is slow): each takes a template and
    swaps in some top-level fields of another drawn document of the same kind."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for doc in templates:
        by_kind.setdefault(str(doc["kind"]), []).append(doc)
    out: list[dict[str, Any]] = []
    for i in range(count):
        base = copy.deepcopy(rng.choice(templates))
        donor = rng.choice(by_kind[str(base["kind"])])
        for key in rng.sample(sorted(donor), k=rng.randrange(0, min(4, len(donor)) + 1)):
            if key not in ("kind", ID_FIELDS.get(str(base["kind"]), "")):
                base[key] = copy.deepcopy(donor[key])
        id_field = ID_FIELDS.get(str(base["kind"]))
        if id_field and id_field in base:
            base[id_field] = f"{base[id_field]}-{i}"[:60]
        out.append(base)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--batch", type=int, default=25, help="documents evaluated together")
    parser.add_argument("--dates", type=int, default=150, help="distinct as_of dates")
    parser.add_argument(
        "--drawn", type=int, default=3000, help="documents drawn from the strategies"
    )
    args = parser.parse_args()
    from engine import synthetic

    rng = random.Random(args.seed)
    half = args.count - args.count // 2
    docs = synthetic(args.count // 2, args.seed) + recombined(
        drawn(min(args.drawn, half), args.seed), half, rng
    )
    rng.shuffle(docs)
    pack = RulePack.load("pk")
    pool = sorted(FIRST + timedelta(days=d) for d in rng.sample(range(DAYS), args.dates))
    plan = sorted(
        (rng.choice(pool), start) for start in range(0, len(docs), args.batch)
    )  # grouped by date, so each date compiles once
    times = {"durable": 0.0, "reference": 0.0}
    outcomes: Counter[str] = Counter()
    dates: set[date] = set()
    agree = differ = refused = batches = 0
    shown = 0
    started = time.monotonic()
    done = 0
    for as_of, start in plan:
        part = docs[start : start + args.batch]
        dates.add(as_of)
        together = rng.random() < 0.8
        results: dict[str, list[str] | str] = {}
        for engine in ("durable", "reference"):
            t0 = time.process_time()
            try:
                decisions = pack.evaluate_many(part, as_of, engine=engine, batch=together)  # type: ignore[arg-type]
                results[engine] = [d.to_json() for d in decisions]
            except DocumentError as exc:  # both engines must refuse alike
                results[engine] = f"refused: {exc.errors}"
            times[engine] += time.process_time() - t0
        batches += 1
        a, b = results["durable"], results["reference"]
        if isinstance(a, str) or isinstance(b, str):
            refused += len(part)
            done += len(part)
            if a != b:
                differ += len(part)
            continue
        for x, y in zip(a, b, strict=True):
            if x == y:
                agree += 1
                outcomes[str(json.loads(x)["outcome"])] += 1
            else:
                differ += 1
                if shown < 3:
                    shown += 1
                    print(f"\nDIFFERENT on {as_of}:\n durable:   {x}\n reference: {y}")
        done += len(part)
        rate = done / max(time.monotonic() - started, 1e-9)
        print(
            f"\r  {done:>7}/{len(docs)} documents, {differ} different, {rate:,.0f}/s",
            end="",
            file=sys.stderr,
            flush=True,
        )
    print(file=sys.stderr)
    print(
        f"documents: {len(docs):,} in {batches:,} batches (~80% related, {args.batch} each) "
        f"at {len(dates):,} distinct dates, seed {args.seed}, pack {pack.name} {pack.version}"
    )
    print(f"identical decisions: {agree:,}; different: {differ:,}; refused alike: {refused:,}")
    print("outcomes: " + ", ".join(f"{k} {v:,}" for k, v in sorted(outcomes.items())))
    print(
        f"CPU seconds: durable-rules {times['durable']:.1f}, reference {times['reference']:.1f} "
        f"(durable/reference {times['durable'] / max(times['reference'], 1e-9):.2f}x); "
        f"wall {time.monotonic() - started:.0f} s"
    )
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
