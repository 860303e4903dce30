"""Prometheus metrics, one registry per app so that several apps (tests, workers) never collide.

Example::

    metrics = Metrics()
    metrics.logins.labels(outcome="succeeded").inc()
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The BFF's counters and histograms."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "bff_requests",
            "Requests answered, by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "bff_request_duration_seconds",
            "Time to answer a request, by route",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.tenant_latency = Histogram(
            "bff_tenant_call_duration_seconds",
            "Time the tenant took, by call",
            ["call"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.logins = Counter("bff_logins", "Login outcomes", ["outcome"], registry=self.registry)
        self.sessions = Counter(
            "bff_sessions", "Sessions created and ended", ["event"], registry=self.registry
        )
        self.store_errors = Counter("bff_store_errors", "Session store failures", registry=self.registry)

    def observe_tenant_call(self, call: str, seconds: float) -> None:
        self.tenant_latency.labels(call=call).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
