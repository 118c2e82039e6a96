"""Explain latency on the example documents: the counterfactual search on the Z3 model against
the hand-written solver of an earlier revision, in one process.

The earlier `vasp_rules/explain/counterfactual.py` is read from git (`--rev`, by default the last
revision with the hand-written solver) into a temporary file and imported beside the current
one; `explain` then runs with either, interleaved, on every example document whose decision is
not APPROVE (only those get suggestions). Printed per document: the median and 90th percentile
of `explain` with suggestions for both, of `explain` without suggestions (the trace alone), and
the ratio of the medians (Z3 / hand-written).

    python benchmarks/explain_latency.py [--rev REV] [--repeat N] [--on YYYY-MM-DD]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

from vasp_rules import RulePack
from vasp_rules.explain import api, counterfactual
from vasp_rules.explain.api import explain

ROOT = Path(__file__).resolve().parent.parent
#: main before the search moved onto the Z3 model (issue 25)
HANDWRITTEN = "a6b6f6e"
#: the old module's imports of modules that have moved since, as the new stages name them
MOVED = {
    "..decision": "..model.decision",
    "..docpath": "..core.docpath",
    "..engine.evaluate": "..runtime.evaluate",
    "..engine.reference": "..interp.reference",
    ".trace": "..model.explanation",
    "..rulepack": "..runtime.rulepack",
}
NAMES = ("Solver", "Verifier", "is_blocking", "suggestion_for")


def load_revision(rev: str) -> ModuleType:
    """The counterfactual module of `rev`, imported as vasp_rules.explain._handwritten."""
    source = subprocess.run(
        ["git", "show", f"{rev}:vasp_rules/explain/counterfactual.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for before, after in MOVED.items():  # modules that moved to their stages since (issue 25)
        source = source.replace(f"from {before} import", f"from {after} import")
    folder = Path(tempfile.mkdtemp(prefix="explain-latency-"))
    path = folder / "counterfactual.py"
    path.write_text(source, encoding="utf-8")
    name = "vasp_rules.explain._handwritten"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@contextmanager
def using(module: ModuleType) -> Iterator[None]:
    """`explain` with the search of `module`."""
    saved = {name: getattr(api, name) for name in NAMES}
    for name in NAMES:
        setattr(api, name, getattr(module, name))
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(api, name, value)


def timed(run: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    start = time.perf_counter()
    run(*args, **kwargs)
    return (time.perf_counter() - start) * 1000


def p90(values: list[float]) -> float:
    return sorted(values)[max(0, int(round(0.9 * len(values))) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default=HANDWRITTEN)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--on", type=date.fromisoformat, default=date(2026, 6, 1))
    args = parser.parse_args()
    old = load_revision(args.rev)
    pack = RulePack.load("pk")
    print(f"explain latency on {args.on} (ms; median / p90 of {args.repeat}); old = {args.rev}")
    print(f"{'document':40} {'trace':>13} {'hand-written':>15} {'z3':>15} {'z3/old':>7}")
    for path in sorted((ROOT / "examples").glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        decision = pack.evaluate(document, args.on)
        if decision.outcome.value == "APPROVE":
            continue
        runs: dict[str, list[float]] = {"trace": [], "old": [], "new": []}
        explain(pack, document, args.on)  # warm: compile, caches
        with using(old):
            explain(pack, document, args.on)
        for _ in range(args.repeat):
            runs["trace"].append(timed(explain, pack, document, args.on, suggest=False))
            with using(old):
                runs["old"].append(timed(explain, pack, document, args.on))
            with using(counterfactual):
                runs["new"].append(timed(explain, pack, document, args.on))
        cells = [f"{statistics.median(v):6.1f} / {p90(v):6.1f}" for v in runs.values()]
        ratio = statistics.median(runs["new"]) / statistics.median(runs["old"])
        label = f"{path.name} ({len(decision.fired)} fired)"
        print(f"{label:40} {cells[0]:>13} {cells[1]:>15} {cells[2]:>15} {ratio:7.2f}")


if __name__ == "__main__":
    main()
