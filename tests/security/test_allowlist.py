"""Allow-list rules: every rule form, every parse error, normalisation decisions, matching."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.security.allowlist import (
    MAX_PATH_BYTES,
    MAX_VERDICT_BYTES,
    METHODS,
    AllowList,
    Rule,
    encode_path,
    normalise_path,
    parse_rules,
)
from app.settings import Settings

# Parsing ------------------------------------------------------------------------------------------


def test_parse_rules_reads_the_documented_example() -> None:
    rules = parse_rules("POST /UPRest/GetUPData, POST /Security/Whoami, GET /UserMgmt/*")
    assert rules == (
        Rule("POST", ("UPRest", "GetUPData")),
        Rule("POST", ("Security", "Whoami")),
        Rule("GET", ("UserMgmt", "*")),
    )
    assert [str(r) for r in rules] == ["POST /UPRest/GetUPData", "POST /Security/Whoami", "GET /UserMgmt/*"]


def test_parse_rules_tolerates_spaces_and_tabs_around_items() -> None:
    assert parse_rules("  GET\t/a ,\tPOST   /b  ") == (Rule("GET", ("a",)), Rule("POST", ("b",)))


@pytest.mark.parametrize("method", sorted(METHODS | {"*"}))
def test_parse_rules_accepts_every_known_method_and_star(method: str) -> None:
    assert parse_rules(f"{method} /x") == (Rule(method, ("x",)),)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no rules"),
        ("   ", "no rules"),
        ("GET /a,,GET /b", "empty rule"),
        ("GET /a,", "empty rule"),
        ("GET", "METHOD /path"),
        ("/a", "METHOD /path"),
        ("GET /a extra", "METHOD /path"),
        ("FETCH /a", "unknown method"),
        ("get /a", "unknown method"),
        ("TRACE /a", "unknown method"),
        ("CONNECT /a", "unknown method"),
        ("** /a", "unknown method"),
        ("GET a/b", "must start with /"),
        ("GET https://evil/a", "must start with /"),
        ("GET /", "empty path segment"),
        ("GET //a", "empty path segment"),
        ("GET /a//b", "empty path segment"),
        ("GET /a/", "empty path segment"),
        ("GET /**/a", "only be the last"),
        ("GET /a/**/**", "only be the last"),
        ("GET /a*", "whole segment"),
        ("GET /a/*b", "whole segment"),
        ("GET /a/***", "whole segment"),
        ("GET /a/..", "dot segments"),
        ("GET /a/./b", "dot segments"),
        ("GET /a;b", "characters outside"),
        ("GET /a%2Fb", "characters outside"),
        ("GET /a\\b", "characters outside"),
        ("GET /a?b", "characters outside"),
        ("GET /a#b", "characters outside"),
        ("GET /J\u00f6rg", "characters outside"),
        ('GET /a"b', "characters outside"),
    ],
)
def test_parse_rules_refuses_bad_rules_with_a_one_line_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as caught:
        parse_rules(text)
    assert "\n" not in str(caught.value)


def test_settings_refuse_a_bad_rule_naming_the_variable() -> None:
    with pytest.raises(ValidationError, match="unknown method 'FETCH'"):
        Settings(bff_proxy_allow="FETCH /a")
    assert Settings(bff_proxy_allow="GET /UserMgmt/*").bff_proxy_allow == "GET /UserMgmt/*"


# Normalisation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (b"/UPRest/GetUPData", "/UPRest/GetUPData"),
        (b"/a/b.c/d-e_f~g", "/a/b.c/d-e_f~g"),
        (b"/a/!$&'()*+,=:@", "/a/!$&'()*+,=:@"),
        (b"/v1.2/x..y", "/v1.2/x..y"),  # dots inside a segment are ordinary characters
        (b"/UserMgmt/J%C3%B6rg", "/UserMgmt/J\u00f6rg"),
        (b"/UserMgmt/J%c3%b6rg", "/UserMgmt/J\u00f6rg"),  # hex case does not change the meaning
        (b"/u/%E6%97%A5%E6%9C%AC", "/u/\u65e5\u672c"),
        (b"/u/%D9%A3", "/u/\u0663"),  # a non-ASCII digit is a plain character
    ],
)
def test_normalise_path_accepts_unambiguous_paths(raw: bytes, path: str) -> None:
    assert normalise_path(raw) == path


def test_normalise_path_refuses_the_root_and_trailing_slashes() -> None:
    # Decision: an empty segment, even a trailing one, is ambiguous (some servers strip it, some route on it).
    assert normalise_path(b"/") is None
    assert normalise_path(b"/a/") is None
    assert normalise_path(b"") is None


def test_normalise_path_refuses_overlong_paths() -> None:
    fitting = b"/" + b"a" * (MAX_PATH_BYTES - 1)
    assert normalise_path(fitting) == fitting.decode()
    assert normalise_path(fitting + b"a") is None


@pytest.mark.parametrize("raw", [b"/UPRest/GetUPData", b"/u/J%C3%B6rg/%E6%97%A5"])
def test_encode_path_spells_a_normalised_path_back_as_sent(raw: bytes) -> None:
    path = normalise_path(raw)
    assert path is not None
    assert encode_path(path) == raw


# Matching ------------------------------------------------------------------------------------------

RULES = AllowList.from_text(
    "POST /UPRest/GetUPData, GET /UserMgmt/*, GET /Docs/**, * /Any/Method, PUT /A/*/C, DELETE /Tree/*/**"
)


@pytest.mark.parametrize(
    ("method", "raw", "allowed"),
    [
        # exact
        ("POST", b"/UPRest/GetUPData", True),
        ("GET", b"/UPRest/GetUPData", False),
        ("POST", b"/UPRest/GetUPData/x", False),
        ("POST", b"/UPRest", False),
        ("POST", b"/uprest/getupdata", False),  # case-sensitive: refuse rather than widen
        # one-segment wildcard
        ("GET", b"/UserMgmt/GetUserInfo", True),
        ("GET", b"/UserMgmt/J%C3%B6rg", True),
        ("GET", b"/UserMgmt", False),
        ("GET", b"/UserMgmt/a/b", False),
        ("POST", b"/UserMgmt/GetUserInfo", False),
        # trailing ** is one or more segments
        ("GET", b"/Docs/a", True),
        ("GET", b"/Docs/a/b/c", True),
        ("GET", b"/Docs", False),
        ("GET", b"/Docsx/a", False),
        # method *
        ("GET", b"/Any/Method", True),
        ("PATCH", b"/Any/Method", True),
        ("OPTIONS", b"/Any/Method", True),
        ("TRACE", b"/Any/Method", False),
        ("CONNECT", b"/Any/Method", False),
        ("get", b"/Any/Method", False),
        ("BREW", b"/Any/Method", False),
        # wildcard in the middle
        ("PUT", b"/A/B/C", True),
        ("PUT", b"/A/C", False),
        ("PUT", b"/A/B/B/C", False),
        # * then **
        ("DELETE", b"/Tree/a/b", True),
        ("DELETE", b"/Tree/a/b/c", True),
        ("DELETE", b"/Tree/a", False),
        # deny by default
        ("GET", b"/Security/Whoami", False),
        ("GET", b"/UserMgmt/..", False),
    ],
)
def test_allow_list_matches_rule_forms(method: str, raw: bytes, allowed: bool) -> None:
    assert RULES.allows_raw(method, raw) is allowed


def test_allows_refuses_a_path_that_was_not_normalised() -> None:
    # A caller that hands allows() scope["path"] (already decoded) must not widen a wildcard rule.
    for path in [
        "/UserMgmt/../Admin",
        "/UserMgmt/a/..",
        "/Docs//x",
        "/Docs/x/",
        "/UserMgmt/a\\b",
        "/Docs/a;b",
    ]:
        assert not RULES.allows("GET", path), path
    assert not RULES.allows("GET", "/UserMgmt/\uff0f")
    assert not RULES.allows("GET", "/UserMgmt/a\x00")
    assert RULES.allows("GET", "/UserMgmt/J\u00f6rg")


def test_an_allow_list_with_only_exact_or_only_wildcard_rules_works() -> None:
    exact = AllowList.from_text("POST /a/b")
    assert exact.allows("POST", "/a/b")
    assert not exact.allows("POST", "/a/c")
    wild = AllowList.from_text("GET /a/*")
    assert wild.allows("GET", "/a/c")
    assert not wild.allows("GET", "/a/b/c")


def test_many_rules_compile_to_one_matcher_that_still_tells_them_apart() -> None:
    rules = AllowList.from_text(", ".join(f"GET /r{i}/*" for i in range(200)))
    assert rules.allows("GET", "/r0/x")
    assert rules.allows("GET", "/r199/x")
    assert not rules.allows("GET", "/r200/x")
    assert not rules.allows("GET", "/r1/x/y")


# The verdict cache ----------------------------------------------------------------------------------


def _cached_bytes(rules: AllowList) -> int:
    return sum(len(method) + len(raw) for method, raw in rules._verdicts)


def test_paths_past_the_refusal_limit_are_never_remembered() -> None:
    rules = AllowList.from_text("GET /UserMgmt/**")
    for n in range(200):
        long = b"/UserMgmt/" + str(n).encode() + b"a" * (64 * 1024)
        assert rules.allows_raw("GET", long) is False
    assert rules._verdicts == {}
    just_over = b"/UserMgmt/" + b"b" * (MAX_PATH_BYTES - len(b"/UserMgmt/") + 1)
    assert rules.allows_raw("GET", just_over) is False and rules._verdicts == {}
    at_limit = b"/UserMgmt/" + b"b" * (MAX_PATH_BYTES - len(b"/UserMgmt/"))
    assert rules.allows_raw("GET", at_limit) is True and list(rules._verdicts) == [("GET", at_limit)]


def test_unknown_methods_are_never_remembered() -> None:
    rules = AllowList.from_text("* /a")
    for n in range(100):
        assert rules.allows_raw("X" * 1000 + str(n), b"/a") is False
    assert rules._verdicts == {}


def test_many_long_paths_do_not_grow_the_verdict_cache_past_its_byte_bound() -> None:
    rules = AllowList.from_text("GET /UserMgmt/**")
    filler = MAX_PATH_BYTES - 32
    for n in range(3 * MAX_VERDICT_BYTES // MAX_PATH_BYTES):
        raw = f"/UserMgmt/{n:08d}/".encode() + b"c" * filler
        assert rules.allows_raw("GET", raw) is True
        assert _cached_bytes(rules) <= MAX_VERDICT_BYTES
    assert rules._verdict_bytes[0] == _cached_bytes(rules) > 0
    # Emptied and refilled, never grown: the short paths an SPA uses are remembered as before.
    assert rules.allows_raw("GET", b"/UserMgmt/GetUser") is True
    assert rules._verdicts[("GET", b"/UserMgmt/GetUser")] is True
