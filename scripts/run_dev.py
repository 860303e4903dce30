"""`make run`: the tenant simulator and the BFF in one process, ready for a newcomer to log in.

The BFF uses the in-process session store and the simulator as its tenant, over plain http on loopback, with
the demo SPA from web/ when it exists. Nothing here is for production.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.main import create_app  # noqa: E402
from app.observe.logs import configure_logging  # noqa: E402 - after the path set-up above
from app.settings import load_settings_or_exit  # noqa: E402
from simulator.app import create_app as create_simulator  # noqa: E402

BANNER = """
  CyberArk Identity BFF (development)
  BFF:        http://{host}:{port}/        (demo SPA{spa})
  simulator:  http://127.0.0.1:{sim_port}/ (stand-in tenant; test controls under /_sim/)
  demo user:  demo@example.com / Demo-pass-1, then approve the push:
              curl -X POST http://127.0.0.1:{sim_port}/_sim/oob/demo@example.com/approve
  federated:  fed@partner.example (no password): the identity provider's page opens in a new window;
              press Sign in there. fedpin@partner.example: the same, then type the PIN it shows.
"""


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--sim-port", type=int, default=9001)
    args = parser.parse_args()

    web = ROOT / "web"
    has_spa = (web / "index.html").exists()
    overrides: dict[str, object] = {
        "cyberark_tenant_url": f"http://127.0.0.1:{args.sim_port}",
        "bff_cookie_secure": False,
    }
    if has_spa:
        overrides["bff_static_dir"] = web
    settings = load_settings_or_exit(**overrides)
    configure_logging(settings.bff_log_level)

    simulator = uvicorn.Server(
        uvicorn.Config(
            create_simulator(), host="127.0.0.1", port=args.sim_port, log_config=None, access_log=False
        )
    )
    bff = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=args.host,
            port=args.port,
            log_config=None,
            access_log=False,
            # The BFF decides whom to trust for X-Forwarded-For (BFF_TRUSTED_PROXIES), not uvicorn's default.
            proxy_headers=False,
        )
    )
    spa = "" if has_spa else " not built: web/index.html missing"
    sys.stderr.write(BANNER.format(host=args.host, port=args.port, sim_port=args.sim_port, spa=spa))
    await asyncio.gather(simulator.serve(), bff.serve())


if __name__ == "__main__":
    asyncio.run(main())
