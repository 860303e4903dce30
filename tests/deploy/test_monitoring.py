"""The ServiceMonitor, the PrometheusRule and the Grafana dashboard ask for series the BFF really exports.

ServiceMonitor and PrometheusRule are the Prometheus Operator's custom resources, which kubernetes-validate
has no schema for: they are validated here against the parts of their CRD schemas (monitoring.coreos.com/v1)
that the manifests use, strict (no unknown field), and every PromQL expression is checked against the metric
names and labels that app/observe/metrics.py exports, read from a real scrape of a real ``Metrics``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.observe.metrics import Metrics
from tests.deploy.conftest import EXAMPLE
from tests.deploy.dockerfile import ROOT
from tests.deploy.kustomize import Resource, build

DASHBOARD = ROOT / "deploy" / "grafana" / "cyberark-bff.json"


@pytest.fixture(scope="module")
def rendered(tree: Path) -> list[Resource]:
    """The example overlay with the monitoring component turned on, as its comment says to."""
    kustomization = tree / EXAMPLE / "kustomization.yaml"
    text = kustomization.read_text()
    turned_on = text.replace("# components:\n#   - ../../monitoring", "components:\n  - ../../monitoring")
    assert turned_on != text, "the example overlay no longer offers the monitoring component"
    kustomization.write_text(turned_on)
    try:
        return build(tree / EXAMPLE)
    finally:
        kustomization.write_text(text)


#: Labels Prometheus adds to every series of a target (the ServiceMonitor's jobLabel sets ``job``).
TARGET_LABELS = {"job", "namespace", "instance", "pod", "service", "endpoint", "container"}
#: Series that come from elsewhere: Prometheus itself (``up``) and kube-state-metrics (readiness).
OTHER_SERIES = {
    "up": {"job", "namespace", "instance"},
    "kube_deployment_status_replicas_available": {"namespace", "deployment"},
    "kube_deployment_spec_replicas": {"namespace", "deployment"},
}
JOB = "cyberark-bff"

_STRING = {"type": "string", "minLength": 1}
_LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
_METADATA = {
    "type": "object",
    "required": ["name", "namespace"],
    "properties": {"name": _STRING, "namespace": _STRING, "labels": _LABELS, "annotations": _LABELS},
    "additionalProperties": False,
}
_DURATION = {
    "type": "string",
    "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$",
}
SERVICE_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "jobLabel": _STRING,
                "selector": {
                    "type": "object",
                    "properties": {"matchLabels": _LABELS},
                    "required": ["matchLabels"],
                    "additionalProperties": False,
                },
                "namespaceSelector": {"type": "object"},
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["port"],
                        "additionalProperties": False,
                        "properties": {
                            "port": _STRING,
                            "path": {"type": "string", "pattern": "^/"},
                            "interval": _DURATION,
                            "scrapeTimeout": _DURATION,
                            "scheme": {"enum": ["http", "https"]},
                        },
                    },
                },
            },
        },
    },
}
PROMETHEUS_RULE = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PrometheusRule"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "required": ["groups"],
            "additionalProperties": False,
            "properties": {
                "groups": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["name", "rules"],
                        "additionalProperties": False,
                        "properties": {
                            "name": _STRING,
                            "interval": _DURATION,
                            "rules": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    # Alerting rules only, each with a severity and a summary for the pager.
                                    "required": ["alert", "expr", "for", "labels", "annotations"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "alert": {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9]*$"},
                                        "expr": _STRING,
                                        "for": _DURATION,
                                        "labels": {
                                            "type": "object",
                                            "required": ["severity"],
                                            "properties": {"severity": {"enum": ["warning", "critical"]}},
                                        },
                                        "annotations": {
                                            "type": "object",
                                            "required": ["summary", "description"],
                                            "additionalProperties": {"type": "string"},
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


@pytest.fixture(scope="module")
def exported() -> dict[str, set[str]]:
    """Every sample name a scrape of the BFF shows, with its label names (each labelled metric used once)."""
    metrics = Metrics()
    metrics.requests.labels(route="/auth/login", status="200").inc()
    metrics.latency.labels(route="/auth/login").observe(0.01)
    metrics.observe_tenant_call("StartAuthentication", 0.1)
    metrics.logins.labels(mode="api", outcome="failed").inc()
    metrics.sessions.labels(event="created").inc()
    metrics.store_errors.inc()
    samples: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, set()).update(sample.labels)
    return samples


def by_kind(rendered: list[Resource], kind: str) -> Resource:
    [found] = [r for r in rendered if r["kind"] == kind]
    return found


def rule_exprs(rendered: list[Resource]) -> dict[str, str]:
    rule = by_kind(rendered, "PrometheusRule")
    return {r["alert"]: r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]}


def dashboard_exprs() -> dict[str, str]:
    board = json.loads(DASHBOARD.read_text())
    return {f"{p['title']}/{t['refId']}": t["expr"] for p in board["panels"] for t in p["targets"]}


#: A series selector: the metric name and its label matchers (every series here has some: at least the job).
SELECTOR = re.compile(r"\b([a-z_:][a-z0-9_:]*)\s*\{([^}]*)\}")
MATCHER = re.compile(r'([a-z_]+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def series_in(expr: str) -> list[tuple[str, dict[str, tuple[str, str]]]]:
    """(metric name, {label: (operator, value)}) for every selector of a PromQL expression."""
    bare = re.findall(r"\b(bff_[a-z0-9_]+)\b(?!\s*\{)", expr)
    assert not bare, f"{bare}: a BFF series without matchers (at least job) would mix in other deployments"
    return [
        (m.group(1), {x.group(1): (x.group(2), x.group(3)) for x in MATCHER.finditer(m.group(2))})
        for m in SELECTOR.finditer(expr)
    ]


def check_expr(where: str, expr: str, exported: dict[str, set[str]]) -> None:
    assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}"), where
    series = series_in(expr)
    assert series, f"{where}: no series in {expr!r}"
    source = "\n".join(p.read_text() for p in (ROOT / "app").rglob("*.py"))
    used_labels: set[str] = set()
    for name, matchers in series:
        known = exported.get(name, OTHER_SERIES.get(name))
        assert known is not None, f"{where}: {name} is not a series the BFF exports ({sorted(exported)})"
        labels = known | TARGET_LABELS if name.startswith("bff_") else known
        assert set(matchers) <= labels, f"{where}: {name} has no label {set(matchers) - labels}"
        used_labels |= known
        if name.startswith("bff_"):
            assert matchers.get("job") == ("=", JOB), f"{where}: {name} without job={JOB!r}"
        for label, (operator, value) in matchers.items():
            if label in {"outcome", "event"}:
                for one in value.split("|"):
                    assert f'{label}="{one}"' in source, f"{where}: the app never counts {label}={one!r}"
            if label == "status":
                assert operator == "=~" and re.fullmatch(value, "503"), f"{where}: status {value!r}"
    for grouping in GROUPING.findall(expr):
        names = {label.strip() for label in grouping.split(",") if label.strip()}
        assert names <= used_labels | TARGET_LABELS | {"le"}, f"{where}: grouping by {names - used_labels}"


def test_service_monitor_is_a_valid_custom_resource(rendered: list[Resource]) -> None:
    jsonschema.validate(by_kind(rendered, "ServiceMonitor"), SERVICE_MONITOR)


def test_prometheus_rule_is_a_valid_custom_resource(rendered: list[Resource]) -> None:
    jsonschema.validate(by_kind(rendered, "PrometheusRule"), PROMETHEUS_RULE)


def test_the_schemas_really_reject(rendered: list[Resource]) -> None:
    monitor = json.loads(json.dumps(by_kind(rendered, "ServiceMonitor")))
    monitor["spec"]["endpoints"][0]["targetport"] = 9100
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(monitor, SERVICE_MONITOR)
    rule = json.loads(json.dumps(by_kind(rendered, "PrometheusRule")))
    del rule["spec"]["groups"][0]["rules"][0]["labels"]["severity"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(rule, PROMETHEUS_RULE)


def test_service_monitor_scrapes_the_metrics_port_of_the_metrics_service(rendered: list[Resource]) -> None:
    monitor = by_kind(rendered, "ServiceMonitor")["spec"]
    services = [
        s
        for s in rendered
        if s["kind"] == "Service"
        and all(s["metadata"]["labels"].get(k) == v for k, v in monitor["selector"]["matchLabels"].items())
    ]
    assert [s["metadata"]["name"] for s in services] == ["cyberark-bff-metrics"], "it selects only that one"
    ports = {p["name"] for p in services[0]["spec"]["ports"]}
    assert [e["port"] for e in monitor["endpoints"]] == ["metrics"] and "metrics" in ports
    assert all(e["path"] == "/metrics" for e in monitor["endpoints"])
    # The alerts and the dashboard select job="cyberark-bff": the jobLabel gives every series that job.
    assert services[0]["metadata"]["labels"][monitor["jobLabel"]] == JOB


def test_the_rules_cover_what_an_operator_is_paged_for(rendered: list[Resource]) -> None:
    exprs = " ".join(rule_exprs(rendered).values())
    assert 'bff_requests_total{job="cyberark-bff", status=~"5.."}' in exprs  # 5xx ratio
    assert 'outcome="failed"' in exprs  # login-failure ratio
    assert "bff_store_errors_total" in exprs
    assert re.search(r"histogram_quantile\(0\.99,\s*sum by \(namespace, call, le\)", exprs)  # tenant p99
    assert "bff_tenant_call_duration_seconds_bucket" in exprs
    assert "kube_deployment_status_replicas_available" in exprs  # readiness


def test_every_rule_asks_for_exported_series(rendered: list[Resource], exported: dict[str, set[str]]) -> None:
    for alert, expr in rule_exprs(rendered).items():
        check_expr(alert, expr, exported)


def test_every_dashboard_panel_asks_for_exported_series(exported: dict[str, set[str]]) -> None:
    for where, expr in dashboard_exprs().items():
        check_expr(where, expr.replace("$__rate_interval", "5m"), exported)


def test_the_checker_really_rejects(exported: dict[str, set[str]]) -> None:
    for wrong in (
        'rate(bff_request_total{job="cyberark-bff"}[5m])',  # the family name without _total's s
        'rate(bff_logins_total{job="cyberark-bff", outcome="failure"}[5m])',  # no such outcome
        'rate(bff_store_errors_total{job="cyberark-bff", route="/x"}[5m])',  # no such label
        "rate(bff_store_errors_total[5m])",  # no job: would mix in other deployments
    ):
        with pytest.raises(AssertionError):
            check_expr("test", wrong, exported)


def test_dashboard_is_well_formed() -> None:
    board: dict[str, Any] = json.loads(DASHBOARD.read_text())
    assert board["uid"] == "cyberark-bff" and board["title"]
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert (
        variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    )
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["w"] > 0 and grid["h"] > 0, panel["title"]
        assert panel["targets"] and all(t["refId"] and t["expr"] for t in panel["targets"])
        for target in panel["targets"]:
            assert 'namespace=~"$namespace"' in target["expr"], panel["title"]


def test_dashboard_readme_names_the_file() -> None:
    assert DASHBOARD.name in (DASHBOARD.parent / "README.md").read_text()
    assert Path("deploy/grafana/cyberark-bff.json").as_posix() in (ROOT / "README.md").read_text()
