"""Progress of a long run on stderr: documents, rate and (when the input size is known) ETA."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class Progress:
    """A one-line counter redrawn at most five times a second; silent unless enabled (by
    default, when stderr is a terminal)."""

    def __init__(
        self,
        total_bytes: int | None = None,
        *,
        enabled: bool | None = None,
        stream: TextIO | None = None,
        label: str = "evaluating",
    ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total_bytes = total_bytes
        self.label = label
        self.start = time.monotonic()
        self._last = 0.0
        self._shown = False
        self._latest: tuple[int, int, int] | None = None

    def phase(self, label: str) -> None:
        self.label = label
        self.start = time.monotonic()

    def __call__(
        self, documents: int, read: int = -1, total: int = 0, *, force: bool = False
    ) -> None:
        if not self.enabled:
            return
        self._latest = (documents, read, total)
        now = time.monotonic()
        if not force and now - self._last < 0.2:
            return
        self._last = now
        elapsed = max(now - self.start, 1e-9)
        parts = [f"{self.label}: {documents:,} documents"]
        if documents:
            parts.append(f"{documents / elapsed:,.0f}/s")
        if total and documents:
            parts.append(f"{documents / total:.0%}")
            parts.append(f"ETA {elapsed * (total - documents) / documents:,.0f} s")
        elif self.total_bytes and read > 0:
            fraction = min(read / self.total_bytes, 1.0)
            parts.append(f"{fraction:.0%} read")
            if documents and fraction > 0:
                parts.append(f"ETA {elapsed * (1 - fraction) / fraction:,.0f} s")
        self.stream.write("\r" + ", ".join(parts) + "\033[K")
        self.stream.flush()
        self._shown = True

    def done(self) -> None:
        """Draw the final counts and end the line."""
        if self._latest is not None:
            self(*self._latest, force=True)
        if self.enabled and self._shown:
            self.stream.write("\n")
            self.stream.flush()


@contextmanager
def while_slow(
    label: str, *, enabled: bool | None = None, stream: TextIO | None = None, after: float = 1.0
) -> Iterator[None]:
    """Show `label` and the seconds elapsed on stderr while the block runs, once it has run
    for `after` seconds (a quick step prints nothing); the line is cleared at the end. Silent
    unless enabled (by default, when stderr is a terminal)."""
    out = stream or sys.stderr
    if not (out.isatty() if enabled is None else enabled):
        yield
        return
    finished = threading.Event()
    start = time.monotonic()
    shown = False

    def draw() -> None:
        nonlocal shown
        if finished.wait(after):
            return
        while not finished.is_set():
            out.write(f"\r{label}... {time.monotonic() - start:,.1f} s\033[K")
            out.flush()
            shown = True
            finished.wait(0.2)

    ticker = threading.Thread(target=draw, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        finished.set()
        ticker.join()
        if shown:
            out.write("\r\033[K")
            out.flush()
