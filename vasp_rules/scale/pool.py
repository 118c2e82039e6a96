"""A persistent pool of worker processes, each with the pack loaded once.

durable-rules never releases the GIL, so parallel evaluation needs processes. Each worker loads
the pack once when it starts (and proves it loaded the same files: same sha256), then serves
jobs over a pipe until the pool closes. A job carries only its chunk of raw documents (each is
validated once, in the worker) plus the neighbours its evaluation may visit (see groups.py), and
its answer is compact: decisions as canonical JSON text or as plain tuples (wire.py) that the
parent turns back into models without validating them again.

Jobs are assigned round robin (job i to worker i mod N) so that a two-phase run can send the
second phase of a chunk to the worker that validated it in the first and kept its documents.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from .chunks import Job, run_job
from .wire import decode, encode

if TYPE_CHECKING:
    from ..runtime.rulepack import RulePack

DIED = (
    "a worker process died before finishing. With workers > 1 the calling script is imported "
    "again in each worker: put its top-level code under `if __name__ == '__main__':` (or use "
    "workers=1)"
)


class WorkerPool:
    """N worker processes serving jobs; results come back in submission order."""

    def __init__(self, pack: RulePack, workers: int) -> None:
        ctx = multiprocessing.get_context("spawn")  # a forked child could inherit held locks
        self.workers = workers
        self.sha256 = pack.sha256
        self._conns: list[Connection] = []
        self._procs: list[Any] = []
        for _ in range(workers):
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=_serve,
                args=(child, str(pack.root), pack.overrides, pack.sha256),
                daemon=True,
            )
            proc.start()
            child.close()
            self._conns.append(parent)
            self._procs.append(proc)
        for conn in self._conns:
            self._receive(conn)  # "ready", or the worker's error

    def _receive(self, conn: Connection) -> Any:
        return self._unwrap(_answer(conn))

    def _unwrap(self, answer: tuple[bool, Any]) -> Any:
        """A worker's payload, or RuntimeError (after closing the pool if a worker died)."""
        ok, payload = answer
        if not ok:
            if payload == DIED:
                self.close()
            raise RuntimeError(payload)
        return decode(payload)

    def run(self, jobs: Iterable[Job], in_flight: int = 2) -> Iterator[Any]:
        """Send jobs round robin, at most `in_flight` waiting per worker; yield each job's
        result in order.

        Each worker's answers are read by a thread of its own while jobs are being sent: a
        job and an answer both larger than a pipe's buffer would otherwise deadlock (this
        process blocked sending a job to a worker that is blocked sending its last answer)."""
        tokens: list[queue.SimpleQueue[bool]] = [queue.SimpleQueue() for _ in self._conns]
        answers: list[queue.SimpleQueue[tuple[bool, Any]]] = [
            queue.SimpleQueue() for _ in self._conns
        ]
        readers = [
            threading.Thread(target=_read_answers, args=(conn, t, a), daemon=True)
            for conn, t, a in zip(self._conns, tokens, answers, strict=True)
        ]
        for reader in readers:
            reader.start()

        def answer(worker: int) -> Any:
            return self._unwrap(answers[worker].get())

        pending: deque[int] = deque()
        n = 0
        try:
            for job in jobs:
                worker = n % self.workers
                if len(pending) >= in_flight * self.workers:
                    yield answer(pending.popleft())
                try:
                    self._conns[worker].send(job)
                except (BrokenPipeError, OSError):
                    self.close()
                    raise RuntimeError(DIED) from None
                tokens[worker].put(True)  # its reader now expects one more answer
                pending.append(worker)
                n += 1
            while pending:
                yield answer(pending.popleft())
        finally:
            for t in tokens:
                t.put(False)  # readers stop once the answers they expect are in
            for reader in readers:
                # drained even when the caller stopped early, so that no stale answer is
                # left in a pipe for the next run to take as its own
                reader.join()

    @property
    def alive(self) -> bool:
        return bool(self._procs) and all(p.is_alive() for p in self._procs)

    def close(self) -> None:
        for conn in self._conns:
            try:
                conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
        for conn in self._conns:
            conn.close()
        self._conns, self._procs = [], []


def _read_answers(
    conn: Connection,
    tokens: queue.SimpleQueue[bool],
    answers: queue.SimpleQueue[tuple[bool, Any]],
) -> None:
    """A reader thread of `WorkerPool.run`: one answer per token, (True, payload) or
    (False, what went wrong); stops at a False token or when the worker is gone."""
    while tokens.get():
        got = _answer(conn)
        answers.put(got)
        if got == (False, DIED):
            return


def _answer(conn: Connection) -> tuple[bool, Any]:
    """Receive one message from a worker: (True, payload), or (False, what went wrong)."""
    try:
        status, payload = conn.recv()
    except (EOFError, OSError):
        return False, DIED
    if status == "error":
        return False, f"a worker failed: {payload}"
    return True, payload


def _serve(conn: Connection, root: str, overrides: dict[str, Any], sha256: str) -> None:
    """A worker's loop: load the pack once, then answer jobs until told to stop."""
    from ..runtime.rulepack import RulePack

    try:
        pack = RulePack.load(root, overrides=overrides)
        if pack.sha256 != sha256:
            raise RuntimeError(f"worker {os.getpid()} loaded a different rule pack")
    except Exception as exc:  # reported to the parent, never a silent death
        conn.send(("error", str(exc)))
        return
    conn.send(("ok", "ready"))
    kept: dict[int, Any] = {}
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        try:
            conn.send(("ok", encode(run_job(pack, job, kept))))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
