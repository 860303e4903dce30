"""``/metrics`` on a listener of its own (``BFF_METRICS_PORT``), kept off the public port.

Example::

    listener = MetricsListener(metrics, port=9100)
    await listener.start()      # in the lifespan, on the app's event loop
    ...
    await listener.aclose()     # on shutdown: the port is free again when this returns

Why a small asyncio server on the app's own loop, and not prometheus_client's ``start_http_server`` or a
second uvicorn server:

- the per-request metrics are plain numbers updated on the loop thread without a lock
  (:mod:`app.observe.metrics`); a scrape must read them on that thread too. ``start_http_server`` serves from
  a thread of its own, which would read dicts the loop is writing (a "changed size during iteration" error,
  or torn histograms);
- a second ``uvicorn.Server`` in the lifespan installs its own SIGINT/SIGTERM handlers over the main
  server's and needs its private start-up steps to run embedded;
- a scrape is one GET a few times a minute from one client: a request line and headers read within a
  deadline, one answer, the connection closed. Nothing else is served here.

Workers: each uvicorn worker is a process with its own numbers, and only one process can own the port.
With ``--workers N`` the first worker to start serves the port and the others log an error and export
nothing; run one worker per pod (the image's default) and scale pods instead.
"""

from __future__ import annotations

import asyncio
import logging

from app.observe.metrics import Metrics

log = logging.getLogger("bff.metrics")

#: Seconds a scraper has to send its request line and headers.
READ_TIMEOUT = 5.0
#: Largest request head accepted (a scrape's is a few hundred bytes).
MAX_HEAD = 16 * 1024

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
_ERRORS = {
    400: b'{"error":"invalid_request"}',
    404: b'{"error":"not_found"}',
    405: b'{"error":"method_not_allowed"}',
}


class MetricsListener:
    """Serves ``GET /metrics`` of ``metrics`` on ``host:port`` (all interfaces when ``host`` is None)."""

    def __init__(self, metrics: Metrics, port: int, host: str | None = None) -> None:
        self.metrics = metrics
        self.port = port
        self.host = host
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def serving(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        """Listen; a port already taken (another worker, another process) is logged, not raised."""
        try:
            self._server = await asyncio.start_server(
                self._serve, host=self.host, port=self.port, limit=MAX_HEAD, reuse_address=True
            )
        except OSError as exc:
            log.error(
                "metrics port unavailable: this process exports no metrics (run one worker per pod)",
                extra={"port": self.port, "error": exc.strerror or type(exc).__name__},
            )
            return
        log.info("metrics listener started", extra={"port": self.port})

    async def aclose(self) -> None:
        """Stop listening and close any scrape still open."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for writer in list(self._open):
            writer.close()
        await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
                return
            status, body, extra = self._answer(head)
            headers = [
                f"HTTP/1.1 {status} {_REASONS[status]}",
                "Content-Type: " + (self.metrics.content_type if status == 200 else "application/json"),
                f"Content-Length: {len(body)}",
                "Connection: close",
                *extra,
            ]
            writer.write(("\r\n".join(headers) + "\r\n\r\n").encode("latin-1"))
            if not head.startswith(b"HEAD "):
                writer.write(body)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._open.discard(writer)
            writer.close()

    def _answer(self, head: bytes) -> tuple[int, bytes, list[str]]:
        parts = head.split(b"\r\n", 1)[0].split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            return 400, _ERRORS[400], []
        method, target = parts[0], parts[1]
        if target.split(b"?", 1)[0] != b"/metrics":
            return 404, _ERRORS[404], []
        if method not in (b"GET", b"HEAD"):
            return 405, _ERRORS[405], ["Allow: GET, HEAD"]
        return 200, self.metrics.render(), []
