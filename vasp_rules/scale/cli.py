"""`vasp-rules evaluate FILE.jsonl --as-of D -o decisions.jsonl`: the streaming path of the
evaluate command (JSON Lines in and out, workers, Dask, progress, summary)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from datetime import date
from typing import IO, Any, TypeVar

import click

from ..cli_support import fail
from ..docfiles import display_name
from ..rulepack import RulePack
from .progress import Progress
from .stream import Record, StreamError, Summary, stream_decisions

STREAM_SUFFIXES = (".jsonl", ".ndjson")
F = TypeVar("F", bound=Callable[..., Any])


def stream_options(func: F) -> F:
    """The options of the streaming path, added to `evaluate`."""
    options = [
        click.option("-o", "--output", help="Write decisions as JSON Lines here (- for stdout)."),
        click.option("--on-error", type=click.Choice(["stop", "record"]), default="stop",
                     show_default=True,
                     help="A bad input line stops the run, or is written as an error record."),
        click.option("--summary", type=click.Choice(["text", "json"]),
                     help="Counts per outcome and per rule fired, at the end."),
        click.option("--dask", metavar="local|tcp://HOST:PORT",
                     help="Evaluate on dask.distributed (pip install 'vasp-rules[dask]')."),
        click.option("--chunk-size", "chunk", type=click.IntRange(1, 100_000), default=500,
                     show_default=True, help="Documents per chunk when streaming."),
        click.option("--progress/--no-progress", default=None,
                     help="Progress on stderr (default: when stderr is a terminal)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def wants_stream(
    files: tuple[str, ...],
    input_format: str | None,
    format_given: bool,
    output: str | None,
    dask: str | None,
) -> bool:
    """Whether `evaluate` takes the streaming path: always with -o or --dask; otherwise for one
    JSON Lines input (a .jsonl/.ndjson file, or - with --input-format jsonl) unless --format
    asks for text or a JSON list."""
    if output is not None or dask is not None:
        return True
    if format_given or len(files) != 1:
        return False
    name = files[0]
    if name == "-":
        return input_format == "jsonl"
    return input_format == "jsonl" or (
        input_format is None and name.lower().endswith(STREAM_SUFFIXES)
    )


def run_stream(
    files: tuple[str, ...],
    day: date,
    pack: RulePack,
    *,
    output: str | None,
    on_error: str,
    workers: int,
    batch: bool,
    summary: str | None,
    dask: str | None,
    chunk: int,
    progress: bool | None,
) -> None:
    """Stream decisions for one JSON Lines file (or `-`, standard input) to `output` (a file,
    or `-`/None for standard output), flushing each chunk as it is decided."""
    if len(files) != 1:
        fail("stream one JSON Lines file (or - for standard input) at a time")
    name = files[0]
    source: IO[bytes]
    if name == "-":
        source = sys.stdin.buffer
        size = None
    else:
        try:
            source = open(name, "rb")  # noqa: SIM115 (closed below)
        except OSError as exc:
            fail(f"{name}: {exc.strerror}")
        size = os.path.getsize(name)
    to_stdout = output in (None, "-")
    sink: IO[str] = (
        sys.stdout if to_stdout else open(output, "w", encoding="utf-8")  # type: ignore[arg-type]  # noqa: SIM115
    )
    meter = Progress(size, enabled=progress)
    tally = Summary()
    import time

    started = time.monotonic()
    error: StreamError | None = None
    try:
        records: Iterator[Record]
        if dask is not None:
            try:
                from .dask import stream_with_dask
            except ImportError:
                fail("--dask needs the dask extra: pip install 'vasp-rules[dask]'")
            records = stream_with_dask(
                pack, source, day, address=dask, batch=batch, on_error=on_error, progress=meter
            )
        else:
            records = stream_decisions(
                pack, source, day, batch=batch, workers=workers, chunk=chunk,
                on_error=on_error, progress=meter,
            )
        pending: list[Record] = []
        try:
            for record in records:
                tally.add(record)
                pending.append(record)
                if len(pending) >= chunk:
                    _write(sink, pending)
        except StreamError as exc:
            error = exc
        _write(sink, pending)
    finally:
        meter.done()
        if source is not sys.stdin.buffer:
            source.close()
        if not to_stdout:
            sink.close()
        pack.close()
    tally.seconds = time.monotonic() - started
    if summary is not None:
        text = tally.to_json() if summary == "json" else tally.to_text()
        click.echo(text, err=to_stdout)
    if error is not None:
        fail(
            f"{display_name(name)}:{error.line}: {error.message} "
            f"({tally.documents} decisions before it were written)"
        )


def _write(sink: IO[str], records: list[Record]) -> None:
    if records:
        sink.write("".join(r.to_json() + "\n" for r in records))
        sink.flush()
        records.clear()
