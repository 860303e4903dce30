"""The origin client against real sockets: pool, keep-alive, retry, timeouts, framings, flow control, TLS."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import pytest

from app.errors import TenantTimeout, TenantUnavailable
from app.origin.client import OriginClient
from app.origin.connection import OriginResponse
from tests.origin.scripted import Action, Request, ScriptedOrigin, answer


async def read_all(response: OriginResponse) -> bytes:
    body = b""
    while chunk := await response.read():
        body += chunk
    return body


async def get(client: OriginClient, target: bytes = b"/x", method: bytes = b"GET") -> tuple[int, bytes]:
    response = await client.request(method, target, [])
    body = await read_all(response)
    response.release()
    return response.status, body


async def test_a_connection_is_kept_and_reused() -> None:
    async with ScriptedOrigin(lambda r: answer(b"hello")) as origin:
        client = OriginClient(origin.url, timeout=2)
        assert await get(client) == (200, b"hello")
        assert await get(client) == (200, b"hello")
        assert origin.connections == 1 and client.idle == 1
        await client.aclose()
        assert client.connections == 0


async def test_the_request_is_exactly_the_given_headers_plus_host_and_framing() -> None:
    async with ScriptedOrigin(lambda r: answer()) as origin:
        client = OriginClient(origin.url, timeout=2)
        response = await client.request(b"POST", b"/a/b?c=d%20e", [(b"x-one", b"1")], b"{}")
        await read_all(response)
        response.release()
        await client.aclose()
    head = origin.requests[0].head
    host = b"Host: 127.0.0.1:%d\r\n" % origin.port
    assert head == b"POST /a/b?c=d%20e HTTP/1.1\r\n" + host + b"x-one: 1\r\nContent-Length: 2\r\n\r\n"
    assert origin.requests[0].body == b"{}"


@pytest.mark.parametrize(
    "header",
    [
        (b"x-a", b"1\r\nInjected: yes"),
        (b"x-a", b"1\nInjected: yes"),
        (b"x-a", b"1\rInjected"),
        (b"x-a", b"nul\x00"),
        (b"x a", b"1"),
        (b"x-a\r\nInjected", b"1"),
        (b"", b"1"),
        (b"host", b"evil.example"),
        (b"Transfer-Encoding", b"chunked"),
        (b"content-length", b"5"),
    ],
)
async def test_an_outgoing_header_that_could_split_or_reframe_the_request_is_refused(
    header: tuple[bytes, bytes],
) -> None:
    async with ScriptedOrigin(lambda r: answer()) as origin:
        client = OriginClient(origin.url, timeout=2)
        with pytest.raises(ValueError):
            await client.request(b"GET", b"/x", [header])
        with pytest.raises(ValueError):
            await client.request(b"GET", b"/x y", [])
        await client.aclose()
    assert origin.requests == [] and origin.connections == 0


async def test_idle_connections_are_dropped_before_the_origins_keep_alive_timeout() -> None:
    async with ScriptedOrigin(lambda r: answer(b"k", b"Keep-Alive: timeout=2")) as origin:
        client = OriginClient(origin.url, timeout=2, keepalive=30)
        await get(client)
        # The origin closes at 2 s; the client stops using the connection a second before.
        await asyncio.sleep(1.2)
        await get(client)
        assert origin.connections == 2
        await client.aclose()


async def test_idle_connections_are_closed_after_keepalive_seconds() -> None:
    async with ScriptedOrigin(lambda r: answer()) as origin:
        client = OriginClient(origin.url, timeout=2, keepalive=0.3)
        await get(client)
        assert client.connections == 1
        await asyncio.sleep(0.6)
        assert client.connections == 0  # closed by the client, not left for the origin to close
        await client.aclose()


def close_second_request_on_a_connection(seen: dict[str, int]) -> ScriptedOrigin:
    """Answers the first request of each connection; closes without a byte on the second (a stale one)."""

    def script(request: Request) -> bytes | Action:
        seen["requests"] += 1
        if seen["requests"] == 2:
            return Action(close=True)
        return answer(b"fine")

    return ScriptedOrigin(script)


@pytest.mark.parametrize("method", [b"GET", b"PUT", b"DELETE"])
async def test_an_idempotent_request_on_a_stale_pooled_connection_is_sent_once_more(method: bytes) -> None:
    seen = {"requests": 0}
    async with close_second_request_on_a_connection(seen) as origin:
        client = OriginClient(origin.url, timeout=2)
        assert await get(client, method=method) == (200, b"fine")
        assert await get(client, method=method) == (200, b"fine")
        assert seen["requests"] == 3 and origin.connections == 2
        await client.aclose()


@pytest.mark.parametrize("method", [b"POST", b"PATCH"])
async def test_a_non_idempotent_request_on_a_stale_connection_is_never_sent_twice(method: bytes) -> None:
    seen = {"requests": 0}
    async with close_second_request_on_a_connection(seen) as origin:
        client = OriginClient(origin.url, timeout=2)
        assert await get(client, method=method) == (200, b"fine")
        with pytest.raises(TenantUnavailable):
            await get(client, method=method)
        assert seen["requests"] == 2
        await client.aclose()


async def test_a_fresh_connection_that_fails_is_not_retried() -> None:
    seen = {"requests": 0}

    def script(request: Request) -> Action:
        seen["requests"] += 1
        return Action(close=True)

    async with ScriptedOrigin(script) as origin:
        client = OriginClient(origin.url, timeout=2)
        with pytest.raises(TenantUnavailable):
            await get(client)
        assert seen["requests"] == 1
        await client.aclose()


async def test_a_silent_origin_is_a_timeout() -> None:
    async with ScriptedOrigin(lambda r: Action(hold=5)) as origin:
        client = OriginClient(origin.url, timeout=0.3)
        with pytest.raises(TenantTimeout):
            await get(client)
        assert client.connections == 0
        await client.aclose()


async def test_a_body_that_stalls_is_a_timeout_but_one_that_keeps_flowing_is_not() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n"
    async with ScriptedOrigin(lambda r: Action(send=head, trickle=[b"ab", b"cd", b"ef"], gap=0.2)) as origin:
        client = OriginClient(origin.url, timeout=0.5)
        assert await get(client) == (200, b"abcdef")  # 0.6 s in all, no gap over 0.5 s
        await client.aclose()
    async with ScriptedOrigin(lambda r: Action(send=head, trickle=[b"ab", b"cd"], gap=0.8)) as origin:
        client = OriginClient(origin.url, timeout=0.5)
        response = await client.request(b"GET", b"/x", [])
        with pytest.raises(TenantTimeout):
            await read_all(response)
        response.release()
        assert client.connections == 0
        await client.aclose()


async def test_waiting_for_a_pooled_connection_is_bounded_by_the_timeout() -> None:
    async with ScriptedOrigin(lambda r: answer()) as origin:
        client = OriginClient(origin.url, timeout=0.3, pool_size=1)
        held = await client.request(b"GET", b"/x", [])
        with pytest.raises(TenantTimeout):
            await client.request(b"GET", b"/x", [])
        # Once the first answer is read and released, the connection serves the next caller.
        waiting = asyncio.create_task(get(client))
        await asyncio.sleep(0.05)
        await read_all(held)
        held.release()
        assert await waiting == (200, b"ok")
        assert origin.connections == 1
        await client.aclose()


async def test_an_unreachable_origin_is_unavailable() -> None:
    async with ScriptedOrigin(lambda r: answer()) as origin:
        url = origin.url
    client = OriginClient(url, timeout=2)
    with pytest.raises(TenantUnavailable):
        await get(client)
    await client.aclose()


@pytest.mark.parametrize(
    ("raw", "body"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", b"hello"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n", b"hello"),
        (b"HTTP/1.1 204 No Content\r\n\r\n", b""),
        (b'HTTP/1.1 304 Not Modified\r\nETag: "a"\r\n\r\n', b""),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", b"ok"),
        (
            b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            b"ok",
        ),
    ],
)
async def test_framings_that_keep_the_connection(raw: bytes, body: bytes) -> None:
    async with ScriptedOrigin(lambda r: raw) as origin:
        client = OriginClient(origin.url, timeout=2)
        for _ in range(2):
            response = await client.request(b"GET", b"/x", [])
            assert await read_all(response) == body
            assert b"early" not in b"".join(v for _, v in response.headers).lower()
            response.release()
        assert origin.connections == 1
        await client.aclose()


async def test_an_early_hints_answers_headers_are_not_the_final_answers() -> None:
    raw = b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    async with ScriptedOrigin(lambda r: raw) as origin:
        client = OriginClient(origin.url, timeout=2)
        response = await client.request(b"GET", b"/x", [])
        assert response.status == 200 and response.header(b"link") is None
        response.close()
        await client.aclose()


async def test_a_body_delimited_by_the_connections_end() -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"
    async with ScriptedOrigin(lambda r: Action(send=raw, close=True)) as origin:
        client = OriginClient(origin.url, timeout=2)
        assert await get(client) == (200, b"until the end")
        assert client.connections == 0
        await client.aclose()


async def test_a_length_framed_body_cut_short_is_an_error_not_an_answer() -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"
    async with ScriptedOrigin(lambda r: Action(send=raw, close=True)) as origin:
        client = OriginClient(origin.url, timeout=2)
        response = await client.request(b"GET", b"/x", [])
        with pytest.raises(TenantUnavailable):
            await read_all(response)
        await client.aclose()


async def test_head_answers_have_no_body_and_the_connection_is_reused() -> None:
    async with ScriptedOrigin(lambda r: b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n") as origin:
        client = OriginClient(origin.url, timeout=2)
        for _ in range(3):
            assert await get(client, method=b"HEAD") == (200, b"")
        assert origin.connections == 1
        await client.aclose()


async def test_a_body_after_a_head_answer_closes_the_connection() -> None:
    async with ScriptedOrigin(lambda r: answer(b"unasked")) as origin:
        client = OriginClient(origin.url, timeout=2)
        assert await get(client, method=b"HEAD") == (200, b"")
        assert await get(client, method=b"HEAD") == (200, b"")
        assert origin.connections == 2
        await client.aclose()


async def test_bytes_after_the_answer_close_the_connection_and_never_reach_the_next_request() -> None:
    smuggled = answer(b"first") + answer(b"SMUGGLED")

    def script(request: Request) -> bytes:
        return smuggled if b"/first" in request.head else answer(b"second")

    async with ScriptedOrigin(script) as origin:
        client = OriginClient(origin.url, timeout=2)
        assert await get(client, b"/first") == (200, b"first")
        assert await get(client, b"/second") == (200, b"second")
        assert origin.connections == 2
        await client.aclose()


async def test_cancelling_a_read_closes_the_connection() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"
    async with ScriptedOrigin(lambda r: Action(send=head, trickle=[b"abcd"], gap=1.0)) as origin:
        client = OriginClient(origin.url, timeout=5)
        response = await client.request(b"GET", b"/x", [])
        reading = asyncio.create_task(read_all(response))
        await asyncio.sleep(0.1)
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
        response.release()
        assert client.connections == 0 and client.idle == 0
        await client.aclose()


async def test_cancelling_the_wait_for_the_head_closes_the_connection() -> None:
    async with ScriptedOrigin(lambda r: Action(send=answer(), hold=1.0)) as origin:
        client = OriginClient(origin.url, timeout=5)
        asking = asyncio.create_task(client.request(b"GET", b"/x", []))
        await asyncio.sleep(0.1)
        asking.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asking
        assert client.connections == 0
        await client.aclose()


async def test_a_streamed_upload_waits_for_a_slow_reader_and_is_chunked_without_a_length() -> None:
    piece = b"x" * 65536
    buffered: list[int] = []
    async with ScriptedOrigin(lambda r: Action(send=answer(), stall_reading=0.5)) as origin:
        client = OriginClient(origin.url, timeout=5)

        async def upload() -> AsyncIterator[bytes]:
            for _ in range(256):  # 16 MiB
                for connection in client._open:
                    assert connection.transport is not None
                    buffered.append(connection.transport.get_write_buffer_size())
                yield piece

        response = await client.request(b"POST", b"/up", [], upload())
        await read_all(response)
        response.release()
        await client.aclose()
    assert b"transfer-encoding: chunked" in origin.requests[0].head.lower()
    assert len(origin.requests[0].body) == 256 * 65536
    # The writes waited for the origin: never anything like the whole 16 MiB in the client's buffer.
    assert max(buffered) < 2 * 1024 * 1024


async def test_a_streamed_upload_with_a_length_is_sent_as_that_length() -> None:
    async with ScriptedOrigin(lambda r: answer()) as origin:
        client = OriginClient(origin.url, timeout=5)

        async def upload() -> AsyncIterator[bytes]:
            yield b"abc"
            yield b"def"

        response = await client.request(b"PUT", b"/up", [], upload(), length=6)
        await read_all(response)
        response.release()
        await client.aclose()
    assert b"Content-Length: 6\r\n" in origin.requests[0].head and origin.requests[0].body == b"abcdef"


async def test_an_upload_stream_that_fails_closes_the_connection_and_raises_its_error() -> None:
    async with ScriptedOrigin(lambda r: answer()) as origin:
        client = OriginClient(origin.url, timeout=5)

        async def upload() -> AsyncIterator[bytes]:
            yield b"abc"
            raise LookupError("the browser's body broke")

        with pytest.raises(LookupError):
            await client.request(b"POST", b"/up", [], upload())
        assert client.connections == 0
        await client.aclose()


async def test_tls_with_the_given_context_and_sni(tls_files: dict[str, str]) -> None:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(tls_files["cert"], tls_files["key"])
    names: list[str | None] = []
    server_context.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment,func-returns-value]
    async with ScriptedOrigin(lambda r: answer(b"secure"), ssl_context=server_context) as origin:
        trusted = OriginClient(
            f"https://localhost:{origin.port}",
            timeout=2,
            ssl_context=ssl.create_default_context(cafile=tls_files["ca"]),
        )
        assert await get(trusted) == (200, b"secure")
        assert names == ["localhost"]
        await trusted.aclose()
        # The system store does not know the test CA: the certificate does not verify, and that is a 502.
        untrusted = OriginClient(f"https://localhost:{origin.port}", timeout=2)
        with pytest.raises(TenantUnavailable):
            await get(untrusted)
        await untrusted.aclose()


async def test_the_pool_wait_has_its_own_connect_timeout() -> None:
    async with ScriptedOrigin(lambda r: answer()) as origin:
        client = OriginClient(origin.url, timeout=10, connect_timeout=0.2, pool_size=1)
        held = await client.request(b"GET", b"/x", [])
        started = asyncio.get_running_loop().time()
        with pytest.raises(TenantTimeout):
            await client.request(b"GET", b"/x", [])
        assert asyncio.get_running_loop().time() - started < 2
        held.close()
        await client.aclose()


async def test_the_tenant_upstream_keeps_one_client_per_tenant_host() -> None:
    from app.identity.upstream import MAX_ORIGINS, Upstream

    async with (
        ScriptedOrigin(lambda r: answer(b"main")) as main,
        ScriptedOrigin(lambda r: answer(b"pod")) as pod,
    ):
        upstream = Upstream(main.url, timeout=2)
        for base, expected in ((None, b"main"), (pod.url, b"pod"), (main.url + "/", b"main")):
            response = await upstream.send("GET", "/x", "a=1", [], None, base)
            assert await read_all(response) == expected
            response.release()
        assert pod.requests[0].head.startswith(b"GET /x?a=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % pod.port)
        # Past MAX_ORIGINS pod hosts the oldest pod's client is closed; the configured tenant's stays.
        for port in range(1, MAX_ORIGINS + 1):
            upstream._client(f"http://127.0.0.1:{port}")
        assert main.url in upstream._clients and pod.url not in upstream._clients
        assert len(upstream._clients) == MAX_ORIGINS
        await upstream.aclose()


@pytest.mark.parametrize("pieces", [[b"abc", b"defg"], [b"ab"]])
async def test_a_streamed_body_that_does_not_match_its_length_is_refused_and_the_connection_closed(
    pieces: list[bytes],
) -> None:
    async with ScriptedOrigin(lambda r: answer()) as origin:
        client = OriginClient(origin.url, timeout=2)

        async def upload() -> AsyncIterator[bytes]:
            for piece in pieces:
                yield piece

        with pytest.raises(ValueError):
            await client.request(b"PUT", b"/up", [], upload(), length=6)
        assert client.connections == 0
        await client.aclose()


async def test_trailer_fields_are_not_headers_of_the_answer() -> None:
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Trailer: 1\r\n\r\n"
    async with ScriptedOrigin(lambda r: raw) as origin:
        client = OriginClient(origin.url, timeout=2)
        response = await client.request(b"GET", b"/x", [])
        assert await read_all(response) == b"ok" and response.header(b"x-trailer") is None
        response.release()
        assert await get(client) == (200, b"ok")
        assert origin.connections == 1
        await client.aclose()
