"""Just enough of kustomize, in Python, to render deploy/kubernetes/ where kubectl is not installable.

Example::

    resources = build(ROOT / "deploy" / "kubernetes" / "overlays" / "example")
    [r["metadata"]["name"] for r in resources if r["kind"] == "ConfigMap"]   # ["cyberark-bff-<hash>"]

The subset the manifests use, with kustomize's semantics: ``resources`` (files, and folders holding a
kustomization.yaml), ``components`` (``kind: Component`` folders of resources and labels),
``namespace``, ``labels`` (``pairs``, ``includeTemplates``, ``includeSelectors``),
``images``, ``patches`` (strategic merge from a file: maps merged, lists of named items merged by ``name``,
other lists replaced), ``configMapGenerator`` and ``secretGenerator`` (``envs``, ``literals``, ``files``,
``behavior``, ``type``) with a content-hash name suffix and the references to them rewritten. The suffix is
computed like kustomize's (sha256 of the object's JSON, 10 characters), not guaranteed to be byte-identical.
Anything else in a kustomization.yaml is an error: a manifest never relies on a feature this does not render.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]

KNOWN_FIELDS = {
    "apiVersion",
    "kind",
    "resources",
    "components",
    "namespace",
    "labels",
    "images",
    "patches",
    "configMapGenerator",
    "secretGenerator",
}
#: Kinds without a namespace (the namespace transformer leaves them alone).
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
}
#: Kinds whose ``spec.template`` is a pod template, and whose ``spec.selector`` is a label selector.
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
#: Internal mark on generated objects: their name gets the hash suffix at the end of the build.
GENERATED = "__generated__"


class KustomizeError(Exception):
    """The kustomization asks for something this renderer does not do, or names a missing file."""


def build(folder: Path) -> list[Resource]:
    """Render the kustomization in ``folder`` as ``kubectl kustomize folder`` would."""
    resources = _render(folder)
    _suffix_generated_names(resources)
    return resources


def _render(folder: Path) -> list[Resource]:
    path = folder / "kustomization.yaml"
    if not path.is_file():
        raise KustomizeError(f"{folder} has no kustomization.yaml")
    spec: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    unknown = set(spec) - KNOWN_FIELDS
    if unknown:
        raise KustomizeError(f"{path}: fields this renderer does not implement: {sorted(unknown)}")

    resources: list[Resource] = []
    for entry in spec.get("resources", []):
        target = _inside(folder, entry)
        if target.is_dir():
            resources.extend(_render(target))
        else:
            resources.extend(doc for doc in yaml.safe_load_all(target.read_text()) if doc)
    for entry in spec.get("components", []):
        _apply_component(_inside(folder, entry), resources)
    for kind, key in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
        for generator in spec.get(key, []):
            _generate(folder, kind, generator, resources)
    for patch in spec.get("patches", []):
        if set(patch) != {"path"}:
            raise KustomizeError(f"{path}: only `patches: - path: FILE` is implemented, not {sorted(patch)}")
        for doc in yaml.safe_load_all(_inside(folder, patch["path"]).read_text()):
            target = _target(resources, doc)
            merged = _merge(target, doc)
            target.clear()
            target.update(merged)
    if "namespace" in spec:
        for resource in resources:
            if resource["kind"] not in CLUSTER_SCOPED:
                resource["metadata"]["namespace"] = spec["namespace"]
    for labels in spec.get("labels", []):
        _label(resources, labels)
    for image in spec.get("images", []):
        _set_image(resources, image)
    return resources


def _apply_component(folder: Path, resources: list[Resource]) -> None:
    """A ``kind: Component`` folder: its resources join the parent's, and its labels apply to them all."""
    spec: dict[str, Any] = yaml.safe_load((folder / "kustomization.yaml").read_text()) or {}
    if spec.get("kind") != "Component" or spec.get("apiVersion") != "kustomize.config.k8s.io/v1alpha1":
        raise KustomizeError(f"{folder}: a component needs kind: Component (apiVersion v1alpha1)")
    unknown = set(spec) - {"apiVersion", "kind", "resources", "labels"}
    if unknown:
        raise KustomizeError(f"{folder}: component fields not implemented here: {sorted(unknown)}")
    for entry in spec.get("resources", []):
        target = _inside(folder, entry)
        resources.extend(doc for doc in yaml.safe_load_all(target.read_text()) if doc)
    for labels in spec.get("labels", []):
        _label(resources, labels)


def _inside(folder: Path, relative: str) -> Path:
    """``folder / relative``, refusing what kustomize's load restrictor refuses (files outside the folder)."""
    target = (folder / relative).resolve()
    if not target.exists():
        raise KustomizeError(f"{folder / relative} does not exist")
    if target.is_file() and not target.is_relative_to(folder.resolve()):
        raise KustomizeError(f"{relative}: files must be in or below {folder}")
    return target


def _env_file(path: Path) -> dict[str, str]:
    """kustomize's env-file format: KEY=VALUE lines, # comments and blank lines ignored, nothing unquoted."""
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip() or key != key.strip():
            raise KustomizeError(f"{path}:{number}: not KEY=VALUE: {line!r}")
        values[key] = value
    return values


