"""Prometheus metrics, one registry per app so that several apps (tests, workers) never collide.

Example::

    metrics = Metrics()
    metrics.logins.labels(mode="api", outcome="succeeded").inc()

The metrics touched on every request (requests, request latency, requests in flight, tenant and store
latency) are kept in plain Python numbers by :class:`LoopCounter`, :class:`LoopGauge` and
:class:`LoopHistogram`, and become Prometheus families only when ``/metrics`` is scraped:
prometheus_client's own take a lock and walk the buckets in Python on each update, several times the cost
of these (``python -m bench.instructions`` measures it). They are updated and read
on the event loop's thread only, so they need no lock, and ``/metrics`` is served on that thread too (on the
main port, or on ``BFF_METRICS_PORT`` by :mod:`app.observe.metrics_listener`). The rest are
prometheus_client's, ``process_*`` included.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Info, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _CounterChild:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount


class _HistogramChild:
    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, amount: float) -> None:
        # bisect_left: a value equal to a bound counts in that bound's bucket ("le").
        self.counts[bisect_left(self.bounds, amount)] += 1
        self.sum += amount


Child = TypeVar("Child", _CounterChild, _HistogramChild)


class _Labelled(Collector, Generic[Child]):
    """The children of one labelled metric, by label values; a collector of the registry it is given."""

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], registry: CollectorRegistry
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._children: dict[tuple[str, ...], Child] = {}
        registry.register(self)

    def labels(self, **labels: str) -> Child:
        """The child for these label values (callers on the hot path keep it rather than look it up)."""
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {sorted(labels)}")
        key = tuple(str(labels[name]) for name in self.labelnames)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._make()
        return child

    def _make(self) -> Child:
        raise NotImplementedError


class LoopCounter(_Labelled[_CounterChild]):
    """``LoopCounter("bff_requests", "...", ["route"], registry).labels(route="/x").inc()``."""

    def _make(self) -> _CounterChild:
        return _CounterChild()

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for key, child in sorted(self._children.items()):
            family.add_metric(key, child.value)
        yield family


class LoopHistogram(_Labelled[_HistogramChild]):
    """``LoopHistogram("bff_x_seconds", "...", ["call"], registry).labels(call="a").observe(0.2)``."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        registry: CollectorRegistry,
        *,
        buckets: Sequence[float] = _LATENCY_BUCKETS,
    ) -> None:
        self.bounds = tuple(sorted(float(b) for b in buckets))
        super().__init__(name, documentation, labelnames, registry)

    def _make(self) -> _HistogramChild:
        return _HistogramChild(self.bounds)

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        edges = [*map(repr, self.bounds), "+Inf"]
        for key, child in sorted(self._children.items()):
            cumulative, buckets = 0, []
            for edge, count in zip(edges, child.counts, strict=True):
                cumulative += count
                buckets.append((edge, cumulative))
            family.add_metric(list(key), buckets, sum_value=child.sum)
        yield family


class LoopGauge(Collector):
    """One unlabelled value that goes up and down: ``gauge.value += 1`` (on the loop thread, no lock)."""

    def __init__(self, name: str, documentation: str, registry: CollectorRegistry) -> None:
        self.name = name
        self.documentation = documentation
        self.value = 0.0
        registry.register(self)

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(self.name, self.documentation, value=self.value)


def package_version() -> str:
    """The installed distribution's version (``0.0.0`` when run from a tree that was never installed)."""
    try:
        return version("cyberark-bff")
    except PackageNotFoundError:
        return "0.0.0"


class Metrics:
    """The BFF's counters and histograms: ``Metrics(revision="3f2a9c1")``."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, *, revision: str = "unknown") -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        # process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds, ... (Linux /proc).
        ProcessCollector(registry=self.registry)
        Info("bff_build", "The running build", registry=self.registry).info(
            {"version": package_version(), "revision": revision}
        )
        self.in_flight = LoopGauge("bff_requests_in_flight", "Requests being answered now", self.registry)
        self.store_latency = LoopHistogram(
            "bff_store_call_duration_seconds",
            "Time the session store took, by operation",
            ["op"],
            self.registry,
        )
        self.requests = LoopCounter(
            "bff_requests", "Requests answered, by route and status", ["route", "status"], self.registry
        )
        self.latency = LoopHistogram(
            "bff_request_duration_seconds", "Time to answer a request, by route", ["route"], self.registry
        )
        self.tenant_latency = LoopHistogram(
            "bff_tenant_call_duration_seconds", "Time the tenant took, by call", ["call"], self.registry
        )
        self.upstream_latency = LoopHistogram(
            "bff_upstream_call_duration_seconds",
            "Time an upstream of BFF_UPSTREAMS took to answer, by upstream name",
            ["upstream"],
            self.registry,
        )
        self.logins = Counter(
            "bff_logins",
            "Login outcomes, by login mode (api, oauth)",
            ["mode", "outcome"],
            registry=self.registry,
        )
        self.refreshes = Counter(
            "bff_token_refreshes",
            "OAuth access-token refreshes at the tenant, by outcome (succeeded, refused, failed)",
            ["outcome"],
            registry=self.registry,
        )
        self.sessions = Counter(
            "bff_sessions", "Sessions created and ended", ["event"], registry=self.registry
        )
        self.store_errors = Counter("bff_store_errors", "Session store failures", registry=self.registry)

    def observe_tenant_call(self, call: str, seconds: float) -> None:
        self.tenant_latency.labels(call=call).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
