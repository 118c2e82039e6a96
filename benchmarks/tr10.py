"""TR-10 (structuring) on one originator's transfers: CPU time as their number doubles.

Every transfer of the batch has the same originator and direction, below the threshold, and they
are --gap minutes apart, so a 24-hour window holds about 24 * 60 / gap of them whatever n is:
with the keyed plan (an equality key plus a time window, also inside TR-10's nested quantifier)
each doubling of n should double the total time (x2.0), not quadruple it (x4.0, a full scan).
A smaller --gap makes the windows denser: TR-10 of pack 0.3.0 nests a window inside a window,
so it visits the square of the window's population per transfer; the compiled, memoised batch
quantifiers keep each visit cheap (docs/engine.md).
Figures are ratios measured in the same run (the machine is shared and noisy).

--chains: originators identified transitively (TR-10 of pack 0.4.0, `linked(...)`): each
originator's --chain transfers form one chain, each sharing its account with the previous
transfer and its national ID with the next (no two others share anything), and the originators'
chains run side by side in time. Also times the grouping alone (the batch's components by
union-find) on batches 8 times larger.

    python benchmarks/tr10.py [--gap 60] [--sizes 500 1000 2000]
    python benchmarks/tr10.py --chains [--chain 500] [--sizes 1000 2000 4000 8000]
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vasp_rules import RulePack  # noqa: E402

AS_OF = date(2026, 6, 1)
TEMPLATE = json.loads((ROOT / "examples" / "transfer.json").read_text())


def transfers(n: int, gap_minutes: float) -> list[dict[str, Any]]:
    """n transfers of one originator, gap_minutes apart, of 100 to 1,499 USD."""
    start = datetime(2026, 3, 1, 9, 0)
    out = []
    for i in range(n):
        doc = copy.deepcopy(TEMPLATE)
        doc["transfer_id"] = f"TX-{i:07d}"
        doc["originator"]["account_or_wallet"] = "CUST-ONE"
        amount = 100 + (i * 37) % 1400
        doc["value"] = {"amount": f"{amount}.00", "currency": "USD"}
        doc["amount"] = f"{amount}.00"
        at = start + timedelta(minutes=gap_minutes * i)
        doc["executed_at"] = at.isoformat() + "+05:00"
        doc["data_transmitted_at"] = (at - timedelta(seconds=1)).isoformat() + "+05:00"
        doc["settled_at"] = (at + timedelta(seconds=60)).isoformat() + "+05:00"
        out.append(doc)
    return out


def chained(n: int, gap_minutes: float, chain: int) -> list[dict[str, Any]]:
    """n transfers, originators of `chain` transfers each, linked only along the chain."""
    docs = transfers(n, gap_minutes)
    start = datetime(2026, 3, 1, 9, 0)
    for i, doc in enumerate(docs):
        who, step = divmod(i, chain)
        origin = doc["originator"]
        origin["account_or_wallet"] = f"W-{who}-{step // 2}"  # shared with one neighbour
        origin["national_id"] = f"N-{who}-{(step + 1) // 2}"  # shared with the other one
        origin["customer_id"] = f"C-{i}"  # shared with nobody
        at = start + timedelta(minutes=gap_minutes * step)  # the chains run side by side
        doc["executed_at"] = at.isoformat() + "+05:00"
        doc["data_transmitted_at"] = (at - timedelta(seconds=1)).isoformat() + "+05:00"
        doc["settled_at"] = (at + timedelta(seconds=60)).isoformat() + "+05:00"
    return docs


def grouping_only(pack: RulePack, sizes: list[int], gap: float, chain: int) -> None:
    """CPU time of the batch's components alone (the keys' value index and union-find), the
    best of three runs per size, without the garbage collector's passes over the documents."""
    from vasp_rules.runtime.evaluate import batch_view, context_for
    from vasp_rules.runtime.rulepack import _item

    compiled = pack.compiled(AS_OF)
    keys = (
        ("originator", "account_or_wallet"),
        ("originator", "customer_id"),
        ("originator", "national_id"),
    )
    print("== the grouping alone: linked(...)'s components of the whole batch")
    previous: tuple[float, int] | None = None
    for n in sizes:
        items = [_item(d, i) for i, d in enumerate(chained(n, gap, chain))]
        best = float("inf")
        for _ in range(3):  # the best of three: the machine is shared
            view = batch_view(items)  # a fresh view: the value indexes are built again
            ctx = context_for(compiled, items[0], view)
            gc.collect()  # not a collection of the documents made above, inside the timing
            gc.disable()
            cpu = time.process_time()
            found = view.components("transfer", keys, ctx)
            best = min(best, time.process_time() - cpu)
            gc.enable()
        groups = len(set(found.values()))
        print(f"  n={n:>7,}: {best * 1e3:8.1f} ms CPU, {best / n * 1e6:6.2f} µs/transfer, "
              f"{groups:,} originators{_growth(best, n, previous)}")
        previous = (best, n)


def _growth(cpu: float, n: int, previous: tuple[float, int] | None) -> str:
    """How much the time grew since the previous size, and the size with it."""
    if previous is None:
        return ""
    return f"  x{cpu / previous[0]:.2f} for x{n / previous[1]:g} transfers"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gap", type=float, default=60.0, help="minutes between transfers")
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    parser.add_argument("--chains", action="store_true", help="originators linked in chains")
    parser.add_argument("--chain", type=int, default=500, help="transfers per chain")
    args = parser.parse_args()
    sizes = args.sizes or ([1000, 2000, 4000, 8000] if args.chains else [500, 1000, 2000])
    pack = RulePack.load("pk")
    pack.evaluate_many(transfers(50, args.gap), AS_OF)  # compile and warm up
    per_window = int(24 * 60 / args.gap) + 1
    if args.chains:
        print(f"== TR-10: originators of {args.chain} transfers chained by account and "
              f"national ID, a transfer every {args.gap:g} min each (about {per_window} of "
              "an originator's in a 24-hour window)")
    else:
        print(f"== TR-10: one originator, a transfer every {args.gap:g} min "
              f"(about {per_window} in a 24-hour window)")
    previous: tuple[float, int] | None = None
    for n in sizes:
        docs = chained(n, args.gap, args.chain) if args.chains else transfers(n, args.gap)
        cpu = time.process_time()
        decisions = pack.evaluate_many(docs, AS_OF)
        cpu = time.process_time() - cpu
        referred = sum("TR-10" in d.fired for d in decisions)
        print(f"  n={n:>6,}: {cpu:7.2f} s CPU, {cpu / n * 1e3:6.2f} ms/transfer, "
              f"TR-10 referred {referred:,}{_growth(cpu, n, previous)}")
        previous = (cpu, n)
    if args.chains:
        grouping_only(pack, [8 * n for n in sizes], args.gap, args.chain)


if __name__ == "__main__":
    main()
