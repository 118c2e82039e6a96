"""Decision-log throughput: records/s appended one per transaction and in batches, records/s
verified, and the time to replay one decision with the bundled PK pack.

Run: ``python benchmarks/audit.py [--records N]`` (from the repository root). Appends one per
transaction are bounded by fsync (synchronous=FULL), so the numbers depend on the disk.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from vasp_rules import RulePack
from vasp_rules.audit import DecisionLog, default_pack_loader, replay, verify_log
from vasp_rules.decision import Decision

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2025, 7, 1)


def _pairs(pack: RulePack, n: int) -> list[tuple[Decision, dict[str, Any]]]:
    examples = sorted((ROOT / "examples").glob("*.json"))
    base = []
    for example in examples:
        document = json.loads(example.read_text(encoding="utf-8"))
        base.append((pack.evaluate(document, AS_OF), document))
    return [base[i % len(base)] for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=2000)
    args = parser.parse_args()
    pack = RulePack.load(ROOT / "rules" / "pk")
    pairs = _pairs(pack, args.records)
    singles = max(1, args.records // 10)

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        with DecisionLog.open(db, write=True) as log:
            start = time.perf_counter()
            for decision, document in pairs[:singles]:
                log.record(decision, document, pack)
            one_each = singles / (time.perf_counter() - start)

            start = time.perf_counter()
            for i in range(0, len(pairs), 100):
                log.record_many(pairs[i : i + 100], pack)
            batched = len(pairs) / (time.perf_counter() - start)

        total = singles + len(pairs)
        start = time.perf_counter()
        report = verify_log(db)
        verified = total / (time.perf_counter() - start)
        assert report.ok, report.summary()

        with DecisionLog.open(db) as log:
            loader = default_pack_loader()
            start = time.perf_counter()
            result = replay(log, 1, loader)
            replay_s = time.perf_counter() - start
            assert result.same, result.diff()
        size = db.stat().st_size

    print(f"pack files stored once: {len(pack.files)} files")
    print(f"record, one per transaction: {one_each:8.0f} records/s ({singles} records)")
    print(f"record_many, 100 per batch:  {batched:8.0f} records/s ({len(pairs)} records)")
    print(f"verify:                      {verified:8.0f} records/s ({total} records)")
    print(f"replay one decision:         {replay_s * 1000:8.0f} ms (load pack + evaluate)")
    print(f"log size:                    {size / total:8.0f} bytes/record")


if __name__ == "__main__":
    main()
