"""The loop-thread metrics expose exactly what prometheus_client's own would for the same updates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from app.observe.metrics import _LATENCY_BUCKETS, LoopCounter, LoopHistogram, Metrics


def samples(registry: CollectorRegistry) -> list[str]:
    """The exposition's sample lines, without the *_created gauges only prometheus_client's own emit."""
    text = generate_latest(registry).decode()
    return [
        line for line in text.splitlines() if line and not line.startswith("#") and "_created" not in line
    ]


observations = st.lists(
    st.tuples(
        st.sampled_from(["start", "advance", "proxy"]),
        st.one_of(st.sampled_from(_LATENCY_BUCKETS), st.floats(min_value=0, max_value=20)),
    ),
    max_size=30,
)


@given(observations)
def test_histogram_exposition_matches_prometheus_client(seen: list[tuple[str, float]]) -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    mine = LoopHistogram("t_seconds", "doc", ["call"], ours)
    reference = Histogram("t_seconds", "doc", ["call"], buckets=_LATENCY_BUCKETS, registry=theirs)
    for call, seconds in seen:
        mine.labels(call=call).observe(seconds)
        reference.labels(call=call).observe(seconds)
    assert sorted(samples(ours)) == sorted(samples(theirs))


@given(
    st.lists(st.tuples(st.sampled_from(["/a", "/api/{path}"]), st.sampled_from(["200", "503"])), max_size=30)
)
def test_counter_exposition_matches_prometheus_client(seen: list[tuple[str, str]]) -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    mine = LoopCounter("t_requests", "doc", ["route", "status"], ours)
    reference = Counter("t_requests", "doc", ["route", "status"], registry=theirs)
    for route, status in seen:
        mine.labels(route=route, status=status).inc()
        reference.labels(route=route, status=status).inc()
    assert sorted(samples(ours)) == sorted(samples(theirs))


def test_wrong_label_names_are_refused() -> None:
    counter = LoopCounter("t_x", "doc", ["route"], CollectorRegistry())
    with pytest.raises(ValueError, match="takes labels"):
        counter.labels(path="/x")


def test_the_app_metrics_render_with_help_and_type() -> None:
    metrics = Metrics()
    metrics.latency.labels(route="/api/{path}").observe(0.003)
    text = metrics.render().decode()
    assert "# TYPE bff_request_duration_seconds histogram" in text
    assert 'bff_request_duration_seconds_bucket{le="0.005",route="/api/{path}"} 1.0' in text
    assert 'bff_request_duration_seconds_bucket{le="0.0025",route="/api/{path}"} 0.0' in text
