"""The why-trace in one evaluation against one evaluation per subtree (issue 25), in one process.

`Tracer` (vasp_rules/explain/why.py) takes every node's result and reads from one hooked run of
the reference interpreter; the tracer before it (tests/support/why_oracle.py, the oracle of
tests/test_explain_why_onepass.py) ran a fresh interpreter on every traced node, O(depth x
size). For each case the two traces of every rule in force for the document are first compared
(JSON, byte for byte; a difference aborts), then timed in interleaved rounds; the median time
per case of each and the ratio before / after are printed. Cases: the example applicants
(examples/*.json, pack pk, every rule of the kind in force), the example batches (each document
traced in its batch's context), and one generated rule nested `--depth` levels deep (at most
100, the language's limit; and/or of comparisons and quantifiers over a licence application's
people) at a few depths, where the per-subtree cost grows with depth x size. The one-pass
tracer still renders each node's text (`render`, the condition's text at every level), which
grows with depth x size too. Figures are ratios measured in the same run (the machine is
shared and noisy); nothing here is asserted.

    python benchmarks/why_trace.py [--rounds 7] [--depth 90]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support.explain import MANIFEST, PARAMETERS, _rule, application  # noqa: E402
from support.why_oracle import PerSubtreeTracer  # noqa: E402

from vasp_rules import RulePack  # noqa: E402
from vasp_rules.compiler.compile import CompiledPack  # noqa: E402
from vasp_rules.explain.api import make_item  # noqa: E402
from vasp_rules.explain.why import Tracer  # noqa: E402
from vasp_rules.runtime.evaluate import Item, batch_view, context_for  # noqa: E402

AS_OF = date(2026, 6, 1)
Case = Callable[[type[Tracer]], list[str]]


def traces(compiled: CompiledPack, items: Sequence[Item], batch: bool) -> Case:
    """Trace every rule in force for each item (in its batch's context when `batch`)."""
    view = batch_view(list(items)) if batch else None

    def run(tracer: type[Tracer]) -> list[str]:
        out = []
        for item in items:
            ctx = context_for(compiled, item, view if view is not None else [item])
            t = tracer(compiled, ctx)
            out.extend(t.trace(r).model_dump_json() for r in compiled.rules_for(item.kind))
        return out

    return run


def deep_condition(depth: int) -> str:
    """A condition `depth` levels deep: alternating and/or, each level testing the capital
    or a quantifier over the people, innermost a comparison."""
    tests = [
        "firm.paid_up_capital * {i} > param.fera_limit",
        "any(p in firm.people: p.outsourced or p.regulatory_ban)",
        '"EXCHANGE" in activities',
        "all(p in firm.people where p.regulatory_ban is present: not p.regulatory_ban)",
    ]
    text = f"firm.paid_up_capital * {depth} < param.fera_limit"
    for i in range(depth - 1, 0, -1):
        op = "and" if i % 2 else "or"
        text = f"{tests[i % len(tests)].format(i=i)} {op} ({text})"
    return text


def deep_pack(depth: int) -> RulePack:
    root = Path(tempfile.mkdtemp(prefix="why-deep-"))
    (root / "parameters").mkdir()
    (root / "rules").mkdir()
    (root / "pack.yaml").write_text(MANIFEST)
    (root / "parameters" / "test.yaml").write_text(PARAMETERS)
    rule = _rule("X-DEEP", "licence_application", deep_condition(depth), "REFER")
    (root / "rules" / "test.yaml").write_text("rules:\n" + rule + "\n")
    return RulePack.load(root)


def timed(case: Case, rounds: int) -> tuple[float, float]:
    """Median seconds of the old and new tracer on a case, interleaved rounds."""
    if case(PerSubtreeTracer) != case(Tracer):
        raise SystemExit("the traces differ: not timing")
    old: list[float] = []
    new: list[float] = []
    for _ in range(rounds):
        for tracer, times in ((PerSubtreeTracer, old), (Tracer, new)):
            start = time.perf_counter()
            case(tracer)
            times.append(time.perf_counter() - start)
    return statistics.median(old), statistics.median(new)


def report(name: str, case: Case, rounds: int) -> None:
    old, new = timed(case, rounds)
    print(f"{name:<42} {old * 1000:9.2f} ms {new * 1000:9.2f} ms {old / new:7.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--depth", type=int, default=90)
    args = parser.parse_args()
    print(f"{'case (traces identical)':<42} {'before':>12} {'after':>12} {'ratio':>8}")
    pk = RulePack.load("pk")
    with pk.using(AS_OF) as compiled:
        for path in sorted((ROOT / "examples").glob("*.json")):
            item = make_item(json.loads(path.read_text(encoding="utf-8")))
            report(path.name, traces(compiled, [item], False), args.rounds)
        for path in sorted((ROOT / "examples" / "batches").glob("*.json")):
            docs: list[Any] = json.loads(path.read_text(encoding="utf-8"))
            items = [make_item(d) for d in docs]
            report(f"batches/{path.name}", traces(compiled, items, True), args.rounds)
    doc = make_item(application())
    for depth in sorted({10, 20, 40, args.depth}):
        pack = deep_pack(depth)
        with pack.using(AS_OF) as compiled:
            report(f"generated rule, depth {depth}", traces(compiled, [doc], False), args.rounds)


if __name__ == "__main__":
    main()
