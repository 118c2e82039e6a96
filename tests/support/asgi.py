"""Requests straight through the service's ASGI interface (no network), for the tests."""

from __future__ import annotations

import time
from typing import Any


async def asgi_request(
    app: Any,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    headers: dict[str, str] | None = None,
    client: tuple[str, int] = ("127.0.0.1", 5000),
    answer_headers: dict[str, str] | None = None,
) -> tuple[int, bytes, float]:
    """One request; (status, body, seconds it took). `headers` are sent besides
    Content-Length; the response's headers are put in `answer_headers` when given."""
    route, _, query = path.partition("?")
    scope = {
        "type": "http",
        "method": method,
        "path": route,
        "raw_path": route.encode(),
        "query_string": query.encode(),
        "headers": [
            (b"content-length", str(len(body)).encode()),
            *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
        ],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "client": client,
        "root_path": "",
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    started = time.perf_counter()
    await app(scope, receive, send)
    took = time.perf_counter() - started
    start = next(m for m in sent if m["type"] == "http.response.start")
    status = start["status"]
    if answer_headers is not None:
        answer_headers.update((k.decode(), v.decode()) for k, v in start.get("headers", []))
    answer = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, answer, took


def asgi_call(app: Any, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    """One request straight through the ASGI interface (no network)."""
    import asyncio

    status, answer, _ = asyncio.run(asgi_request(app, method, path, body))
    return status, answer
