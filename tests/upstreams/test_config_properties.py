"""Property tests of the ``BFF_UPSTREAMS`` parser: any input is a list of upstreams or one ValueError line,
and no accepted prefix ever covers the BFF's own routes or another upstream's."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.upstreams.config import RESERVED_PREFIXES, parse_upstreams

segments = st.text(alphabet="abAB09._~-%/;\\é", min_size=0, max_size=12)
prefixes = st.one_of(
    st.builds(lambda parts: "/" + "/".join(parts), st.lists(segments, min_size=1, max_size=3)),
    st.sampled_from([*RESERVED_PREFIXES, "/", "//api", "/api/", "/Auth", "/.well-known/jwks.json", "/svc/a"]),
)
entries = st.fixed_dictionaries(
    {"name": st.sampled_from(["a", "b", "orders"]), "url": st.just("https://x.internal"),
     "allow": st.just("GET /x")},
    optional={"prefix": prefixes, "token": st.sampled_from(["assertion", "none", "x"]),
              "timeout": st.one_of(st.floats(allow_nan=True), st.integers(-5, 500), st.text(max_size=3))},
)  # fmt: skip


def _covers(one: str, other: str) -> bool:
    a, b = one.lower(), other.lower()
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


@settings(max_examples=1500, deadline=None)
@given(st.lists(entries, max_size=3))
@example([{"name": "a", "url": "https://x", "allow": "GET /x", "prefix": "/API"}])
@example([{"name": "a", "url": "https://x", "allow": "GET /x", "prefix": "/svc/a%2Fb"}])
def test_accepted_prefixes_never_cover_the_bffs_routes_or_each_other(upstreams: list[dict[str, Any]]) -> None:
    try:
        parsed = parse_upstreams(json.dumps(upstreams))
    except ValueError as exc:
        assert "\n" not in str(exc)
        return
    for index, upstream in enumerate(parsed):
        assert upstream.prefix.encode("ascii").decode() == upstream.prefix  # plain ASCII: raw == decoded
        assert "%" not in upstream.prefix and "\\" not in upstream.prefix and ";" not in upstream.prefix
        assert not any(_covers(upstream.prefix, reserved) for reserved in RESERVED_PREFIXES)
        assert not any(_covers(upstream.prefix, other.prefix) for other in parsed[index + 1 :])


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_upstreams_or_one_line_of_error(text: str) -> None:
    try:
        parse_upstreams(text)
    except ValueError as exc:
        assert "\n" not in str(exc)
