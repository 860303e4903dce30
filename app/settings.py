"""Configuration: one pydantic-settings class, read from the environment (and ``.env`` when present).

Example::

    settings = Settings(bff_env="development", bff_cookie_secure=False)
    settings.cookie_name  # "bff"

Beside it: :mod:`app.secret_files` (``NAME_FILE`` variables), :mod:`app.variable_names` (unknown and
misspelt names) and :mod:`app.configuration` (``load_settings_or_exit``: every problem as one line naming
its variable, exit status 2).
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import logging
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from app.secret_files import FileVariables, Unreadable
from app.security.allowlist import parse_rules
from app.upstreams.config import UpstreamConfig, parse_upstreams

log = logging.getLogger("bff.settings")

#: Where ``python -m simulator`` and ``make run`` put the built-in tenant simulator.
DEV_TENANT_URL = "http://127.0.0.1:9001"
#: A signing secret shorter than this is refused in production (256 bits as hex is 64; 32 is the floor).
MIN_SECRET_LENGTH = 32

CommaList = Annotated[list[str], NoDecode]
#: The login modes, in the order /auth/options lists them.
LOGIN_MODES = ("api", "oauth")
# An OAuth2 app id goes into the tenant's paths (/OAuth2/Token/{app}): nothing that could change the path.
_APP_ID = re.compile(r"(?!\.\.?$)[A-Za-z0-9._-]{1,128}")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class RateLimit:
    """``attempts/seconds``, e.g. ``RateLimit.parse("10/60")``."""

    __slots__ = ("attempts", "seconds")

    def __init__(self, attempts: int, seconds: int) -> None:
        if attempts < 1 or seconds < 1:
            raise ValueError("attempts and seconds must be positive")
        self.attempts = attempts
        self.seconds = seconds

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        attempts, sep, seconds = text.strip().partition("/")
        if not sep or not attempts.isdigit() or not seconds.isdigit():
            raise ValueError(f"{text.strip()!r} is not of the form attempts/seconds, e.g. 10/60")
        return cls(int(attempts), int(seconds))

    def __repr__(self) -> str:
        return f"{self.attempts}/{self.seconds}"


def _split(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Every knob of the BFF; environment variable names are the field names upper-cased."""

    # An empty variable means "not set": BFF_STATIC_DIR= must not become Path(".") (the working folder).
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    bff_env: Literal["development", "production"] = "development"

    cyberark_tenant_url: str | None = None
    cyberark_tenant_id: str | None = None
    cyberark_ca_bundle: Path | None = None
    cyberark_timeout: float = Field(default=10.0, gt=0, le=300)

    bff_redis_url: SecretStr | None = None
    bff_redis_mode: Literal["standalone", "sentinel", "cluster"] = "standalone"
    bff_redis_sentinels: CommaList = []
    bff_redis_sentinel_master: str = "mymaster"
    #: The sentinels' own password (their ``requirepass``), when they have one; the URL's is the data nodes'.
    bff_redis_sentinel_password: SecretStr | None = None
    bff_redis_key_prefix: str = Field(default="bff:", min_length=1)

    bff_session_secrets: Annotated[list[SecretStr], NoDecode] = []
    bff_session_idle_timeout: int = Field(default=1800, ge=10)
    bff_session_max_lifetime: int = Field(default=43200, ge=60)
    #: A login past it ends the user's oldest session (the per-user index stays bounded).
    bff_max_sessions_per_user: int = Field(default=32, ge=1, le=10_000)
    bff_session_cache: Literal["on", "off"] = "on"
    bff_login_timeout: int = Field(default=300, ge=10)
    bff_poll_min_interval: float = Field(default=2.0, ge=0)

    bff_cookie_secure: bool = True
    bff_allowed_origins: CommaList = []
    bff_proxy_allow: str = "POST /UPRest/GetUPData"
    bff_max_body_bytes: int = Field(default=1024 * 1024, ge=0)
    #: A proxied body up to this size is read whole before a tenant connection is taken, so a slow sender
    #: holds a socket of the BFF's own, never one of the pool the tenant calls share.
    bff_proxy_preread_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    #: Seconds a proxied request body may take to arrive, all of it (408 past it).
    bff_proxy_body_timeout: float = Field(default=30.0, gt=0, le=3600)
    #: Proxied calls one session may have in flight on one replica (429 past it); the spec grants 16.
    bff_proxy_max_in_flight: int = Field(default=16, ge=16, le=1024)
    #: ``IP_LIMIT[,USERNAME_LIMIT]``, each ``attempts/seconds``.
    bff_login_rate_limit: str = "10/60,5/60"
    #: StartOOB per user across logins (each one mails, texts, pushes or calls the user).
    bff_oob_rate_limit: str = "10/600"
    bff_trusted_proxies: Annotated[list[Network], NoDecode] = []
    bff_static_dir: Path | None = None
    bff_log_level: str = "INFO"

    #: Which logins the BFF offers: ``api`` (the /auth/login steps), ``oauth`` (the code flow), or both.
    bff_login_modes: CommaList = ["api"]
    #: The browser-facing origin of the BFF; builds the OAuth ``redirect_uri``.
    bff_public_url: str | None = None
    cyberark_oauth_app_id: str | None = None
    cyberark_oauth_client_id: str | None = None
    cyberark_oauth_client_secret: SecretStr | None = None
    cyberark_oauth_scope: str = "openid profile"
    cyberark_oauth_client_auth: Literal["basic", "post"] = "basic"

    #: The team's own APIs behind the BFF (api.md §7): a JSON list, or ``BFF_UPSTREAMS_FILE``.
    bff_upstreams: Annotated[tuple[UpstreamConfig, ...], NoDecode] = ()
    #: PEM private keys for identity assertions: the first signs, all are published at the JWKS.
    bff_assertion_keys: SecretStr | None = None

    # Operations: metrics listener, build identity, tracing. ---------------------------------------------
    #: ``/metrics`` on its own listener at this port, and not on the main one.
    bff_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    #: The source revision the running build came from (the image sets it): a label of ``bff_build_info``.
    bff_revision: str = "unknown"
    #: OpenTelemetry traces (the ``[otel]`` extra), configured by the standard ``OTEL_*`` variables.
    bff_otel_enabled: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # NAME_FILE (Docker and Kubernetes secrets) ahead of the environment: NAME and NAME_FILE are never
        # both set (FileVariables refuses that), so the order decides only that the refusal is seen.
        return (
            init_settings,
            FileVariables(settings_cls),
            env_settings,
            dotenv_settings,
            file_secret_settings,
        )

    @field_validator("*", mode="before")
    @classmethod
    def _readable(cls, value: object) -> object:
        if isinstance(value, Unreadable):
            raise ValueError(value.reason)
        return value

    @field_validator("bff_otel_enabled")
    @classmethod
    def _otel_installed(cls, value: bool) -> bool:
        if value and importlib.util.find_spec("opentelemetry.sdk") is None:
            raise ValueError("needs the otel extra: pip install 'cyberark-bff[otel]'")
        return value

    @field_validator("bff_redis_sentinels", "bff_allowed_origins", "bff_login_modes", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return _split(value)

    @field_validator("bff_session_secrets", mode="before")
    @classmethod
    def _secrets(cls, value: object) -> object:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        return _split(value)

    @field_validator("bff_trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        parts = _split(value)
        if isinstance(parts, list):
            try:
                return [ipaddress.ip_network(p, strict=False) if isinstance(p, str) else p for p in parts]
            except ValueError as exc:
                raise ValueError(f"not a CIDR list: {exc}") from None
        return parts

    @field_validator("bff_allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
                raise ValueError(f"{origin!r} is not an origin like https://app.example.com")
        return [o.rstrip("/").lower() for o in value]

    @field_validator("bff_login_modes")
    @classmethod
    def _login_modes(cls, value: list[str]) -> list[str]:
        modes = {mode.lower() for mode in value}
        unknown = sorted(modes - set(LOGIN_MODES))
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not a login mode; use api, oauth or api,oauth")
        if not modes:
            raise ValueError("name at least one login mode: api, oauth or api,oauth")
        # Always in the documented order, whatever the order written.
        return [mode for mode in LOGIN_MODES if mode in modes]

    @field_validator("bff_public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
            raise ValueError(f"{value!r} is not an origin like https://app.example.com")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError(f"{value!r} is not an origin like https://app.example.com")
        return value.rstrip("/")

    @field_validator("cyberark_oauth_scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        scopes = value.split()
        if not scopes:
            raise ValueError("name at least one scope, e.g. openid profile")
        return " ".join(scopes)

    @field_validator("cyberark_tenant_url")
    @classmethod
    def _tenant_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL like https://abc1234.id.cyberark.cloud")
        return value.rstrip("/")

    @field_validator("bff_login_rate_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        parts = [p for p in value.split(",") if p.strip()]
        if not 1 <= len(parts) <= 2:
            raise ValueError("expected IP_LIMIT[,USERNAME_LIMIT], e.g. 10/60,5/60")
        for part in parts:
            RateLimit.parse(part)
        return value

    @field_validator("bff_oob_rate_limit")
    @classmethod
    def _oob_rate_limit(cls, value: str) -> str:
        RateLimit.parse(value)
        return value

    @field_validator("bff_upstreams", mode="before")
    @classmethod
    def _upstreams(cls, value: object) -> object:
        if isinstance(value, list):  # given as objects (tests, create_app callers): checked the same way
            value = json.dumps(value)
        if isinstance(value, str):
            return parse_upstreams(value) if value.strip() else ()
        return value

    @field_validator("bff_assertion_keys")
    @classmethod
    def _assertion_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None  # empty means unset, as for every variable
        # Here, not at the top: the key parser loads cryptography, which the settings need only for this.
        from app.upstreams.keys import parse_private_keys

        parse_private_keys(value.get_secret_value())
        return value

    @field_validator("bff_proxy_allow")
    @classmethod
    def _proxy_allow(cls, value: str) -> str:
        parse_rules(value)
        return value

    @model_validator(mode="after")
    def _production_guards(self) -> Settings:
        # Every problem at once, one line each: an operator fixes them all before the next restart.
        problems = list(self._guard_problems())
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _guard_problems(self) -> Iterator[str]:
        """The checks that span several variables, or depend on BFF_ENV: one message per problem."""
        if self.bff_session_max_lifetime < self.bff_session_idle_timeout:
            yield "BFF_SESSION_MAX_LIFETIME must not be shorter than BFF_SESSION_IDLE_TIMEOUT"
        if (
            self.bff_redis_mode == "sentinel"
            and self.bff_redis_url is not None
            and not self.bff_redis_sentinels
        ):
            yield "BFF_REDIS_SENTINELS: sentinel mode needs host:port,... of the sentinels"
        if self.oauth_enabled:
            yield from self._oauth_problems()
        if self.assertion_upstreams and not self.bff_public_url:
            yield "BFF_PUBLIC_URL: required when an upstream uses token assertion (it is the assertions' iss)"
        if self.bff_env != "production":
            return
        if not self.cyberark_tenant_url:
            yield "CYBERARK_TENANT_URL: required in production"
        elif not self.cyberark_tenant_url.startswith("https://"):
            # Passwords, codes, tokens and the client credentials all go to the tenant.
            yield "CYBERARK_TENANT_URL: must be https:// in production"
        plain = [origin for origin in self.bff_allowed_origins if not origin.startswith("https://")]
        if plain:
            # A page served over plain http can be changed on the way, and it would hold the user's session.
            yield f"BFF_ALLOWED_ORIGINS: must be https:// in production ({plain[0]} is not)"
        if self.bff_redis_url is None:
            yield "BFF_REDIS_URL: required in production (the in-process store is for development)"
        if not self.bff_session_secrets:
            yield "BFF_SESSION_SECRETS: required in production"
        if any(len(s.get_secret_value()) < MIN_SECRET_LENGTH for s in self.bff_session_secrets):
            yield f"BFF_SESSION_SECRETS: each secret needs at least {MIN_SECRET_LENGTH} characters"
        if not self.bff_cookie_secure:
            yield "BFF_COOKIE_SECURE: must be true in production"
        if self.oauth_enabled and self.bff_public_url and not self.bff_public_url.startswith("https://"):
            # The redirect_uri carries the authorization code: over plain http anyone on the way can take it.
            yield "BFF_PUBLIC_URL: must be https:// in production"
        for upstream in self.bff_upstreams:
            if not upstream.url.startswith("https://"):
                yield f"BFF_UPSTREAMS: upstream {upstream.name!r}: url: must be https:// in production"
        if self.assertion_upstreams and self.bff_assertion_keys is None:
            yield "BFF_ASSERTION_KEYS: required in production when an upstream uses token assertion"

    def _oauth_problems(self) -> Iterator[str]:
        """With ``oauth`` among the login modes, every setting the code flow needs is there."""
        needed = {
            "BFF_PUBLIC_URL": self.bff_public_url,
            "CYBERARK_OAUTH_APP_ID": self.cyberark_oauth_app_id,
            "CYBERARK_OAUTH_CLIENT_ID": self.cyberark_oauth_client_id,
            "CYBERARK_OAUTH_CLIENT_SECRET": self.cyberark_oauth_client_secret,
        }
        for name, value in needed.items():
            if value is None or (isinstance(value, SecretStr) and not value.get_secret_value()):
                yield f"{name}: required when BFF_LOGIN_MODES includes oauth"
        app_id = self.cyberark_oauth_app_id
        if app_id is not None and not _APP_ID.fullmatch(app_id):
            yield "CYBERARK_OAUTH_APP_ID: letters, digits and . _ - only (a path segment of tenant URLs)"

    # Derived values -------------------------------------------------------------------------------

    @property
    def tenant_url(self) -> str:
        return self.cyberark_tenant_url or DEV_TENANT_URL

    @property
    def assertion_upstreams(self) -> bool:
        """Whether any upstream receives identity assertions (so keys and the JWKS exist)."""
        return any(upstream.mode == "assertion" for upstream in self.bff_upstreams)

    @property
    def cookie_name(self) -> str:
        # The __Host- prefix makes the browser insist on Secure, Path=/ and no Domain.
        return "__Host-bff" if self.bff_cookie_secure else "bff"

    @property
    def login_cookie_name(self) -> str:
        return "__Host-bff-login" if self.bff_cookie_secure else "bff-login"

    @property
    def oauth_enabled(self) -> bool:
        return "oauth" in self.bff_login_modes

    @property
    def api_login_enabled(self) -> bool:
        return "api" in self.bff_login_modes

    @property
    def oauth_cookie_name(self) -> str:
        return "__Host-bff-oauth" if self.bff_cookie_secure else "bff-oauth"

    @property
    def oauth_redirect_uri(self) -> str:
        """``{BFF_PUBLIC_URL}/auth/oauth/callback``: what the tenant app must list exactly."""
        return f"{self.bff_public_url}/auth/oauth/callback"

    @property
    def ip_rate_limit(self) -> RateLimit:
        return RateLimit.parse(self.bff_login_rate_limit.split(",")[0])

    @property
    def username_rate_limit(self) -> RateLimit:
        parts = self.bff_login_rate_limit.split(",")
        return RateLimit.parse(parts[1]) if len(parts) > 1 else RateLimit(5, 60)

    @property
    def oob_rate_limit(self) -> RateLimit:
        return RateLimit.parse(self.bff_oob_rate_limit)

    def signing_secrets(self) -> list[bytes]:
        """The session secrets, newest (signing) first; in development a random one when none is set."""
        if self.bff_session_secrets:
            return [s.get_secret_value().encode() for s in self.bff_session_secrets]
        if self._dev_secret is None:
            log.warning(
                "BFF_SESSION_SECRETS is not set: using a random secret for this process; "
                "sessions will not survive a restart"
            )
            self._dev_secret = secrets.token_hex(32).encode()
        return [self._dev_secret]

    _dev_secret: bytes | None = PrivateAttr(default=None)
