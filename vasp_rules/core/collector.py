"""Pausing Python's cyclic garbage collector around work that makes many long-lived objects
and no cycles (a batch of decisions, a decoded answer from a worker).

Why: a batch keeps every validated document and every decision until it returns, so the
collector's young generations fill again and again with objects that all survive, and each
collection walks them for nothing (pk, 300 licence applications in `evaluate_many`: 290
collections freeing no object, about 20 µs of every 200 µs document). Evaluation makes no
reference cycles (tests/test_collector.py holds it to that), so nothing waits for the collector
while it is paused; the objects made are walked once, by the first collection after it.

The pause is counted and thread-safe: the first of overlapping pauses records whether the
collector was on, the last one restores exactly that. A collector someone else turned off stays
off.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = [0]  # pauses in progress, in every thread
_was_enabled = [False]  # the collector's state when the first of them began


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the body with the cyclic garbage collector off, then put it back as it was."""
    with _lock:
        if _depth[0] == 0:
            _was_enabled[0] = gc.isenabled()
            gc.disable()
        _depth[0] += 1
    try:
        yield
    finally:
        with _lock:
            _depth[0] -= 1
            if _depth[0] == 0 and _was_enabled[0]:
                gc.enable()
