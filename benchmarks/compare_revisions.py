"""Decision JSON before and after: this checkout against an older git revision, byte for byte.

Issue 22's one-off check that nothing a user sees changes. Generates documents of every kind
the pack decides (seeded perturbations of examples/ from benchmarks/engine.py and
benchmarks/fastpath.py, and documents drawn from the property-test strategies, recombined, as
benchmarks/differential.py does), groups them in batches at seeded random dates across the
regime's timeline (most batches evaluated together, so cross-document rules such as TR-10
relate transfers; the rest document by document), and evaluates the same plan twice in
subprocesses: once with this checkout's `vasp_rules`, once with the revision's, checked out
with `git worktree add` into a temporary folder and put first on PYTHONPATH (both are named
`vasp_rules`). Each side loads its own `rules/pk`. Prints identical / different counts per
kind, batches both refused alike (and any refused by one side only), and the first
differences in full; exits 1 if any decision differs.

    python benchmarks/compare_revisions.py REVISION [--count 20000] [--seed 11] [--batch 25]
        [--dates 150] [--drawn 1500]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIRST = date(2025, 3, 1)
DAYS = 365 * 4


def documents(count: int, seed: int, drawn_count: int) -> list[dict[str, Any]]:
    """`count` documents of every kind: a third perturbed examples (all four kinds), a third
    licence applications and transfers varied rule by rule (fastpath.py), a third drawn from the
    property-test strategies and recombined."""
    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "tests")]
    from differential import drawn, recombined
    from engine import synthetic
    from fastpath import licence_applications, transfers

    third = count // 3
    rest = count - 2 * third
    docs = (
        synthetic(third, seed)
        + licence_applications(third // 2, seed + 1)
        + transfers(third - third // 2, seed + 2)
        + recombined(drawn(min(drawn_count, rest), seed), rest, random.Random(seed))
    )
    random.Random(seed).shuffle(docs)
    return docs


def plan(docs: list[dict[str, Any]], seed: int, size: int, dates: int) -> list[dict[str, Any]]:
    """Batches of `size` documents, each at a date drawn from `dates` distinct ones (grouped by
    date, so each side compiles a date once); four in five evaluated together."""
    rng = random.Random(seed)
    pool = sorted(FIRST + timedelta(days=d) for d in rng.sample(range(DAYS), dates))
    starts = sorted((rng.choice(pool), at) for at in range(0, len(docs), size))
    return [
        {"as_of": day.isoformat(), "batch": rng.random() < 0.8, "documents": docs[at : at + size]}
        for day, at in starts
    ]


def worker(plan_file: str, pack: str) -> None:
    """Evaluate every batch of the plan with whichever `vasp_rules` is first on the path; one
    JSON line per batch on stdout: the decisions' JSON, or how the batch was refused."""
    import vasp_rules
    from vasp_rules import DocumentError, RulePack

    print(json.dumps({"vasp_rules": vasp_rules.__file__}), flush=True)
    loaded = RulePack.load(Path(pack))
    with open(plan_file, encoding="utf-8") as lines:
        for line in lines:
            part = json.loads(line)
            day = date.fromisoformat(part["as_of"])
            try:
                out: Any = [
                    d.to_json()
                    for d in loaded.evaluate_many(part["documents"], day, batch=part["batch"])
                ]
            except DocumentError as exc:
                out = f"refused: {exc.errors}"
            sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")


def run_side(tree: Path, plan_file: str) -> tuple[str, list[Any], float]:
    """The worker in a subprocess with `tree`'s vasp_rules first on the path and its pack."""
    env = dict(os.environ, PYTHONPATH=str(tree), VASP_RULES_CACHE="off")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, __file__, "--worker", plan_file, str(tree / "rules" / "pk")],
        env=env, capture_output=True, text=True, check=False, cwd=tree,
    )
    if done.returncode:
        sys.exit(f"the worker for {tree} failed:\n{done.stderr[-3000:]}")
    head, *rest = done.stdout.splitlines()
    return json.loads(head)["vasp_rules"], [json.loads(r) for r in rest], time.monotonic() - started


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("revision", help="the older git revision, e.g. e0f5b21")
    ap.add_argument("--count", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--batch", type=int, default=25, help="documents per batch")
    ap.add_argument("--dates", type=int, default=150, help="distinct as_of dates")
    ap.add_argument("--drawn", type=int, default=1500, help="documents drawn from strategies")
    args = ap.parse_args()
    docs = documents(args.count, args.seed, args.drawn)
    batches = plan(docs, args.seed, args.batch, args.dates)
    here = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(old),
                        args.revision], check=True)
        try:
            plan_file = str(Path(tmp) / "plan.jsonl")
            with open(plan_file, "w", encoding="utf-8") as out:
                for part in batches:
                    out.write(json.dumps(part, ensure_ascii=False) + "\n")
            new_at, new, new_s = run_side(ROOT, plan_file)
            old_at, before, old_s = run_side(old, plan_file)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)],
                           check=False)
    print(f"{len(docs):,} documents in {len(batches):,} batches of {args.batch} at "
          f"{len({b['as_of'] for b in batches})} dates (seed {args.seed}; "
          f"{sum(b['batch'] for b in batches)} batches evaluated together)")
    print(f"  after:  {here} ({new_at}), wall {new_s:.0f} s")
    print(f"  before: {args.revision} ({old_at}), wall {old_s:.0f} s")
    same: Counter[str] = Counter()
    differ: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    fired: Counter[str] = Counter()  # decisions in which each rule fired
    shown = 0
    for part, a, b in zip(batches, new, before, strict=True):
        kinds = [str(d.get("kind")) for d in part["documents"]]
        if isinstance(a, str) or isinstance(b, str):
            label = "refused alike" if a == b else (
                f"refused by {'after' if isinstance(a, str) else 'before'} only")
            refused[label] += len(kinds)
            if a != b and shown < 3:
                shown += 1
                print(f"\nREFUSED DIFFERENTLY on {part['as_of']}:\n after:  {a}\n before: {b}")
            continue
        for kind, x, y in zip(kinds, a, b, strict=True):
            if x == y:
                same[kind] += 1
                fired.update({f["rule_id"] for f in json.loads(x)["findings"]})
            else:
                differ[kind] += 1
                if shown < 3:
                    shown += 1
                    print(f"\nDIFFERENT ({kind}, {part['as_of']}):\n after:  {x}\n before: {y}")
    print("byte-identical decision JSON, per kind (identical / compared):")
    for kind in sorted(set(same) | set(differ)):
        total = same[kind] + differ[kind]
        print(f"  {kind:20s} {same[kind]:>7,} / {total:,}")
    print(f"  all                  {sum(same.values()):>7,} / "
          f"{sum(same.values()) + sum(differ.values()):,}; different: {sum(differ.values())}")
    print(f"  {len(fired)} rules fired on some identical decision; the cross-document TR-10 on "
          f"{fired['TR-10']:,}")
    for label, n in sorted(refused.items()):
        print(f"  documents in batches {label}: {n:,}")
    return 1 if differ or any(k != "refused alike" for k in refused) else 0


if __name__ == "__main__":
    sys.exit(main())
