"""Run an ASGI app under a real uvicorn on a free loopback port, in a background thread."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

from tests.support.ports import free_port


class ServerThread:
    """``with ServerThread(app) as s: httpx.get(s.url + "/healthz")``; TLS when cert and key are given."""

    def __init__(
        self,
        app: Any,
        port: int | None = None,
        ssl_certfile: str | None = None,
        ssl_keyfile: str | None = None,
        **config: Any,
    ) -> None:
        self.port = port or free_port()
        self.scheme = "https" if ssl_certfile else "http"
        self.config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
            # uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 before the app sees the request;
            # the BFF decides which proxies to trust itself (BFF_TRUSTED_PROXIES).
            **{"proxy_headers": False, **config},
        )
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("uvicorn exited before it started")
            if time.monotonic() > deadline:
                raise TimeoutError("uvicorn did not start in 15s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
