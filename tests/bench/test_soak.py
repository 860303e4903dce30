"""The soak harness on a short run: real redis-server, simulator and BFF processes, mixed MFA traffic."""

from __future__ import annotations

import pytest

from bench.soak import soak


@pytest.mark.slow
def test_a_short_soak_has_no_errors_and_leaves_no_session_keys() -> None:
    figures = soak(duration=60, requests=1500, concurrency=4, calls=5)
    assert figures["errors"] == 0, figures["first_errors"]
    assert figures["requests"] >= 1500
    # Every kind of traffic ran: logins with a push (poll) and with an email code, proxied calls, logouts.
    assert {"login", "advance", "poll", "proxy", "logout"} <= set(figures["latency_ms"])
    # Sessions, logins and user indexes are gone once every browser logged out.
    assert figures["redis_keys"]["session_keys_after"] == 0, figures["redis_keys"]
    assert figures["rss_kib"]["end"] > 0 and figures["rss_kib"]["growth_pct"] < 25
