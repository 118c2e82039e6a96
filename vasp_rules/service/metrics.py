"""Prometheus metrics of the service: requests, decisions by outcome, latency.

With several worker processes, `vasp-rules serve` sets PROMETHEUS_MULTIPROC_DIR before the
workers start; prometheus-client then keeps each worker's values in files there, and /metrics
(answered by any one worker) adds them up.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ..model.decision import Decision

#: latency buckets in seconds: a document takes about a millisecond, a large batch seconds
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The service's metrics, in a registry of their own (several apps may share a process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "vasp_rules_http_requests",
            "HTTP requests by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "vasp_rules_http_request_duration_seconds",
            "Time from request to response, by route",
            ["route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.outcomes = Counter(
            "vasp_rules_decisions",
            "Decisions made, by pack, document kind and outcome",
            ["pack", "kind", "outcome"],
            registry=self.registry,
        )

        # labelled children, looked up once per label combination (labels() is not free)
        self._children: dict[tuple[str, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (str(id(metric)), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        self._child(self.requests, method, route, str(status)).inc()
        self._child(self.latency, route).observe(seconds)

    def decisions(self, pack: str, decisions: Sequence[Decision]) -> None:
        for d in decisions:
            self._child(self.outcomes, pack, d.document_kind, d.outcome.value).inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition text, summed over worker processes when there are several."""
        folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if folder:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
