"""Federated users with OobIdPAuth: short URL, the IdP page, OobAuthStatus polling, the PIN, the controls."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.simulator.helpers import HEADERS, advance, assert_failure, set_cookie, start

FED = "fed@partner.example"
PIN_USER = "fedpin@partner.example"
OOB = {**HEADERS, "OobIdPAuth": "true"}


async def start_oob(client: httpx.AsyncClient, user: str = FED) -> dict[str, Any]:
    response = await client.post(
        "/Security/StartAuthentication", json={"User": user, "Version": "1.0"}, headers=OOB
    )
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    assert data["success"] is True, data
    result: dict[str, Any] = data["Result"]
    return result


async def status(client: httpx.AsyncClient, session_id: str) -> dict[str, Any]:
    response = await client.post("/Security/OobAuthStatus", json={"SessionId": session_id}, headers=HEADERS)
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


async def test_without_the_header_a_federated_user_gets_only_the_idp_url(client: httpx.AsyncClient) -> None:
    result = (await start(client, FED))["Result"]
    assert result == {"IdpRedirectUrl": "https://idp.partner.example/saml/login?tenant=ABC1234"}


async def test_with_the_header_a_federated_user_gets_a_short_url_and_a_login_session(
    client: httpx.AsyncClient, sim: Any
) -> None:
    result = await start_oob(client)
    assert result["IdpRedirectUrl"].startswith("https://idp.partner.example/")
    assert result["IdpRedirectShortUrl"] == f"{sim.url}/u/{result['IdpShortUrlId']}"
    assert len(result["IdpLoginSessionId"]) >= 64
    assert result["IdpOobAuthPinRequired"] is False
    assert "Challenges" not in result and "SessionId" not in result
    assert (await start_oob(client, PIN_USER))["IdpOobAuthPinRequired"] is True


async def test_the_header_changes_nothing_for_other_users(client: httpx.AsyncClient) -> None:
    assert (await start_oob(client, "alice@example.com"))["Summary"] == "NewPackage"


async def test_polling_is_pending_until_the_idp_page_signs_the_user_in(client: httpx.AsyncClient) -> None:
    result = await start_oob(client)
    sid = result["IdpLoginSessionId"]
    assert (await status(client, sid))["Result"] == {"State": "Pending"}

    page = await client.get(result["IdpRedirectShortUrl"])
    assert page.status_code == 200 and "fed@partner.example" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    signed = await client.post(result["IdpRedirectShortUrl"], data={"action": "sign_in"})
    assert signed.status_code == 200 and 'id="pin"' not in signed.text and "id='pin'" not in signed.text

    done = (await status(client, sid))["Result"]
    assert done["State"] == "Success" and done["TokenLifetime"] == 43200 and done["RefreshToken"]
    assert "UserId" not in done  # this user's tenant sends no user fields: a client asks Whoami
    whoami = await client.post(
        "/Security/Whoami", json={}, headers={**HEADERS, "Authorization": f"Bearer {done['Token']}"}
    )
    assert whoami.json()["Result"]["User"] == FED
    # The token is handed out once: the login is over.
    assert_failure(await status(client, sid))


async def test_a_user_may_get_the_user_fields_with_the_token(client: httpx.AsyncClient) -> None:
    new = {"username": "fields@partner.example", "federated": True, "idp_user_fields": True}
    new["idp_redirect_url"] = "https://idp.partner.example/"
    assert (await client.post("/_sim/users", json=new)).status_code == 200
    result = await start_oob(client, "fields@partner.example")
    await client.post("/_sim/idp/fields@partner.example/complete")
    done = (await status(client, result["IdpLoginSessionId"]))["Result"]
    assert done["State"] == "Success"
    assert done["User"] == "fields@partner.example" and done["UserId"]


async def test_the_pin_variant_shows_a_pin_and_finishes_with_it(client: httpx.AsyncClient) -> None:
    result = await start_oob(client, PIN_USER)
    sid = result["IdpLoginSessionId"]
    signed = await client.post(result["IdpRedirectShortUrl"], data={"action": "sign_in"})
    shown = re.search(r"<b id='pin'>(\d{6})</b>", signed.text)
    assert shown is not None
    assert (await client.get(f"/_sim/idp/{PIN_USER}/pin")).json() == {"pin": shown.group(1)}
    # Polling a PIN login stays pending: only the PIN finishes it.
    assert (await status(client, sid))["Result"] == {"State": "Pending"}

    response = await client.post(
        "/Security/AdvanceAuthentication",
        json={"SessionId": sid, "MechanismId": "OOBAUTHPIN", "Action": "Answer", "Answer": shown.group(1)},
        headers=HEADERS,
    )
    data = response.json()
    assert data["success"] is True and data["Result"]["Summary"] == "LoginSuccess"
    assert data["Result"]["Token"] and data["Result"]["User"] == PIN_USER
    assert data["Result"]["Token"] in set_cookie(response, ".ASPXAUTH")
    assert_failure(await status(client, sid))


async def test_a_wrong_pin_ends_the_login(client: httpx.AsyncClient) -> None:
    result = await start_oob(client, PIN_USER)
    sid = result["IdpLoginSessionId"]
    pin = (await client.post(f"/_sim/idp/{PIN_USER}/complete")).json()["pin"]
    wrong = "000000" if pin != "000000" else "111111"
    assert_failure(await advance(client, sid, "OOBAUTHPIN", "Answer", wrong))
    assert_failure(await advance(client, sid, "OOBAUTHPIN", "Answer", pin))


async def test_a_pin_before_the_idp_sign_in_fails(client: httpx.AsyncClient) -> None:
    sid = (await start_oob(client, PIN_USER))["IdpLoginSessionId"]
    assert_failure(await advance(client, sid, "OOBAUTHPIN", "Answer", "123456"))


async def test_the_idp_may_refuse_by_control_or_by_the_page(client: httpx.AsyncClient) -> None:
    sid = (await start_oob(client))["IdpLoginSessionId"]
    assert (await client.post(f"/_sim/idp/{FED}/fail")).json() == {"failed": 1}
    assert_failure(await status(client, sid))

    result = await start_oob(client)
    cancelled = await client.post(result["IdpRedirectShortUrl"], data={"action": "cancel"})
    assert cancelled.status_code == 200
    assert_failure(await status(client, result["IdpLoginSessionId"]))


async def test_a_federated_login_expires_with_the_login_lifetime(client: httpx.AsyncClient) -> None:
    result = await start_oob(client)
    await client.post("/_sim/clock/advance", json={"seconds": 601})
    assert (await client.post(f"/_sim/idp/{FED}/complete")).status_code == 404
    assert (await client.get(result["IdpRedirectShortUrl"])).status_code == 404
    assert_failure(await status(client, result["IdpLoginSessionId"]))


async def test_controls_answer_404_without_a_pending_sign_in(client: httpx.AsyncClient) -> None:
    assert (await client.post(f"/_sim/idp/{FED}/complete")).status_code == 404
    assert (await client.post(f"/_sim/idp/{FED}/fail")).status_code == 404
    assert (await client.get(f"/_sim/idp/{PIN_USER}/pin")).status_code == 404
    assert (await client.get("/u/unknown")).status_code == 404
    assert_failure(await status(client, "no-such-session"))
