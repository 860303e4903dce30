"""The path-trick corpus (path_tricks.txt): every trick is refused, or at least never widens a rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.security.allowlist import METHODS, AllowList, normalise_path

CORPUS = Path(__file__).with_name("path_tricks.txt")
RULES = AllowList.from_text("POST /UPRest/GetUPData, GET /Public/*, GET /Docs/**, * /Open/*/Read")
_BYTE = re.compile(r"\\x([0-9A-Fa-f]{2})")


def _load() -> dict[str, list[bytes]]:
    sections: dict[str, list[bytes]] = {"refuse": [], "nomatch": []}
    current: list[bytes] | None = None
    for line in CORPUS.read_text(encoding="ascii").splitlines():
        marker = re.fullmatch(r"## \[(\w+)\].*", line)
        if marker:
            current = sections[marker.group(1)]
            continue
        if not line or line.startswith("##"):
            continue
        assert current is not None, f"trick before any section: {line!r}"
        current.append(_BYTE.sub(lambda m: chr(int(m.group(1), 16)), line).encode("latin-1"))
    return sections


TRICKS = _load()


def test_corpus_is_loaded_and_substantial() -> None:
    assert len(TRICKS["refuse"]) > 120
    assert len(TRICKS["nomatch"]) > 10
    assert b"/UPRest/GetUPData\x00" in TRICKS["refuse"]  # \xNN escapes became raw bytes


@pytest.mark.parametrize("raw", TRICKS["refuse"], ids=repr)
def test_path_trick_is_refused(raw: bytes) -> None:
    assert normalise_path(raw) is None
    for method in METHODS:
        assert not RULES.allows_raw(method, raw)


@pytest.mark.parametrize("raw", TRICKS["nomatch"], ids=repr)
def test_path_trick_does_not_match_a_narrower_rule(raw: bytes) -> None:
    for method in METHODS:
        assert not RULES.allows_raw(method, raw)


def test_the_rules_used_by_the_corpus_do_allow_their_honest_paths() -> None:
    # Without this, a RULES that allowed nothing would pass every trick above.
    assert RULES.allows_raw("POST", b"/UPRest/GetUPData")
    assert RULES.allows_raw("GET", b"/Public/x")
    assert RULES.allows_raw("GET", b"/Docs/a/b/c")
    assert RULES.allows_raw("DELETE", b"/Open/x/Read")
