"""The SPA's house rules, read from its files: CSP, no inline code, no HTML sinks, one fetch."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from tests.browser.conftest import WEB


class _Page(HTMLParser):
    """Collects the CSP meta, the script tags and any on* attribute of index.html."""

    def __init__(self) -> None:
        super().__init__()
        self.csp: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.handlers: list[str] = []
        self._in_script = False
        self.inline_code = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.handlers += [f"<{tag} {name}>" for name, _ in attrs if name.startswith("on")]
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp.append(values.get("content") or "")
        if tag == "script":
            self.scripts.append(values)
            self._in_script = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline_code += data.strip()


def _page() -> _Page:
    parser = _Page()
    parser.feed((WEB / "index.html").read_text())
    return parser


def _directives(csp: str) -> dict[str, list[str]]:
    parts = (p.split() for p in csp.split(";") if p.strip())
    return {p[0]: p[1:] for p in parts}


def test_index_has_a_strict_csp_meta() -> None:
    page = _page()
    assert len(page.csp) == 1
    directives = _directives(page.csp[0])
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["connect-src"] == ["'self'"]
    assert directives["base-uri"] == ["'none'"]
    assert "unsafe" not in page.csp[0]


def test_index_has_no_inline_script_or_event_handler() -> None:
    page = _page()
    assert page.handlers == []
    assert page.inline_code == ""
    assert page.scripts and all(s.get("src") for s in page.scripts)


def test_app_js_never_parses_text_as_html_or_code() -> None:
    source = (WEB / "app.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function("):
        assert sink not in source, sink
    assert not re.search(r"setTimeout\(\s*[\"'`]", source), "setTimeout with a string is eval"


def test_app_js_calls_only_auth_and_api_through_one_fetch_with_the_cookie_and_csrf_header() -> None:
    source = (WEB / "app.js").read_text()
    assert source.count("fetch(") == 1
    assert 'credentials: "same-origin"' in source
    assert re.search(r'if \(method !== "GET" && method !== "HEAD"\) \{\s*headers\["X-CSRF"\] = "1";', source)
    paths = re.findall(r'call\(\s*"[A-Z]+",\s*[`"]([^`"]*)', source)
    assert paths, "no call() found"
    assert all(p.startswith(("/auth/", "/api/")) for p in paths), paths
