"""deploy/kubernetes/: the kustomize base and the example overlay render to valid, consistent manifests.

kubectl is not installable here, so tests/deploy/kustomize.py renders the subset the manifests use. Every
rendered object is validated offline in strict mode against the Kubernetes schemas of the minimum version
the README states (1.30: the preStop ``sleep`` action) and of the newest that kubernetes-validate ships
(1.37). The Prometheus Operator's objects (ServiceMonitor, PrometheusRule) are custom resources that
kubernetes-validate has no schema for: tests/deploy/test_monitoring.py validates them against schemas of
their own.
"""

from __future__ import annotations

import base64
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic import ValidationError

from app.main import create_app
from app.settings import Settings
from tests.deploy.conftest import EXAMPLE, FOLDER
from tests.deploy.dockerfile import ROOT, Dockerfile
from tests.deploy.known_vars import container_vars, settings_vars
from tests.deploy.kustomize import KustomizeError, build

#: The minimum Kubernetes version (deploy/kubernetes/README.md) and the newest kubernetes-validate knows.
VERSIONS = ["1.30.0", "1.37.0"]
#: Custom resources: no upstream schema; validated by tests/deploy/test_monitoring.py.
CUSTOM_GROUPS = {"monitoring.coreos.com"}
#: Set by the manifests for the ops-runtime work (issue 15 item 3), which adds it to Settings; until that
#: lands it is the one variable the Deployment may name that Settings does not know.
PENDING_VARS = {"BFF_METRICS_PORT"} - settings_vars()

Resource = dict[str, Any]


@pytest.fixture(scope="module")
def k8s(rendered: list[Resource]) -> dict[str, Resource]:
    """The example overlay's objects by kind; the public Service under "Service", the metrics one apart."""
    found: dict[str, Resource] = {}
    for resource in rendered:
        key = resource["kind"]
        if key == "Service" and resource["metadata"]["name"].endswith("-metrics"):
            key = "MetricsService"
        assert key not in found, f"a second {key}"
        found[key] = resource
    return found


def layouts() -> Iterator[tuple[str, str]]:
    for version in VERSIONS:
        for layout in ("base", str(EXAMPLE)):
            yield layout, version


@pytest.mark.parametrize(("layout", "version"), list(layouts()))
def test_every_rendered_manifest_is_valid_kubernetes(tree: Path, layout: str, version: str) -> None:
    resources = build(tree / layout)
    checked = 0
    for resource in resources:
        if resource["apiVersion"].split("/")[0] in CUSTOM_GROUPS:
            continue  # no upstream schema: test_monitoring.py
        kubernetes_validate.validate(resource, version, strict=True)
        checked += 1
    assert checked >= 9


def test_the_validator_really_rejects(k8s: dict[str, Resource]) -> None:
    deployment = yaml.safe_load(yaml.safe_dump(k8s["Deployment"]))
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFs"] = True
    for version in VERSIONS:
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(deployment, version, strict=True)


def test_every_required_kind_is_there(k8s: dict[str, Resource]) -> None:
    assert {
        "Namespace",
        "Deployment",
        "Service",
        "MetricsService",
        "Ingress",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
        "ServiceAccount",
        "Secret",
        "ConfigMap",
    } <= set(k8s)
    # ServiceMonitor and PrometheusRule: the opt-in monitoring component's (test_monitoring.py).


def test_the_minimum_version_is_stated_where_operators_read() -> None:
    minimum = VERSIONS[0].rsplit(".", 1)[0]
    for doc in (FOLDER / "README.md", ROOT / "README.md", FOLDER / "base" / "kustomization.yaml"):
        assert f"Kubernetes {minimum}" in doc.read_text(), doc


# --- the example Secret cannot be applied by mistake ---


def test_kubectl_apply_on_the_folder_finds_nothing_to_apply() -> None:
    """`kubectl apply -f deploy/kubernetes/` takes the folder's own *.yaml/*.yml/*.json: there are none."""
    assert not [p.name for p in FOLDER.iterdir() if p.suffix in {".yaml", ".yml", ".json"}]


def test_no_secret_object_is_kept_in_the_tree() -> None:
    for path in FOLDER.rglob("*.y*ml"):
        for doc in yaml.safe_load_all(path.read_text()):
            assert not (doc and doc.get("kind") == "Secret"), f"{path}: a Secret object in the repository"
    assert not list(FOLDER.rglob("secret.env")) or "secret.env" in (ROOT / ".gitignore").read_text()


