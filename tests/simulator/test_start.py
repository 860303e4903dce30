"""StartAuthentication: packages, mechanisms, decoys for unknown users, federated users, SimLB, pod hops."""

from __future__ import annotations

import asyncio
import re

import httpx
from fastapi import FastAPI

from simulator.app import create_app
from tests.simulator.helpers import HEADERS, PASSWORDS, advance, cookie_value, mechanism, set_cookie, start
from tests.support.asgi_server import ServerThread

MECHANISM_KEYS = {"Name", "AnswerType", "MechanismId", "PromptSelectMech", "PromptMechChosen", "Enrolled"}


async def test_package_shape(client: httpx.AsyncClient) -> None:
    result = (await start(client, "email@example.com"))["Result"]
    assert result["Summary"] == "NewPackage"
    assert len(result["SessionId"]) >= 64
    assert result["TenantId"] == "ABC1234"
    assert result["Version"] == "1.0"
    assert set(result["ClientHints"]) >= {"PersistDefault", "AllowPersist", "AllowForgotPassword"}
    assert result["RetryWaitingTime"] == 0
    assert "EventDescription" in result
    assert "PodFqdn" not in result
    assert [[m["Name"] for m in c["Mechanisms"]] for c in result["Challenges"]] == [["UP"], ["EMAIL"]]
    for challenge in result["Challenges"]:
        for mech in challenge["Mechanisms"]:
            assert set(mech) >= MECHANISM_KEYS
            assert len(mech["MechanismId"]) >= 32
            assert mech["Enrolled"] is True


async def test_session_and_mechanism_ids_are_fresh_per_login(client: httpx.AsyncClient) -> None:
    first = await start(client, "alice@example.com")
    second = await start(client, "alice@example.com")
    assert first["Result"]["SessionId"] != second["Result"]["SessionId"]
    assert mechanism(first, 0, "UP")["MechanismId"] != mechanism(second, 0, "UP")["MechanismId"]


async def test_mechanism_kinds_carry_their_extras(client: httpx.AsyncClient) -> None:
    multi = await start(client, "multi@example.com")
    email = mechanism(multi, 1, "EMAIL")
    assert email["AnswerType"] == "StartTextOob" and email["MaskedEmailAddress"] == "m***@example.com"
    sms = mechanism(multi, 1, "SMS")
    assert sms["AnswerType"] == "StartTextOob" and sms["PartialPhoneNumber"] == "9012"
    assert mechanism(multi, 1, "OTP")["PartialDeviceAddress"] == "Sim Phone"
    assert mechanism(multi, 1, "OATH")["AnswerType"] == "StartTextOob"
    assert mechanism(await start(client, "phone@example.com"), 1, "PF")["AnswerType"] == "StartOob"
    qr = mechanism(await start(client, "qr@example.com"), 0, "QR")
    assert qr["AnswerType"] == "QR" and qr["Image"].startswith("data:image/png;base64,")
    sq = mechanism(await start(client, "sq@example.com"), 1, "SQ")
    assert sq["AnswerType"] == "Text" and sq["Question"] == "What was the name of your first pet?"
    parts = mechanism(await start(client, "sqmulti@example.com"), 1, "SQ")["MultipartMechanism"][
        "MechanismParts"
    ]
    assert [p["QuestionText"] for p in parts] == ["In which city were you born?", "What was your first car?"]
    assert all(re.fullmatch(r"[0-9a-f-]{36}", p["Uuid"]) for p in parts)
    assert mechanism(await start(client, "oath-text@example.com"), 1, "OATH")["AnswerType"] == "Text"


async def test_prompt_select_mech_is_absent_where_the_user_says(client: httpx.AsyncClient) -> None:
    multi = await start(client, "multi@example.com")
    assert "PromptSelectMech" not in mechanism(multi, 1, "OATH")
    assert "PromptSelectMech" not in mechanism(multi, 1, "SMS")
    assert "PromptSelectMech" in mechanism(multi, 1, "EMAIL")
    assert "PromptSelectMech" in mechanism(multi, 0, "UP")


async def test_oath_first_user_gets_challenges_in_reverse_order(client: httpx.AsyncClient) -> None:
    result = (await start(client, "oath@example.com"))["Result"]
    assert [[m["Name"] for m in c["Mechanisms"]] for c in result["Challenges"]] == [["OATH"], ["UP"]]


async def test_unknown_user_gets_a_normal_looking_package_refused_at_advance(
    client: httpx.AsyncClient,
) -> None:
    known = await start(client, "alice@example.com")
    unknown = await start(client, "nobody@example.com")
    assert set(unknown["Result"]) == set(known["Result"])
    assert [[m["Name"] for m in c["Mechanisms"]] for c in unknown["Result"]["Challenges"]] == [["UP"]]
    assert set(mechanism(unknown, 0, "UP")) == set(mechanism(known, 0, "UP"))
    sid = unknown["Result"]["SessionId"]
    reply = await advance(client, sid, mechanism(unknown, 0, "UP")["MechanismId"], "Answer", "alice-pass-1")
    assert reply["success"] is False and reply["Result"] == {"Summary": "Failure"}


