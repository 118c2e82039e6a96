"""uvicorn's HTTP protocols with a request read timeout.

uvicorn times out idle keep-alive connections, but not a connection that opens and then sends
its request a byte at a time (or never): such clients would hold a connection each for as long
as they like. Here every request must have arrived whole (headers and body) within
``VASP_RULES_READ_TIMEOUT`` seconds of the connection opening or of the previous response, or
the connection is closed. The timeout travels in the environment, so that `serve --workers N`
reaches every worker process; `serve` names these classes to uvicorn by import path.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

READ_TIMEOUT_ENV = "VASP_RULES_READ_TIMEOUT"
DEFAULT_READ_TIMEOUT = 30.0

log = logging.getLogger("vasp_rules.service")


def run(app: Any, **options: Any) -> None:
    """Serve `app` (an ASGI app, or a factory's import path) on uvicorn until stopped: the
    service owns uvicorn, `vasp-rules serve` asks here."""
    uvicorn.run(app, **options)


class _ReadDeadline:
    """Mixin over a uvicorn protocol: a deadline armed when the connection opens and after
    each response, disarmed when a whole request has been read."""

    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    client: Any
    _deadline: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        timeout = float(os.environ.get(READ_TIMEOUT_ENV, DEFAULT_READ_TIMEOUT))
        self._deadline = self.loop.call_later(timeout, self._too_slow, timeout)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self, timeout: float) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            log.info(
                "closed the connection of %s: no whole request within %g s (--read-timeout)",
                f"{self.client[0]}:{self.client[1]}" if self.client else "a client",
                timeout,
            )
            self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def on_response_complete(self) -> None:
        # armed first: the call below may read a pipelined request whole (and disarm)
        if not self.transport.is_closing():
            self._arm()
        super().on_response_complete()  # type: ignore[misc]


class TimedH11Protocol(_ReadDeadline, H11Protocol):
    """uvicorn's h11 protocol with the read deadline."""

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED):
            self._disarm()  # the whole request is in


#: `h11` or `httptools` chooses the HTTP parser (default: httptools when installed)
PROTOCOL_ENV = "VASP_RULES_HTTP"


def protocol_path() -> str:
    """The import path of the protocol class for uvicorn's `http` setting. httptools, when
    installed, is faster; its protocol gets the same deadline."""
    h11_path = f"{__name__}:TimedH11Protocol"
    chosen = os.environ.get(PROTOCOL_ENV, "")
    if chosen == "h11":
        return h11_path
    try:
        import httptools  # noqa: F401
    except ImportError:
        if chosen == "httptools":
            raise
        return h11_path
    return "vasp_rules.service.server_httptools:TimedHttpToolsProtocol"
