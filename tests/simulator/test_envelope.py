"""The envelope, the generic failure, and HTML 404s, over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from tests.simulator.helpers import ENVELOPE_KEYS, HEADERS, advance, assert_failure, start


async def test_success_envelope_has_every_key_in_order(client: httpx.AsyncClient) -> None:
    data = await start(client, "alice@example.com")
    assert list(data) == ENVELOPE_KEYS
    assert data["success"] is True
    assert data["Message"] is None and data["ErrorID"] is None and data["IsSoftError"] is False


async def test_failure_is_http_200_with_generic_message_and_error_id(client: httpx.AsyncClient) -> None:
    data = await advance(client, "no-such-session", "no-such-mechanism", "Answer", "x")
    assert_failure(data)


async def test_error_ids_differ_between_failures(client: httpx.AsyncClient) -> None:
    first = await advance(client, "nope", "nope", "Answer", "x")
    second = await advance(client, "nope", "nope", "Answer", "x")
    assert first["ErrorID"] != second["ErrorID"]


async def test_empty_user_is_undefined_failure(client: httpx.AsyncClient) -> None:
    assert_failure(await start(client, ""), "Undefined")
    assert_failure(await start(client, "   "), "Undefined")


async def test_body_that_is_not_a_json_object_is_a_failure_not_a_crash(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/Security/AdvanceAuthentication", content=b"<xml/>", headers={**HEADERS, "content-type": "text/xml"}
    )
    assert response.status_code == 200
    assert_failure(response.json())
    response = await client.post("/Security/StartAuthentication", json=["a"], headers=HEADERS)
    assert_failure(response.json(), "Undefined")


@pytest.mark.parametrize("path", ["/nope", "/Security/Unknown", "/UPRest/Other", "/"])
async def test_unknown_path_is_html_404(client: httpx.AsyncClient, path: str) -> None:
    response = await client.post(path, json={}, headers=HEADERS)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<html>" in response.text


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize(
    "path", ["/Security/StartAuthentication", "/Security/AdvanceAuthentication", "/Security/Whoami"]
)
async def test_protocol_paths_answer_only_post(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
