"""``/Security/Whoami`` for tests: who a token belongs to, as the tenant says (the app asks it only inside a
federated login, :meth:`app.identity.client.TenantClient.answer_pin`)."""

from __future__ import annotations

from typing import Any

from app.identity.client import WHOAMI_PATH, TenantClient
from app.identity.results import as_object, opt_str, req_str


async def whoami(client: TenantClient, token: str, base_url: str | None = None) -> dict[str, str | None]:
    """``{"username", "id", "tenant_id"}`` of ``token``; TokenRejected when it is over."""
    envelope = await client._bearer_call(token, WHOAMI_PATH, base_url)
    return parse_whoami(envelope.result)


def parse_whoami(result: dict[str, Any] | None) -> dict[str, str | None]:
    """A ``Whoami`` result under our names: ``{"username", "id", "tenant_id"}``."""
    data = as_object(result, "Whoami result")
    return {
        "username": req_str(data, "User"),
        "id": opt_str(data, "UserUuid"),
        "tenant_id": opt_str(data, "TenantId"),
    }
