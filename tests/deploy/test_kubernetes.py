"""deploy/kubernetes/: every manifest valid for Kubernetes 1.37 (strict, offline schemas), and consistent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic import ValidationError

from app.main import create_app
from app.settings import Settings
from tests.deploy.dockerfile import ROOT, Dockerfile
from tests.deploy.known_vars import container_vars

FOLDER = ROOT / "deploy" / "kubernetes"
VERSION = "1.37.0"
MANIFESTS = sorted(FOLDER.glob("*.yaml"))


def load_all() -> dict[str, dict[str, Any]]:
    """Every resource by kind (one of each kind here)."""
    found: dict[str, dict[str, Any]] = {}
    for path in MANIFESTS:
        for doc in yaml.safe_load_all(path.read_text()):
            assert doc["kind"] not in found, f"a second {doc['kind']} in {path.name}"
            found[doc["kind"]] = doc
    return found


@pytest.fixture(scope="module")
def k8s() -> dict[str, dict[str, Any]]:
    return load_all()


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_manifest_is_valid_kubernetes(path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(doc, VERSION, strict=True)


def test_the_validator_really_rejects(k8s: dict[str, dict[str, Any]]) -> None:
    deployment = yaml.safe_load((FOLDER / "deployment.yaml").read_text())
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFs"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSION, strict=True)


def test_every_required_kind_is_there(k8s: dict[str, dict[str, Any]]) -> None:
    assert {
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
        "Secret",
        "ConfigMap",
    } <= set(k8s)


def container(k8s: dict[str, dict[str, Any]]) -> dict[str, Any]:
    containers = k8s["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: dict[str, Any] = containers[0]
    return result


def test_deployment_is_hardened_and_probed(k8s: dict[str, dict[str, Any]]) -> None:
    spec = k8s["Deployment"]["spec"]
    assert spec["replicas"] >= 2
    pod = spec["template"]["spec"]
    bff = container(k8s)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert bff["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert {"cpu", "memory"} <= set(bff["resources"]["requests"]) and "memory" in bff["resources"]["limits"]
    assert bff["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert bff["readinessProbe"]["httpGet"]["path"] == "/readyz"
    paths = create_app(Settings(_env_file=None)).openapi()["paths"]  # type: ignore[call-arg]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert bff[probe]["httpGet"]["path"] in paths


def test_deployment_matches_the_image(k8s: dict[str, dict[str, Any]]) -> None:
    final = Dockerfile.read(ROOT / "Dockerfile").final
    uid, _, gid = final.one("USER").rest.partition(":")
    security = k8s["Deployment"]["spec"]["template"]["spec"]["securityContext"]
    assert (security["runAsUser"], security["runAsGroup"]) == (int(uid), int(gid))
    port = container(k8s)["ports"][0]
    assert (port["name"], port["containerPort"]) == ("http", int(dict(final.env())["BFF_PORT"]))


def test_selectors_and_references_line_up(k8s: dict[str, dict[str, Any]]) -> None:
    deployment = k8s["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    name = deployment["metadata"]["name"]

    def selects(selector: dict[str, str]) -> bool:
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

    assert selects(deployment["spec"]["selector"]["matchLabels"])
    assert selects(k8s["Service"]["spec"]["selector"])
    assert selects(k8s["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"])
    assert selects(k8s["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"])
    assert k8s["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": name,
    }
    assert k8s["HorizontalPodAutoscaler"]["spec"]["minReplicas"] >= 2
    assert k8s["PodDisruptionBudget"]["spec"]["minAvailable"] < deployment["spec"]["replicas"]
    assert k8s["Service"]["spec"]["ports"][0]["targetPort"] == "http"
    sources = container(k8s)["envFrom"]
    assert {s["configMapRef"]["name"] for s in sources if "configMapRef" in s} == {
        k8s["ConfigMap"]["metadata"]["name"]
    }
    assert {s["secretRef"]["name"] for s in sources if "secretRef" in s} == {
        k8s["Secret"]["metadata"]["name"]
    }
    assert (
        deployment["spec"]["template"]["spec"]["serviceAccountName"]
        == k8s["ServiceAccount"]["metadata"]["name"]
    )
    backend = k8s["Ingress"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": k8s["Service"]["metadata"]["name"], "port": {"name": "http"}}


def test_network_policy_lets_out_only_dns_redis_and_https(k8s: dict[str, dict[str, Any]]) -> None:
    policy = k8s["NetworkPolicy"]["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    ports = {(p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"]}
    assert ports == {(53, "UDP"), (53, "TCP"), (6379, "TCP"), (6380, "TCP"), (26379, "TCP"), (443, "TCP")}
    for rule in policy["egress"]:
        assert rule["to"], "an egress rule without `to` would allow every destination"
        for peer in rule["to"]:
            if "ipBlock" in peer:
                # Public 443 only: private ranges (the cluster) and the metadata endpoint stay out.
                assert [p["port"] for p in rule["ports"]] == [443]
                assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"} <= set(
                    peer["ipBlock"]["except"]
                )


def env_of(k8s: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {**k8s["ConfigMap"]["data"], **k8s["Secret"]["stringData"]}


def test_config_and_secret_name_only_known_variables(k8s: dict[str, dict[str, Any]]) -> None:
    assert set(env_of(k8s)) <= container_vars(), set(env_of(k8s)) - container_vars()


def settings_from(env: dict[str, str]) -> Settings:
    values = {k.lower(): v for k, v in env.items() if k.lower() in Settings.model_fields}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_example_secret_is_refused_in_production(k8s: dict[str, dict[str, Any]]) -> None:
    with pytest.raises(ValidationError, match="BFF_SESSION_SECRETS"):
        settings_from(env_of(k8s))


def test_config_is_a_valid_production_configuration_once_the_secret_is_real(
    k8s: dict[str, dict[str, Any]],
) -> None:
    settings = settings_from({**env_of(k8s), "BFF_SESSION_SECRETS": "f" * 64})
    assert settings.bff_env == "production" and settings.bff_cookie_secure
    assert [str(n) for n in settings.bff_trusted_proxies] == ["10.0.0.0/8"]
