"""Concurrent single-document requests decided together (vasp_rules.service.gather): each gets
the decision `pack.evaluate` gives it alone, byte for byte, however they were grouped."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

from support.repo import AS_OF, EXAMPLES, example

from vasp_rules import RulePack
from vasp_rules.entities.registry import DocumentError
from vasp_rules.service import gather
from vasp_rules.service.gather import Gatherer

LATER = date(2027, 1, 15)


def _documents() -> list[dict[str, Any]]:
    """Every example and batch example (documents that cross-document rules relate when they
    are evaluated together), and one invalid document."""
    docs = [json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json"))]
    for path in sorted((EXAMPLES / "batches").glob("*.json")):
        docs.extend(json.loads(path.read_text()))
    broken = example("customer")
    broken["date_of_birth"] = "not a date"
    return [*docs, broken]


async def _all(gatherer: Gatherer, pack: RulePack, jobs: list[tuple[date, Any]]) -> list[Any]:
    calls = [gatherer.evaluate(pack, day, doc) for day, doc in jobs]
    return await asyncio.gather(*calls, return_exceptions=True)


def _alone(pack: RulePack, day: date, doc: Any) -> str:
    try:
        return pack.evaluate(doc, day).to_json()
    except DocumentError as exc:
        return f"DocumentError {exc.errors}"


def _shown(result: Any) -> str:
    if isinstance(result, DocumentError):
        return f"DocumentError {result.errors}"
    return str(result.to_json())


def test_gathered_requests_get_their_own_decisions(pk: RulePack) -> None:
    docs = _documents()
    related = json.loads((EXAMPLES / "batches" / "transfers_structuring.json").read_text())
    together = [d.to_json() for d in pk.evaluate_many(related, AS_OF)]
    assert together != [pk.evaluate(d, AS_OF).to_json() for d in related]  # they do relate
    jobs = [(day, doc) for doc in docs for day in (AS_OF, LATER)] * 3
    gatherer = Gatherer()
    results = asyncio.run(_all(gatherer, pk, jobs))
    assert [_shown(r) for r in results] == [_alone(pk, day, doc) for day, doc in jobs]
    assert gatherer.documents == len(jobs)
    assert gatherer.batches < len(jobs) // 4  # they were decided in micro-batches
    assert gatherer.batches >= len(jobs) // gather.GATHER_MAX


def test_a_burst_is_decided_a_few_documents_per_turn(pk: RulePack) -> None:
    gatherer = Gatherer(limit=5)
    jobs = [(AS_OF, example("transfer"))] * 23
    results = asyncio.run(_all(gatherer, pk, jobs))
    assert len({r.to_json() for r in results}) == 1
    assert gatherer.batches == 5  # 5 + 5 + 5 + 5 + 3


def test_a_cancelled_request_does_not_stop_the_others(pk: RulePack) -> None:
    async def run() -> list[Any]:
        gatherer = Gatherer()
        tasks = [
            asyncio.ensure_future(gatherer.evaluate(pk, AS_OF, example(kind)))
            for kind in ("customer", "transfer", "licence_application")
        ]
        await asyncio.sleep(0)  # each task is waiting for its decision now
        tasks[1].cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    first, second, third = asyncio.run(run())
    assert isinstance(second, asyncio.CancelledError)
    assert first.to_json() == pk.evaluate(example("customer"), AS_OF).to_json()
    assert third.to_json() == pk.evaluate(example("licence_application"), AS_OF).to_json()
