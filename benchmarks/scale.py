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
  hot      issue 23, dense windows (CPU time, one process):
           - CPU per hot transfer: one originator sending k transfers of USD 300 inside one
             24-hour window, among 1,000 transfers of distinct originators, k = 25 .. 6,400
             (the cost of the 1,000 alone, measured in the same process, is subtracted)
           - the population sweep: 5% of the transfers from one originator, spread over 10
             days, `evaluate_many` of the whole population at n = 8,000 .. 64,000
           - 2,000 transfers of one originator at one instant against 2,000 transfers of
             distinct originators at that instant

    python benchmarks/scale.py [rss] [linear] [workers] [dask] [hot] [--quick | --divide N]
    python benchmarks/scale.py hot [--hot-max K] [--sweep-max N] [--instant N]

`hot` is not in the default set (it takes several minutes); --hot-max and --sweep-max stop the
hot-transfer and sweep series at those sizes (e.g. --hot-max 1600 --sweep-max 32000); --instant
sets how many transfers share the instant (0: skip it).

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

from support.addresses import wallet_for  # noqa: E402

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


# -- hot (issue 23) ---------------------------------------------------------------------------
def _transfer(i: int, who: str, at: datetime, amount: str = "300.00") -> dict[str, Any]:
    doc = copy.deepcopy(TEMPLATES["transfer"])
    doc["transfer_id"] = f"TX-{i:08d}"
    origin = doc["originator"]
    origin["account_or_wallet"] = who
    origin.pop("customer_id", None)
    origin.pop("national_id", None)
    doc["value"] = {"amount": amount, "currency": "USD"}
    doc["amount"] = amount
    doc["executed_at"] = at.isoformat() + "+05:00"
    doc["data_transmitted_at"] = (at - timedelta(seconds=1)).isoformat() + "+05:00"
    doc["settled_at"] = (at + timedelta(seconds=60)).isoformat() + "+05:00"
    return doc


def hot_batch(k: int, others: int = 1_000) -> list[dict[str, Any]]:
    """k transfers of one originator spread over one 24-hour window (USD 300 each), then
    `others` transfers of distinct originators over the same day."""
    start = datetime(2026, 3, 1, 9, 0)
    docs = [_transfer(i, "CUST-HOT", start + timedelta(seconds=86_399 * i // k)) for i in range(k)]
    docs += [
        _transfer(k + j, f"CUST-{j:08d}", start + timedelta(seconds=86_399 * j // others))
        for j in range(others)
    ]
    return docs


def sweep_batch(n: int, seed: int = 3) -> list[dict[str, Any]]:
    """n transfers over 10 days; 5% from one originator, the rest from distinct ones."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 1, 9, 0)
    out = []
    for i in range(n):
        who = "CUST-HEAVY" if rng.random() < 0.05 else f"CUST-{i:08d}"
        amount = f"{rng.randrange(100, 1500)}.00"
        out.append(_transfer(i, who, start + timedelta(seconds=864_000 * i // n), amount))
    return out


def _cpu(pack: RulePack, docs: list[dict[str, Any]]) -> tuple[float, int]:
    cpu = time.process_time()
    decisions = pack.evaluate_many(docs, AS_OF)
    cpu = time.process_time() - cpu
    return cpu, sum(1 for d in decisions if "TR-10" in d.fired)


def bench_hot(pack: RulePack, hot_max: int, sweep_max: int, instant: int = 2_000) -> None:
    print("== hot: dense windows, CPU time in this process")
    _cpu(pack, hot_batch(25, 100))  # compile the pack's date first
    base, _ = _cpu(pack, hot_batch(0))
    per_hot: dict[int, float] = {}
    for k in (25, 100, 400, 1_600, 6_400):
        if k > hot_max:
            break
        cpu, fired = _cpu(pack, hot_batch(k))
        per_hot[k] = (cpu - base) / k
        growth = f"x{per_hot[k] / per_hot[25]:.2f} of k=25" if k > 25 else ""
        print(f"  k={k:>5,} in 24 h among 1,000 others: {per_hot[k] * 1e3:7.2f} ms CPU per hot "
              f"transfer ({cpu:6.1f} s in all, {fired:,} referred)  {growth}")
    if 1_600 in per_hot:
        print(f"  k=25 -> 1,600: x{per_hot[1_600] / per_hot[25]:.2f} (target <= 2)")
    totals: list[float] = []
    for n in (8_000, 16_000, 32_000, 64_000):
        if n > sweep_max:
            break
        cpu, fired = _cpu(pack, sweep_batch(n))
        totals.append(cpu)
        growth = f"x{totals[-1] / totals[-2]:.2f} per doubling" if len(totals) > 1 else ""
        print(f"  sweep n={n:>6,} (5% one originator, 10 days): {cpu:7.1f} s CPU "
              f"({cpu / n * 1e3:.2f} ms/doc, {fired:,} referred)  {growth}")
    if len(totals) > 1:
        growth = (totals[-1] / totals[0]) ** (1 / (len(totals) - 1))
        print(f"  sweep growth per doubling: x{growth:.2f} (target <= 2.2)")
    at = datetime(2026, 3, 1, 9, 0)
    if not instant:
        return
    one = [_transfer(i, "CUST-HOT", at) for i in range(instant)]
    spread = [_transfer(i, f"CUST-{i:08d}", at) for i in range(instant)]
    cpu_spread, _ = _cpu(pack, spread)
    cpu_one, fired = _cpu(pack, one)
    print(f"  {instant:,} at one instant: one originator {cpu_one:.1f} s CPU ({fired:,} referred), "
          f"distinct originators {cpu_spread:.1f} s: x{cpu_one / cpu_spread:.2f} (target <= 2)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("parts", nargs="*", default=["rss", "linear", "workers", "dask"])
    parser.add_argument("--quick", action="store_true", help="every size divided by 10")
    parser.add_argument("--divide", type=int, default=0, help="every size divided by N")
    parser.add_argument("--stream-args", default="", help="extra evaluate options for rss")
    parser.add_argument("--hot-max", type=int, default=6_400, help="largest k of `hot`")
    parser.add_argument("--sweep-max", type=int, default=64_000, help="largest n of the sweep")
    parser.add_argument("--instant", type=int, default=2_000, help="transfers at one instant")
    args = parser.parse_args()
    scale = args.divide or (10 if args.quick else 1)
    pack = RulePack.load("pk")
    if "hot" in args.parts:
        bench_hot(pack, args.hot_max, args.sweep_max, args.instant)
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
