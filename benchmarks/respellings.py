"""The adversarial corpus of respellings: how many are refused, how many decided the same.

Every respelling in tests/support/respellings.py (hidden characters appended, leading, inside
and twice; Unicode spaces around and inside; homoglyphs; fullwidth forms; case where the chain
ignores it) of the shared wallet of examples/batches/amnesty_shared_wallet.json and of the
originator keys of examples/batches/transfers_structuring.json. None may be decided
differently.

    python benchmarks/respellings.py
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support.respellings import TARGETS, decide, load, respelt_batches  # noqa: E402

from vasp_rules import RulePack  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.parse_args()
    pack = RulePack.load("pk")
    base = {name: decide(pack, load(name)) for name in {t[0] for t in TARGETS}}
    counts: Counter[str] = Counter()
    for label, docs in respelt_batches():
        name, field = label.split()[0], label.split(":")[0].split()[1]
        got = decide(pack, docs)
        verdict = (
            "refused" if isinstance(got, str) else "same" if got == base[name] else "DIFFERENT"
        )
        counts[verdict] += 1
        counts[f"{name} {field} {verdict}"] += 1
        if verdict == "DIFFERENT":
            print(f"decided differently: {label}")
    total = counts["refused"] + counts["same"] + counts["DIFFERENT"]
    print(
        f"respellings: {total}, refused with a path: {counts['refused']}, "
        f"decided the same: {counts['same']}, decided differently: {counts['DIFFERENT']}"
    )
    for key in sorted(k for k in counts if " " in k):
        print(f"  {key}: {counts[key]}")
    return 1 if counts["DIFFERENT"] else 0


if __name__ == "__main__":
    sys.exit(main())
