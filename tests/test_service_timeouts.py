"""Slow clients are cut off: `vasp-rules serve` on a real loopback port closes a connection
whose request has not arrived whole within --read-timeout (a client sending a byte at a time,
or nothing at all), for both HTTP parsers uvicorn can use, while a normal client is served."""

from __future__ import annotations

import importlib.util
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.repo import AS_OF
from support.service import Server, start_server

READ_TIMEOUT = 1.5
PARSERS = ["h11"] + (["httptools"] if importlib.util.find_spec("httptools") else [])


@pytest.fixture(scope="module", params=PARSERS)
def slow_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    os.environ["VASP_RULES_HTTP"] = request.param  # inherited by the server process
    try:
        server = start_server(
            tmp_path_factory.mktemp("timeouts"),
            "--read-timeout",
            str(READ_TIMEOUT),
            "--keep-alive-timeout",
            "1",
        )
    finally:
        del os.environ["VASP_RULES_HTTP"]
    try:
        yield server
    finally:
        server.stop()


def closed_after(sock: socket.socket, trickle: bytes, limit: float) -> float:
    """Send `trickle` a byte every 0.25 s until the server closes the connection; the seconds
    that took (fails past `limit`)."""
    started = time.monotonic()
    sock.settimeout(0.25)
    for i in range(int(limit / 0.25)):
        try:
            if trickle:
                sock.sendall(trickle[i % len(trickle) : i % len(trickle) + 1])
            if sock.recv(1024) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - started
    raise AssertionError(f"the connection was still open after {limit} s")


def test_clients_sending_a_byte_at_a_time_or_nothing_are_cut_off(slow_server: Server) -> None:
    head = (
        f"POST /v1/evaluate?as_of={AS_OF} HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"
    ).encode()
    socks = [socket.create_connection(("127.0.0.1", slow_server.port)) for _ in range(4)]
    try:
        # two trickle their headers, one sends whole headers and then its body a byte at a time,
        # one sends nothing
        socks[2].sendall(head[:-1])
        took = [
            closed_after(socks[0], head, 6),
            closed_after(socks[1], b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 200, 6),
            closed_after(socks[2], b" " * 100, 6),
            closed_after(socks[3], b"", 6),
        ]
    finally:
        for s in socks:
            s.close()
    assert max(took) < 6
    # a normal client is served meanwhile and after
    status, _, _ = slow_server.request("GET", "/healthz", key=None)
    assert status == 200
    log = Path(slow_server.output).read_text()
    assert "no whole request within 1.5 s (--read-timeout)" in log


def test_a_keep_alive_connection_serves_several_requests_then_idles_out(
    slow_server: Server,
) -> None:
    sock = socket.create_connection(("127.0.0.1", slow_server.port))
    try:
        sock.settimeout(5)
        for _ in range(3):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while b'"status"' not in answer:
                answer += sock.recv(4096)
            assert answer.startswith(b"HTTP/1.1 200")
            time.sleep(0.5)  # within the keep-alive timeout
        took = closed_after(sock, b"", 4)  # idle: the keep-alive timeout closes it
        assert took < 4
    finally:
        sock.close()


def test_the_access_log_of_the_real_server_carries_the_request_id(slow_server: Server) -> None:
    slow_server.request("GET", "/healthz", key=None, headers={"X-Request-Id": "from-proxy-7"})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if '"GET /healthz HTTP/1.1" 200 request_id=from-proxy-7' in slow_server.output.read_text():
            return
        time.sleep(0.1)
    raise AssertionError(slow_server.output.read_text()[-2000:])
