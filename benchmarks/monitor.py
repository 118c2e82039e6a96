"""`vasp-rules monitor` at length: memory stays bounded by the window, not the stream.

Generates --count transfers (30 s apart, so about 2,880 in a 24-hour window; one originator
sends --hot-share of them, the rest come from distinct originators), pushes them one by one
through a Monitor (as the command does, without the file I/O) and prints, at each tenth of the
stream, the resident set size now and at its peak, the transfers the state holds and the CPU
time per transfer since the previous line. The issue asks for 1,000,000 transfers; at a few
milliseconds each that takes about an hour: --count sets a shorter run.

    python benchmarks/monitor.py [--count 1000000] [--hot-share 0.05]

--density K [K ...]: CPU per transfer of one originator sending K transfers of USD 300 inside
one 24-hour window, among 1,000 transfers of distinct originators (the issue's yardstick, here
decided on arrival), against the quiet transfers' CPU in the same run.

    python benchmarks/monitor.py --density 25 100 400
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import resource
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vasp_rules import RulePack  # noqa: E402
from vasp_rules.scale.monitor import Decided, GroupAlert, Monitor  # noqa: E402

AS_OF = date(2026, 6, 1)
TEMPLATE = json.loads((ROOT / "examples" / "transfer.json").read_text())


def lines(n: int, hot_share: float, seed: int = 1) -> Iterator[str]:
    """n transfers as JSON lines, 30 s apart, of USD 100 to 1,499."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 1, 9, 0)
    for i in range(n):
        doc = copy.deepcopy(TEMPLATE)
        doc["transfer_id"] = f"TX-{i:08d}"
        who = "CUST-HEAVY" if rng.random() < hot_share else f"CUST-{i:08d}"
        origin = doc["originator"]
        origin["account_or_wallet"] = origin["customer_id"] = who
        origin["national_id"] = f"42101{i:08d}" if who != "CUST-HEAVY" else "4210100000000"
        amount = rng.randrange(100, 1500)
        doc["value"] = {"amount": f"{amount}.00", "currency": "USD"}
        doc["amount"] = f"{amount}.00"
        at = start + timedelta(seconds=30 * i)
        doc["executed_at"] = at.isoformat() + "+05:00"
        doc["data_transmitted_at"] = (at - timedelta(seconds=1)).isoformat() + "+05:00"
        doc["settled_at"] = (at + timedelta(seconds=60)).isoformat() + "+05:00"
        yield json.dumps(doc)


def density(k: int) -> tuple[float, float]:
    """(ms CPU per hot transfer, per quiet transfer): k hot among 1,000 quiet in 24 hours."""
    docs = [json.loads(t) for t in lines(1000, 0.0, seed=k)]
    start = datetime(2026, 3, 1, 9, 0)
    for j, doc in enumerate(docs):  # the quiet ones spread over the same 24 hours
        at = start + timedelta(seconds=86_000 * j / 1000)
        doc["executed_at"] = at.isoformat() + "+05:00"
    hot = []
    for j in range(k):
        doc = copy.deepcopy(docs[j])
        doc["transfer_id"] = f"HOT-{j:06d}"
        origin = doc["originator"]
        origin["account_or_wallet"] = origin["customer_id"] = "CUST-HOT"
        origin["national_id"] = "4210100000000"
        doc["value"] = {"amount": "300.00", "currency": "USD"}
        doc["amount"] = "300.00"
        doc["executed_at"] = (start + timedelta(seconds=86_000 * j / k)).isoformat() + "+05:00"
        hot.append(doc)
    merged = sorted(docs + hot, key=lambda d: d["executed_at"])
    monitor = Monitor(RulePack.load("pk"), as_of=AS_OF)
    spent = {True: 0.0, False: 0.0}
    for number, doc in enumerate(merged, start=1):
        text = json.dumps(doc)
        cpu = time.process_time()
        monitor.push(text, number)
        spent[doc["transfer_id"].startswith("HOT")] += time.process_time() - cpu
    return spent[True] / k * 1e3, spent[False] / 1000 * 1e3


def rss_mb() -> float:
    """The resident set size now (Linux /proc), in MB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--hot-share", type=float, default=0.05)
    parser.add_argument("--density", type=int, nargs="+")
    args = parser.parse_args()
    if args.density:
        print("monitor: one originator's k transfers in 24 hours among 1,000 quiet ones")
        for k in args.density:
            hot, quiet = density(k)
            print(f"  k={k:>5,}: {hot:8.2f} ms CPU per hot transfer, {quiet:6.2f} ms per quiet")
        return
    pack = RulePack.load("pk")
    monitor = Monitor(pack, as_of=AS_OF)
    step = max(1, args.count // 10)
    referred = alerts = 0
    cpu = time.process_time()
    print(f"monitor: {args.count:,} transfers, {args.hot_share:.1%} from one originator")
    for number, text in enumerate(lines(args.count, args.hot_share), start=1):
        for event in monitor.push(text, number):
            if isinstance(event, GroupAlert):
                alerts += 1
                referred += len(event.newly_referred)
            elif isinstance(event, Decided) and any(
                f.rule_id == "TR-10" for f in event.decision.findings
            ):
                referred += 1
        if number % step == 0 or number == args.count:
            now = time.process_time()
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # KiB on Linux
            print(
                f"  {number:>9,} transfers: RSS {rss_mb():6.1f} MB (peak {peak:6.1f} MB), "
                f"holding {monitor.held:,}, {(now - cpu) / step * 1e3:5.2f} ms CPU per "
                f"transfer, {referred:,} referred for TR-10, {alerts:,} group alerts",
                flush=True,
            )
            cpu = now


if __name__ == "__main__":
    main()
