"""Write the configuration table in README.md and the whole of .env.example from app.settings.Settings.

    .venv/bin/python scripts/gen_config_docs.py          # rewrite both
    .venv/bin/python scripts/gen_config_docs.py --check  # exit 1 when either is stale (CI)

Every field of Settings needs a meaning here (or a ``Field(description=...)``); a field without one, or a
meaning for a field that no longer exists, stops the script with status 2, so the docs cannot drift.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.settings import Settings  # noqa: E402 - after the path set-up above

README = ROOT / "README.md"
ENV_EXAMPLE = ROOT / ".env.example"
START = "<!-- config:start -->"
END = "<!-- config:end -->"


@dataclass(frozen=True)
class Doc:
    """What one variable means: ``Doc("seconds, each tenant call", example="15")``."""

    meaning: str
    default: str | None = None  # shown instead of the field's default when that needs words
    example: str | None = None  # the value written (commented out) into .env.example, else the default
    production: bool = False  # required when BFF_ENV=production


GROUPS: list[tuple[str, dict[str, Doc]]] = [
    (
        "Mode",
        {
            "bff_env": Doc(
                "`production` refuses to start without `CYBERARK_TENANT_URL`, `BFF_REDIS_URL`, "
                "`BFF_SESSION_SECRETS` of 32+ characters each, with a `CYBERARK_TENANT_URL` or an origin "
                "of `BFF_ALLOWED_ORIGINS` that is not `https://`, with `BFF_COOKIE_SECURE=false`, with "
                "the `oauth` login mode and a `BFF_PUBLIC_URL` that is not `https://`, and with a "
                "variable name that is a near miss of a known one (see above)",
            ),
            "bff_log_level": Doc("`DEBUG`, `INFO`, `WARNING` or `ERROR`; logs are JSON lines on stderr"),
        },
    ),
    (
        "The CyberArk Identity tenant",
        {
            "cyberark_tenant_url": Doc(
                "the tenant, e.g. `https://abc1234.id.cyberark.cloud`; `PodFqdn` hosts are joined with its "
                "scheme",
                default="none (development: the simulator at `http://127.0.0.1:9001`)",
                example="https://abc1234.id.cyberark.cloud",
                production=True,
            ),
            "cyberark_tenant_id": Doc("sent as `TenantId` on the login calls", example="ABC1234"),
            "cyberark_ca_bundle": Doc(
                "PEM file of CAs for the tenant's TLS (a TLS-inspecting egress proxy, a private test tenant)",
                default="the system store",
                example="/etc/ssl/certs/tenant-ca.pem",
            ),
            "cyberark_timeout": Doc("seconds allowed for each tenant call (502/504 past it)"),
        },
    ),
    (
        "Session store (Redis)",
        {
            "bff_redis_url": Doc(
                "`redis://`, `rediss://` (TLS) or `unix://`; credentials go in the URL. Unset: an in-process "
                "store, development only",
                default="none: in-process store (development only)",
                example="rediss://:password@redis.example.internal:6380/0",
                production=True,
            ),
            "bff_redis_mode": Doc(
                "`standalone`, `sentinel` (the URL's host is ignored; see the next two) or `cluster` "
                "(the URL names any node)",
            ),
            "bff_redis_sentinels": Doc(
                "sentinel mode: `host:port,...` of the sentinels", example="10.0.0.11:26379,10.0.0.12:26379"
            ),
            "bff_redis_sentinel_master": Doc("sentinel mode: the name of the monitored master"),
            "bff_redis_sentinel_password": Doc(
                "sentinel mode: the sentinels' own password, when they require one (the URL's credentials "
                "are the data nodes'); with `rediss://` the sentinels are reached over TLS with the URL's CA",
                default="none",
            ),
            "bff_redis_key_prefix": Doc("every key the BFF writes starts with it (share a Redis safely)"),
        },
    ),
    (
        "Sessions and cookies",
        {
            "bff_session_secrets": Doc(
                "comma-separated signing secrets (32+ characters each, e.g. `openssl rand -hex 32`); the "
                "first signs, all verify, so add a new one in front to rotate",
                default="none (development: random per process)",
                example="<64 hex characters>,<the previous secret, while rotating>",
                production=True,
            ),
            "bff_session_idle_timeout": Doc(
                "seconds without a request before a session ends, within a slack of "
                "`min(max(30 s, 2 % of it), ¼ of it)` (36 s at the default; see the SPA integration guide)"
            ),
            "bff_session_cache": Doc(
                "`on`: each replica keeps the sealed session records it recently read, kept true by Redis's "
                "invalidation (`CLIENT TRACKING`), so a proxied call costs no Redis command; `off`: every "
                "request reads Redis. Falls back to `off` by itself, with one warning, when Redis refuses "
                "tracking",
                default="`on` (where the Redis server supports `CLIENT TRACKING`)",
            ),
            "bff_session_max_lifetime": Doc(
                "absolute cap on a session in seconds; keep it at or below the tenant's token lifespan "
                "(12 h by default)"
            ),
            "bff_max_sessions_per_user": Doc(
                "live sessions one user may have; a login past it ends that user's oldest session (its "
                "record is deleted, its cookie stops working)"
            ),
            "bff_login_timeout": Doc("seconds a login in progress (pre-auth state) lives"),
            "bff_poll_min_interval": Doc(
                "seconds between tenant polls for one login; faster polls get the last answer"
            ),
            "bff_cookie_secure": Doc(
                "`false` only for plain-http development (the cookie is then `bff`, not `__Host-bff`)"
            ),
        },
    ),
    (
        "Browser-facing security",
        {
            "bff_allowed_origins": Doc(
                "comma-separated origins (`scheme://host[:port]`) of the **same site** as the BFF,"
                " besides its own, that may call `/auth` and `/api` with credentials: the BFF answers"
                " their CORS preflights and puts `Access-Control-Allow-Origin: <that origin>` (never"
                " `*`), `-Allow-Credentials`, `-Expose-Headers: Retry-After, X-Request-ID` and"
                " `Vary: Origin` on every answer to them, errors included; an OAuth `return_to` may be"
                " a URL on one of them. An origin of another site than `BFF_PUBLIC_URL` is a start-up"
                " warning (the `SameSite=Strict` cookie is not sent from there)."
                ' See "Same origin or split origins"',
                default="none (same origin only)",
                example="https://app.example.com",
            ),
            "bff_login_rate_limit": Doc(
                "`IP_LIMIT[,USERNAME_LIMIT]`, each `attempts/seconds`, on login attempts"
            ),
            "bff_oob_rate_limit": Doc(
                "`attempts/seconds`: StartOOB (mail, text, push, call) per user across logins, against "
                "push bombing; besides at most 5 per login"
            ),
            "bff_trusted_proxies": Doc(
                "CIDRs of the proxies in front (load balancer, ingress) whose `X-Forwarded-For` and "
                "`X-Forwarded-Proto` are believed; the image passes it to uvicorn's "
                "`--forwarded-allow-ips` too",
                default="none (no proxy believed)",
                example="10.0.0.0/8",
            ),
        },
    ),
    (
        "Proxy (/api)",
        {
            "bff_proxy_allow": Doc(
                "comma-separated `METHOD /path` rules (`*` one segment, trailing `**` any rest) that `/api` "
                "may forward; anything else is 403",
                example="POST /UPRest/GetUPData, POST /Security/Whoami",
            ),
            "bff_max_body_bytes": Doc("largest proxied request body in bytes (413 past it)"),
            "bff_proxy_preread_bytes": Doc(
                "a proxied request body up to this many bytes is read whole before a tenant connection is "
                "taken; a larger one streams to the tenant from there on"
            ),
            "bff_proxy_body_timeout": Doc(
                "seconds a proxied request body may take to arrive, all of it (`408 request_timeout` past it)"
            ),
            "bff_proxy_max_in_flight": Doc(
                "proxied calls one session may have in flight on one replica, at least 16 "
                "(`429 rate_limited` with `Retry-After` past it)"
            ),
        },
    ),
    (
        "Login modes and the OAuth 2.0 login",
        {
            "bff_login_modes": Doc(
                "comma-separated: `api` (the `/auth/login` steps), `oauth` (authorization code + PKCE at the "
                "tenant's own sign-in page, the BFF a confidential client), or `api,oauth`; "
                "`GET /auth/options` lists them. A mode left out does not exist: without `api`, "
                "`/auth/login`, `/auth/advance`, `/auth/poll` and `/auth/cancel` answer `404 not_found` "
                "without parsing the body, so no password passes through the BFF; without `oauth`, "
                "`/auth/oauth/*` do",
                default="`api`",
                example="api,oauth",
            ),
            "bff_public_url": Doc(
                "the browser-facing origin of the BFF; builds the `redirect_uri` "
                "`{BFF_PUBLIC_URL}/auth/oauth/callback`, which the tenant app must list exactly. Required "
                "with `oauth`; `https://` in production",
                default="none",
                example="https://app.example.com",
            ),
            "cyberark_oauth_app_id": Doc(
                "the OAuth2 Client app's application id (the `{app}` in `/OAuth2/Token/{app}`); required "
                "with `oauth`",
                default="none",
                example="bff",
            ),
            "cyberark_oauth_client_id": Doc(
                "the confidential client's id: the login name of the service user with *Is OAuth "
                "confidential client*; required with `oauth`",
                default="none",
                example="bff-client@abc1234.example",
            ),
            "cyberark_oauth_client_secret": Doc(
                "that service user's password; required with `oauth`; never logged",
                default="none",
                example="<the service user's password>",
            ),
            "cyberark_oauth_scope": Doc(
                "space-separated scopes to ask for; the app's scope definitions decide which tenant REST "
                "APIs the access token may call (the `BFF_PROXY_ALLOW` paths must be among them)",
            ),
            "cyberark_oauth_client_auth": Doc(
                "how the BFF authenticates at the token and revoke endpoints: `basic` "
                "(`client_secret_basic`) or `post` (`client_secret_post`)",
            ),
        },
    ),
    (
        "Upstreams: your own APIs behind the BFF",
        {
            "bff_upstreams": Doc(
                "a JSON list of upstreams, each `{name, url, allow}` and optionally `prefix` (default "
                "`/svc/{name}`), `token` (`assertion`, `access_token` or `none`), `audience`, `timeout`, "
                "`ca_bundle`; or `BFF_UPSTREAMS_FILE` naming a file of it. Each is proxied at its prefix "
                'like `/api`, with the credential its `token` names; see README, "Your own APIs behind the '
                'BFF"',
                default="none: no upstream, the prefixes are 404",
                example='[{"name": "orders", "url": "https://orders.internal", "allow": "GET /orders/*"}]',
            ),
            "bff_assertion_keys": Doc(
                "PEM private keys (P-256, RSA 2048+ or Ed25519, blocks one after another) that sign identity "
                "assertions: the first signs, all are published at `/.well-known/jwks.json`. Give it as "
                "`BFF_ASSERTION_KEYS_FILE`. Required in production when an upstream uses `assertion`",
                default="none (development: a key made per process)",
                example="",
                production=False,
            ),
        },
    ),
    (
        "Static files",
        {
            "bff_static_dir": Doc(
                "serve a built SPA from this folder at `/`", default="none", example="/srv/web"
            ),
        },
    ),
    (
        "Operations",
        {
            "bff_metrics_port": Doc(
                "a port number: `/metrics` only on its own listener there (all interfaces; keep it off the "
                "Internet), and not on the main port. One process owns it: run one worker per pod",
                default="none: `/metrics` on the main port",
                example="9100",
            ),
            "bff_revision": Doc(
                "the source revision of the build, shown in `bff_build_info{version,revision}`; the image "
                "sets it from its `REVISION` build argument",
                example="3f2a9c1",
            ),
            "bff_otel_enabled": Doc(
                "`true`: OpenTelemetry traces (needs the `otel` extra), a span per request and per tenant "
                "call, configured by the standard `OTEL_*` variables (`OTEL_EXPORTER_OTLP_ENDPOINT`, "
                "`OTEL_SERVICE_NAME`, ...); `traceparent` is believed only from `BFF_TRUSTED_PROXIES`",
            ),
        },
    ),
]

#: Read by the image's command (Dockerfile CMD), not by the app.
IMAGE_VARS: dict[str, Doc] = {
    "BFF_PORT": Doc("the port uvicorn listens on inside the container", default="8000"),
    "BFF_WORKERS": Doc(
        "uvicorn worker processes; keep 1 on Kubernetes and scale pods instead (metrics are per process)",
        default="1",
    ),
}

#: Read by deploy/docker-compose.yml only.
COMPOSE_VARS: dict[str, Doc] = {
    "REDIS_PASSWORD": Doc(
        "the compose Redis's password (hex, e.g. `openssl rand -hex 24`); compose builds `BFF_REDIS_URL` "
        "from it",
        default="none (required by compose)",
        example="<48 hex characters>",
    ),
}


class DocsError(Exception):
    """Settings and the documentation here disagree."""


def settings_docs() -> list[tuple[str, list[tuple[str, Doc]]]]:
    """The groups with each field's Doc, checked against Settings.model_fields."""
    fields = Settings.model_fields
    documented = {name for _, docs in GROUPS for name in docs}
    stale = sorted(documented - set(fields))
    if stale:
        raise DocsError(f"documented but not in Settings: {', '.join(stale)}")
    groups = [(title, list(docs.items())) for title, docs in GROUPS]
    missing = [name for name in fields if name not in documented]
    undocumented = [name for name in missing if not fields[name].description]
    if undocumented:
        names = ", ".join(n.upper() for n in undocumented)
        raise DocsError(f"no meaning for {names}: add it to GROUPS in scripts/gen_config_docs.py")
    if missing:
        groups.append(("Other", [(n, Doc(str(fields[n].description))) for n in missing]))
    return groups


