"""Decision-service throughput and latency against in-process `pack.evaluate`.

Starts `vasp-rules serve` on a free 127.0.0.1 port (never another address), sends a fixed
number of requests (one document each, cycling through examples/*.json) over keep-alive
connections at concurrency 1 and 16, checks every answer is the library's decision byte for byte,
and prints throughput, p50/p99 latency and server CPU per request beside the same documents
evaluated in this process, one after another. The server is stopped at the end, also on error.

Run: ``python benchmarks/service.py [--requests N] [--workers W] [--kinds transfer,customer]
[--gather 32,1] [--rounds R] [--dates D]`` (from the repository root; needs the `service`
extra). With several `--gather` values, one server each, measured in interleaved rounds. The
ratio column is service throughput over in-process throughput; the issue's aim is >= 0.7 at
concurrency 16 with 2 workers.
With ``--dates D`` the callers vary `as_of`: request i asks for day i mod D after AS_OF (every
date new to the server the first time), and a prober asks for /healthz every 20 ms during each
run; its p50 and p99 are printed (issue 22: a new date must not stall the server).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from vasp_rules import RulePack

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 6, 1)
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (Linux /proc), or NaN elsewhere."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        pending = [pid]
        while pending:
            p = pending.pop()
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{p}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(c) for c in children)
        return total
    except (OSError, ValueError):
        return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _connection(
    port: int, requests: list[bytes], next_index: list[int], latencies: list[float]
) -> list[tuple[int, bytes]]:
    reader, writer = await asyncio.open_connection(HOST, port)
    answers: list[tuple[int, bytes]] = []
    try:
        while next_index[0] < len(requests):
            i = next_index[0]
            next_index[0] += 1
            started = time.perf_counter()
            writer.write(requests[i])
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                raise RuntimeError(f"request {i}: HTTP {status}: {body[:200]!r}")
            answers.append((i, body))
    finally:
        writer.close()
    return answers


async def _prober(port: int, stop: asyncio.Event, latencies: list[float]) -> None:
    """GET /healthz every 20 ms until `stop`, recording each answer's latency."""
    reader, writer = await asyncio.open_connection(HOST, port)
    request = f"GET /healthz HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
    try:
        while not stop.is_set():
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)
    finally:
        writer.close()


