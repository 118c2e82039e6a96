"""A writer process for tests/test_audit_concurrency.py (not a test module).

    python tests/support/concurrent_writer.py DB ACKS NAME long THREADS SECONDS
    python tests/support/concurrent_writer.py DB ACKS NAME short RUNS

``long``: THREADS threads, each with a DecisionLog of its own, append runs for SECONDS (whole
runs with ``record_run``, chunked ones with ``recorder``, some of them batches). ``short``:
RUNS times open the log, append one chunked run, close it. Every thread writes one line per
record to its own acknowledgement file ACKS/NAME-THREAD.ack, only after the call that
appended the record returned: ``[seq, document_id, run_id, request_id]`` as JSON, flushed at
once (a SIGKILL loses no flushed line). An error goes, one line, to ACKS/NAME-THREAD.err.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/, for support.*

from support.audit import AS_OF, FakePack, pack_files  # noqa: E402
from vasp_rules.audit import DecisionLog  # noqa: E402

#: how long to wait for another writer's lock: generous, so that a busy machine is no error
TIMEOUT = 120.0
PACK = FakePack(pack_files())


class Writer:
    """One thread's writing: its acknowledgement file and a counter for unique ids."""

    def __init__(self, acks: Path, name: str) -> None:
        self.name = name
        self.ack: IO[str] = (acks / f"{name}.ack").open("a", encoding="utf-8")
        self.err_path = acks / f"{name}.err"
        self.count = 0
        self.rng = random.Random(name)

    def acknowledge(self, seq: int, document_id: str, run_id: str, request_id: str) -> None:
        self.ack.write(json.dumps([seq, document_id, run_id, request_id]) + "\n")
        self.ack.flush()

    def error(self, exc: BaseException) -> None:
        with self.err_path.open("a", encoding="utf-8") as fh:
            fh.write(f"{type(exc).__name__}: {exc}\n")

    def documents(self, n: int) -> list[dict[str, Any]]:
        docs = []
        for _ in range(n):
            self.count += 1
            amount = self.rng.randrange(2000)
            docs.append({"kind": "transfer", "id": f"{self.name}-{self.count}", "amount": amount})
        return docs

    def whole_run(self, log: DecisionLog) -> None:
        """A service request: a whole run appended in one transaction."""
        docs = self.documents(self.rng.randint(1, 3))
        request = f"req-{self.name}-{self.count}"
        pairs = [(PACK.evaluate(d, AS_OF), d) for d in docs]
        done = log.record_run(pairs, PACK, request_id=request, batch=self.rng.random() < 0.3)
        self.acknowledge(done.start_seq, done.run_id, done.run_id, request)
        for seq, doc in zip(done.seqs, docs, strict=True):
            self.acknowledge(seq, doc["id"], done.run_id, request)
        self.acknowledge(done.end_seq, done.run_id, done.run_id, request)

    def chunked_run(self, log: DecisionLog, pause: float = 0.0) -> None:
        """A run committed in chunks; each decision is acknowledged once its chunk committed."""
        docs = self.documents(self.rng.randint(2, 4))
        request = f"req-{self.name}-{self.count}"
        acked = 0
        batch = self.rng.random() < 0.3
        with log.recorder(PACK, total=len(docs), chunk=2, batch=batch, request_id=request) as rec:
            for doc in docs:
                rec.add(PACK.evaluate(doc, AS_OF), doc)
                for seq in rec.seqs[acked:]:
                    self.acknowledge(seq, docs[acked]["id"], rec.run_id, request)
                    acked += 1
                time.sleep(pause)
        for seq in rec.seqs[acked:]:
            self.acknowledge(seq, docs[acked]["id"], rec.run_id, request)
            acked += 1


def long_lived(db: Path, writer: Writer, deadline: float) -> None:
    """Keep one DecisionLog open and append runs until the deadline."""
    try:
        with DecisionLog.open(db, write=True, timeout=TIMEOUT) as log:
            while time.monotonic() < deadline:
                if writer.rng.random() < 0.5:
                    writer.whole_run(log)
                else:
                    writer.chunked_run(log)
    except Exception as exc:  # the test reads the .err file and fails
        writer.error(exc)


def short_lived(db: Path, writer: Writer, runs: int) -> None:
    """Open the log, append one run, close it; ``runs`` times (unless killed first)."""
    try:
        for _ in range(runs):
            with DecisionLog.open(db, write=True, timeout=TIMEOUT) as log:
                writer.chunked_run(log, pause=0.01)
    except Exception as exc:
        writer.error(exc)


def main(argv: list[str]) -> None:
    db, acks, name, mode = Path(argv[0]), Path(argv[1]), argv[2], argv[3]
    if mode == "short":
        short_lived(db, Writer(acks, name), int(argv[4]))
        return
    threads, seconds = int(argv[4]), float(argv[5])
    deadline = time.monotonic() + seconds
    workers = [
        threading.Thread(target=long_lived, args=(db, Writer(acks, f"{name}-{i}"), deadline))
        for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    main(sys.argv[1:])