def default_text(name: str, doc: Doc) -> str:
    """The default as a reader wants it: words where the raw value would mislead."""
    if doc.default is not None:
        return doc.default
    value: Any = Settings.model_fields[name].default
    return "none" if value in (None, [], "") else _plain(value)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def readme_table() -> str:
    """The markdown table that sits between the config markers in README.md."""
    lines = [
        "| variable | default | meaning |",
        "| --- | --- | --- |",
    ]
    for _, docs in settings_docs():
        for name, doc in docs:
            required = " **Required in production.**" if doc.production else ""
            shown = doc.default if doc.default is not None else f"`{default_text(name, doc)}`"
            shown = "none" if shown == "`none`" else shown
            lines.append(f"| `{name.upper()}` | {_cell(shown)} | {_cell(doc.meaning)}.{required} |")
    lines.append("")
    lines.append("Read by the container image's command (Dockerfile `CMD`), not by the app:")
    lines.append("")
    lines.append("| variable | default | meaning |")
    lines.append("| --- | --- | --- |")
    for name, doc in IMAGE_VARS.items():
        lines.append(f"| `{name}` | `{doc.default}` | {_cell(doc.meaning)}. |")
    return "\n".join(lines)


def env_example() -> str:
    """The whole of .env.example: every variable, commented out, with its meaning."""
    out = [
        "# Configuration of the CyberArk Identity BFF. Every line is commented out: a copy changes",
        "# nothing until you uncomment and edit a line. Copy to .env (read by the app from its working",
        "# directory) or, for docker compose, to deploy/.env. Generated by scripts/gen_config_docs.py",
        "# from app/settings.py; edit the script, not this file.",
        "#",
        "# Production needs: BFF_ENV=production (the image's default), CYBERARK_TENANT_URL, BFF_REDIS_URL",
        "# and BFF_SESSION_SECRETS; BFF_COOKIE_SECURE must stay true.",
    ]
    for title, docs in settings_docs():
        out += ["", f"# --- {title} ---"]
        for name, doc in docs:
            out += _env_entry(name.upper(), doc, default_text(name, doc), _example(name, doc))
    out += ["", "# --- Container image (read by the Dockerfile's command, not by the app) ---"]
    for name, doc in IMAGE_VARS.items():
        out += _env_entry(name, doc, doc.default or "", doc.default or "")
    out += ["", "# --- docker compose (deploy/docker-compose.yml) ---"]
    for name, doc in COMPOSE_VARS.items():
        out += _env_entry(name, doc, doc.default or "", doc.example or "")
    return "\n".join(out) + "\n"


