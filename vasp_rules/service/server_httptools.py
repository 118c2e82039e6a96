"""uvicorn's httptools protocol with the request read deadline of `server.py` (imported only
when httptools is installed)."""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .server import _ReadDeadline


class TimedHttpToolsProtocol(_ReadDeadline, HttpToolsProtocol):
    """uvicorn's httptools protocol with the read deadline."""

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()  # the whole request is in
