"""``user.tenant`` is one format for every login kind (api.md §2, the user object): the host, with its
port when not the scheme's default, of the tenant the session talks to."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.test_login_federated import FED, idp_sign_in
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import BffFactory, Sim
from tests.support.oauth_bff import OAuthBffFactory, oauth_login

pytestmark = pytest.mark.usefixtures("sim")


def expected(sim_server: ServerThread) -> str:
    return urlsplit(sim_server.url).netloc  # 127.0.0.1:<port>: not a default port


async def test_push_federated_and_oauth_logins_name_the_tenant_alike(
    make_bff: BffFactory, make_oauth_bff: OAuthBffFactory, sim: Sim, sim_server: ServerThread
) -> None:
    tenants = {}
    bff = make_bff()
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}, timeout=15) as browser:
        step = (await browser.post("/auth/login", json={"username": "push@example.com"})).json()
        up = step["challenge"]["mechanisms"][0]["id"]
        step = (await browser.post("/auth/advance", json={"mechanism": up, "answer": "push-pass-1"})).json()
        push = next(m["id"] for m in step["challenge"]["mechanisms"] if m["name"] == "OTP")
        await browser.post("/auth/advance", json={"mechanism": push, "action": "start_oob"})
        sim.approve("push@example.com")
        done = (await browser.post("/auth/poll", json={})).json()
        assert done["status"] == "authenticated", done
        tenants["push"] = done["user"]["tenant"]
        assert (await browser.get("/auth/session")).json()["user"]["tenant"] == tenants["push"]
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}, timeout=15) as browser:
        step = (await browser.post("/auth/login", json={"username": FED})).json()
        idp_sign_in(step["url"])
        done = (await browser.post("/auth/poll", json={})).json()
        assert done["status"] == "authenticated", done
        tenants["federated"] = done["user"]["tenant"]
    oauth = make_oauth_bff()
    async with httpx.AsyncClient(timeout=15) as browser:
        await oauth_login(browser, oauth)
        tenants["oauth"] = (await browser.get(f"{oauth.url}/auth/session")).json()["user"]["tenant"]
    assert tenants == dict.fromkeys(("push", "federated", "oauth"), expected(sim_server))
