"""The origin client against the aiohttp client it replaced: a corpus of tenant answers, each sent through a
BFF on either client, must give the browser the same bytes, or (for the hostile ones) a refusal from the new.

Each answer comes from a scripted origin (raw bytes on a real socket), through a real BFF under uvicorn, to a
raw-socket browser; the browser's bytes are compared with the Date and X-Request-ID values left out and a
chunked answer's body de-chunked (where the proxy cuts its chunks is not part of the answer).
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Iterator

import pytest

from tests.origin.aiohttp_reference import AiohttpUpstream
from tests.origin.scripted import Action, Request, ScriptedOrigin, answer
from tests.proxy.conftest import seeded_cookie
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import BffFactory

JSON = b"Content-Type: application/json"
BIG = bytes(range(256)) * 1200  # 300 KiB: past the proxy's peek window, so it streams


def chunked(*pieces: bytes, extension: bytes = b"") -> bytes:
    out = b""
    for piece in pieces:
        out += b"%x%s\r\n%s\r\n" % (len(piece), extension, piece)
    return out + b"0\r\n\r\n"


#: Answers both clients must pass on the same: name -> what the tenant writes (then keeps the connection).
SAME: dict[str, bytes | Action] = {
    "length": answer(b'{"success":true}', JSON),
    "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
    + JSON
    + b"\r\n\r\n"
    + chunked(b'{"a"', b":1}"),
    "chunk-extension": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    + chunked(b"ab", extension=b";x=1"),
    "trailers": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Trailer\r\n\r\n"
    + b"2\r\nok\r\n0\r\nX-Trailer: 1\r\nSet-Cookie: t=1\r\n\r\n",
    "gzip": answer(gzip.compress(b'{"success":true}'), JSON, b"Content-Encoding: gzip"),
    "close-delimited": Action(
        send=b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nto the end", close=True
    ),
    "http-1.0": Action(send=b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nold", close=True),
    "no-content": b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
    "not-modified": b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n',
    "early-hints": b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n" + answer(b"after hints"),
    "continue": b"HTTP/1.1 100 Continue\r\n\r\n" + answer(b"after continue"),
    "error-500": answer(b'{"error":"x"}', JSON, status=b"500 Internal Server Error"),
    "teapot": answer(b"short and stout", status=b"418 I'm a teapot"),
    "cookies-and-cors": answer(
        b"x", b"Set-Cookie: a=1", b"Set-Cookie: b=2", b"Access-Control-Allow-Origin: *", b"X-Keep: yes"
    ),
    "hop-by-hop": answer(b"x", b"Connection: X-Drop, keep-alive", b"X-Drop: 1", b"Keep-Alive: timeout=5"),
    "odd-values": answer(
        b"x", b"X-Tab: a\tb", b"X-Latin: caf\xe9", b"X-Empty:", b"x-lower: 1", b"X-UPPER: 2"
    ),
    "repeated": answer(
        b"x", b"X-Many: 1", b"X-Many: 2", b"Cache-Control: no-store", b"Cache-Control: private"
    ),
    "long-value": answer(b"x", b"X-Long: " + b"v" * 8000),
    "big-streamed": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    + chunked(BIG[:100_000], BIG[100_000:]),
    "big-length": answer(BIG),
    "early-close-in-peek": Action(
        send=b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..", close=True
    ),
    "early-close-streaming": Action(
        send=b"HTTP/1.1 200 OK\r\nContent-Length: 400000\r\n\r\n" + BIG, close=True
    ),
    "close-before-head": Action(close=True),
    "partial-head": Action(send=b"HTTP/1.1 200 OK\r\nContent-Le", close=True),
}

#: Hostile answers: the new client must refuse them (502 upstream_unavailable, nothing of them passed on).
REFUSED: dict[str, bytes | Action] = {
    "length-and-chunked": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
    + chunked(b"abcde"),
    "two-lengths": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 7\r\n\r\nsmuggle",
    "length-list": b"HTTP/1.1 200 OK\r\nContent-Length: 2, 7\r\n\r\nsmuggle",
    "signed-length": b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
    "bad-chunk-size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
    "chunk-size-overflow": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    + b"ffffffffffffffffff\r\nab\r\n",
    "obs-fold": b"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 2\r\n\r\nok",
    "space-before-colon": b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
    "bare-lf": b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    "bare-cr-in-value": b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nok",
    "nul-in-value": b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok",
    "oversized-field": answer(b"x", b"X-Huge: " + b"h" * 9000),
    "oversized-head": answer(b"x", *[b"X-H%d: " % i + b"h" * 1000 for i in range(80)]),
    "switching-protocols": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
    + b"Connection: Upgrade\r\n\r\n",
    "garbled-status": b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\nok",
    "not-http": Action(send=b"SSH-2.0-OpenSSH_9.6\r\n", close=True),
}


def script(request: Request) -> bytes | Action:
    name = request.head.split(b" ", 2)[1].rsplit(b"/", 1)[1].decode()
    if name == "smuggle":
        # A second, unasked-for answer behind the first: it must never become the next request's answer.
        return answer(b"first") + answer(b"SMUGGLED")
    if name == "next":
        return answer(b"next")
    if request.head.startswith(b"HEAD "):
        return answer(b'{"success":true}', JSON).partition(b"\r\n\r\n")[0] + b"\r\n\r\n"
    return {**SAME, **REFUSED}[name]


async def browse(bff: ServerThread, cookie: str, name: str, method: str = "GET") -> bytes:
    """One request on a fresh browser connection; the answer's bytes, normalised."""
    reader, writer = await asyncio.open_connection("127.0.0.1", bff.port)
    head = f"{method} /api/c/{name} HTTP/1.1\r\nHost: {bff.host}\r\nCookie: {cookie}\r\nConnection: close\r\n"
    writer.write(head.encode() + b"\r\n")
    raw = await asyncio.wait_for(reader.read(-1), 15)
    writer.close()
    return normalised(raw)


