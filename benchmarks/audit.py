"""Decision-log throughput: records/s appended one per transaction and in batches, records/s
verified, and the time to replay one decision with the bundled PK pack; each measured in clear
and with the personal data sealed (key store beside the log), with the ratio; and the size of a
log of ``--size-records`` records both ways.

Run: ``python benchmarks/audit.py [--records N] [--size-records M]`` (from the repository root).
Appends one per transaction are bounded by fsync (synchronous=FULL), so the numbers depend on the
disk.
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
from vasp_rules.audit import KEYS_BESIDE, DecisionLog, default_pack_loader, replay, verify_log
from vasp_rules.model.decision import Decision

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2025, 7, 1)
MODES = {"clear": None, "sealed": KEYS_BESIDE}


def _pairs(pack: RulePack, n: int) -> list[tuple[Decision, dict[str, Any]]]:
    examples = sorted((ROOT / "examples").glob("*.json"))
    base = []
    for example in examples:
        document = json.loads(example.read_text(encoding="utf-8"))
        base.append((pack.evaluate(document, AS_OF), document))
    return [base[i % len(base)] for i in range(n)]


def _files_size(db: Path) -> int:
    """The log's bytes on disk, with its key store (and any -wal left behind)."""
    names = [db.name, db.name + "-wal", db.name + "-keys", db.name + "-keys-wal"]
    return sum(p.stat().st_size for p in (db.with_name(n) for n in names) if p.exists())


def _measure(pack: RulePack, pairs: list[Any], singles: int, keys: Any) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        with DecisionLog.open(db, write=True, keys=keys) as log:
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

        with DecisionLog.open(db, keys=keys) as log:
            loader = default_pack_loader()
            start = time.perf_counter()
            result = replay(log, 1, loader)
            replay_s = time.perf_counter() - start
            assert result.same, result.diff()
        return {
            "one_each": one_each,
            "batched": batched,
            "verified": verified,
            "replay_ms": replay_s * 1000,
            "bytes_per_record": _files_size(db) / total,
            "total": total,
        }


def _size(pack: RulePack, pairs: list[Any], keys: Any) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "size.db"
        with DecisionLog.open(db, write=True, keys=keys) as log:
            for i in range(0, len(pairs), 500):
                log.record_many(pairs[i : i + 500], pack)
        return _files_size(db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--size-records", type=int, default=10_000)
    args = parser.parse_args()
    pack = RulePack.load(ROOT / "rules" / "pk")
    pairs = _pairs(pack, args.records)
    singles = max(1, args.records // 10)
    runs = {mode: _measure(pack, pairs, singles, keys) for mode, keys in MODES.items()}

    print(f"pack files stored once: {len(pack.files)} files")
    rows = [
        ("record, one per transaction", "one_each", "records/s", f"{singles} records"),
        ("record_many, 100 per batch", "batched", "records/s", f"{len(pairs)} records"),
        ("verify", "verified", "records/s", f"{singles + len(pairs)} records"),
        ("replay one decision", "replay_ms", "ms", "load pack + evaluate"),
        ("log + key store size", "bytes_per_record", "bytes/record", ""),
    ]
    print(f"{'':30} {'clear':>10} {'sealed':>10} {'sealed/clear':>13}")
    for label, key, unit, note in rows:
        clear, sealed = runs["clear"][key], runs["sealed"][key]
        print(
            f"{label + ':':30} {clear:10.0f} {sealed:10.0f} {sealed / clear:13.2f}  {unit} {note}"
        )

    sized = _pairs(pack, args.size_records)
    clear_size, sealed_size = (_size(pack, sized, keys) for keys in MODES.values())
    print(
        f"a {args.size_records}-record log: {clear_size / 1e6:.1f} MB in clear, "
        f"{sealed_size / 1e6:.1f} MB sealed with its key store ({sealed_size / clear_size:.2f}x)"
    )


if __name__ == "__main__":
    main()
