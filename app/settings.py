"""Configuration: one pydantic-settings class, read from the environment (and ``.env`` when present).

Example::

    settings = Settings(bff_env="development", bff_cookie_secure=False)
    settings.cookie_name  # "bff"

Misconfiguration is reported by :func:`load_settings_or_exit` as one line naming the variable, exit status 2.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import sys
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

log = logging.getLogger("bff.settings")

#: Where ``python -m simulator`` and ``make run`` put the built-in tenant simulator.
DEV_TENANT_URL = "http://127.0.0.1:9001"
#: A signing secret shorter than this is refused in production (256 bits as hex is 64; 32 is the floor).
MIN_SECRET_LENGTH = 32

CommaList = Annotated[list[str], NoDecode]
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
    bff_session_cache: Literal["on", "off"] = "on"
    bff_login_timeout: int = Field(default=300, ge=10)
    bff_poll_min_interval: float = Field(default=2.0, ge=0)

    bff_cookie_secure: bool = True
    bff_allowed_origins: CommaList = []
    bff_proxy_allow: str = "POST /UPRest/GetUPData"
    bff_max_body_bytes: int = Field(default=1024 * 1024, ge=0)
    #: ``IP_LIMIT[,USERNAME_LIMIT]``, each ``attempts/seconds``.
    bff_login_rate_limit: str = "10/60,5/60"
    #: StartOOB per user across logins (each one mails, texts, pushes or calls the user).
    bff_oob_rate_limit: str = "10/600"
    bff_trusted_proxies: Annotated[list[Network], NoDecode] = []
    bff_static_dir: Path | None = None
    bff_log_level: str = "INFO"

    @field_validator("bff_redis_sentinels", "bff_allowed_origins", mode="before")
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

    @field_validator("bff_proxy_allow")
    @classmethod
    def _proxy_allow(cls, value: str) -> str:
        from app.security.allowlist import parse_rules

        parse_rules(value)
        return value

    @model_validator(mode="after")
    def _production_guards(self) -> Settings:
        if self.bff_session_max_lifetime < self.bff_session_idle_timeout:
            raise ValueError("BFF_SESSION_MAX_LIFETIME must not be shorter than BFF_SESSION_IDLE_TIMEOUT")
        if (
            self.bff_redis_mode == "sentinel"
            and self.bff_redis_url is not None
            and not self.bff_redis_sentinels
        ):
            raise ValueError("BFF_REDIS_SENTINELS: sentinel mode needs host:port,... of the sentinels")
        if self.bff_env != "production":
            return self
        if not self.cyberark_tenant_url:
            raise ValueError("CYBERARK_TENANT_URL: required in production")
        if self.bff_redis_url is None:
            raise ValueError(
                "BFF_REDIS_URL: required in production (the in-process store is for development)"
            )
        if not self.bff_session_secrets:
            raise ValueError("BFF_SESSION_SECRETS: required in production")
        if any(len(s.get_secret_value()) < MIN_SECRET_LENGTH for s in self.bff_session_secrets):
            raise ValueError(
                f"BFF_SESSION_SECRETS: each secret needs at least {MIN_SECRET_LENGTH} characters"
            )
        if not self.bff_cookie_secure:
            raise ValueError("BFF_COOKIE_SECURE: must be true in production")
        return self

    # Derived values -------------------------------------------------------------------------------

    @property
    def tenant_url(self) -> str:
        return self.cyberark_tenant_url or DEV_TENANT_URL

    @property
    def cookie_name(self) -> str:
        # The __Host- prefix makes the browser insist on Secure, Path=/ and no Domain.
        return "__Host-bff" if self.bff_cookie_secure else "bff"

    @property
    def login_cookie_name(self) -> str:
        return "__Host-bff-login" if self.bff_cookie_secure else "bff-login"

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


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ()))
    msg = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if loc:
        return f"{loc.upper()}: {msg}"
    return msg


def load_settings_or_exit(**overrides: object) -> Settings:
    """Read the settings; on a bad value print one line naming the variable and exit with status 2."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        sys.stderr.write(f"configuration error: {_describe(exc)}\n")
        raise SystemExit(2) from None
