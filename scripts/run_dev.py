"""`make run`: the tenant simulator and the BFF in one process, ready for a newcomer to log in.

The BFF uses the in-process session store and the simulator as its tenant, over plain http on loopback, with
the demo SPA from web/ when it exists. Nothing here is for production.

The tenant (the simulator) and ``BFF_COOKIE_SECURE=false`` are fixed; every other setting comes from the
environment (or ``.env``) as usual, and these have development defaults only when unset: ``BFF_STATIC_DIR``
(web/; your own SPA's build directory instead), ``BFF_LOGIN_MODES`` (``api,oauth``), ``BFF_PUBLIC_URL``
(``http://HOST:PORT``; a dev server's origin when it proxies ``/auth``, so OAuth comes back through it) and
the demo OAuth app's ``CYBERARK_OAUTH_*``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import logging
import os
import sys
from pathlib import Path
from typing import Any

import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.configuration import load_settings_or_exit  # noqa: E402
from app.main import create_app  # noqa: E402
from app.observe.logs import configure_logging  # noqa: E402 - after the path set-up above
from app.variable_names import warn_unknown_variables  # noqa: E402
from simulator.app import create_app as create_simulator  # noqa: E402

BANNER = """
  CyberArk Identity BFF (development)
  BFF:        http://{host}:{port}/        (SPA{spa})
  simulator:  http://127.0.0.1:{sim_port}/ (stand-in tenant; test controls under /_sim/)
  demo user:  demo@example.com / Demo-pass-1, then approve the push:
              curl -X POST http://127.0.0.1:{sim_port}/_sim/oob/demo@example.com/approve
  OAuth:      "Sign in with CyberArk" uses the simulator's app bff-demo; the same user, then its TOTP:
              curl http://127.0.0.1:{sim_port}/_sim/totp/demo@example.com
  federated:  fed@partner.example (no password): the identity provider's page opens in a new window;
              press Sign in there. fedpin@partner.example: the same, then type the PIN it shows.
"""

#: The simulator's demo OAuth2 Client app (simulator/README.md, "The demo app").
DEMO_APP = {
    "cyberark_oauth_app_id": "bff-demo",
    "cyberark_oauth_client_id": "bff-demo-client",
    "cyberark_oauth_client_secret": "bff-demo-secret-1",
}


class DevInfo:
    """Adds ``X-BFF-Dev-Simulator: <its URL>`` to every answer: the demo SPA's "approve" hint names it."""

    def __init__(self, app: Any, simulator_url: str) -> None:
        self.app = app
        self.header = (b"x-bff-dev-simulator", simulator_url.encode("ascii"))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), self.header]
            await send(message)

        await self.app(scope, receive, send_with_header)


#: Which of the two servers a log line comes from: each runs in a task started with its own value, and
#: everything it does (its connections, its requests) inherits it.
SOURCE: contextvars.ContextVar[str] = contextvars.ContextVar("source", default="run_dev")


class SourceField(logging.Filter):
    """Adds ``"source": "bff" | "simulator"`` to every JSON line: both servers share one process and log."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.source = SOURCE.get()
        return True


def serve_as(source: str, server: uvicorn.Server) -> asyncio.Task[None]:
    context = contextvars.copy_context()
    context.run(SOURCE.set, source)
    return asyncio.get_running_loop().create_task(server.serve(), context=context)


def _configured(field: str) -> bool:
    """True when the environment or ./.env names the setting ``field`` (e.g. ``bff_static_dir``)."""
    names = {field.upper(), field.upper() + "_FILE"}
    if names & os.environ.keys():
        return True
    env_file = Path(".env")
    if not env_file.is_file():
        return False
    return any(
        line.split("=", 1)[0].strip().removeprefix("export ").strip() in names
        for line in env_file.read_text(errors="replace").splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--sim-port", type=int, default=9001)
    args = parser.parse_args()

    web = ROOT / "web"
    public_url = f"http://{args.host}:{args.port}"
    defaults: dict[str, object] = {
        # Both logins side by side, the OAuth one against the simulator's demo app.
        "bff_login_modes": "api,oauth",
        "bff_public_url": public_url,
        **DEMO_APP,
    }
    if (web / "index.html").exists():
        defaults["bff_static_dir"] = web
    overrides: dict[str, object] = {
        "cyberark_tenant_url": f"http://127.0.0.1:{args.sim_port}",
        "bff_cookie_secure": False,
        # A default yields to the same setting in the environment or .env (init values would win over both).
        **{name: value for name, value in defaults.items() if not _configured(name)},
    }
    settings = load_settings_or_exit(**overrides)
    configure_logging(settings.bff_log_level)
    for handler in logging.getLogger().handlers:
        handler.addFilter(SourceField())
    warn_unknown_variables()

    sim_app = create_simulator()
    # The demo app lists the default address; another --host/--port gets its callback listed too.
    oauth_state = sim_app.state.oauth
    with sim_app.state.sim.lock:
        demo = oauth_state.apps["bff-demo"]
        if settings.oauth_redirect_uri not in demo.redirect_uris:
            demo.redirect_uris.append(settings.oauth_redirect_uri)
    simulator = uvicorn.Server(
        uvicorn.Config(
            sim_app,
            host="127.0.0.1",
            port=args.sim_port,
            log_config=None,
            access_log=False,
            # The asyncio loop: its callbacks keep the context of the task that set them up, which is
            # what tells the two servers' lines apart.
            loop="asyncio",
        )
    )
    bff = uvicorn.Server(
        uvicorn.Config(
            DevInfo(create_app(settings), f"http://127.0.0.1:{args.sim_port}"),
            host=args.host,
            port=args.port,
            log_config=None,
            access_log=False,
            loop="asyncio",
            # The BFF decides whom to trust for X-Forwarded-For (BFF_TRUSTED_PROXIES), not uvicorn's default.
            proxy_headers=False,
        )
    )
    static = settings.bff_static_dir
    spa = (
        f" from {static}"
        if static is not None
        else ": none (BFF_STATIC_DIR unset and web/index.html missing)"
    )
    sys.stderr.write(BANNER.format(host=args.host, port=args.port, sim_port=args.sim_port, spa=spa))
    await asyncio.gather(serve_as("simulator", simulator), serve_as("bff", bff))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass  # Ctrl+C: both servers have shut down and said so; no traceback