def test_the_overlay_does_not_build_without_the_operators_secret_file(tmp_path: Path) -> None:
    copy = tmp_path / "kubernetes"
    shutil.copytree(FOLDER, copy, ignore=shutil.ignore_patterns("secret.env"))
    with pytest.raises(KustomizeError, match=r"secret\.env does not exist"):
        build(copy / EXAMPLE)


def test_the_base_alone_expects_the_secret_from_elsewhere(tree: Path) -> None:
    base = build(tree / "base")
    assert "Secret" not in {r["kind"] for r in base}
    deployment = next(r for r in base if r["kind"] == "Deployment")
    sources = deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    assert {"secretRef": {"name": "cyberark-bff"}} in sources


# --- the Deployment ---


def container(k8s: dict[str, Resource]) -> dict[str, Any]:
    containers = k8s["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: dict[str, Any] = containers[0]
    return result


def test_deployment_is_hardened_and_probed(k8s: dict[str, Resource]) -> None:
    spec = k8s["Deployment"]["spec"]
    assert spec["replicas"] >= 2
    pod = spec["template"]["spec"]
    bff = container(k8s)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
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
        assert bff[probe]["httpGet"]["port"] == "http"
    # The namespace enforces the restricted Pod Security Standard, which the checks above satisfy.
    assert k8s["Namespace"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert k8s["Deployment"]["metadata"]["namespace"] == k8s["Namespace"]["metadata"]["name"]


def test_no_service_variables_reach_the_pod_to_set_the_port(k8s: dict[str, Resource]) -> None:
    # A Service named bff would otherwise inject BFF_PORT=tcp://10.0.0.1:80, the variable the image's
    # command reads as its port (and every other Service in the namespace adds its *_SERVICE_* names).
    assert k8s["Deployment"]["spec"]["template"]["spec"]["enableServiceLinks"] is False


def test_deployment_matches_the_image(k8s: dict[str, Resource]) -> None:
    final = Dockerfile.read(ROOT / "Dockerfile").final
    uid, _, gid = final.one("USER").rest.partition(":")
    security = k8s["Deployment"]["spec"]["template"]["spec"]["securityContext"]
    assert (security["runAsUser"], security["runAsGroup"]) == (int(uid), int(gid))
    port = container(k8s)["ports"][0]
    assert (port["name"], port["containerPort"]) == ("http", int(dict(final.env())["BFF_PORT"]))
    assert re.fullmatch(r"registry\.example\.com/cyberark-bff:\d+\.\d+\.\d+", container(k8s)["image"])


def test_metrics_have_their_own_port(k8s: dict[str, Resource]) -> None:
    ports = {p["name"]: p["containerPort"] for p in container(k8s)["ports"]}
    env = {e["name"]: e["value"] for e in container(k8s)["env"]}
    assert ports["metrics"] == int(env["BFF_METRICS_PORT"]) != ports["http"]
    # The public Service (and so the Ingress) carries http only; the headless metrics Service carries metrics.
    assert [p["targetPort"] for p in k8s["Service"]["spec"]["ports"]] == ["http"]
    metrics = k8s["MetricsService"]
    assert [p["targetPort"] for p in metrics["spec"]["ports"]] == ["metrics"]
    assert metrics["spec"]["clusterIP"] == "None"
    annotations = k8s["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == env["BFF_METRICS_PORT"]


def test_selectors_and_references_line_up(k8s: dict[str, Resource]) -> None:
    deployment = k8s["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    name = deployment["metadata"]["name"]

    def selects(selector: dict[str, str]) -> bool:
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

    assert selects(deployment["spec"]["selector"]["matchLabels"])
    assert selects(k8s["Service"]["spec"]["selector"])
    assert selects(k8s["MetricsService"]["spec"]["selector"])
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
    # The generated names (content hash suffix) are what the Deployment refers to, so a change rolls the pods.
    assert {s["configMapRef"]["name"] for s in sources if "configMapRef" in s} == {
        k8s["ConfigMap"]["metadata"]["name"]
    }
    assert {s["secretRef"]["name"] for s in sources if "secretRef" in s} == {
        k8s["Secret"]["metadata"]["name"]
    }
    assert re.fullmatch(r"cyberark-bff-[a-z0-9]{10}", k8s["ConfigMap"]["metadata"]["name"])
    assert (
        deployment["spec"]["template"]["spec"]["serviceAccountName"]
        == k8s["ServiceAccount"]["metadata"]["name"]
    )
    backend = k8s["Ingress"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": k8s["Service"]["metadata"]["name"], "port": {"name": "http"}}
    namespaces = {r["metadata"].get("namespace") for kind, r in k8s.items() if kind != "Namespace"}
    assert namespaces == {k8s["Namespace"]["metadata"]["name"]}


def test_network_policy_lets_out_only_dns_redis_and_https(k8s: dict[str, Resource]) -> None:
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


def test_network_policy_lets_in_the_ingress_to_http_and_prometheus_to_metrics(
    k8s: dict[str, Resource],
) -> None:
    allowed = {}
    for rule in k8s["NetworkPolicy"]["spec"]["ingress"]:
        namespaces = {
            peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for peer in rule["from"]
        }
        assert len(namespaces) == 1, "one source namespace per rule, so each gets only its own port"
        allowed[namespaces.pop()] = [p["port"] for p in rule["ports"]]
    assert allowed == {"ingress-nginx": ["http"], "monitoring": ["metrics"]}


# --- configuration ---


def env_of(k8s: dict[str, Resource]) -> dict[str, str]:
    secret = {k: base64.b64decode(v).decode() for k, v in k8s["Secret"]["data"].items()}
    return {**k8s["ConfigMap"]["data"], **secret}


def test_config_and_secret_name_only_known_variables(k8s: dict[str, Resource]) -> None:
    assert set(env_of(k8s)) <= container_vars(), set(env_of(k8s)) - container_vars()
    named = {e["name"] for e in container(k8s)["env"]}
    assert named <= container_vars() | PENDING_VARS, named - container_vars()


def settings_from(env: dict[str, str]) -> Settings:
    values = {k.lower(): v for k, v in env.items() if k.lower() in Settings.model_fields}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_example_secret_is_refused_in_production(k8s: dict[str, Resource]) -> None:
    with pytest.raises(ValidationError, match="BFF_SESSION_SECRETS"):
        settings_from(env_of(k8s))


def test_config_is_a_valid_production_configuration_once_the_secret_is_real(k8s: dict[str, Resource]) -> None:
    settings = settings_from({**env_of(k8s), "BFF_SESSION_SECRETS": "f" * 64})
    assert settings.bff_env == "production" and settings.bff_cookie_secure
    assert [str(n) for n in settings.bff_trusted_proxies] == ["10.0.0.0/8"]
    assert str(settings.cyberark_tenant_url).startswith("https://")


#: ``# NAME=value`` (an env file) or ``# - NAME=value`` (a configMapGenerator literal): a setting left for the
#: operator to uncomment.
COMMENTED = re.compile(r"^\s*#\s*(?:-\s+)?([A-Z][A-Z0-9_]*)=(.*)$", re.MULTILINE)
CONFIG_FILES = [
    Path("base") / "config.env",
    EXAMPLE / "kustomization.yaml",
]
SECRET_FILE = EXAMPLE / "secret.env.example"


def commented(relative: Path) -> dict[str, str]:
    return dict(COMMENTED.findall((FOLDER / relative).read_text()))


def test_commented_settings_name_known_variables() -> None:
    for relative in [*CONFIG_FILES, SECRET_FILE]:
        names = set(commented(relative))
        assert names <= container_vars(), (str(relative), names - container_vars())


def test_operators_find_the_login_modes_and_the_newer_settings(k8s: dict[str, Resource]) -> None:
    offered = set(env_of(k8s)) | {name for r in CONFIG_FILES for name in commented(r)}
    for name in (
        "BFF_LOGIN_MODES",
        "BFF_PUBLIC_URL",
        "CYBERARK_OAUTH_APP_ID",
        "CYBERARK_OAUTH_CLIENT_ID",
        "CYBERARK_OAUTH_SCOPE",
        "CYBERARK_OAUTH_CLIENT_AUTH",
        "BFF_MAX_SESSIONS_PER_USER",
        "BFF_SESSION_CACHE",
        "BFF_MAX_BODY_BYTES",
        "BFF_PROXY_PREREAD_BYTES",
        "BFF_PROXY_BODY_TIMEOUT",
        "BFF_PROXY_MAX_IN_FLIGHT",
    ):
        assert name in offered, name
    # The client secret belongs in the Secret, and only there.
    assert "CYBERARK_OAUTH_CLIENT_SECRET" in commented(SECRET_FILE)
    assert "CYBERARK_OAUTH_CLIENT_SECRET" not in offered
    assert env_of(k8s)["BFF_LOGIN_MODES"] == "api"


def test_the_oauth_lines_uncommented_are_a_valid_production_configuration(k8s: dict[str, Resource]) -> None:
    env = dict(env_of(k8s))
    for relative in CONFIG_FILES:
        env.update(commented(relative))  # the overlay's lines after the base's, as kustomize merges them
    env.update(commented(SECRET_FILE))
    env.update({"BFF_SESSION_SECRETS": "f" * 64, "CYBERARK_OAUTH_CLIENT_SECRET": "a-real-secret"})
    # The upstream's lines name the assertion keys by file (the operator's own Secret): the file's content.
    assert env.pop("BFF_ASSERTION_KEYS_FILE") == "/run/secrets/bff-assertion/keys.pem"
    env["BFF_ASSERTION_KEYS"] = _assertion_key_pem()
    settings = settings_from(env)
    [orders] = settings.bff_upstreams
    assert orders.url.startswith("https://") and orders.mode == "assertion"
    assert settings.bff_env == "production" and settings.bff_login_modes == ["api", "oauth"]
    # The redirect URI the tenant app must list is on the Ingress's own host.
    hosts = [rule["host"] for rule in k8s["Ingress"]["spec"]["rules"]]
    assert settings.oauth_redirect_uri == f"https://{hosts[0]}/auth/oauth/callback"


def _assertion_key_pem() -> str:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


def test_the_assertion_keys_patch_mounts_the_file_the_commented_setting_names(tmp_path: Path) -> None:
    """Uncommented as the overlay says, the keys Secret is mounted where BFF_ASSERTION_KEYS_FILE looks."""
    copy = tmp_path / "kubernetes"
    shutil.copytree(FOLDER, copy, ignore=shutil.ignore_patterns("secret.env"))
    overlay = copy / "overlays" / "example"
    shutil.copy(overlay / "secret.env.example", overlay / "secret.env")
    (overlay / "assertion-keys.pem").write_text(_assertion_key_pem())
    text = (overlay / "kustomization.yaml").read_text()
    for line in (
        "  # - name: cyberark-bff-assertion\n",
        "  #   type: Opaque\n",
        "  #   files:\n",
        "  #     - keys.pem=assertion-keys.pem\n",
        "  # - path: assertion-keys.yaml\n",
    ):
        assert line in text, line
        text = text.replace(line, line.replace("  # ", "  ", 1))
    (overlay / "kustomization.yaml").write_text(text)
    rendered = {(r["kind"], r["metadata"]["name"].rsplit("-", 1)[0]): r for r in build(overlay)}
    secret = rendered[("Secret", "cyberark-bff-assertion")]
    assert set(secret["data"]) == {"keys.pem"}
    deployment = next(r for r in build(overlay) if r["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    [volume] = [v for v in pod["volumes"] if v["name"] == "assertion-keys"]
    assert volume["secret"]["secretName"] == secret["metadata"]["name"]
    [mount] = [m for c in pod["containers"] for m in c["volumeMounts"] if m["name"] == "assertion-keys"]
    named = commented(EXAMPLE / "kustomization.yaml")["BFF_ASSERTION_KEYS_FILE"]
    assert named == mount["mountPath"] + "/keys.pem" and mount["readOnly"] is True


# --- the renderer itself ---


def test_the_renderer_hashes_content_and_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    def render(config: str, extra: str = "") -> list[Resource]:
        (tmp_path / "config.env").write_text(config)
        (tmp_path / "kustomization.yaml").write_text(
            "configMapGenerator:\n  - name: c\n    envs: [config.env]\n" + extra
        )
        return build(tmp_path)

    one, other = render("A=1\n")[0], render("A=2\n")[0]
    assert one["data"] == {"A": "1"} and one["metadata"]["name"] != other["metadata"]["name"]
    assert render("# a comment\n\nA=1\n")[0]["metadata"]["name"] == one["metadata"]["name"]
    with pytest.raises(KustomizeError, match="commonLabels"):
        render("A=1\n", "commonLabels: {a: b}\n")
    with pytest.raises(KustomizeError, match="not KEY=VALUE"):
        render("A 1\n")


def test_the_renderer_merges_patches_by_name(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "d"},
                "spec": {
                    "template": {"spec": {"containers": [{"name": "a", "image": "x:1", "args": ["1"]}]}}
                },
            }
        )
    )
    (tmp_path / "p.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
        "spec: {template: {spec: {containers: [{name: a, args: ['2']}, {name: b, image: 'y:1'}]}}}\n"
    )
    (tmp_path / "kustomization.yaml").write_text(
        "resources: [d.yaml]\npatches: [{path: p.yaml}]\nimages: [{name: x, newTag: '9'}]\n"
    )
    containers = build(tmp_path)[0]["spec"]["template"]["spec"]["containers"]
    assert containers == [{"name": "a", "image": "x:9", "args": ["2"]}, {"name": "b", "image": "y:1"}]
