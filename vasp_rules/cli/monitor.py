"""`vasp-rules monitor IN.jsonl|- -o OUT.jsonl|-`: transfers decided on arrival (monitor.py),
with checkpoints (`--state DIR`), the audit log (`--log`) and progress."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from ..core.docfiles import display_name
from ..runtime.rulepack import RulePack
from ..scale.monitor import LATENESS, WINDOW, BadLine, Decided, Event, GroupAlert, Monitor
from ..scale.progress import Progress, while_slow
from .scale import on_error_option, open_input, progress_option
from .support import as_of_option, fail, handles_errors, log_keys_option, pack_option
from .support import parse_date as _parse_date

if TYPE_CHECKING:
    from ..audit.log import ChunkedRecorder

STATE_FILE = "state.json"


class _Checkpoint:
    """The monitor's state in DIR/state.json, with how much input it has consumed and how much
    output it has written; replaced atomically (a temporary file, fsync, rename)."""

    def __init__(self, folder: str) -> None:
        self.dir = Path(folder)
        self.path = self.dir / STATE_FILE

    def load(self) -> dict[str, Any] | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            fail(f"{self.path}: {exc.strerror}")
        try:
            data: dict[str, Any] = json.loads(text)
        except ValueError:
            fail(f"{self.path}: not a monitor state (invalid JSON)")
        return data

    def save(self, data: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / (STATE_FILE + ".tmp")
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(data, out, separators=(",", ":"))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        with contextlib.suppress(OSError):  # the rename itself made durable where possible
            fd = os.open(self.dir, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


@click.command()
@click.argument("source", metavar="IN.jsonl|-")
@click.option("-o", "--output", default="-", show_default=True, help="JSON Lines out (- stdout).")
@pack_option()
@as_of_option(required=False)
@click.option(
    "--window-hours",
    type=click.FloatRange(min=0, min_open=True),
    default=WINDOW.total_seconds() / 3600,
    show_default=True,
    help="How far back a transfer's batch reaches; at least the pack's longest time window "
    "(pk: structuring_window_hours, 24).",
)
@click.option(
    "--lateness",
    "lateness_minutes",
    type=click.FloatRange(min=0),
    default=LATENESS.total_seconds() / 60,
    show_default=True,
    help="Minutes a transfer may arrive out of order; an older one is reported as late.",
)
@click.option(
    "--state",
    "state_dir",
    type=click.Path(file_okay=False),
    help="Checkpoint the state in this folder; started again with it, the monitor continues.",
)
@click.option(
    "--checkpoint-every",
    type=click.IntRange(1, 10_000_000),
    default=1000,
    show_default=True,
    help="With --state: input lines between checkpoints.",
)
@click.option(
    "--input-continues",
    is_flag=True,
    help="With --state: the input starts after the lines the state has consumed (a live feed), "
    "rather than from the start of the same input (skipped, and checked).",
)
@on_error_option()
@click.option("--log", "log_path", type=click.Path(dir_okay=False), help="Audit log (SQLite).")
@log_keys_option()
@progress_option()
@handles_errors
def monitor(
    source: str,
    output: str,
    pack: str,
    as_of: str | None,
    window_hours: float,
    lateness_minutes: float,
    state_dir: str | None,
    checkpoint_every: int,
    input_continues: bool,
    on_error: str,
    log_path: str | None,
    log_keys: str | None,
    progress: bool | None,
) -> None:
    """Decide transfers as they arrive, in execution-time order, each against the transfers
    of the window before it (rules in force on its own date, or on --as-of). When a later
    transfer completes a structuring group, a group alert names every member.

    \b
    Output, one JSON line each: the decision of every transfer; an alert
    {"alert": "group", "rule_id": ..., "members": [...], "newly_referred": [...]};
    {"late": true, ...} for a transfer more than --lateness before the latest seen;
    {"line": N, "error": ...} for a bad line (with --on-error record).

    \b
    Examples:
      vasp-rules monitor transfers.jsonl -o decisions.jsonl
      tail -f feed.jsonl | vasp-rules monitor - -o - --state state/ --input-continues
    """
    day = None if as_of is None else _parse_date(as_of)
    if input_continues and state_dir is None:
        fail("--input-continues needs --state DIR")
    with while_slow(f"loading rule pack {pack}"):
        rulepack = RulePack.load(pack)
    checkpoint = _Checkpoint(state_dir) if state_dir else None
    saved = checkpoint.load() if checkpoint else None
    window = timedelta(hours=window_hours)
    lateness = timedelta(minutes=lateness_minutes)
    if saved is not None:
        try:
            watcher = Monitor.restore(rulepack, saved["monitor"])
        except (ValueError, KeyError, TypeError) as exc:
            fail(f"{checkpoint.path if checkpoint else ''}: cannot continue from it: {exc}")
        if (watcher.as_of, watcher.window, watcher.lateness) != (day, window, lateness):
            fail("--as-of, --window-hours and --lateness must be those the state was made with")
    else:
        watcher = Monitor(rulepack, as_of=day, window=window, lateness=lateness)
    _Run(watcher, source, output, checkpoint, saved, checkpoint_every, input_continues).go(
        on_error, log_path, log_keys, progress
    )


class _Run:
    """One run of the monitor over one input: reading, writing, checkpoints and the log."""

    def __init__(
        self,
        watcher: Monitor,
        source: str,
        output: str,
        checkpoint: _Checkpoint | None,
        saved: dict[str, Any] | None,
        every: int,
        continues: bool,
    ) -> None:
        self.watcher = watcher
        self.source = source
        self.output = output
        self.checkpoint = checkpoint
        self.every = every
        self.continues = continues
        self.lines = 0 if saved is None else int(saved["lines"])  # input lines consumed
        self.read_bytes = 0 if saved is None else int(saved["bytes"])
        self.digest = hashlib.sha256()
        self.resumed = saved is not None
        self.prefix: str | None = None if saved is None else saved.get("sha256")
        self.written = 0 if saved is None else int(saved["output_bytes"])
        self.decided = 0
        self.recorder: ChunkedRecorder | None = None
        self.held: list[tuple[int, str]] = []  # output waiting for the log: (records, line)
        self.logged = 0  # decisions given to the log

    def go(
        self, on_error: str, log_path: str | None, log_keys: str | None, progress: bool | None
    ) -> None:
        name = self.source
        stream, size = open_input(name)
        sink = self._open_sink()
        meter = Progress(size, enabled=progress, label="monitoring")
        stopped: BadLine | None = None
        try:
            with contextlib.ExitStack() as audit:
                if log_path is not None:
                    self.recorder = _recorder(audit, log_path, self.watcher, log_keys)
                number = self._skip(stream) if self.lines and not self.continues else self.lines
                since = 0
                for raw in stream:
                    number += 1
                    self.digest.update(raw)
                    self.read_bytes += len(raw)
                    if raw.strip():
                        events = self.watcher.push(raw, number)
                        bad = next((e for e in events if isinstance(e, BadLine)), None)
                        if bad is not None and on_error == "stop":
                            stopped = bad
                            if self.recorder is not None:
                                self.recorder.stop()
                            break
                        self._emit(events, sink)
                    self.lines = number
                    meter(self.decided, self.read_bytes)
                    since += 1
                    if since >= self.every:
                        since = 0
                        self._checkpoint(sink)
                self._checkpoint(sink)
        finally:
            self._release(sink)
            meter.done()
            if stream is not sys.stdin.buffer:
                stream.close()
            if sink is not sys.stdout:
                sink.close()
            self.watcher.pack.close()
        if stopped is not None:
            fail(
                f"{display_name(name)}:{stopped.line}: {stopped.message} "
                f"({self.decided} transfers before it were decided)"
            )

    def _open_sink(self) -> IO[str]:
        if self.output == "-":
            return sys.stdout
        try:
            if self.resumed and os.path.exists(self.output):
                # continue after what the last checkpoint had written: lines written after it
                # are made again
                sink = open(self.output, "r+", encoding="utf-8")  # noqa: SIM115
                sink.truncate(self.written)
                sink.seek(self.written)
                return sink
            self.written = 0
            return open(self.output, "w", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            fail(f"{self.output}: {exc.strerror}")

    def _skip(self, stream: IO[bytes]) -> int:
        """Skip the input lines a restarted monitor has consumed, checking they are the same."""
        for number, raw in enumerate(stream, start=1):
            self.digest.update(raw)
            if number == self.lines:
                break
        if self.digest.hexdigest() != self.prefix:
            fail(
                f"{display_name(self.source)}: its first {self.lines} lines are not those the "
                "state consumed (another input?); give the same input, or --input-continues "
                "for a feed that starts after them"
            )
        return self.lines

    def _emit(self, events: list[Event], sink: IO[str]) -> None:
        for event in events:
            if isinstance(event, Decided):
                self.decided += 1
                if self.recorder is not None:
                    self.recorder.add(event.decision, event.document)
                    self.logged += 1
            elif isinstance(event, GroupAlert) and self.recorder is not None:
                for decision, document in event.decisions:
                    self.recorder.add(decision, document)
                    self.logged += 1
            line = event.to_json() + "\n"
            if self.recorder is None:
                self._write(sink, line)
            else:  # the output never runs ahead of the log
                self.held.append((self.logged, line))
                self._release(sink)
        if self.recorder is None:
            sink.flush()

    def _release(self, sink: IO[str]) -> None:
        """Write the held lines whose decisions the log has committed."""
        if self.recorder is None or not self.held:
            return
        committed = self.recorder.committed
        count = 0
        for needed, line in self.held:
            if needed > committed:
                break
            self._write(sink, line)
            count += 1
        if count:
            del self.held[:count]
            sink.flush()

    def _write(self, sink: IO[str], line: str) -> None:
        sink.write(line)
        self.written += len(line.encode("utf-8"))

    def _checkpoint(self, sink: IO[str]) -> None:
        """Commit the log, flush the output, then save the state with both positions."""
        if self.recorder is not None:
            self.recorder.flush()
            self._release(sink)
        if self.checkpoint is None:
            return
        sink.flush()
        if sink is not sys.stdout:
            os.fsync(sink.fileno())
        self.checkpoint.save(
            {
                "lines": self.lines,
                "bytes": self.read_bytes,
                "sha256": None if self.continues else self.digest.hexdigest(),
                "output_bytes": self.written,
                "monitor": self.watcher.snapshot(),
            }
        )


def _recorder(
    stack: contextlib.ExitStack, log_path: str, watcher: Monitor, keys: str | None
) -> ChunkedRecorder:
    """A run of the audit log recording each decision on its own (its batch, the window, is
    not recorded with it), group alerts as the new decisions of the members they refer."""
    from ..audit.log import KEYS_BESIDE, DecisionLog

    log = stack.enter_context(DecisionLog.open(log_path, write=True, keys=keys or KEYS_BESIDE))
    recorder = log.recorder(watcher.pack, total=None, batch=False, as_of=watcher.as_of)
    return stack.enter_context(recorder)