def normalised(raw: bytes) -> bytes:
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = [
        line for line in head.split(b"\r\n") if not line.lower().startswith((b"date:", b"x-request-id:"))
    ]
    if b"transfer-encoding: chunked" in head.lower():
        plain = b""
        while body:
            size_line, _, rest = body.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            plain += rest[:size]
            body = rest[size + 2 :]
        else:
            plain += b"<cut>"
        body = plain
    return b"\r\n".join(lines) + sep + body


@pytest.fixture
def both(make_bff: BffFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[BffFactory, BffFactory]]:
    def old(**settings: object) -> ServerThread:
        with monkeypatch.context() as patch:
            patch.setattr("app.proxy.target.Upstream", AiohttpUpstream)  # the data plane's one client factory
            return make_bff(**settings)

    yield old, make_bff


async def test_every_answer_reaches_the_browser_as_before_or_is_refused(
    both: tuple[BffFactory, BffFactory], redis_url: str
) -> None:
    old_bff, new_bff = both
    async with ScriptedOrigin(script) as origin:
        settings = {"cyberark_tenant_url": origin.url, "bff_proxy_allow": "* /c/*", "cyberark_timeout": 3}
        old, new = old_bff(**settings), new_bff(**settings)
        cookie = await seeded_cookie(redis_url)
        differences = []
        for name in SAME:
            before, after = await browse(old, cookie, name), await browse(new, cookie, name)
            if before != after:
                differences.append((name, before[:300], after[:300]))
        assert differences == []
        for name in REFUSED:
            after = await browse(new, cookie, name)
            assert after.startswith(b"HTTP/1.1 502 "), (name, after[:300])
            assert after.endswith(
                b'"error":"upstream_unavailable","message":"The identity service cannot be reached."}'
            )
        # HEAD: no body from either, whatever Content-Length the tenant names.
        assert await browse(old, cookie, "length", "HEAD") == await browse(new, cookie, "length", "HEAD")


async def test_a_smuggled_second_answer_never_reaches_another_request(
    both: tuple[BffFactory, BffFactory], redis_url: str
) -> None:
    _, new_bff = both
    async with ScriptedOrigin(script) as origin:
        new = new_bff(cyberark_tenant_url=origin.url, bff_proxy_allow="GET /c/*", cyberark_timeout=3)
        cookie = await seeded_cookie(redis_url)
        for _ in range(3):
            first = await browse(new, cookie, "smuggle")
            assert first.startswith(b"HTTP/1.1 200 ") and first.endswith(b"\r\n\r\nfirst")
            following = await browse(new, cookie, "next")
            assert following.endswith(b"\r\n\r\nnext"), following
