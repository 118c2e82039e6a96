# Over 800 lines on purpose: the endpoints beside the request checks they all share.
"""The HTTP decision service: a thin ASGI layer (Starlette) over RulePack, explain and the
audit log. docs/service.md describes every endpoint.

Every response body is JSON (the HTML and text reports of /v1/explain aside); every error is
an RFC 9457 problem details object (service/problems.py): 400 unreadable JSON, 401 missing or
wrong API key, 404 unknown pack, kind or route, 405 wrong method (with Allow), 413 body over the
limit, 415 a body not declared as JSON, 422 invalid document or query parameter (unknown or
repeated ones too), 500 internal error, 503 too many requests in progress or decision log
unusable. Decisions are the library's JSON, byte for byte.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import itertools
import logging
import re
import threading
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from time import perf_counter
from typing import Any

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..audit import AuditError, DecisionLog, RunRecorded
from ..audit.log import KEYS_BESIDE
from ..core.canonical import pretty_json
from ..core.errors import InputError
from ..engine.durable_backend import EngineError
from ..entities.registry import KINDS, DocumentError, json_schema
from ..model.decision import Decision
from ..runtime.rulepack import RulePack
from .gather import GATHER_MAX, Gatherer
from .introspect import parameter_values, rule_details
from .metrics import Metrics
from .monitor import monitor_handler
from .openapi import openapi_document
from .problems import ApiError, from_error, problem_response
from .reading import (
    Handler,
    check_query,
    decisions_json,
    document_list,
    query_bool,
    query_choice,
    query_date,
    read_json,
)

log = logging.getLogger("vasp_rules.service")
#: one line per request, with its request id (`serve --no-access-log` turns it off)
access_log = logging.getLogger("vasp_rules.service.access")

DEFAULT_MAX_BODY = 10 * 1024 * 1024
DEFAULT_MAX_BATCH = 10_000
INPUT_FORMATS = ("document", "ivms101")
#: requests with at most this many documents (no explanation, no audit log, on a date already
#: compiled) are evaluated on the event loop; others in a worker thread, so the server keeps
#: answering meanwhile
INLINE_DOCUMENTS = 4
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_JSON = "application/json"


@dataclass
class ServiceConfig:
    """What a service instance serves. `packs` are names or folders; the first is the default.
    `api_keys` empty means no authentication."""

    packs: Sequence[str] = ("pk",)
    log_path: str | None = None
    #: the key store of the log's personal data (None: LOG-keys beside the log)
    log_keys: str | None = None
    api_keys: Sequence[str] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY
    max_batch: int = DEFAULT_MAX_BATCH
    #: most single-document requests decided together in one turn of the event loop
    gather: int = GATHER_MAX
    #: networks (CIDR) whose clients may read /metrics without an API key
    metrics_allow: Sequence[str] = ()
    #: most requests in progress per worker; more get 503 (None: no limit)
    max_concurrency: int | None = None
    loaded: dict[str, RulePack] = field(default_factory=dict)

    def load_packs(self) -> dict[str, RulePack]:
        """Load every pack (raises PackError); keyed by the pack's own name."""
        if not self.loaded:
            for ref in self.packs:
                pack = RulePack.load(ref)
                if pack.name in self.loaded:
                    raise InputError(
                        f"two packs are named {pack.name!r} ({self.loaded[pack.name].root} and "
                        f"{pack.root}): requests choose a pack by name, so names must differ"
                    )
                self.loaded[pack.name] = pack
        return self.loaded


def _key_digest(key: str | bytes) -> bytes:
    raw = key.encode() if isinstance(key, str) else key
    return hashlib.sha256(raw).digest()


