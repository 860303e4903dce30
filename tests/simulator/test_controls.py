"""The /_sim/ test controls: call log, faults, clock, config, users, reset."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.simulator.helpers import HEADERS, PASSWORDS, advance, password_step, start


async def test_calls_are_logged_with_method_path_headers_body_query_time(client: httpx.AsyncClient) -> None:
    before = time.time()
    await client.post(
        "/Security/StartAuthentication?x=1", json={"User": "alice@example.com"}, headers=HEADERS
    )
    await client.get("/_sim/code/alice@example.com")  # controls are not logged
    calls = (await client.get("/_sim/calls")).json()
    assert len(calls) == 1
    call = calls[0]
    assert call["method"] == "POST" and call["path"] == "/Security/StartAuthentication"
    assert call["query"] == "x=1"
    assert call["headers"]["x-idap-native-client"] == "true"
    assert call["headers"]["x-centrify-native-client"] == "true"
    assert call["json"] == {"User": "alice@example.com"}
    assert '"alice@example.com"' in call["body"]
    assert before - 1 <= call["time"] <= time.time() + 1


async def test_calls_log_can_be_cleared(client: httpx.AsyncClient) -> None:
    await start(client, "alice@example.com")
    assert (await client.delete("/_sim/calls")).status_code == 200
    assert (await client.get("/_sim/calls")).json() == []


async def test_unknown_paths_are_logged_too(client: httpx.AsyncClient) -> None:
    await client.get("/somewhere/else")
    assert [c["path"] for c in (await client.get("/_sim/calls")).json()] == ["/somewhere/else"]


async def test_delay_fault_makes_a_path_slow(client: httpx.AsyncClient) -> None:
    await client.post("/_sim/faults", json={"path": "/Security/StartAuthentication", "delay": 0.6})
    with pytest.raises(httpx.ReadTimeout):
        await client.post(
            "/Security/StartAuthentication", json={"User": "alice@example.com"}, headers=HEADERS, timeout=0.2
        )
    began = time.monotonic()
    data = await start(client, "alice@example.com")
    assert time.monotonic() - began >= 0.55
    assert data["success"] is True  # slow, but still the real answer
    await client.delete("/_sim/faults")
    began = time.monotonic()
    await start(client, "alice@example.com")
    assert time.monotonic() - began < 0.5


async def test_status_fault_answers_html(client: httpx.AsyncClient) -> None:
    fault = {
        "path": "/Security/Whoami",
        "status": 503,
        "body": "<html>down</html>",
        "content_type": "text/html",
    }
    assert (await client.post("/_sim/faults", json=fault)).status_code == 200
    response = await client.post("/Security/Whoami", json={}, headers=HEADERS)
    assert response.status_code == 503
    assert response.headers["content-type"] == "text/html"
    assert response.text == "<html>down</html>"
    # Other paths are untouched.
    assert (await start(client, "alice@example.com"))["success"] is True


async def test_drop_fault_cuts_the_connection_mid_body(client: httpx.AsyncClient) -> None:
    await client.post("/_sim/faults", json={"path": "/Security/AdvanceAuthentication", "drop": True})
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("/Security/AdvanceAuthentication", json={}, headers=HEADERS)


async def test_drop_fault_streamed_shows_headers_then_a_broken_body(client: httpx.AsyncClient) -> None:
    await client.post("/_sim/faults", json={"path": "/UPRest/GetUPData", "drop": True})
    async with client.stream("POST", "/UPRest/GetUPData", json={}, headers=HEADERS) as response:
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            await response.aread()


async def test_fault_with_times_applies_that_many_calls(client: httpx.AsyncClient) -> None:
    await client.post(
        "/_sim/faults", json={"path": "/Security/StartAuthentication", "status": 502, "times": 2}
    )
    statuses = []
    for _ in range(3):
        r = await client.post("/Security/StartAuthentication", json={"User": "a"}, headers=HEADERS)
        statuses.append(r.status_code)
    assert statuses == [502, 502, 200]


async def test_wildcard_fault_applies_to_every_protocol_path(client: httpx.AsyncClient) -> None:
    await client.post("/_sim/faults", json={"path": "*", "status": 500})
    assert (await client.post("/Security/StartAuthentication", json={}, headers=HEADERS)).status_code == 500
    assert (await client.post("/Sim/Echo", json={}, headers=HEADERS)).status_code == 500
    # The controls stay reachable, so a test can always undo the fault.
    assert (await client.delete("/_sim/faults")).status_code == 200
    assert (await client.post("/Security/StartAuthentication", json={}, headers=HEADERS)).status_code == 200


@pytest.mark.parametrize(
    "fault",
    [
        {"delay": 1},
        {"path": "nope", "delay": 1},
        {"path": "/x"},
        {"path": "/x", "delay": -1},
        {"path": "/x", "status": 1000},
        {"path": "/x", "status": 500, "times": 0},
    ],
)
async def test_bad_faults_are_refused(client: httpx.AsyncClient, fault: dict[str, object]) -> None:
    response = await client.post("/_sim/faults", json=fault)
    assert response.status_code == 400 and "error" in response.json()


async def test_clock_advance(client: httpx.AsyncClient) -> None:
    before = (await client.get("/_sim/clock")).json()["now"]
    moved = (await client.post("/_sim/clock/advance", json={"seconds": 3600})).json()
    assert moved["offset"] == 3600
    assert 3600 <= moved["now"] - before < 3610
    assert (await client.post("/_sim/clock/advance", json={"seconds": -5})).status_code == 400
    assert (await client.post("/_sim/clock/advance", json={"seconds": "5"})).status_code == 400


async def test_config_rejects_bad_values(client: httpx.AsyncClient) -> None:
    for bad in ({"pod_chain": "a:1"}, {"lockout_threshold": -1}, {"token_lifetime": "1"}, {"colour": "red"}):
        assert (await client.post("/_sim/config", json=bad)).status_code == 400
    assert (await client.get("/_sim/config")).json()["lockout_threshold"] == 5


@pytest.mark.parametrize(
    "path",
    ["/_sim/code/alice@example.com", "/_sim/totp/alice@example.com", "/_sim/totp/nobody@example.com"],
)
async def test_reads_with_nothing_to_read_are_json_404(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert "error" in response.json()


async def test_approve_or_deny_with_nothing_pending_is_json_404(client: httpx.AsyncClient) -> None:
    for action in ("approve", "deny"):
        response = await client.post(f"/_sim/oob/alice@example.com/{action}")
        assert response.status_code == 404 and "error" in response.json()


async def test_users_can_be_added_at_runtime_and_reset_removes_them(client: httpx.AsyncClient) -> None:
    user = {"username": "new@example.com", "password": "new-pass", "challenges": [["UP"]]}
    assert (await client.post("/_sim/users", json=user)).json() == {"username": "new@example.com"}
    _, reply = await password_step(client, "new@example.com", "new-pass")
    assert reply["Result"]["Summary"] == "LoginSuccess"
    await client.post("/_sim/reset")
    _, reply = await password_step(client, "new@example.com", "new-pass")
    assert reply["success"] is False


async def test_bad_users_are_refused_with_the_reason(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/_sim/users", json={"username": "x", "password": "p", "challenges": [["FAX"]]}
    )
    assert response.status_code == 400
    assert "FAX" in response.json()["error"]


async def test_reset_puts_everything_back(client: httpx.AsyncClient) -> None:
    # A changed password, a lockout, a config change, a fault, the clock, the log: all undone.
    sid, reply = await password_step(client, "reset@example.com")
    mid = reply["Result"]["Challenges"][0]["Mechanisms"][0]["MechanismId"]

    await advance(client, sid, mid, "Answer", "changed-pass-9")
    await client.post("/_sim/config", json={"lockout_threshold": 1, "pod_chain": ["x:1"]})
    await client.post("/_sim/clock/advance", json={"seconds": 100})
    await client.post("/_sim/faults", json={"path": "/Security/Whoami", "status": 500})
    assert (await client.post("/_sim/reset")).json() == {"reset": True}
    state = (await client.get("/_sim/state")).json()
    assert state["config"]["pod_chain"] == [] and state["config"]["lockout_threshold"] == 5
    assert state["clock_offset"] == 0 and state["faults"] == [] and state["calls"] == 0
    _, reply = await password_step(client, "reset@example.com", PASSWORDS["reset@example.com"])
    assert reply["Result"]["Summary"] == "NewPackage"


async def test_state_shows_pending_logins_without_secrets(client: httpx.AsyncClient) -> None:
    package = await start(client, "alice@example.com")
    text = (await client.get("/_sim/state")).text
    assert package["Result"]["SessionId"] not in text
    assert "alice-pass-1" not in text
    assert '"alice@example.com"' in text
