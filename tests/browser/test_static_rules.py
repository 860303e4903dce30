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


def test_app_js_calls_the_bff_only_through_the_package() -> None:
    source = (WEB / "app.js").read_text()
    # No fetch of its own: bff.fetch (the package's, with X-CSRF and credentials) is the only one.
    assert not re.search(r"(?<![\w.])fetch\(", source) and "XMLHttpRequest" not in source
    assert "window.fetch" not in source and "globalThis.fetch" not in source
    imports = re.findall(r'^import .* from "([^"]+)";$', source, flags=re.MULTILINE)
    assert imports == ["./vendor/cyberark-bff-client/index.js"]
    assert "createBffClient()" in source, "the same-origin client: no baseUrl, the cookie stays same-origin"
    paths = re.findall(r'bff\.(?:api|fetch)\(\s*[`"]([^`"]*)', source)
    # /auth/options once, for the header naming make run's simulator; the apps list through /api.
    assert paths == ["/auth/options", "/UPRest/GetUPData"], paths


def test_the_package_sends_the_cookie_and_csrf_header_through_one_fetch() -> None:
    """What app.js used to promise itself, now promised by the package's built copy that web/ serves."""
    vendor = WEB / "vendor" / "cyberark-bff-client"
    sources = {p.name: p.read_text() for p in vendor.rglob("*.js")}
    # No file calls a fetch of its own (``fetch(path, init) {`` is the client's method, which uses fetchFn).
    calls = [m for s in sources.values() for m in re.findall(r"(?<![\w.])fetch\((?!path, init\) \{)", s)]
    assert calls == []
    transport = sources["transport.js"]
    assert transport.count("this.fetchFn(") == 1
    assert sum(s.count("this.fetchFn(") for s in sources.values()) == 1
    assert 'const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);' in transport
    assert re.search(r'if \(!SAFE\.has\(method\)\) \{\s*headers\.set\("X-CSRF", "1"\);', transport)
    assert '(this.baseUrl === "" ? "same-origin" : "include")' in transport
    for source in sources.values():
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function("):
            assert sink not in source, sink
