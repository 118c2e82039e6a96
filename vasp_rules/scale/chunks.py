"""Evaluating a batch in chunks: each chunk is decided beside the neighbours its documents may
visit (groups.py), so that it decides exactly as inside the whole batch. The same code runs in
this process, in pool workers (pool.py) and in Dask tasks (dask.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..core.collector import collector_paused
from ..entities.registry import DocumentError
from ..interp.reference import Context
from ..model.decision import Decision
from ..runtime.evaluate import EngineName, Item, batch_view
from .groups import DocKeys, Grouping, Neighbours

if TYPE_CHECKING:
    from ..runtime.rulepack import RulePack


@dataclass(frozen=True, kw_only=True)
class Job:
    """One chunk. `docs` are (position, raw document) pairs to decide; `neighbours` are
    (position, raw document) pairs that the chunk's evaluations may visit but that are decided
    elsewhere. `phase` is "decide", or "keys" (validate, keep the items, return group keys).
    Keyword-only: several fields are flags or short strings easy to swap by position."""

    phase: str
    chunk: int
    as_of: date
    docs: list[tuple[int, Any]] | None
    neighbours: list[tuple[int, Any]]
    engine: str = "durable"
    batch: bool = True
    as_json: bool = True
    keep: bool = False  # "keys" phase: keep the validated chunk for its "decide" phase


@dataclass(frozen=True)
class Invalid:
    """A document that failed validation: its position and the errors (path, message)."""

    position: int
    errors: list[tuple[str, str]]

    def message(self) -> str:
        return "; ".join(f"{p}: {m}" if p else m for p, m in self.errors)


def validate(raw: Any, position: int) -> Item | Invalid:
    """Parse one raw document (a JSON Lines line, a mapping or a model) into an item."""
    from ..core.docfiles import InputFileError, json_line_document
    from ..runtime.rulepack import _item

    try:
        if isinstance(raw, str | bytes):
            try:
                raw = json_line_document(raw)
            except InputFileError as exc:
                return Invalid(position, [("", str(exc))])
        return _item(raw, None)
    except DocumentError as exc:
        return Invalid(position, list(exc.errors))


def grouping(pack: RulePack, as_of: date) -> Grouping:
    compiled = pack.compiled(as_of)
    ctx = Context(
        document=None,
        as_of=as_of,
        params=compiled.param_values,
        fx_to_pkr=compiled.fx,
        calendar=compiled.calendar,
    )
    return Grouping(pack.batch_plan(as_of), ctx)


def relates(pack: RulePack, as_of: date, batch: bool) -> bool:
    """Whether documents evaluated together on `as_of` can affect each other's decisions."""
    return batch and grouping(pack, as_of).relates


def decide_chunk(
    pack: RulePack,
    own: Sequence[tuple[int, Item | Invalid]],
    neighbours: Sequence[tuple[int, Item | Invalid]],
    as_of: date,
    engine: str,
    batch: bool,
    as_json: bool,
) -> list[tuple[int, Any]]:
    """Decide the chunk's own documents; each result is a decision (JSON text or object) or
    the Invalid record of a document that failed validation."""
    # its rulesets stay alive while this chunk is decided; the collector waits (collector.py)
    with pack.using(as_of) as compiled, collector_paused():
        valid = [(p, x) for p, x in own if isinstance(x, Item)]
        view = None
        if batch:
            together = sorted(
                valid + [(p, x) for p, x in neighbours if isinstance(x, Item)],
                key=lambda e: e[0],
            )
            view = batch_view([x for _, x in together])
        items = [x for _, x in valid]
        decisions = pack._decide_many(compiled, items, view, engine)  # type: ignore[arg-type]
        decided = {
            position: decision.to_json(indent=None) if as_json else decision
            for (position, _), decision in zip(valid, decisions, strict=True)
        }
        if view is not None:
            view.release()
    return [(p, x if isinstance(x, Invalid) else decided[p]) for p, x in own]


def run_job(pack: RulePack, job: Job, kept: dict[int, Any]) -> list[tuple[int, Any]]:
    """Answer one job (in a worker, or in this process with a local `kept`)."""
    if job.phase == "keys":
        assert job.docs is not None
        items = [(p, validate(raw, p)) for p, raw in job.docs]
        if job.keep:
            kept[job.chunk] = items
        g = grouping(pack, job.as_of)
        return [(p, g.keys(x) if isinstance(x, Item) else x) for p, x in items]
    if job.docs is None:
        own = kept.pop(job.chunk)
    else:
        own = [(p, validate(raw, p)) for p, raw in job.docs]
    neighbours = [(p, validate(raw, p)) for p, raw in job.neighbours]
    return decide_chunk(pack, own, neighbours, job.as_of, job.engine, job.batch, job.as_json)


