"""Population scale: memory of a stream, linear cross-document rules, workers, Dask.

Prints, on this machine, each figure of issue 9 (every run measures its own baseline in the same
process: this machine is shared and noisy, so compare the ratios, not the absolute figures):

  rss      peak RSS of `vasp-rules evaluate - --as-of D -o /dev/null` streaming 100,000 and
           1,000,000 generated documents (all four kinds) through standard input, and the growth
  linear   CPU time per document at n = 10,000 .. 80,000 for transfers where one originator holds
           5% of all transfers, and amnesty declarations where 20% share a wallet, with the
           growth per doubling (linear: 1.0; quadratic: 2.0)
  workers  2 workers against 1 on 50,000 independent documents (wall time), identical decisions
  dask     a LocalCluster of 2 worker processes against one process on the same input

    python benchmarks/scale.py [rss] [linear] [workers] [dask] [--quick | --divide N]

--quick divides every size by 10 (a smoke run). Generated populations: transfers are spaced 30
seconds apart (2,880 a day, so one originator's 24-hour window holds about 144 of its
transfers whatever n is); a declaration that shares a wallet shares it with about one other.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from addresses import wallet_for  # noqa: E402

from vasp_rules import RulePack  # noqa: E402

AS_OF = date(2026, 6, 1)
KINDS = ["licence_application", "customer", "amnesty_declaration", "transfer"]
TEMPLATES = {k: json.loads((ROOT / "examples" / f"{k}.json").read_text()) for k in KINDS}


def transfers(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """n transfers 30 s apart; one originator holds 5% of them, the rest are spread."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 1, 9, 0)
    out = []
    for i in range(n):
        doc = copy.deepcopy(TEMPLATES["transfer"])
        doc["transfer_id"] = f"TX-{i:08d}"
        big = rng.random() < 0.05
        who = "CUST-HEAVY" if big else f"CUST-{rng.randrange(n):08d}"
        doc["originator"]["account_or_wallet"] = who
        amount = rng.randrange(100, 1500)
        doc["value"] = {"amount": f"{amount}.00", "currency": "USD"}
        doc["amount"] = f"{amount}.00"
        at = start + timedelta(seconds=30 * i)
        doc["executed_at"] = at.isoformat() + "+05:00"
        doc["data_transmitted_at"] = (at - timedelta(seconds=1)).isoformat() + "+05:00"
        doc["settled_at"] = (at + timedelta(seconds=60)).isoformat() + "+05:00"
        out.append(doc)
    return out


