"""`make run`: the tenant simulator and the BFF in one process, ready for a newcomer to log in.

The BFF uses the in-process session store and the simulator as its tenant, over plain http on loopback, with
the demo SPA from web/ when it exists. Nothing here is for production.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import logging
import sys
from pathlib import Path

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
  BFF:        http://{host}:{port}/        (demo SPA{spa})
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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--sim-port", type=int, default=9001)
    args = parser.parse_args()

    web = ROOT / "web"
    has_spa = (web / "index.html").exists()
    public_url = f"http://{args.host}:{args.port}"
    overrides: dict[str, object] = {
        "cyberark_tenant_url": f"http://127.0.0.1:{args.sim_port}",
        "bff_cookie_secure": False,
        # Both logins side by side, the OAuth one against the simulator's demo app.
        "bff_login_modes": "api,oauth",
        "bff_public_url": public_url,
        **DEMO_APP,
    }
    if has_spa:
        overrides["bff_static_dir"] = web
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
            create_app(settings),
            host=args.host,
            port=args.port,
            log_config=None,
            access_log=False,
            loop="asyncio",
            # The BFF decides whom to trust for X-Forwarded-For (BFF_TRUSTED_PROXIES), not uvicorn's default.
            proxy_headers=False,
        )
    )
    spa = "" if has_spa else " not built: web/index.html missing"
    sys.stderr.write(BANNER.format(host=args.host, port=args.port, sim_port=args.sim_port, spa=spa))
    await asyncio.gather(serve_as("simulator", simulator), serve_as("bff", bff))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass  # Ctrl+C: both servers have shut down and said so; no traceback