class _Gate:
    """Pure ASGI middleware: request id, API key check (constant time; `/metrics` without one
    from the allowed networks), the limit of requests in progress, metrics and the access log
    line (which carries the request id). Headers are never logged, so keys are not either."""

    def __init__(
        self,
        app: ASGIApp,
        keys: Sequence[str],
        metrics: Metrics,
        *,
        metrics_allow: Sequence[str] = (),
        max_concurrency: int | None = None,
    ) -> None:
        self.app = app
        self.digests = [_key_digest(k) for k in keys]
        self.metrics = metrics
        self.metrics_allow = [ipaddress.ip_network(n, strict=False) for n in metrics_allow]
        self.max_concurrency = max_concurrency
        self.in_progress = 0
        # request ids: a random prefix per process and a counter (unique across workers and
        # restarts, and cheaper than a random id per request)
        self._prefix = uuid.uuid4().hex[:12]
        self._ids = itertools.count(1)

    def new_id(self) -> str:
        return f"{self._prefix}-{next(self._ids):x}"

    def authorised(self, headers: Mapping[bytes, bytes]) -> bool:
        given = headers.get(b"x-api-key")
        auth = headers.get(b"authorization")
        if given is None and auth is not None and auth[:7].lower() == b"bearer ":
            given = auth[7:].strip()
        if given is None:
            return False
        digest = _key_digest(given)
        ok = False
        for expected in self.digests:  # every key is compared: no early exit
            ok |= hmac.compare_digest(digest, expected)
        return ok

    def open_metrics(self, scope: Scope) -> bool:
        """Whether the client may read /metrics without a key (its address is allowed)."""
        client = scope.get("client")
        if not self.metrics_allow or not client:
            return False
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:
            return False
        return any(address in network for network in self.metrics_allow)

    def refusal(self, scope: Scope, headers: Mapping[bytes, bytes], request_id: str) -> Any:
        """The error response that stops this request before the app, or None."""
        path = scope["path"]
        if path == "/healthz":
            return None
        if self.digests and not self.authorised(headers):
            if not (path == "/metrics" and self.open_metrics(scope)):
                return problem_response(401, "missing or wrong API key", request_id, path)
        if (
            self.max_concurrency is not None
            and self.in_progress >= self.max_concurrency
            and path != "/metrics"
        ):
            return problem_response(
                503,
                f"{self.in_progress} requests in progress, the most this worker takes "
                "(--max-concurrency): retry shortly",
                request_id,
                path,
                problem="overloaded",
                headers={"retry-after": "1"},
            )
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else self.new_id()
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500

        async def tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        path = scope["path"]
        try:
            response = self.refusal(scope, headers, request_id)
            if response is not None:
                await response(scope, receive, tagged)
            else:
                self.in_progress += 1
                try:
                    await self.app(scope, receive, tagged)
                finally:
                    self.in_progress -= 1
        finally:
            took = perf_counter() - started
            self.metrics.request(scope["method"], route_of(path), status, took)
            _access_line(scope, status, request_id, took)


