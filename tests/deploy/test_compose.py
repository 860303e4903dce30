"""deploy/docker-compose.yml: valid Compose, Redis with a password and no host port, healthy-order start.

The schema, tests/deploy/compose_spec.json, is vendored from the PyPI wheel docker-compose==1.29.2
(compose/config/compose_spec.json, Apache-2.0, sha256 0dc04bd3...2bac): the Compose Specification's JSON
schema as that release shipped it. No newer PyPI package ships the schema; newer keys it lacks are not used.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.dockerfile import ROOT, Dockerfile
from tests.deploy.known_vars import container_vars
from tests.support.ports import free_port

COMPOSE = ROOT / "deploy" / "docker-compose.yml"
SCHEMA = Path(__file__).with_name("compose_spec.json")
SCHEMA_SHA256 = "0dc04bd346dcfee1b1419628fff79937bbf076925f298f272a2b490e2b112bac"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def validate(data: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    # It declares draft 2019-09 under the old http:// URI, which jsonschema no longer maps by itself.
    assert schema["$schema"] == "http://json-schema.org/draft/2019-09/schema#"
    jsonschema.Draft201909Validator.check_schema(schema)
    jsonschema.Draft201909Validator(schema).validate(data)


def test_vendored_schema_is_the_one_from_the_wheel() -> None:
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256


def test_compose_file_matches_the_compose_spec(compose: dict[str, Any]) -> None:
    validate(compose)


def test_the_schema_rejects_what_compose_would(compose: dict[str, Any]) -> None:
    typo = copy.deepcopy(compose)
    typo["services"]["bff"]["depend_on"] = typo["services"]["bff"].pop("depends_on")
    with pytest.raises(jsonschema.ValidationError):
        validate(typo)
    bad_condition = copy.deepcopy(compose)
    bad_condition["services"]["bff"]["depends_on"]["redis"]["condition"] = "healthy"
    with pytest.raises(jsonschema.ValidationError):
        validate(bad_condition)


def test_redis_has_a_password_and_no_host_port(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    assert "ports" not in redis and "expose" not in redis
    assert "requirepass $$REDIS_PASSWORD" in "\n".join(redis["command"])
    assert redis["environment"]["REDIS_PASSWORD"].startswith("${REDIS_PASSWORD:?")
    assert compose["networks"]["backend"]["internal"] is True and redis["networks"] == ["backend"]
    for name in ("bff", "demo"):
        url = compose["services"][name]["environment"]["BFF_REDIS_URL"]
        assert url.startswith("redis://:${REDIS_PASSWORD}@redis:6379/")


def _healthchecked(compose: dict[str, Any], name: str) -> bool:
    service = compose["services"][name]
    if "healthcheck" in service:
        return True
    dockerfile = ROOT / "deploy" / Path(service["build"]["dockerfile"])
    if not dockerfile.exists():
        dockerfile = ROOT / service["build"]["dockerfile"]
    return bool(Dockerfile.read(dockerfile).final.all("HEALTHCHECK"))


def test_start_order_waits_for_health(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["bff"]["depends_on"] == {"redis": {"condition": "service_healthy"}}
    assert services["demo"]["depends_on"] == {
        "redis": {"condition": "service_healthy"},
        "simulator": {"condition": "service_healthy"},
    }
    for service in services.values():
        for dependency, rule in service.get("depends_on", {}).items():
            assert rule["condition"] != "service_healthy" or _healthchecked(compose, dependency), dependency


def test_demo_profile_adds_the_simulator_and_the_spa(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {n for n, s in services.items() if "demo" in s.get("profiles", [])} == {"simulator", "demo"}
    assert "profiles" not in services["bff"] and "profiles" not in services["redis"]
    assert services["simulator"]["build"]["dockerfile"] == "deploy/simulator.Dockerfile"
    demo = services["demo"]
    assert demo["environment"]["BFF_STATIC_DIR"] == "/srv/web" and "../web:/srv/web:ro" in demo["volumes"]
    assert demo["environment"]["CYBERARK_TENANT_URL"] == "http://simulator:9001"
    for name in ("bff", "demo"):
        assert services[name]["build"] == {"context": "..", "dockerfile": "Dockerfile", "target": "runtime"}


def test_bff_containers_are_locked_down_and_set_only_known_variables(compose: dict[str, Any]) -> None:
    known = container_vars()
    for name in ("bff", "demo"):
        service = compose["services"][name]
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
        assert set(service["environment"]) <= known, set(service["environment"]) - known
    assert compose["services"]["bff"]["environment"]["BFF_ENV"] == "production"


def test_redis_command_and_healthcheck_work_on_a_real_redis(compose: dict[str, Any]) -> None:
    """The compose Redis command (password on stdin) and healthcheck, run against redis-server here."""
    redis = compose["services"]["redis"]
    port = free_port()
    # Compose turns $$ into $; the port and folder are this test's, the rest is the file's own command.
    script = redis["command"][2].replace("$$", "$")
    with tempfile.TemporaryDirectory() as folder:
        script = script.replace(
            "redis-server -", f"redis-server - --port {port} --bind 127.0.0.1 --dir {folder}"
        )
        env = {**os.environ, "REDIS_PASSWORD": "0123456789abcdef0123"}
        server = subprocess.Popen(redis["command"][:2] + [script], env=env, stdout=subprocess.DEVNULL)
        try:
            check = (
                redis["healthcheck"]["test"][1]
                .replace("$$", "$")
                .replace("redis-cli", f"redis-cli -p {port}")
            )
            healthy = False
            for _ in range(100):
                if (
                    subprocess.run(["sh", "-c", check], env=env, capture_output=True, timeout=10).returncode
                    == 0
                ):
                    healthy = True
                    break
                subprocess.run(["sleep", "0.05"], check=True)
            assert healthy
            anonymous = subprocess.run(
                ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, timeout=10
            )
            assert "NOAUTH" in anonymous.stdout + anonymous.stderr
            wrong = {**env, "REDIS_PASSWORD": "wrong"}
            assert (
                subprocess.run(["sh", "-c", check], env=wrong, capture_output=True, timeout=10).returncode
                != 0
            )
            argv = Path(f"/proc/{server.pid}/cmdline").read_bytes().decode()
            assert env["REDIS_PASSWORD"] not in argv
            assert re.search(r"redis-server", argv)
        finally:
            server.terminate()
            server.wait(timeout=10)


def test_production_bff_serves_metrics_on_a_port_it_does_not_publish(compose: dict[str, Any]) -> None:
    bff = compose["services"]["bff"]
    port = bff["environment"]["BFF_METRICS_PORT"]
    assert port == "9100" and port in bff["expose"]
    assert not [p for p in bff["ports"] if str(p).rsplit(":", 1)[-1] == port]