async def load(
    port: int, requests: list[bytes], concurrency: int, health: list[float] | None = None
) -> tuple[float, list[float], dict[int, bytes]]:
    """Send every request over `concurrency` keep-alive connections; (seconds, latencies,
    answers by request index). With `health`, /healthz is probed meanwhile (latencies there)."""
    latencies: list[float] = []
    next_index = [0]
    stop = asyncio.Event()
    probe = asyncio.create_task(_prober(port, stop, health)) if health is not None else None
    started = time.perf_counter()
    parts = await asyncio.gather(
        *(_connection(port, requests, next_index, latencies) for _ in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    stop.set()
    if probe is not None:
        await probe
    return elapsed, latencies, {i: body for part in parts for i, body in part}


def http_request(port: int, document: dict[str, Any], as_of: date = AS_OF) -> bytes:
    body = json.dumps(document).encode()
    return (
        f"POST /v1/evaluate?as_of={as_of.isoformat()} HTTP/1.1\r\nHost: {HOST}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def start_server(workers: int, gather: int = 32) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vasp_rules.cli",
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--gather",
            str(gather),
            "--no-access-log",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited while starting")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start within 180 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="requests per run")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument(
        "--kinds", default="", help="only these document kinds (comma-separated; default all)"
    )
    parser.add_argument(
        "--gather",
        default="32",
        help="servers to compare by `serve --gather` (comma-separated, e.g. 32,1: single-"
        "document requests decided in micro-batches of up to 32, or each alone)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds per server")
    parser.add_argument(
        "--dates", type=int, default=0, help="callers vary as_of over this many dates (0: one)"
    )
    args = parser.parse_args()
    gathers = [int(g) for g in args.gather.split(",")]
    kinds = {k for k in args.kinds.split(",") if k}
    base = []
    for path in sorted((ROOT / "examples").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for doc in data if isinstance(data, list) else [data]:
            if not kinds or doc["kind"] in kinds:
                base.append(doc)
    documents = [base[i % len(base)] for i in range(args.requests)]
    days = [AS_OF + timedelta(days=i % args.dates) if args.dates else AS_OF
            for i in range(args.requests)]
    print(
        f"{len(documents)} requests, one document each, cycling {len(base)} example documents "
        f"({', '.join(sorted({d['kind'] for d in base}))}); as_of {AS_OF}"
        + (f" and the {args.dates - 1} days after it, in turn" if args.dates > 1 else "")
    )

    pack = RulePack.load(ROOT / "rules" / "pk")
    expected = [pack.evaluate(d, AS_OF).to_json().encode() for d in base]  # also warms up
    runs = {  # per concurrency, the dates of the requests: new to the server in each run
        c: [day + timedelta(days=k * args.dates) for day in days] for k, c in enumerate((1, 16))
    }
    wanted = {
        c: [pack.evaluate(d, day).to_json().encode() for d, day in zip(documents, ds, strict=True)]
        for c, ds in runs.items()
    } if args.dates else {}
    latencies: list[float] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for doc in documents:
        t = time.perf_counter()
        pack.evaluate(doc, AS_OF)
        latencies.append(time.perf_counter() - t)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    baseline = len(documents) / wall
    rows = [("in-process pack.evaluate", 1, baseline, latencies, cpu / len(documents), 1.0)]

    health: list[tuple[int, list[float]]] = []
    servers = [(g, *start_server(args.workers, g)) for g in gathers]
    try:
        samples: dict[tuple[int, int], list[tuple[float, list[float], float]]] = {}
        for _, _, port in servers:
            warm = [http_request(port, d) for d in base] * (4 * args.workers)
            asyncio.run(load(port, warm, 2 * args.workers))
        for round_ in range(args.rounds):  # interleaved: drift on a shared machine hits all alike
            for concurrency in (1, 16):
                for gather, process, port in servers:
                    if args.dates:  # dates new to this server in this round
                        shift = timedelta(days=round_ * 2 * args.dates)
                        requests = [
                            http_request(port, d, day + shift)
                            for d, day in zip(documents, runs[concurrency], strict=True)
                        ]
                    else:
                        requests = [http_request(port, d) for d in documents]
                    cpu_before = cpu_seconds(process.pid)
                    probed: list[float] = []
                    elapsed, lat, answers = asyncio.run(
                        load(port, requests, concurrency, probed if args.dates else None)
                    )
                    cpu_used = cpu_seconds(process.pid) - cpu_before
                    if probed:
                        health.append((concurrency, probed))
                    for i, body in answers.items():
                        if args.dates and round_ == 0:
                            want = wanted[concurrency][i]
                        elif args.dates:
                            continue  # later rounds' dates: checked in the first round only
                        else:
                            want = expected[i % len(base)]
                        if body != want:
                            raise RuntimeError(f"request {i}: the decision differs")
                    samples.setdefault((gather, concurrency), []).append(
                        (len(requests) / elapsed, lat, cpu_used / len(requests))
                    )
        for (gather, concurrency), runs_ in samples.items():
            rate = statistics.median(r for r, _, _ in runs_)
            lat = [x for _, one, _ in runs_ for x in one]
            cpu_per = statistics.median(c for _, _, c in runs_)
            name = f"service, {args.workers} w., gather {gather}"
            rows.append((name, concurrency, rate, lat, cpu_per, rate / baseline))
    finally:
        for _, process, _ in servers:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    print(
        f"{'':34}{'conc.':>6}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/req':>12}{'ratio':>7}"
    )
    for name, conc, rate, lat, cpu_per, ratio in rows:
        print(
            f"{name:34}{conc:>6}{rate:>10.1f}{percentile(lat, 0.5) * 1e3:>9.2f}"
            f"{percentile(lat, 0.99) * 1e3:>9.2f}{cpu_per * 1e3:>12.2f}{ratio:>7.2f}"
        )
    for concurrency, probed in health:
        print(
            f"/healthz during the run at concurrency {concurrency}: p50 "
            f"{percentile(probed, 0.5) * 1e3:.2f} ms, p99 {percentile(probed, 0.99) * 1e3:.2f} ms "
            f"({len(probed)} probes)"
        )
    print(
        f"(mean in-process latency {statistics.mean(latencies) * 1e3:.2f} ms; "
        f"{os.cpu_count()} CPUs; every service answer equalled the library's decision)"
    )


if __name__ == "__main__":
    main()
