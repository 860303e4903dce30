"""Property tests: normalisation plus matching never allows what a plain segment compare would not."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.security.allowlist import MAX_VERDICTS, METHODS, AllowList, Rule, encode_path, normalise_path

RULES = AllowList.from_text(
    "POST /UPRest/GetUPData, GET /Public/*, GET /Docs/**, * /Open/*/Read, DELETE /Tree/*/**, GET /a/b"
)

# Pieces a path is built from: honest names, dot forms, encodings, separators, look-alikes, controls.
_TOKENS = [
    "UPRest", "GetUPData", "Public", "Docs", "Open", "Read", "Tree", "Admin", "a", "b", "x",
    ".", "..", "...", "%2e", "%2E", "%2e%2e", "%2E%2e", ".%2e", "%252e", "%c0%ae", "%C0%AE", "%e0%80%ae",
    "%2F", "%2f", "%5C", "%5c", "\\", "%c0%af", "%EF%BC%8F", "\uff0f", "%E2%88%95",
    ";", ";x=1", "%3B", "?", "#", "%3F", "%23", "%00", "\x00", "\r\n", "%0d%0a", "\t", " ", "%20",
    "%41", "%47etUPData", "%", "%z", "%C3%B6", "%c3%b6", "\u00f6", "e%CC%81", "%E2%80%8B", "%ED%A0%80",
    "*", "**", "~", ":", "@", "!", "+",
]  # fmt: skip
_SEPARATORS = ["/", "//", "\\", "%2F", "%2f", "/./", "/../", ";/", "%5C", ""]

token = st.one_of(st.sampled_from(_TOKENS), st.text(max_size=6))
_honest = st.sampled_from(["x", "Admin", "GetUPData", "J%C3%B6rg", "v1.2"])
filler = st.one_of(_honest, _honest, token)


@st.composite
def rule_shaped(draw: st.DrawFn) -> tuple[str, bytes]:
    """A method and a path that a rule allows, then zero to three mutations with the tokens above."""
    rule = draw(st.sampled_from(RULES.rules))
    method = draw(st.sampled_from(sorted(METHODS))) if rule.method == "*" else rule.method
    parts: list[str] = []
    for segment in rule.segments:
        if segment == "**":
            parts += draw(st.lists(filler, min_size=1, max_size=3))
        else:
            parts.append(draw(filler) if segment == "*" else segment)
    seps = ["/"] * len(parts)
    for _ in range(draw(st.sampled_from([0, 1, 1, 2, 3]))):
        i = draw(st.integers(0, len(parts) - 1))
        kind = draw(st.sampled_from(["replace", "glue", "insert", "separator", "trail"]))
        if kind == "replace":
            parts[i] = draw(token)
        elif kind == "glue":
            parts[i] = parts[i] + draw(token) if draw(st.booleans()) else draw(token) + parts[i]
        elif kind == "insert":
            parts.insert(i, draw(token))
            seps.insert(i, "/")
        elif kind == "separator":
            seps[i] = draw(st.sampled_from(_SEPARATORS))
        else:
            parts[-1] += draw(st.sampled_from(_SEPARATORS))
    text = "".join(sep + part for sep, part in zip(seps, parts, strict=True))
    return method, text.encode("utf-8", "surrogatepass")


free_paths = st.builds(
    lambda lead, parts, seps: (lead + "".join(s + p for s, p in zip(seps, parts, strict=False))).encode(
        "utf-8", "surrogatepass"
    ),
    st.sampled_from(["", "", "/", "//", "\\", "%2F"]),
    st.lists(token, min_size=0, max_size=6),
    st.lists(st.sampled_from(_SEPARATORS), min_size=6, max_size=6),
)
raw_paths = st.one_of(rule_shaped().map(lambda pair: pair[1]), free_paths)
methods = st.sampled_from(sorted(METHODS) + ["TRACE", "get", ""])


def _segment_matches(rule_segments: tuple[str, ...], segments: list[str]) -> bool:
    """The reference: compare raw segments one by one, ``*`` is one segment, a last ``**`` one or more."""
    if rule_segments and rule_segments[-1] == "**":
        head = rule_segments[:-1]
        if len(segments) <= len(head):
            return False
        segments = segments[: len(head)]
        rule_segments = head
    if len(segments) != len(rule_segments):
        return False
    return all(r == "*" or r == s for r, s in zip(rule_segments, segments, strict=True))


def reference_allows(rules: tuple[Rule, ...], method: str, raw: bytes) -> bool:
    """Plain "split the sent string on / and compare segments", no decoding at all."""
    text = raw.decode("latin-1")
    if not text.startswith("/"):
        return False
    segments = text[1:].split("/")
    for rule in rules:
        method_ok = method in METHODS if rule.method == "*" else method == rule.method
        if method_ok and _segment_matches(rule.segments, segments):
            return True
    return False


@settings(max_examples=1500, deadline=None)
@given(pair=st.one_of(rule_shaped(), st.tuples(methods, raw_paths)))
@example(pair=("GET", b"/Public/..%2FUPRest"))
@example(pair=("GET", b"/Docs/../UPRest/GetUPData"))
@example(pair=("POST", b"/UPRest/%47etUPData"))
@example(pair=("GET", b"/Public/x%3Ay"))
def test_normalise_and_match_never_widens_the_plain_segment_compare(pair: tuple[str, bytes]) -> None:
    method, raw = pair
    if RULES.allows_raw(method, raw):
        assert reference_allows(RULES.rules, method, raw)


@settings(max_examples=1000, deadline=None)
@given(raw=st.one_of(st.binary(max_size=64), raw_paths))
def test_normalise_path_never_raises_and_returns_only_clean_paths(raw: bytes) -> None:
    path = normalise_path(raw)
    if path is None:
        return
    assert path.startswith("/")
    segments = path[1:].split("/")
    assert all(segment and set(segment) != {"."} for segment in segments)
    assert not set(path) & set("\\;?#%\x00\r\n\t ")
    assert all(c.isprintable() for c in path)
    # Normalised means: spelled back for the wire, it is exactly what was sent (up to hex-digit case).
    assert encode_path(path) == re.sub(rb"%[0-9A-Fa-f]{2}", lambda m: m.group(0).upper(), raw)
    assert normalise_path(encode_path(path)) == path


@settings(max_examples=300, deadline=None)
@given(method=methods, raw=st.binary(max_size=40))
def test_allow_list_never_raises_on_arbitrary_bytes(method: str, raw: bytes) -> None:
    assert RULES.allows_raw(method, raw) in (True, False)


@given(st.lists(st.tuples(st.sampled_from(sorted(METHODS)), st.binary(max_size=40)), max_size=30))
def test_remembered_verdicts_equal_fresh_ones(calls: list[tuple[str, bytes]]) -> None:
    # One long-lived list (verdicts remembered across calls and methods) against a fresh judgment each time.
    for method, raw in calls + calls:
        path = normalise_path(raw)
        fresh = path is not None and RULES.allows(method, path)
        assert RULES.allows_raw(method, raw) is fresh


def test_a_verdict_is_per_method_and_the_memory_is_bounded() -> None:
    rules = AllowList.from_text("GET /a/b")
    assert rules.allows_raw("GET", b"/a/b") is True
    assert rules.allows_raw("POST", b"/a/b") is False
    assert rules.allows_raw("GET", b"/a/b") is True
    for n in range(MAX_VERDICTS * 2):
        assert rules.allows_raw("GET", f"/a/{n}".encode()) is False
    assert len(rules._verdicts) <= MAX_VERDICTS
    assert rules.allows_raw("GET", b"/a/b") is True and rules.allows_raw("GET", b"/a/%62") is False
