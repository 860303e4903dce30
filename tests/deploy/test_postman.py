"""docs/postman: a v2.1 collection whose every route exists, walked for real against a BFF and the simulator.

The walk sends each request as Postman would (variables substituted, cookies kept) to a real BFF under
uvicorn with the simulator as its tenant, and runs each request's test script in node with a minimal ``pm``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from app.main import create_app
from app.security.allowlist import AllowList
from app.settings import Settings
from simulator.app import create_app as create_simulator
from tests.deploy.dockerfile import ROOT
from tests.support.asgi_server import ServerThread

COLLECTION = ROOT / "docs" / "postman" / "cyberark-bff.postman_collection.json"
SHIM = Path(__file__).with_name("postman_shim.js")
V21 = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"


def load() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(COLLECTION.read_text())
    return data


def requests_of(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        if "item" in item:
            yield from requests_of(item["item"])
        else:
            yield item


def split(item: dict[str, Any]) -> tuple[str, str, str]:
    """(base variable, method, path) of a request: ``("baseUrl", "POST", "/auth/login")``."""
    raw = item["request"]["url"]["raw"]
    match = re.fullmatch(r"\{\{(\w+)\}\}(/.*)", raw)
    assert match, f"{item['name']}: URL {raw!r} does not start with {{{{baseUrl}}}} or {{{{simUrl}}}}"
    return match.group(1), item["request"]["method"], match.group(2)


def route_exists(paths: dict[str, Any], method: str, path: str) -> bool:
    for template, operations in paths.items():
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))
        concrete = re.sub(r"\{\{\w+\}\}", "x", path)
        if re.fullmatch(pattern, concrete) and method.lower() in operations:
            return True
    return False


def test_is_a_v21_collection_against_make_run() -> None:
    data = load()
    assert data["info"]["schema"] == V21
    variables = {v["key"]: v["value"] for v in data["variable"]}
    assert variables["baseUrl"] == "http://127.0.0.1:8000" and variables["simUrl"] == "http://127.0.0.1:9001"


def test_every_route_exists() -> None:
    bff_paths = create_app(Settings(_env_file=None)).openapi()["paths"]  # type: ignore[call-arg]
    sim_paths = create_simulator().openapi()["paths"]
    proxy = AllowList.from_text(Settings.model_fields["bff_proxy_allow"].default)
    for item in requests_of(load()["item"]):
        base, method, path = split(item)
        if base == "simUrl":
            assert route_exists(sim_paths, method, path), item["name"]
        elif path.startswith("/api/"):
            # The proxy is an ASGI layer outside OpenAPI: covered when the default rules allow it.
            assert proxy.allows_raw(method, path.removeprefix("/api").encode()), item["name"]
        else:
            assert base == "baseUrl" and route_exists(bff_paths, method, path), item["name"]


def test_unsafe_bff_requests_carry_the_csrf_header() -> None:
    for item in requests_of(load()["item"]):
        base, method, _ = split(item)
        headers = {h["key"]: h["value"] for h in item["request"]["header"]}
        if base == "baseUrl" and method not in ("GET", "HEAD", "OPTIONS"):
            assert headers.get("X-CSRF") == "1", item["name"]


def test_walks_login_session_proxy_and_logout_in_order() -> None:
    walk = [split(i)[1:] for folder in load()["item"][:4] for i in requests_of(folder["item"])]
    wanted = [
        ("POST", "/auth/login"),
        ("POST", "/auth/advance"),
        ("POST", "/auth/poll"),
        ("GET", "/auth/session"),
        ("POST", "/api/UPRest/GetUPData"),
        ("POST", "/auth/logout"),
    ]
    positions = [walk.index(step) for step in wanted]
    assert positions == sorted(positions)


def run_script(script: list[str], response: httpx.Response, variables: dict[str, str]) -> dict[str, str]:
    node = shutil.which("node")
    assert node, "node runs the collection's test scripts (Debian's nodejs)"
    payload = {
        "script": "\n".join(script),
        "status": response.status_code,
        "body": response.text,
        "variables": variables,
    }
    done = subprocess.run(
        [node, str(SHIM)], input=json.dumps(payload), capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    failed = [t for t in result["tests"] if not t["ok"]]
    assert result["tests"] and not failed, failed
    updated: dict[str, str] = result["variables"]
    return updated


def test_the_collection_runs_against_a_real_bff_and_simulator() -> None:
    with ServerThread(create_simulator()) as sim:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, cyberark_tenant_url=sim.url, bff_cookie_secure=False, bff_poll_min_interval=0
        )
        with ServerThread(create_app(settings)) as bff, httpx.Client(timeout=15) as client:
            variables = {v["key"]: v["value"] for v in load()["variable"]}
            variables.update(baseUrl=bff.url, simUrl=sim.url)
            checked = 0
            for folder in load()["item"][:4]:
                for item in requests_of(folder["item"]):
                    request = item["request"]

                    def fill(text: str, known: dict[str, str] = variables) -> str:
                        return re.sub(r"\{\{(\w+)\}\}", lambda m: known[m.group(1)], text)

                    response = client.request(
                        request["method"],
                        fill(request["url"]["raw"]),
                        headers={h["key"]: fill(h["value"]) for h in request["header"]},
                        content=fill(request["body"]["raw"]).encode() if "body" in request else None,
                    )
                    assert response.status_code < 500, (item["name"], response.text)
                    for event in item.get("event", []):
                        variables = run_script(event["script"]["exec"], response, variables)
                        checked += 1
            assert checked >= 9