def chunk_size(n: int, workers: int) -> int:
    """Chunks small enough to balance the workers and bound memory, large enough that the
    per-job overhead stays small."""
    return max(64, min(1000, -(-n // (workers * 8))))


def evaluate_chunked(
    pack: RulePack,
    raws: Sequence[Any],
    as_of: date,
    *,
    engine: str = "durable",
    batch: bool = True,
    workers: int = 1,
    as_json: bool = False,
    size: int | None = None,
) -> Iterator[tuple[int, Any]]:
    """Decide every raw document, in input order, with a pool of `workers` processes (or in
    this process when 1). When documents relate (batch rules), a first phase validates each
    chunk and computes its group keys; the second decides each chunk beside its neighbours."""
    n = len(raws)
    step = size or chunk_size(n, workers)
    bounds = [(s, min(s + step, n)) for s in range(0, n, step)]
    two_phase = relates(pack, as_of, batch)
    runner = _runner(pack, workers)
    keys: list[DocKeys | Invalid] = []
    if two_phase:
        phase1 = (
            Job(
                phase="keys",
                chunk=c,
                as_of=as_of,
                docs=[(p, raws[p]) for p in range(s, e)],
                neighbours=[],
                keep=True,
            )
            for c, (s, e) in enumerate(bounds)
        )
        for part in runner(phase1):
            keys.extend(k for _, k in part)
        index = Neighbours([k if isinstance(k, DocKeys) else DocKeys("") for k in keys])
        phase2 = (
            Job(
                phase="decide",
                chunk=c,
                as_of=as_of,
                docs=None,
                neighbours=[
                    (p, raws[p]) for p in index.of(range(s, e)) if isinstance(keys[p], DocKeys)
                ],
                engine=engine,
                batch=batch,
                as_json=as_json,
            )
            for c, (s, e) in enumerate(bounds)
        )
        jobs = phase2
    else:
        jobs = (
            Job(
                phase="decide",
                chunk=c,
                as_of=as_of,
                docs=[(p, raws[p]) for p in range(s, e)],
                neighbours=[],
                engine=engine,
                batch=batch,
                as_json=as_json,
            )
            for c, (s, e) in enumerate(bounds)
        )
    for part in runner(jobs):
        yield from part


def evaluate_in_processes(
    pack: RulePack,
    documents: Sequence[Mapping[str, Any] | BaseModel],
    as_of: date,
    engine: EngineName,
    batch: bool,
    workers: int,
    on_decision: Callable[[Decision], None] | None = None,
) -> list[Decision]:
    """`RulePack.evaluate_many(workers=n)`: chunks decided by the pack's persistent pool of
    worker processes; each document is validated once, in a worker; each chunk travels with only
    the documents its batch rules may visit. `on_decision` sees each decision, in order, as its
    chunk comes back. The first invalid document raises DocumentError, its paths under
    documents[i]."""
    raws = [d.model_dump(mode="json") if isinstance(d, BaseModel) else d for d in documents]
    out: list[Decision] = []
    for position, result in evaluate_chunked(
        pack, raws, as_of, engine=engine, batch=batch, workers=workers
    ):
        if isinstance(result, Invalid):
            raise DocumentError(
                [(f"documents[{position}]" + (f".{p}" if p else ""), m) for p, m in result.errors]
            )
        out.append(result)
        if on_decision is not None:
            on_decision(result)
    return out


def _runner(pack: RulePack, workers: int) -> Any:
    if workers <= 1:
        kept: dict[int, Any] = {}

        def local(jobs: Any) -> Iterator[list[tuple[int, Any]]]:
            for job in jobs:
                yield run_job(pack, job, kept)

        return local
    pool = pack.worker_pool(workers)

    def remote(jobs: Any) -> Iterator[list[tuple[int, Any]]]:
        return pool.run(jobs)

    return remote


__all__ = [
    "Invalid",
    "Job",
    "decide_chunk",
    "evaluate_chunked",
    "evaluate_in_processes",
    "run_job",
    "validate",
]
