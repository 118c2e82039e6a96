"""`vasp-rules evaluate FILE.jsonl --as-of D -o decisions.jsonl`: the streaming path of the
evaluate command (JSON Lines in and out, workers, Dask, progress, summary)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from datetime import date
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from ..core.docfiles import display_name
from ..runtime.rulepack import RulePack
from ..scale.chunks import relates
from ..scale.progress import Progress
from ..scale.stream import Record, StreamError, Summary, parse_line, stream_decisions
from .support import fail

if TYPE_CHECKING:
    from ..audit.log import ChunkedRecorder

STREAM_SUFFIXES = (".jsonl", ".ndjson")
F = TypeVar("F", bound=Callable[..., Any])


def on_error_option() -> Callable[[F], F]:
    """`--on-error stop|record`: what a bad input line does (evaluate's stream, monitor)."""
    return click.option(
        "--on-error",
        type=click.Choice(["stop", "record"]),
        default="stop",
        show_default=True,
        help="A bad input line stops the run, or is written as an error record.",
    )


def progress_option() -> Callable[[F], F]:
    """`--progress/--no-progress` (default: when stderr is a terminal)."""
    return click.option(
        "--progress/--no-progress",
        default=None,
        help="Progress on stderr (default: when stderr is a terminal).",
    )


def stream_options(func: F) -> F:
    """The options of the streaming path, added to `evaluate`."""
    options = [
        click.option("-o", "--output", help="Write decisions as JSON Lines here (- for stdout)."),
        on_error_option(),
        click.option(
            "--summary",
            type=click.Choice(["text", "json"]),
            help="Counts per outcome and per rule fired, at the end.",
        ),
        click.option(
            "--dask",
            metavar="local|tcp://HOST:PORT",
            help="Evaluate on dask.distributed (needs the dask extra: pip install -e '.[dask]').",
        ),
        click.option(
            "--chunk-size",
            "chunk",
            type=click.IntRange(1, 100_000),
            default=500,
            show_default=True,
            help="Documents per chunk when streaming.",
        ),
        progress_option(),
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
    log_path: str | None = None,
    log_chunk: int = 500,
    log_keys: str | None = None,
) -> None:
    """Stream decisions for one JSON Lines file (or `-`, standard input) to `output` (a file,
    or `-`/None for standard output), flushing each chunk as it is decided. With `log_path`,
    every decision is also recorded in that audit log as one run, committed every `log_chunk`
    decisions (error records are not decisions: they are not recorded), and written to
    `output` only once its chunk has committed: the output never runs ahead of the log."""
    if len(files) != 1:
        fail("stream one JSON Lines file (or - for standard input) at a time")
    if log_path is not None and dask is not None:
        fail("--log does not record --dask runs: drop --dask, or --log")
    name = files[0]
    source, size = open_input(name)
    to_stdout = output in (None, "-")
    sink: IO[str] = (
        sys.stdout if to_stdout else open(output, "w", encoding="utf-8")  # type: ignore[arg-type]  # noqa: SIM115
    )
    meter = Progress(size, enabled=progress)
    tally = Summary()
    import time

    started = time.monotonic()
    error: StreamError | None = None
    pending = _Pending(sink)
    recorder: ChunkedRecorder | None = None
    try:
        # the audit run ends when this block does: completed, or stopped (on a bad line
        # that stops the run, or an exception), with every decision made before it recorded
        with contextlib.ExitStack() as audit:
            if log_path is not None:
                recorder = _recorder(audit, log_path, pack, day, batch, log_chunk, log_keys)
            records: Iterator[Record]
            if dask is not None:
                try:
                    from ..scale.dask import stream_with_dask
                except ImportError:
                    fail(
                        "--dask needs the dask extra: pip install -e '.[dask]' in a checkout, "
                        "or the wheel with [dask]"
                    )
                records = stream_with_dask(
                    pack,
                    source,
                    day,
                    address=dask,
                    batch=batch,
                    on_error=on_error,
                    progress=meter,
                )
            else:
                records = stream_decisions(
                    pack,
                    source,
                    day,
                    batch=batch,
                    workers=workers,
                    chunk=chunk,
                    on_error=on_error,
                    progress=meter,
                    keep_input=recorder is not None,
                )
            try:
                for record in records:
                    tally.add(record)
                    pending.add(record)
                    if recorder is None:
                        if len(pending) >= chunk:
                            pending.write()
                    elif record.decision is not None:
                        _log(recorder, record)
                        pending.write(recorder.committed)
            except StreamError as exc:
                error = exc
                if recorder is not None:
                    recorder.stop()
            finally:
                if recorder is None:
                    pending.write()  # whatever happens, what was decided is written
    finally:
        try:
            if recorder is not None:
                # the run has ended (or failed): what the log holds is written, nothing more
                pending.write(recorder.committed)
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


def open_input(name: str) -> tuple[IO[bytes], int | None]:
    """A JSON Lines input (`-`: standard input) and its size when known; the caller closes a
    file. A file that cannot be opened is a one-line error."""
    if name == "-":
        return sys.stdin.buffer, None
    try:
        source = open(name, "rb")  # noqa: SIM115 (the caller closes it)
    except OSError as exc:
        fail(f"{name}: {exc.strerror}")
    return source, os.path.getsize(name)


def _recorder(
    stack: contextlib.ExitStack,
    log_path: str,
    pack: RulePack,
    day: date,
    batch: bool,
    chunk: int,
    keys: str | None = None,
) -> ChunkedRecorder:
    """The run's recorder, entered on `stack`. A stream whose pack relates documents on `day`
    is decided as one batch, so it is recorded as one (replay evaluates the recorded members
    together); otherwise each document was decided on its own and is recorded so."""
    from ..audit.log import KEYS_BESIDE, DecisionLog

    log = stack.enter_context(DecisionLog.open(log_path, write=True, keys=keys or KEYS_BESIDE))
    together = relates(pack, day, batch)
    recorder = log.recorder(pack, total=None, batch=together, chunk=chunk, as_of=day)
    return stack.enter_context(recorder)


def _log(recorder: ChunkedRecorder, record: Record) -> None:
    """Record one streamed decision with its input line, both as the in-memory path has them:
    the canonical decision and the document as read (numbers as exact decimals)."""
    from ..model.decision import Decision

    assert record.decision is not None and record.source is not None
    recorder.add(Decision.model_validate_json(record.decision), parse_line(record.source))


class _Pending:
    """Output lines decided but not yet written, in input order.

    With an audit log, a decision is written only once the log has committed it (a run whose
    log fails, or that is killed, has written nothing the log does not hold); the error
    records of bad lines, which the log does not record, keep their place between them."""

    def __init__(self, sink: IO[str]) -> None:
        self._sink = sink
        self._records: list[Record] = []
        self._written = 0  # decisions written so far

    def __len__(self) -> int:
        return len(self._records)

    def add(self, record: Record) -> None:
        self._records.append(record)

    def write(self, committed: int | None = None) -> None:
        """Write every pending line, or, given the number of decisions the log has
        `committed`, the lines before the first decision it has not."""
        count = len(self._records)
        if committed is not None:
            room = committed - self._written
            for i, record in enumerate(self._records):
                if record.decision is not None:
                    if room == 0:
                        count = i
                        break
                    room -= 1
        if count:
            lines, self._records = self._records[:count], self._records[count:]
            self._written += sum(1 for r in lines if r.decision is not None)
            self._sink.write("".join(r.to_json() + "\n" for r in lines))
            self._sink.flush()
