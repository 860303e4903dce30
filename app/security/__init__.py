"""Request guards and rules: CSRF and Origin, size and time limits, the allow-list, header rules, client IP.

:class:`app.security.ratelimit.RateLimiter` is imported from its module, not from here: it stands on the
session store and settings, and this package stays importable by ``app.settings`` (the allow-list parser)
without running either.
"""

from app.security.allowlist import AllowList, parse_rules
from app.security.client_ip import client_ip
from app.security.csrf import CsrfOriginCheck, CsrfOriginMiddleware
from app.security.headers import (
    UPSTREAM_REQUEST_HEADERS,
    request_headers_for_upstream,
    response_headers_for_browser,
)
from app.security.limits import HeaderBudget, RequestLimitsMiddleware
from app.security.static_headers import StaticHeaders

__all__ = [
    "UPSTREAM_REQUEST_HEADERS",
    "AllowList",
    "CsrfOriginCheck",
    "CsrfOriginMiddleware",
    "HeaderBudget",
    "RequestLimitsMiddleware",
    "StaticHeaders",
    "client_ip",
    "parse_rules",
    "request_headers_for_upstream",
    "response_headers_for_browser",
]
