"""The header attack corpus (header_attacks.txt) over raw sockets against /auth and /api: never a 5xx."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from tests.faults.conftest import ALICE, ALICE_PASSWORD, bff_settings
from tests.support.asgi_server import ServerThread
from tests.support.redis_server import RedisServer

CORPUS = Path(__file__).with_name("header_attacks.txt")
#: Headers each ``value:`` line is put into, replacing the normal one when there is one.
TARGETS = ["X-CSRF", "Origin", "Cookie", "User-Agent", "X-Forwarded-For", "X-Request-ID", "Content-Type"]
TARGETS += ["Accept-Language"]
ROUTES: list[tuple[str, str, dict[str, object] | None]] = [
    ("GET", "/auth/session", None),
    ("GET", "/auth/sessions", None),
    ("POST", "/auth/login", {"username": "alice@example.com"}),
    ("POST", "/auth/advance", {"mechanism": "m0", "answer": "x"}),
    ("POST", "/auth/cancel", {}),
    ("DELETE", "/auth/sessions/" + "0" * 32, None),
    ("GET", "/api/Security/Whoami", None),
    ("POST", "/api/UPRest/GetUPData", {}),
]
#: Seconds for one whole exchange; a hang fails the test (unless the request itself promised more bytes).
EXCHANGE_BOUND = 3.0

_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|[rnt0\\])")
_REPEAT = re.compile(r"\{([^{}]+)\*(\d+)\}")


def decode(text: str) -> bytes:
    """The corpus notation as the bytes to send (see the file's header)."""
    text = _REPEAT.sub(lambda m: m.group(1) * int(m.group(2)), text)

    def one(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        simple = {b"r": b"\r", b"n": b"\n", b"t": b"\t", b"0": b"\0", b"\\": b"\\"}
        if code in simple:
            return simple[code]
        if code[:1] == b"x":
            return bytes([int(code[1:], 16)])
        return chr(int(code[1:], 16)).encode("utf-8")

    return _ESCAPE.sub(one, text.encode("utf-8"))


@dataclass(frozen=True)
class Attack:
    kind: str  # "value" or "line"
    text: str

    @property
    def raw(self) -> bytes:
        return decode(self.text)


def load_corpus() -> list[Attack]:
    attacks = []
    for line in CORPUS.read_text(encoding="ascii").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, sep, text = line.partition(": ")
        assert sep and kind in ("value", "line"), f"bad corpus line: {line!r}"
        attacks.append(Attack(kind, text))
    return attacks


ATTACKS = load_corpus()


def build(host: str, method: str, path: str, body: dict[str, object] | None, headers: list[bytes]) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    head = [f"{method} {path} HTTP/1.1".encode(), f"Host: {host}".encode(), *headers]
    if body is not None:
        head.append(f"Content-Length: {len(payload)}".encode())
    head.append(b"Connection: close")
    return b"\r\n".join(head) + b"\r\n\r\n" + payload


def normal_headers(cookie: str) -> dict[str, bytes]:
    return {
        "X-CSRF": b"1",
        "Cookie": f"bff={cookie}".encode(),
        "User-Agent": b"attack-corpus",
        "Content-Type": b"application/json",
        "Accept": b"application/json",
    }


def requests_for(attack: Attack, host: str, cookie: str) -> list[tuple[str, bytes]]:
    """Every raw request this attack makes: (label, bytes)."""
    out = []
    for method, path, body in ROUTES:
        if attack.kind == "line":
            headers = [f"{k}: ".encode() + v for k, v in normal_headers(cookie).items()] + [attack.raw]
            out.append((f"{method} {path}", build(host, method, path, body, headers)))
            continue
        for target in TARGETS:
            values = normal_headers(cookie)
            values[target] = attack.raw
            headers = [f"{k}: ".encode() + v for k, v in values.items()]
            out.append((f"{method} {path} [{target}]", build(host, method, path, body, headers)))
    return out


async def exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` on a fresh connection (``Connection: close``), read until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await reader.read(-1)
    except ConnectionResetError:
        return b""
    finally:
        writer.close()


def promises_more_body(request: bytes) -> bool:
    """Whether the request's own framing (chunked, or a Content-Length past the end) asks for more bytes."""
    head, _, body = request.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"transfer-encoding":
            return True
        if name == b"content-length":
            digits = value.strip()
            if not digits.isdigit() or int(digits) > len(body):
                return True
    return False


_STATUS = re.compile(rb"HTTP/1\.[01] (\d{3}) ")


def final_status(answer: bytes) -> tuple[int, bytes] | None:
    """The status and header block of the final (non-1xx) response; None when the server sent nothing."""
    rest = answer
    while rest:
        match = _STATUS.match(rest)
        assert match, f"not an HTTP response: {answer[:200]!r}"
        head, _, rest = rest.partition(b"\r\n\r\n")
        status = int(match.group(1))
        if status >= 200:
            return status, head
    return None


def sync_login(base_url: str) -> str:
    """alice's password login; the session cookie."""
    with httpx.Client(base_url=base_url, headers={"X-CSRF": "1"}, timeout=10) as client:
        started = client.post("/auth/login", json={"username": ALICE}).json()
        mechanism = started["challenge"]["mechanisms"][0]["id"]
        client.post(
            "/auth/advance", json={"mechanism": mechanism, "answer": ALICE_PASSWORD}
        ).raise_for_status()
        return str(client.cookies["bff"])


@pytest.fixture(scope="module")
def target(sim_server: ServerThread, redis_server: RedisServer) -> Iterator[tuple[ServerThread, str]]:
    """One BFF for the whole corpus, believing X-Forwarded-For from loopback (so the XFF walk runs), and a
    live session on it."""
    settings = bff_settings(
        sim_server.url,
        bff_redis_url=redis_server.url,
        bff_trusted_proxies="127.0.0.1/32",
        bff_login_rate_limit="100000/60,100000/60",
    )
    with ServerThread(create_app(settings)) as bff:
        yield bff, sync_login(bff.url)


@pytest.mark.parametrize("attack", ATTACKS, ids=[f"{a.kind}-{i}" for i, a in enumerate(ATTACKS)])
async def test_no_header_attack_gets_a_5xx_or_a_hang(
    target: tuple[ServerThread, str], attack: Attack
) -> None:
    bff, cookie = target
    failures = []
    for label, request in requests_for(attack, bff.host, cookie):
        incomplete = promises_more_body(request)
        try:
            answer = await asyncio.wait_for(
                exchange(bff.port, request), 1.0 if incomplete else EXCHANGE_BOUND
            )
        except TimeoutError:
            # Waiting for a body the client promised and never sent is the client's hang, not the server's.
            if not incomplete:
                failures.append(f"{label}: no answer within {EXCHANGE_BOUND}s")
            continue
        result = final_status(answer)
        if result is None:
            if not incomplete:
                failures.append(f"{label}: connection closed without an answer")
            continue
        status, head = result
        if status >= 500:
            failures.append(f"{label}: {status}")
        # Nothing the attacker sent comes back as a header of its own (no response splitting).
        if re.search(rb"\r\n(X-Injected|Continued|Set-Cookie: bff=stolen)", head, re.IGNORECASE):
            failures.append(f"{label}: injected header in {head!r}")
    assert not failures, failures
    # The session survived every attack: the BFF still serves it.
    async with httpx.AsyncClient(base_url=bff.url, cookies={"bff": cookie}, timeout=5) as client:
        assert (await client.get("/auth/session")).status_code == 200
