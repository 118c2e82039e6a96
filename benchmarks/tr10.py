"""TR-10 (structuring) on one originator's transfers: CPU time as their number doubles.

Every transfer of the batch has the same originator and direction, below the threshold, and they
are --gap minutes apart, so a 24-hour window holds about 24 * 60 / gap of them whatever n is:
with the keyed plan (an equality key plus a time window, also inside TR-10's nested quantifier)
each doubling of n should double the total time (x2.0), not quadruple it (x4.0, a full scan).
A smaller --gap makes the windows denser: TR-10 of pack 0.3.0 nests a window inside a window,
so it visits the square of the window's population per transfer; the compiled, memoised batch
quantifiers keep each visit cheap (docs/engine.md).
Figures are ratios measured in the same run (the machine is shared and noisy).

    python benchmarks/tr10.py [--gap 60] [--sizes 500 1000 2000]
"""

from __future__ import annotations

import argparse
import copy
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gap", type=float, default=60.0, help="minutes between transfers")
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000])
    args = parser.parse_args()
    pack = RulePack.load("pk")
    pack.evaluate_many(transfers(50, args.gap), AS_OF)  # compile and warm up
    per_window = int(24 * 60 / args.gap) + 1
    print(f"== TR-10: one originator, a transfer every {args.gap:g} min "
          f"(about {per_window} in a 24-hour window)")
    previous: tuple[float, int] | None = None
    for n in args.sizes:
        docs = transfers(n, args.gap)
        cpu = time.process_time()
        decisions = pack.evaluate_many(docs, AS_OF)
        cpu = time.process_time() - cpu
        referred = sum("TR-10" in d.fired for d in decisions)
        growth = ""
        if previous is not None:
            growth = f"  x{cpu / previous[0]:.2f} for x{n / previous[1]:g} transfers"
        print(f"  n={n:>6,}: {cpu:7.2f} s CPU, {cpu / n * 1e3:6.2f} ms/transfer, "
              f"TR-10 referred {referred:,}{growth}")
        previous = (cpu, n)


if __name__ == "__main__":
    main()