def declarations(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """n declarations; 20% declare a wallet that another declaration also declares."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        doc = copy.deepcopy(TEMPLATES["amnesty_declaration"])
        doc["declaration_id"] = f"VDA-2026-{i:07d}"
        for j, holding in enumerate(doc["holdings"]):
            holding["wallet_address"] = wallet_for(holding, f"{i:07d}x{j}")
        if rng.random() < 0.2:
            shared = f"shared{rng.randrange(max(1, n // 10)):07d}"
            doc["holdings"][0]["wallet_address"] = wallet_for(doc["holdings"][0], shared)
        out.append(doc)
    return out


def mixed(n: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """n documents of the four kinds, generated lazily (unique ids, varied facts)."""
    rng = random.Random(seed)
    for i in range(n):
        kind = KINDS[i % 4]
        doc = copy.deepcopy(TEMPLATES[kind])
        if kind == "licence_application":
            doc["application_id"] = f"APP-{i}"
            doc["firm"]["paid_up_capital"]["amount"] = str(rng.randrange(10**6, 10**9))
        elif kind == "customer":
            doc["customer_id"] = f"CUST-{i:08d}"
            doc["risk_rating"] = rng.choice(["LOW", "MEDIUM", "HIGH"])
        elif kind == "amnesty_declaration":
            doc["declaration_id"] = f"VDA-2026-{i:07d}"
            for j, holding in enumerate(doc["holdings"]):
                holding["wallet_address"] = wallet_for(holding, f"{i:07d}x{j}")
        else:
            doc["transfer_id"] = f"TX-{i:08d}"
            doc["originator"]["account_or_wallet"] = f"CUST-{rng.randrange(n):08d}"
            at = datetime(2026, 3, 1) + timedelta(seconds=30 * i)
            doc["executed_at"] = at.isoformat() + "+05:00"
        yield doc


# -- rss ------------------------------------------------------------------------------------
def _tree_rss(pid: int) -> int:
    """Resident memory (bytes) of a process and its descendants."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def stream_rss(n: int, extra: list[str]) -> tuple[int, float]:
    """Peak RSS of one streaming run of n generated documents, and its wall time."""
    exe = Path(sys.executable).parent / "vasp-rules"
    cmd = [str(exe), "evaluate", "-", "--as-of", AS_OF.isoformat(), "-o", os.devnull, *extra]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            stop.wait(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert proc.stdin is not None
    for doc in mixed(n):
        proc.stdin.write((json.dumps(doc) + "\n").encode())
    proc.stdin.close()
    code = proc.wait()
    stop.set()
    sampler.join()
    if code != 0:
        raise SystemExit(f"streaming run failed with exit code {code}")
    return peak[0], time.perf_counter() - start


def bench_rss(scale: int, extra: list[str]) -> None:
    print(f"== rss: streaming generated documents (all four kinds) {' '.join(extra)}")
    sizes = [100_000 // scale, 1_000_000 // scale]
    peaks = []
    for n in sizes:
        peak, wall = stream_rss(n, extra)
        peaks.append(peak)
        print(f"  n={n:>9,}: peak RSS {peak / 2**20:7.1f} MB  ({wall:,.0f} s wall, "
              f"{wall / n * 1e3:.2f} ms/doc)")
    print(f"  growth from {sizes[0]:,} to {sizes[1]:,}: {(peaks[1] - peaks[0]) / 2**20:+.1f} MB "
          "(target: under 50 MB)")


# -- linear ---------------------------------------------------------------------------------
def bench_linear(pack: RulePack, scale: int) -> None:
    print("== linear: CPU time per document, cross-document rules in one batch")
    sizes = [10_000 // scale, 20_000 // scale, 40_000 // scale, 80_000 // scale]
    for label, make in (("transfers, one originator 5%", transfers),
                        ("declarations, 20% share a wallet", declarations)):
        per_doc: list[float] = []
        for n in sizes:
            docs = make(n)
            cpu = time.process_time()
            wall = time.perf_counter()
            decisions = pack.evaluate_many(docs, AS_OF)
            cpu = time.process_time() - cpu
            wall = time.perf_counter() - wall
            per_doc.append(cpu / n)
            fired = sum(1 for d in decisions if any(r in d.fired for r in ("TR-10", "AMN-14")))
            growth = f"x{per_doc[-1] / per_doc[-2]:.2f} per doubling" if len(per_doc) > 1 else ""
            print(f"  {label:<34} n={n:>6,}: {cpu / n * 1e3:6.3f} ms/doc CPU "
                  f"({wall / n * 1e3:6.3f} wall), {fired:,} referred  {growth}")
        print(f"  {label:<34} growth over the whole range per doubling: "
              f"x{(per_doc[-1] / per_doc[0]) ** (1 / 3):.2f} (per document; total x"
              f"{2 * (per_doc[-1] / per_doc[0]) ** (1 / 3):.2f}; target total <= 2.2)")


# -- workers --------------------------------------------------------------------------------
def bench_workers(pack: RulePack, scale: int) -> None:
    n = 50_000 // scale
    docs = list(mixed(n))
    print(f"== workers: {n:,} independent documents (batch=False), wall time")
    pack.worker_pool(2)  # started once, as a long-running user would keep it
    start = time.perf_counter()
    one = pack.evaluate_many(docs, AS_OF, batch=False)
    t1 = time.perf_counter() - start
    start = time.perf_counter()
    two = pack.evaluate_many(docs, AS_OF, batch=False, workers=2)
    t2 = time.perf_counter() - start
    same = [d.to_json() for d in one] == [d.to_json() for d in two]
    print(f"  1 process: {t1:,.1f} s   2 workers: {t2:,.1f} s   speed-up x{t1 / t2:.2f} "
          f"(target >= 1.8)   identical decisions: {same}")
    pack.close()


# -- dask -----------------------------------------------------------------------------------
def bench_dask(pack: RulePack, scale: int) -> None:
    try:
        from vasp_rules.scale.dask import evaluate_bag
    except ImportError as exc:
        print(f"== dask: skipped ({exc}; pip install 'vasp-rules[dask]')")
        return
    import dask.bag as db
    from dask.distributed import Client, LocalCluster

    n = 20_000 // scale
    docs = transfers(n // 2) + declarations(n // 2)
    print(f"== dask: {n:,} documents with cross-document rules, LocalCluster (2 workers) "
          "against one process")
    start = time.perf_counter()
    one = [d.to_json(indent=None) for d in pack.evaluate_many(docs, AS_OF)]
    t1 = time.perf_counter() - start
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        bag = db.from_sequence(docs, npartitions=8)
        start = time.perf_counter()
        out = evaluate_bag(pack, bag, AS_OF, client=client)
        t2 = time.perf_counter() - start
    print(f"  one process: {t1:,.1f} s   LocalCluster: {t2:,.1f} s   ratio x{t1 / t2:.2f}   "
          f"identical decisions: {out == one}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("parts", nargs="*", default=["rss", "linear", "workers", "dask"])
    parser.add_argument("--quick", action="store_true", help="every size divided by 10")
    parser.add_argument("--divide", type=int, default=0, help="every size divided by N")
    parser.add_argument("--stream-args", default="", help="extra evaluate options for rss")
    args = parser.parse_args()
    scale = args.divide or (10 if args.quick else 1)
    pack = RulePack.load("pk")
    if "linear" in args.parts:
        bench_linear(pack, scale)
    if "workers" in args.parts:
        bench_workers(pack, scale)
    if "dask" in args.parts:
        bench_dask(pack, scale)
    if "rss" in args.parts:
        bench_rss(scale, args.stream_args.split())


if __name__ == "__main__":
    main()