async def test_usernames_match_without_regard_to_case(client: httpx.AsyncClient) -> None:
    package = await start(client, "  Alice@Example.COM ")
    up = mechanism(package, 0, "UP")
    reply = await advance(client, package["Result"]["SessionId"], up["MechanismId"], "Answer", "alice-pass-1")
    assert reply["Result"]["Summary"] == "LoginSuccess"
    assert reply["Result"]["User"] == "alice@example.com"


async def test_federated_user_gets_idp_redirect_and_no_challenges(client: httpx.AsyncClient) -> None:
    data = await start(client, "fed@partner.example")
    assert data["success"] is True
    assert data["Result"]["IdpRedirectUrl"].startswith("https://idp.partner.example/")
    assert "Challenges" not in data["Result"]


async def test_start_sets_a_simlb_cookie_bound_to_the_login(
    client: httpx.AsyncClient, sim_app: FastAPI
) -> None:
    response = await client.post(
        "/Security/StartAuthentication", json={"User": "alice@example.com"}, headers=HEADERS
    )
    header = set_cookie(response, "SimLB")
    assert "Path=/" in header and "HttpOnly" in header and "Secure" not in header
    sid = response.json()["Result"]["SessionId"]
    assert sim_app.state.sim.logins[sid].lb_cookie == cookie_value(response, "SimLB")


async def test_pod_redirect_chain_over_two_listening_hosts() -> None:
    app = create_app()
    first, second = ServerThread(app).start(), ServerThread(app).start()
    try:
        app.state.sim.config.pod_chain = [first.host, second.host]
        async with httpx.AsyncClient(timeout=10) as c:
            body = {"User": "alice@example.com", "Version": "1.0"}
            # A host outside the chain is sent to its first hop: a bare host, nothing else.
            other = await c.post(f"http://localhost:{first.port}/Security/StartAuthentication", json=body)
            assert other.json()["Result"] == {"PodFqdn": first.host}
            assert "set-cookie" not in other.headers
            hop = await c.post(f"{first.url}/Security/StartAuthentication", json=body)
            assert hop.json()["Result"] == {"PodFqdn": second.host}
            final = await c.post(f"{second.url}/Security/StartAuthentication", json=body)
            result = final.json()["Result"]
            assert result["Summary"] == "NewPackage" and result["PodFqdn"] == second.host
            up = result["Challenges"][0]["Mechanisms"][0]
            advance_body = {
                "SessionId": result["SessionId"],
                "MechanismId": up["MechanismId"],
                "Action": "Answer",
                "Answer": PASSWORDS["alice@example.com"],
            }
            done = await c.post(f"{second.url}/Security/AdvanceAuthentication", json=advance_body)
            assert done.json()["Result"]["PodFqdn"] == second.host
    finally:
        first.stop()
        second.stop()


async def test_both_servers_of_one_app_share_state_under_concurrency() -> None:
    app = create_app()
    servers = [ServerThread(app).start(), ServerThread(app).start()]
    try:

        async def one(i: int) -> str:
            # A client per login: a shared jar would mix SimLB cookies, which the simulator refuses.
            async with httpx.AsyncClient(timeout=10) as c:
                base = servers[i % 2].url
                package = await c.post(
                    f"{base}/Security/StartAuthentication", json={"User": "alice@example.com"}
                )
                result = package.json()["Result"]
                other = servers[(i + 1) % 2].url  # answer on the other server: state is shared
                reply = await c.post(
                    f"{other}/Security/AdvanceAuthentication",
                    json={
                        "SessionId": result["SessionId"],
                        "MechanismId": result["Challenges"][0]["Mechanisms"][0]["MechanismId"],
                        "Action": "Answer",
                        "Answer": "alice-pass-1",
                    },
                )
                summary: str = reply.json()["Result"]["Summary"]
                return summary

        assert await asyncio.gather(*(one(i) for i in range(10))) == ["LoginSuccess"] * 10
    finally:
        for server in servers:
            server.stop()


async def test_pod_chain_is_settable_at_runtime(sim: ServerThread, client: httpx.AsyncClient) -> None:
    response = await client.post("/_sim/config", json={"pod_chain": ["pod.example:443"]})
    assert response.json()["pod_chain"] == ["pod.example:443"]
    assert (await start(client, "alice@example.com"))["Result"] == {"PodFqdn": "pod.example:443"}
    await client.post("/_sim/config", json={"pod_chain": [sim.host]})
    result = (await start(client, "alice@example.com"))["Result"]
    assert result["Summary"] == "NewPackage" and result["PodFqdn"] == sim.host
    await client.post("/_sim/config", json={"pod_chain": []})
    assert "PodFqdn" not in (await start(client, "alice@example.com"))["Result"]
