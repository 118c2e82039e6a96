"""`vasp-rules bench PACK --kind K [--count N]`, the analogue of `opa bench`: how fast a pack
decides documents of one kind, each evaluated alone as `RulePack.evaluate` would.

It reports decisions per CPU-second (the process's CPU time, so a busy machine skews it less
than wall time) and the latency of one decision (wall time, p50/p90/p99), for documents
generated from the examples (vasp_rules.cli.generate) or given with `--input`. The first evaluation,
which compiles the pack for the date, is made before timing starts."""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, cast

import click
from rich.table import Table

from ..entities.registry import KINDS
from ..runtime.evaluate import EngineName
from ..runtime.rulepack import RulePack
from .generate import documents as generated
from .support import (
    as_of_option,
    fail,
    format_option,
    handles_errors,
    output_console,
    parse_date,
    read_documents,
    width_option,
)

#: The date the examples are written for: the default --as-of of a benchmark.
DEFAULT_AS_OF = "2026-06-01"


@dataclass
class BenchResult:
    """One benchmark run's figures (times in seconds; latencies in milliseconds)."""

    pack: dict[str, str]
    as_of: str
    kind: str
    source: str
    engine: str
    decisions: int
    cpu_seconds: float
    wall_seconds: float
    decisions_per_cpu_second: float
    latency_ms: dict[str, float]
    outcomes: dict[str, int] = field(default_factory=dict)


def _percentiles(samples_ns: list[int]) -> dict[str, float]:
    ms = sorted(s / 1e6 for s in samples_ns)
    if len(ms) == 1:
        cuts = [ms[0]] * 99
    else:
        cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {
        "p50": round(cuts[49], 4),
        "p90": round(cuts[89], 4),
        "p99": round(cuts[98], 4),
        "max": round(ms[-1], 4),
        "mean": round(statistics.fmean(ms), 4),
    }


def run_bench(
    pack: RulePack, docs: list[Any], as_of: date, *, kind: str, source: str, engine: EngineName
) -> BenchResult:
    """Evaluate each document alone once (after one untimed warm-up) and measure."""
    pack.evaluate(docs[0], as_of, engine=engine)  # compiles the pack for as_of
    wall: list[int] = []
    cpu_total = 0
    outcomes: Counter[str] = Counter()
    started = time.perf_counter_ns()
    for doc in docs:
        c0, w0 = time.process_time_ns(), time.perf_counter_ns()
        decision = pack.evaluate(doc, as_of, engine=engine)
        w1, c1 = time.perf_counter_ns(), time.process_time_ns()
        wall.append(w1 - w0)
        cpu_total += c1 - c0
        outcomes[decision.outcome.value] += 1
    elapsed = time.perf_counter_ns() - started
    cpu_seconds = cpu_total / 1e9
    return BenchResult(
        pack={"name": pack.name, "version": pack.version, "sha256": pack.sha256},
        as_of=as_of.isoformat(),
        kind=kind,
        source=source,
        engine=engine,
        decisions=len(docs),
        cpu_seconds=round(cpu_seconds, 6),
        wall_seconds=round(elapsed / 1e9, 6),
        decisions_per_cpu_second=round(len(docs) / cpu_seconds, 1) if cpu_seconds else 0.0,
        latency_ms=_percentiles(wall),
        outcomes=dict(sorted(outcomes.items())),
    )


def _table(result: BenchResult) -> Table:
    table = Table(title=f"vasp-rules bench: {result.pack['name']} {result.pack['version']}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("documents", f"{result.decisions} {result.kind} ({result.source})"),
        ("as of", result.as_of),
        ("engine", result.engine),
        ("decisions per CPU-second", f"{result.decisions_per_cpu_second:,.1f}"),
        ("CPU time", f"{result.cpu_seconds:.3f} s"),
        ("wall time", f"{result.wall_seconds:.3f} s"),
    ]
    rows += [(f"latency {k}", f"{v:.3f} ms") for k, v in result.latency_ms.items()]
    rows += [(f"outcome {k}", str(n)) for k, n in result.outcomes.items()]
    for name, value in rows:
        table.add_row(name, value)
    return table


@click.command()
@click.argument("pack_name", metavar="PACK", default="pk")
@click.option(
    "--kind",
    type=click.Choice(sorted(KINDS)),
    help="Document kind to generate (with --input: only the documents of this kind).",
)
@click.option(
    "--count",
    type=click.IntRange(1, 10_000_000),
    default=None,
    help="Documents to evaluate (default 1000 generated, or each --input document once; "
    "--input documents are repeated to reach it).",
)
@click.option(
    "--input",
    "input_file",
    metavar="FILE",
    help="Documents to evaluate instead of generated ones (.json, .jsonl, .yaml).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Generator seed.")
@click.option(
    "--engine",
    type=click.Choice(["durable", "reference"]),
    default="durable",
    show_default=True,
    help="durable-rules, or the reference interpreter.",
)
@as_of_option(required=False)
@format_option("text", "json")
@width_option()
@handles_errors
def bench(
    pack_name: str,
    kind: str | None,
    count: int | None,
    input_file: str | None,
    seed: int,
    engine: str,
    as_of: str | None,
    fmt: str,
    width: int | None,
) -> None:
    """Measure a pack: decisions per CPU-second and latency percentiles (p50/p90/p99) of
    documents evaluated one at a time. --as-of defaults to 2026-06-01 (the examples' date).

    \b
    Examples:
      vasp-rules bench pk --kind transfer --count 2000
      vasp-rules bench pk --input examples/licence_application.json --count 500 --format json
      vasp-rules bench ./mypack --kind transfer
    """
    day = parse_date(as_of or DEFAULT_AS_OF)
    if input_file is None:
        if kind is None:
            fail("bench needs --kind KIND to generate documents, or --input FILE")
        docs: list[Any] = generated(kind, count or 1000, seed)
        source = f"generated, seed {seed}"
    else:
        docs = read_documents([input_file])
        if kind is not None:
            docs = [d for d in docs if isinstance(d, dict) and d.get("kind") == kind]
            if not docs:
                fail(f"{input_file}: no {kind} documents")
        kinds = sorted({str(d.get("kind")) for d in docs if isinstance(d, dict)})
        kind = kinds[0] if len(kinds) == 1 else "mixed"
        if count is not None:
            docs = [docs[i % len(docs)] for i in range(count)]
        source = input_file
    pack = RulePack.load(pack_name)
    result = run_bench(pack, docs, day, kind=kind, source=source, engine=cast(EngineName, engine))
    if fmt == "json":
        click.echo(json.dumps(asdict(result), indent=2))
        return
    output_console(width).print(_table(result))