def _generate(folder: Path, kind: str, generator: dict[str, Any], resources: list[Resource]) -> None:
    data: dict[str, str] = {}
    for env in generator.get("envs", []):
        data.update(_env_file(_inside(folder, env)))
    for literal in generator.get("literals", []):
        key, _, value = literal.partition("=")
        data[key] = value
    for entry in generator.get("files", []):
        key, _, relative = entry.rpartition("=")
        file = _inside(folder, relative)
        data[key or file.name] = file.read_text()
    unknown = set(generator) - {"name", "envs", "literals", "files", "behavior", "type"}
    if unknown:
        raise KustomizeError(f"{kind} generator {generator.get('name')}: {sorted(unknown)} not implemented")
    behavior = generator.get("behavior", "create")
    existing = [r for r in resources if r["kind"] == kind and r.get(GENERATED) == generator["name"]]
    if behavior == "create":
        if existing:
            raise KustomizeError(f"{kind} {generator['name']} is generated twice (use behavior: merge)")
        resource: Resource = {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": {"name": generator["name"]},
            GENERATED: generator["name"],
        }
        if kind == "Secret":
            resource["type"] = generator.get("type", "Opaque")
        resources.append(resource)
    elif behavior in ("merge", "replace"):
        if not existing:
            raise KustomizeError(f"{kind} {generator['name']}: behavior {behavior} but no base generates it")
        resource = existing[0]
        if behavior == "replace":
            resource.pop("data", None)
    else:
        raise KustomizeError(f"behavior {behavior!r}")
    if kind == "Secret":
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        resource["data"] = {**resource.get("data", {}), **encoded}
    else:
        resource["data"] = {**resource.get("data", {}), **data}


def _target(resources: list[Resource], patch: Resource) -> Resource:
    matches = [
        r
        for r in resources
        if r["kind"] == patch["kind"]
        and r["metadata"]["name"] == patch["metadata"]["name"]
        and r["apiVersion"] == patch["apiVersion"]
    ]
    if len(matches) != 1:
        raise KustomizeError(f"patch for {patch['kind']} {patch['metadata']['name']} matches {len(matches)}")
    return matches[0]


def _merge(base: Any, patch: Any) -> Any:
    """A strategic merge for the shapes the manifests use."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = _merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    if (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(i, dict) and "name" in i for i in [*base, *patch])
    ):
        merged_list = [copy.deepcopy(i) for i in base]
        for item in patch:
            same = [i for i, old in enumerate(merged_list) if old["name"] == item["name"]]
            if same:
                merged_list[same[0]] = _merge(merged_list[same[0]], item)
            else:
                merged_list.append(copy.deepcopy(item))
        return merged_list
    return copy.deepcopy(patch)


def _label(resources: list[Resource], spec: dict[str, Any]) -> None:
    unknown = set(spec) - {"pairs", "includeTemplates", "includeSelectors"}
    if unknown:
        raise KustomizeError(f"labels: {sorted(unknown)} not implemented")
    pairs = spec["pairs"]
    for resource in resources:
        resource["metadata"].setdefault("labels", {}).update(pairs)
        if resource["kind"] in WORKLOADS and spec.get("includeTemplates"):
            resource["spec"]["template"]["metadata"].setdefault("labels", {}).update(pairs)
        if spec.get("includeSelectors"):
            if resource["kind"] in WORKLOADS:
                resource["spec"]["selector"].setdefault("matchLabels", {}).update(pairs)
                resource["spec"]["template"]["metadata"].setdefault("labels", {}).update(pairs)
            elif resource["kind"] == "Service":
                resource["spec"].setdefault("selector", {}).update(pairs)


def _set_image(resources: list[Resource], image: dict[str, str]) -> None:
    for resource in resources:
        if resource["kind"] not in WORKLOADS:
            continue
        pod = resource["spec"]["template"]["spec"]
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            name, _, _tag = container["image"].partition("@")[0].rpartition(":")
            name = name or container["image"]
            if name != image["name"]:
                continue
            new = image.get("newName", name)
            if "digest" in image:
                container["image"] = f"{new}@{image['digest']}"
            else:
                container["image"] = f"{new}:{image.get('newTag', _tag or 'latest')}"


def name_hash(resource: Resource) -> str:
    """kustomize's suffix: sha256 of the object's JSON, 10 hex digits with 0 1 3 a e spelled g h k m t."""
    encoded: dict[str, Any] = {"kind": resource["kind"], "name": resource["metadata"]["name"]}
    encoded["data"] = resource.get("data", {})
    if resource["kind"] == "Secret":
        encoded["type"] = resource.get("type", "Opaque")
    text = json.dumps(encoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return digest.translate(str.maketrans({"0": "g", "1": "h", "3": "k", "a": "m", "e": "t"}))


def _suffix_generated_names(resources: list[Resource]) -> None:
    renamed: dict[tuple[str, str], str] = {}
    for resource in resources:
        original = resource.pop(GENERATED, None)
        if original is None:
            continue
        resource["metadata"]["name"] = f"{original}-{name_hash(resource)}"
        renamed[(resource["kind"], original)] = resource["metadata"]["name"]
    for resource in resources:
        if resource["kind"] in WORKLOADS:
            _rewrite_references(resource["spec"]["template"]["spec"], renamed)


def _rewrite_references(pod: dict[str, Any], renamed: dict[tuple[str, str], str]) -> None:
    def new(kind: str, name: str) -> str:
        return renamed.get((kind, name), name)

    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                source["configMapRef"]["name"] = new("ConfigMap", source["configMapRef"]["name"])
            if "secretRef" in source:
                source["secretRef"]["name"] = new("Secret", source["secretRef"]["name"])
        for variable in container.get("env", []):
            reference = variable.get("valueFrom", {})
            if "configMapKeyRef" in reference:
                reference["configMapKeyRef"]["name"] = new("ConfigMap", reference["configMapKeyRef"]["name"])
            if "secretKeyRef" in reference:
                reference["secretKeyRef"]["name"] = new("Secret", reference["secretKeyRef"]["name"])
    for volume in pod.get("volumes", []):
        if "configMap" in volume:
            volume["configMap"]["name"] = new("ConfigMap", volume["configMap"]["name"])
        if "secret" in volume:
            volume["secret"]["secretName"] = new("Secret", volume["secret"]["secretName"])
