"""`POST /v1/monitor`: transfers decided on arrival, as `vasp-rules monitor` does, with one
window state per pack (and `as_of`) in this service process (docs/service.md)."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from ..audit.jsontext import dumps_exact
from ..scale.chunks import Invalid, validate
from ..scale.monitor import BadLine, Decided, Event, GroupAlert, Late, Monitor
from .reading import Handler, document_list, query_date, read_json

if TYPE_CHECKING:
    from ..audit import RunRecorded
    from ..model.decision import Decision
    from ..runtime.rulepack import RulePack


class _Config(Protocol):
    @property
    def max_body_bytes(self) -> int: ...
    @property
    def max_batch(self) -> int: ...
    @property
    def log_path(self) -> str | None: ...


class Service(Protocol):
    """What the endpoint needs of app.Service (app.py imports this module)."""

    @property
    def packs(self) -> Mapping[str, RulePack]: ...
    @property
    def config(self) -> _Config: ...

    def pack(self, request: Request) -> RulePack: ...

    def record(
        self,
        pack: RulePack,
        decisions: Sequence[Decision],
        documents: Sequence[Any],
        batch: bool,
        request_id: str,
    ) -> tuple[RunRecorded, str]: ...


class _Monitors:
    """The window states of this process, one per (pack, as_of), and the lock that makes
    arrivals one at a time: a monitor's state is one sequence of arrivals."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.states: dict[tuple[str, str | None], tuple[Monitor, Iterator[int]]] = {}

    def get(self, service: Service, name: str, as_of: Any) -> tuple[Monitor, Iterator[int]]:
        key = (name, None if as_of is None else as_of.isoformat())
        found = self.states.get(key)
        if found is None:
            found = self.states[key] = (
                Monitor(service.packs[name], as_of=as_of),
                itertools.count(1),
            )
        return found


def monitor_handler(service: Service) -> Handler:
    """The endpoint: a body of one transfer (or a list, in arrival order); the answer lists,
    for each, its arrival number in this monitor and its decision with any group alerts it
    raised, or `late`. Invalid documents are refused (422) before any is taken in."""
    from .problems import ApiError

    monitors = _Monitors()

    async def monitor(request: Request) -> Response:
        pack = service.pack(request)
        name = next(n for n, p in service.packs.items() if p is pack)
        as_of = query_date(request, "as_of", required=False)
        body = await read_json(request, service.config.max_body_bytes)
        documents, _ = document_list(body, "document", service.config.max_batch)
        errors: list[tuple[str, str]] = []
        for i, document in enumerate(documents):
            where = f"documents[{i}]" if isinstance(body, list) else ""
            found = validate(document, i)
            if isinstance(found, Invalid):
                errors.extend((_path(where, p), m) for p, m in found.errors)
            elif found.kind != "transfer":
                errors.append((_path(where, "kind"), "the monitor decides transfers"))
        if errors:
            shown = "; ".join(f"{p or '<document>'}: {m}" for p, m in errors)
            raise ApiError(422, f"invalid document: {shown}", errors)
        texts = [dumps_exact(d) for d in documents]

        def work() -> tuple[list[dict[str, Any]], dict[str, str]]:
            with monitors.lock:
                watcher, arrivals = monitors.get(service, name, as_of)
                results = [_result(watcher.push(t, next(arrivals))) for t in texts]
            headers: dict[str, str] = {}
            if service.config.log_path is not None:
                decided = [pair for _, pairs in results for pair in pairs]
                run, head = service.record(
                    pack,
                    [d for d, _ in decided],
                    [doc for _, doc in decided],
                    False,
                    str(request.state.request_id),
                )
                headers["x-audit-run"] = run.run_id
                headers["x-audit-head"] = head
            return [r for r, _ in results], headers

        answers, headers = await anyio.to_thread.run_sync(work)
        text = json.dumps({"results": answers}, ensure_ascii=False, indent=2, sort_keys=True)
        return Response(text + "\n", media_type="application/json", headers=headers)

    return monitor


def _path(where: str, path: str) -> str:
    return f"{where}.{path}" if where and path else where or path


def _result(events: list[Event]) -> tuple[dict[str, Any], list[tuple[Any, Any]]]:
    """One arrival's answer, and the decisions it made (for the audit log)."""
    out: dict[str, Any] = {}
    decided: list[tuple[Any, Any]] = []
    for event in events:
        if isinstance(event, Decided):
            out["arrival"] = event.line
            out["decision"] = json.loads(event.to_json())
            decided.append((event.decision, event.document))
        elif isinstance(event, GroupAlert):
            out.setdefault("alerts", []).append(json.loads(event.to_json()))
            decided.extend(event.decisions)
        elif isinstance(event, Late | BadLine):
            record = json.loads(event.to_json())
            out["arrival"] = record.pop("line")
            out.update(record)
    return out, decided
