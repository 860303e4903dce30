"""``python -m simulator``: run the tenant simulator under uvicorn."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from simulator.app import create_app
from simulator.users import DEFAULT_USERS_FILE, UserFileError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description=(
            "A stand-in CyberArk Identity tenant for tests and demos: the login protocol "
            "(/Security/StartAuthentication, AdvanceAuthentication, ...), bearer calls, and test "
            "controls under /_sim/. See simulator/README.md."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=9001, help="port to listen on (default: %(default)s)")
    parser.add_argument(
        "--users",
        default=str(DEFAULT_USERS_FILE),
        metavar="FILE",
        help="JSON users file (default: %(default)s)",
    )
    parser.add_argument("--ssl-certfile", metavar="F", help="serve https with this certificate (PEM)")
    parser.add_argument("--ssl-keyfile", metavar="F", help="private key for --ssl-certfile (PEM)")
    parser.add_argument(
        "--pod-fqdn",
        action="append",
        metavar="HOST:PORT",
        help=(
            "pod redirect chain: StartAuthentication addressed to any other Host answers PodFqdn; "
            "repeat for a chain of hops (the last one serves the login)"
        ),
    )
    parser.add_argument(
        "--token-lifetime",
        type=int,
        default=43200,
        metavar="SECONDS",
        help=".ASPXAUTH lifetime on the simulator clock (default: %(default)s)",
    )
    parser.add_argument("--lockout-threshold", type=int, default=5, help="failures before a soft lockout")
    parser.add_argument("--lockout-seconds", type=int, default=60, help="lockout window and length")
    parser.add_argument("--tenant-id", default="ABC1234", help="TenantId the simulator reports")
    parser.add_argument("--log-level", default="info", help="uvicorn log level (default: %(default)s)")
    args = parser.parse_args(argv)
    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        parser.error("--ssl-certfile and --ssl-keyfile go together")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        app = create_app(
            args.users,
            token_lifetime=args.token_lifetime,
            lockout_threshold=args.lockout_threshold,
            lockout_seconds=args.lockout_seconds,
            pod_chain=args.pod_fqdn,
            tenant_id=args.tenant_id,
        )
    except UserFileError as exc:
        sys.stderr.write(f"simulator: {exc}\n")
        raise SystemExit(2) from None
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
        log_level=args.log_level,
    )


if __name__ == "__main__":
    main()
