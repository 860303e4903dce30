"""Every rule form, end to end: what a rule allows reaches the tenant; the rest is 403 and goes nowhere."""

from __future__ import annotations

import httpx
import pytest

from app.configuration import load_settings_or_exit
from app.security.allowlist import AllowList
from tests.proxy.conftest import SIM_RULES, client_for
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import Sim

# (method, path after /api, allowed by SIM_RULES)
CASES = [
    ("POST", "/UPRest/GetUPData", True),  # exact rule
    ("GET", "/UPRest/GetUPData", False),  # exact rule, other method
    ("POST", "/UPRest/GetUPData/x", False),  # exact rule, longer path
    ("POST", "/uprest/getupdata", False),  # literal segments are case-sensitive
    ("GET", "/Sim/Echo", True),  # * method
    ("DELETE", "/Sim/Echo", True),
    ("PATCH", "/Sim/Echo", True),
    ("TRACE", "/Sim/Echo", False),  # * never means TRACE
    ("GET", "/Security/Whoami", True),  # * segment
    ("GET", "/Security/Whoami/x", False),  # * is exactly one segment
    ("GET", "/Security", False),
    ("POST", "/Security/Whoami", False),  # the rule's method only
    ("POST", "/Docs/a", True),  # trailing **
    ("POST", "/Docs/a/b/c", True),
    ("POST", "/Docs", False),  # ** needs at least one more segment
    ("GET", "/Docs/a", False),
    ("POST", "/Other", False),  # deny by default
]


@pytest.mark.parametrize(("method", "path", "allowed"), CASES, ids=[f"{m} {p}" for m, p, _ in CASES])
async def test_rule_forms_decide_what_reaches_the_tenant(
    alice: httpx.AsyncClient, sim: Sim, method: str, path: str, allowed: bool
) -> None:
    sim.http.delete("/_sim/calls")
    response = await alice.request(method, "/api" + path, content=b"{}" if method != "GET" else None)
    calls = [c for c in sim.calls() if not c["path"].startswith("/Security/StartAuth")]
    if allowed:
        assert response.status_code != 403, response.text
        assert [(c["method"], c["path"]) for c in calls] == [(method, path)]
    else:
        assert response.status_code == 403
        assert response.json()["error"] == "not_allowed"
        assert calls == []


async def test_not_allowed_is_decided_before_the_session(sim_bff: ServerThread, sim: Sim) -> None:
    # No cookie at all: a path off the list is 403 (no store lookup needed), one on it is 401.
    async with client_for(sim_bff) as anonymous:
        refused = await anonymous.post("/api/Admin/Everything", json={})
        unauthenticated = await anonymous.post("/api/UPRest/GetUPData", json={})
    assert refused.status_code == 403 and refused.json()["error"] == "not_allowed"
    assert unauthenticated.status_code == 401 and unauthenticated.json()["error"] == "unauthenticated"
    assert sim.calls() == []


def test_sim_rules_parse_to_one_rule_of_each_form() -> None:
    rules = AllowList.from_text(SIM_RULES).rules
    assert [str(r) for r in rules] == [
        "POST /UPRest/GetUPData",
        "* /Sim/Echo",
        "GET /Security/*",
        "POST /Docs/**",
    ]


@pytest.mark.parametrize(
    ("rules", "named"),
    [
        ("FETCH /x", "unknown method"),
        ("GET x", "must start with /"),
        ("GET /a/**/b", "** may only be the last segment"),
        ("GET /a*", "a wildcard must be a whole segment"),
        ("GET /a//b", "empty path segment"),
        ("GET /x,", "empty rule"),
        ("GET /a/../b", "dot segments"),
    ],
)
def test_a_bad_rule_stops_start_up_with_one_line_naming_the_variable(
    rules: str, named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        load_settings_or_exit(_env_file=None, bff_proxy_allow=rules)
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("configuration error: BFF_PROXY_ALLOW:")
    assert named in lines[0]
