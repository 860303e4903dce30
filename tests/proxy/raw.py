"""Raw-socket HTTP/1.1 for proxy tests that need bytes no client library sends (trickles, two framings)."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes = field(repr=False)

    def json(self) -> Any:
        return json.loads(self.body)


def request_head(
    host: str, cookie: str, method: str, path: str, extra: list[str] | tuple[str, ...] = ()
) -> bytes:
    """A browser-like request head for the proxy: session cookie and X-CSRF, then ``extra`` lines."""
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}",
        f"Cookie: {cookie}",
        "X-CSRF: 1",
        "Content-Type: application/json",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Connection:
    """One keep-alive connection: ``await Connection.open(port)``, ``send``, ``answer``, ``close``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def answer(self, timeout: float) -> Answer:
        """The next answer; TimeoutError when none has come in ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            head = await self.reader.readuntil(b"\r\n\r\n")
            status_line, *lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            size = int(headers.get("content-length", "0"))
            body = await self.reader.readexactly(size)
        match = re.match(r"HTTP/1\.1 (\d{3})", status_line)
        assert match, status_line
        return Answer(int(match.group(1)), headers, body)

    async def closed_by_server(self, timeout: float) -> bool:
        """True when the server ends the connection (EOF) within ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout):
                return await self.reader.read(1) == b""
        except TimeoutError:
            return False

    def close(self) -> None:
        self.writer.close()
