"""Concurrent single-document evaluations decided together.

Requests of one document each that reach the event loop together (in the same turn of the loop)
are evaluated in one micro-batch (`RulePack.evaluate_each`: each document alone, as its own
request would be, but stage by stage over all of them, their facts sharing durable-rules
sessions), which costs less CPU per document. Nothing waits for company: the batch is decided on
the loop's next turn, so a lone request is decided at once; under load, requests that arrived
while the loop was busy are decided together. Decisions are byte for byte those of
`pack.evaluate(document, as_of)`.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from ..entities.registry import DocumentError
from ..model.decision import Decision
from ..runtime.rulepack import RulePack

#: documents decided in one turn of the loop at most (the rest wait for the next turn), so that
#: a burst does not hold the loop much longer than its requests one after another would
GATHER_MAX = 32

_Waiter = tuple[Any, "asyncio.Future[Decision]"]


class Gatherer:
    """Gathers single-document evaluations per (pack, as_of), at most `limit` documents per
    turn of the loop (1: each request decided alone); used on one event loop only."""

    def __init__(self, limit: int = GATHER_MAX) -> None:
        self.limit = limit
        self._pending: dict[tuple[int, date], tuple[RulePack, list[_Waiter]]] = {}
        self._scheduled = False
        #: micro-batches decided, and the documents in them (for tests and benchmarks)
        self.batches = 0
        self.documents = 0

    async def evaluate(self, pack: RulePack, as_of: date, document: Any) -> Decision:
        """The decision on one document, evaluated alone (raises DocumentError if invalid)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Decision] = loop.create_future()
        self._pending.setdefault((id(pack), as_of), (pack, []))[1].append((document, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._decide)
        return await future

    def _decide(self) -> None:
        """Decide up to `limit` waiting documents, grouped by pack and date."""
        budget = self.limit
        for key in list(self._pending):
            pack, waiters = self._pending[key]
            now = [(d, f) for d, f in waiters[:budget] if not f.done()]  # done: cancelled
            rest = waiters[budget:]
            budget -= min(budget, len(waiters))
            if rest:
                self._pending[key] = (pack, rest)
            else:
                del self._pending[key]
            if now:
                self._settle(pack, key[1], now)
            if budget == 0:
                break
        self._scheduled = bool(self._pending)
        if self._scheduled:
            asyncio.get_running_loop().call_soon(self._decide)

    def _settle(self, pack: RulePack, as_of: date, waiters: list[_Waiter]) -> None:
        self.batches += 1
        self.documents += len(waiters)
        try:
            results = pack.evaluate_each([d for d, _ in waiters], as_of)
        except Exception as exc:  # what each request's own evaluation would have raised
            for _, future in waiters:
                future.set_exception(exc)
            return
        for (_, future), result in zip(waiters, results, strict=True):
            if isinstance(result, DocumentError):
                future.set_exception(result)
            else:
                future.set_result(result)