def _example(name: str, doc: Doc) -> str:
    if doc.example is not None:
        return doc.example
    value: Any = Settings.model_fields[name].default
    return "" if value in (None, []) else _plain(value)


def _env_entry(name: str, doc: Doc, default: str, example: str) -> list[str]:
    required = " Required in production." if doc.production else ""
    text = f"{name}: {doc.meaning}.{required} Default: {default}.".replace("`", "")
    return [
        *textwrap.wrap(text, width=108, initial_indent="# ", subsequent_indent="#   "),
        f"# {name}={example}",
    ]


def render_readme(text: str) -> str:
    """README.md with the table between the markers replaced."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise DocsError(f"README.md has no {START} ... {END} block")
    return text[: start + len(START)] + "\n" + readme_table() + "\n" + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a generated file is stale")
    args = parser.parse_args(argv)
    try:
        wanted = {README: render_readme(README.read_text()), ENV_EXAMPLE: env_example()}
    except DocsError as exc:
        sys.stderr.write(f"gen_config_docs: {exc}\n")
        return 2
    stale = [path for path, text in wanted.items() if not path.exists() or path.read_text() != text]
    if args.check:
        for path in stale:
            sys.stderr.write(
                f"gen_config_docs: {path.relative_to(ROOT)} is stale; run scripts/gen_config_docs.py\n"
            )
        return 1 if stale else 0
    for path in stale:
        path.write_text(wanted[path])
        sys.stderr.write(f"gen_config_docs: wrote {path.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