def _access_line(scope: Scope, status: int, request_id: str, seconds: float) -> None:
    """One line per request on the access logger, with the request id (uvicorn's own access
    log has no place for it, so `serve` turns that one off)."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    client = scope.get("client")
    query = scope.get("query_string", b"").decode("latin-1")
    target = scope["path"] + (f"?{query}" if query else "")
    access_log.info(
        '%s - "%s %s HTTP/%s" %d request_id=%s %.1fms',
        f"{client[0]}:{client[1]}" if client else "-",
        scope["method"],
        target,
        scope.get("http_version", "1.1"),
        status,
        request_id,
        seconds * 1000,
    )


def route_of(path: str) -> str:
    """The route template of a path, for metric labels (unknown paths are one label)."""
    if path in ROUTES:
        return path
    if path.startswith("/v1/schema/"):
        return "/v1/schema/{kind}"
    if path.startswith("/v1/packs/"):
        return "/v1/packs/{name}" + ("/parameters" if path.endswith("/parameters") else "")
    return "other"


ROUTES = frozenset(
    {
        "/v1/evaluate",
        "/v1/explain",
        "/v1/whatif",
        "/v1/monitor",
        "/v1/packs",
        "/healthz",
        "/metrics",
        "/openapi.json",
    }
)


# -- the application --------------------------------------------------------------------



class Service:
    """State shared by the endpoints: packs, configuration, metrics."""

    def __init__(self, config: ServiceConfig, metrics: Metrics) -> None:
        self.config = config
        self.packs = config.load_packs()
        self.default = next(iter(self.packs))
        self.metrics = metrics
        self._logs = threading.local()  # per thread: the open decision log
        self.gather = Gatherer(config.gather)  # concurrent single-document requests, together
        self._compile_limiter: anyio.CapacityLimiter | None = None  # made on the event loop

    def pack(self, request: Request) -> RulePack:
        return self.named(request.query_params.get("pack", self.default))

    def named(self, name: str) -> RulePack:
        """The served pack of that name, in any case (pack names are lower case, as the
        command line takes them)."""
        pack = self.packs.get(name.lower())
        if pack is None:
            raise ApiError(
                404,
                f"unknown pack {name[:60]!r}; served: {', '.join(self.packs)}",
                problem="unknown-pack",
            )
        return pack

    def record(
        self,
        pack: RulePack,
        decisions: Sequence[Decision],
        documents: Sequence[Any],
        batch: bool,
        request_id: str,
    ) -> tuple[RunRecorded, str]:
        """Append to the audit log as one run carrying the request id on every record (start,
        decisions, end, in one transaction); the run as recorded and the log's head after it.

        Each thread keeps its log open (an SQLite connection serves one thread): opening and
        checking the file for every request would cost several times the append itself."""
        assert self.config.log_path is not None
        audit: DecisionLog | None = getattr(self._logs, "log", None)
        if audit is None:
            audit = self._logs.log = DecisionLog.open(
                self.config.log_path, write=True, keys=self.config.log_keys or KEYS_BESIDE
            )
        # the explanation is derived, not decided: the log keeps the decision as replay
        # recomputes it (an explained decision would not replay byte for byte)
        plain = [d.model_copy(update={"explanation": None}) for d in decisions]
        try:
            run = audit.record_run(
                list(zip(plain, documents, strict=True)), pack, batch=batch, request_id=request_id
            )
            return run, audit.head().token
        except BaseException:
            self._logs.log = None  # reopen (and re-check the file) on the next request
            audit.close()
            raise

    def shutdown(self) -> None:
        """When the server stops: move every record from the log's ``-wal`` file into the
        database file, so that the ``.db`` alone holds every decision the service recorded
        (a stopped service must leave a file one can copy). The threads' connections are
        idle by now; a checkpoint that another process keeps from finishing is noted."""
        if self.config.log_path is None:
            return
        if not Path(self.config.log_path).exists():  # never create a log on the way out
            log.warning("decision log at shutdown: %s is gone", self.config.log_path)
            return
        try:
            with DecisionLog.open(self.config.log_path, write=True) as audit:
                done = audit.checkpoint()
        except AuditError as exc:
            log.warning("decision log at shutdown: %s", exc)
            return
        if not done:
            log.warning(
                "decision log at shutdown: another process is using %s; the last one to close "
                "it moves its records into the database file",
                self.config.log_path,
            )

    # -- endpoints ----------------------------------------------------------------------
    async def evaluate(self, request: Request) -> Response:
        pack = self.pack(request)
        as_of = query_date(request, "as_of")
        assert as_of is not None
        explain = query_bool(request, "explain", False)
        batch = query_bool(request, "batch", True)
        input_format = query_choice(request, "input_format", INPUT_FORMATS, "document")
        body = await read_json(request, self.config.max_body_bytes)
        documents, as_list = document_list(body, input_format, self.config.max_batch)

        def work() -> tuple[list[Decision], dict[str, str]]:
            decisions = pack.evaluate_many(documents, as_of, batch=batch, explain=explain)
            headers: dict[str, str] = {}
            if self.config.log_path is not None:
                request_id = str(request.state.request_id)
                run, head = self.record(pack, decisions, documents, batch, request_id)
                seqs = run.seqs
                headers["x-audit-records"] = (
                    f"{seqs[0]}-{seqs[-1]}" if len(seqs) > 1 else str(seqs[0])
                )
                headers["x-audit-run"] = run.run_id
                headers["x-audit-head"] = head
                log.info(
                    "request %s: %d decision(s) recorded as audit records %s (run %s)",
                    request_id,
                    len(seqs),
                    headers["x-audit-records"],
                    run.run_id,
                )
            return decisions, headers

        headers: dict[str, str] = {}
        compiled = pack.is_compiled(as_of)  # a new date compiles in a thread, never on the loop
        simple = not explain and self.config.log_path is None and compiled
        if len(documents) == 1 and simple:
            decisions = [await self.gather.evaluate(pack, as_of, documents[0])]
        elif len(documents) <= INLINE_DOCUMENTS and simple:
            decisions, headers = work()  # about a millisecond: a thread hop would cost a third
        elif not compiled:
            # one thread at a time compiles new dates: many CPU-bound threads would hold the
            # GIL from the event loop, and /healthz with it, for their whole turn each
            if self._compile_limiter is None:
                self._compile_limiter = anyio.CapacityLimiter(1)
            decisions, headers = await anyio.to_thread.run_sync(
                work, limiter=self._compile_limiter
            )
        else:
            decisions, headers = await anyio.to_thread.run_sync(work)
        self.metrics.decisions(pack.name, decisions)
        return Response(decisions_json(decisions, as_list), headers=headers, media_type=_JSON)

    async def explain(self, request: Request) -> Response:
        from ..explain.api import explain as run_explain
        from ..explain.render import render_html, render_markdown, render_text

        pack = self.pack(request)
        as_of = query_date(request, "as_of")
        assert as_of is not None
        fmt = query_choice(request, "format", ("json", "html", "markdown", "text"), "json")
        suggest = query_bool(request, "suggest", True)
        input_format = query_choice(request, "input_format", INPUT_FORMATS, "document")
        rules = request.query_params.getlist("rule")
        body = await read_json(request, self.config.max_body_bytes)
        if isinstance(body, list):
            raise ApiError(422, "explain takes one document, not a list")
        [document], _ = document_list(body, input_format, 1)

        def work() -> Decision:
            return run_explain(pack, document, as_of, rules=rules, suggest=suggest)

        decision = await anyio.to_thread.run_sync(work)
        self.metrics.decisions(pack.name, [decision])
        label = "request"
        notice = pack.disclaimer  # every human-read output states it
        if fmt == "html":
            return Response(
                render_html(decision, file=label, notice=notice), media_type="text/html"
            )
        if fmt == "markdown":
            return Response(
                render_markdown(decision, file=label, notice=notice), media_type="text/markdown"
            )
        if fmt == "text":
            return Response(
                render_text(decision, file=label, notice=notice), media_type="text/plain"
            )
        return Response(decision.to_json(), media_type=_JSON)

    async def whatif(self, request: Request) -> Response:
        from ..explain.whatif import whatif as run_whatif

        pack = self.pack(request)
        as_of = query_date(request, "as_of")
        assert as_of is not None
        input_format = query_choice(request, "input_format", INPUT_FORMATS, "document")
        body = await read_json(request, self.config.max_body_bytes)
        if not isinstance(body, dict) or set(body) - {"document", "set"}:
            raise ApiError(422, 'whatif takes {"document": {...}, "set": ["PATH=VALUE", ...]}')
        assignments = body.get("set")
        if (
            not isinstance(assignments, list)
            or not assignments
            or not all(isinstance(a, str) for a in assignments)
        ):
            raise ApiError(
                422, "set is a non-empty list of PATH=VALUE strings", [("set", "expected a list")]
            )
        if not isinstance(body.get("document"), dict):
            raise ApiError(422, "document is required (an object)", [("document", "missing")])
        [document], _ = document_list(body["document"], input_format, 1)
        if not isinstance(document, dict):  # an IVMS101 envelope, now a validated transfer
            document = document.model_dump(mode="json")

        def work() -> str:
            result = run_whatif(pack, document, assignments, as_of)
            return pretty_json(result.summary())

        return Response(await anyio.to_thread.run_sync(work), media_type=_JSON)

    async def packs_list(self, request: Request) -> Response:
        on = query_date(request, "on", required=False)
        return _json([self._describe(p, on) for p in self.packs.values()])

    async def pack_one(self, request: Request) -> Response:
        pack = self.named(request.path_params["name"])
        out = self._describe(pack, query_date(request, "on", required=False))
        out["title"] = pack.loaded.manifest.title
        out["rules"] = rule_details(pack)  # ids alone in /v1/packs
        return _json(out)

    async def pack_parameters(self, request: Request) -> Response:
        pack = self.named(request.path_params["name"])
        on = query_date(request, "on", required=False)
        out: dict[str, Any] = {"name": pack.name, "version": pack.version}
        if on is not None:
            out["on"] = on.isoformat()
        out["parameters"] = parameter_values(pack, on)
        return _json(out)

    @staticmethod
    def _describe(pack: RulePack, on: date | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": pack.name,
            "version": pack.version,
            "sha256": pack.sha256,
            "rules": pack.rule_ids(),
            # decisions name their notice by id; a UI shows this text with them
            "notice": pack.notice.model_dump(mode="json"),
        }
        if on is not None:
            out["on"] = on.isoformat()
            out["rules_in_force"] = pack.rule_ids(on)
        return out

    async def schema(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in KINDS:
            raise ApiError(
                404,
                f"unknown kind {kind[:60]!r}; known kinds: {', '.join(KINDS)}",
                problem="unknown-kind",
            )
        return _json(json_schema(kind))

    async def healthz(self, request: Request) -> Response:
        return _json({"status": "ok", "packs": list(self.packs)})

    async def metrics_text(self, request: Request) -> Response:
        body, ctype = self.metrics.render()
        return Response(body, media_type=ctype)

    async def openapi(self, request: Request) -> Response:
        return _json(openapi_document(list(self.packs)))


def _json(data: Any) -> Response:
    return Response(pretty_json(data) + "\n", media_type=_JSON)


def _guarded(
    handler: Handler, query: Sequence[str] | None = None, repeatable: Sequence[str] = ()
) -> Handler:
    """Turn every expected error into its problem details; an unexpected one into a logged 500.
    With `query`, other query parameters (and repeated ones not `repeatable`) are a 422."""

    async def run(request: Request) -> Response:
        request_id = str(request.state.request_id)
        path = request.url.path
        try:
            if query is not None:
                check_query(request, query, repeatable)
            return await handler(request)
        except ApiError as exc:
            return from_error(exc, request_id, path)
        except DocumentError as exc:
            problems = "; ".join(f"{p or '<document>'}: {m}" for p, m in exc.errors)
            return problem_response(
                exc.http_status,
                f"invalid document: {problems}",
                request_id,
                path,
                problem="invalid-document",
                errors=exc.errors,
            )
        except InputError as exc:  # what-if assignments, rules to explain
            return problem_response(
                exc.http_status, str(exc), request_id, path, problem="invalid-request"
            )
        except EngineError as exc:
            return problem_response(
                exc.http_status,
                f"rule engine refused this input: {exc}",
                request_id,
                path,
                problem="engine-refused",
            )
        except AuditError as exc:
            log.error("request %s: decision log: %s", request_id, exc)
            return problem_response(
                exc.http_status,
                f"decision log unavailable: {exc}",
                request_id,
                path,
                problem="decision-log-unavailable",
            )
        except ClientDisconnect:
            log.info("request %s: client disconnected before sending the whole body", request_id)
            return Response(status_code=400)  # never sent: nobody is listening
        except Exception:
            log.exception("request %s: internal error", request_id)
            return _internal_error(request_id, path)

    return run


def _internal_error(request_id: str, path: str) -> Response:
    """A 500 that names the request id (the server's log has the traceback), and nothing else."""
    return problem_response(
        500,
        f"internal error; the server's log has it under request id {request_id}",
        request_id,
        path,
        problem="internal-error",
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (unknown route, wrong method) as problem details; 405 keeps the
    Allow header Starlette computed."""
    request_id = str(getattr(request.state, "request_id", ""))
    path = request.url.path
    if not isinstance(exc, HTTPException):  # an error outside every handler
        log.error("request %s: internal error: %r", request_id, exc)
        return _internal_error(request_id, path)
    message = {404: "no such endpoint", 405: "method not allowed"}.get(
        exc.status_code, str(exc.detail)
    )
    allow = (exc.headers or {}).get("Allow")
    suffix = f" (allowed: {allow})" if allow else ""
    return problem_response(
        exc.status_code,
        f"{message}: {request.method} {path}{suffix}",
        request_id,
        path,
        headers=exc.headers,
    )


def create_app(config: ServiceConfig | None = None, *, metrics: Metrics | None = None) -> ASGIApp:
    """The ASGI application for `config` (packs are loaded now: a bad pack fails here)."""
    config = config or ServiceConfig()
    metrics = metrics or Metrics()
    service = Service(config, metrics)
    g = _guarded
    decide = ("pack", "as_of", "input_format")
    routes = [
        Route(
            "/v1/evaluate",
            g(service.evaluate, (*decide, "explain", "batch")),
            methods=["POST"],
        ),
        Route(
            "/v1/explain",
            g(service.explain, (*decide, "format", "suggest", "rule"), repeatable=("rule",)),
            methods=["POST"],
        ),
        Route("/v1/whatif", g(service.whatif, decide), methods=["POST"]),
        Route("/v1/packs", g(service.packs_list, ("on",)), methods=["GET"]),
        Route("/v1/packs/{name}", g(service.pack_one, ("on",)), methods=["GET"]),
        Route(
            "/v1/packs/{name}/parameters", g(service.pack_parameters, ("on",)), methods=["GET"]
        ),
        Route("/v1/schema/{kind}", g(service.schema, ()), methods=["GET"]),
        Route("/healthz", g(service.healthz, ()), methods=["GET"]),
        Route("/metrics", g(service.metrics_text, ()), methods=["GET"]),
        Route("/openapi.json", g(service.openapi, ()), methods=["GET"]),
        Route("/v1/monitor", g(monitor_handler(service), ("pack", "as_of")), methods=["POST"]),
    ]

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await anyio.to_thread.run_sync(service.shutdown)

    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, Exception: _http_error},
        lifespan=lifespan,
    )
    return _Gate(
        app,
        config.api_keys,
        metrics,
        metrics_allow=config.metrics_allow,
        max_concurrency=config.max_concurrency,
    )


def read_api_keys(path: str | Path) -> list[str]:
    """API keys, one per line (blank lines and # comments ignored); the file must be UTF-8."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
            "an API key file holds one key per line"
        ) from None
    keys = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not keys:
        raise InputError(f"{path}: no API key in the file (one key per line)")
    return keys
