"""In-process checks: CRD schemas (Argo Rollouts), HCL parsing, required fields of JSON/YAML.

Used where no official linter exists (ARM, the ECS task definition, Knative) or where the
linter is a schema we load ourselves (the Argo Rollouts CRDs).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

Problems = dict[str, list[str]]
REQUIRED_ARM = ("$schema", "contentVersion", "resources")
REQUIRED_ARM_RESOURCE = ("type", "apiVersion", "name", "location")
CRD_FILES = {"Rollout": "rollout-crd.yaml", "AnalysisTemplate": "analysis-template-crd.yaml"}


def _strict(schema: Any) -> Any:
    """Reject unknown fields where the CRD lists its properties (the API server would prune
    them silently, hiding typos)."""
    if isinstance(schema, dict):
        out = {key: _strict(value) for key, value in schema.items()}
        if "properties" in out and not out.get("x-kubernetes-preserve-unknown-fields"):
            out.setdefault("additionalProperties", False)
        return out
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


@cache
def crd_validator(schemas_dir: Path, kind: str) -> Any:
    """A JSON Schema validator for one CRD kind's openAPIV3Schema (strict)."""
    jsonschema = importlib.import_module("jsonschema")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    crd = yaml.load((schemas_dir / CRD_FILES[kind]).read_text(), Loader=loader)  # noqa: S506  # nosec B506
    version = next(v for v in crd["spec"]["versions"] if v.get("storage"))
    schema = _strict(version["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = {"type": "object", "required": ["name"]}
    return jsonschema.Draft7Validator(schema)


def check_argo(paths: Iterable[Path], schemas_dir: Path) -> Problems:
    """Each Rollout / AnalysisTemplate document against the Argo Rollouts CRD schema."""
    problems: Problems = {}
    for path in paths:
        found: list[str] = []
        for doc in yaml.safe_load_all(path.read_text()):
            kind = doc.get("kind") if isinstance(doc, dict) else None
            if kind not in CRD_FILES:
                found.append(f"not a Rollout or AnalysisTemplate: kind {kind!r}")
                continue
            for error in crd_validator(schemas_dir, kind).iter_errors(doc):
                where = "/".join(str(p) for p in error.absolute_path)
                found.append(f"{kind} {where or '(root)'}: {error.message}")
        problems[str(path)] = found
    return problems


def check_hcl(paths: Iterable[Path]) -> Problems:
    """Terraform files parse as HCL and declare at least one resource."""
    hcl2 = importlib.import_module("hcl2")
    problems: Problems = {}
    for path in paths:
        try:
            parsed = hcl2.loads(path.read_text())
        except Exception as exc:  # any parser error is the finding
            problems[str(path)] = [f"HCL parse error: {exc}"]
            continue
        problems[str(path)] = [] if parsed.get("resource") else ["no resource blocks"]
    return problems


def _missing(obj: Any, keys: Iterable[str], where: str) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{where}: expected an object"]
    return [f"{where}: missing {key!r}" for key in keys if obj.get(key) in (None, "", [])]


def _load_json(path: Path) -> tuple[Any, list[str]]:
    try:
        return json.loads(path.read_text()), []
    except json.JSONDecodeError as exc:
        return None, [f"invalid JSON: {exc}"]


def check_arm(paths: Iterable[Path]) -> Problems:
    """ARM templates: JSON, with $schema, contentVersion and complete resources."""
    problems: Problems = {}
    for path in paths:
        doc, found = _load_json(path)
        if doc is not None:
            found = _missing(doc, REQUIRED_ARM, "template")
            for index, res in enumerate(doc.get("resources") or []):
                found += _missing(res, REQUIRED_ARM_RESOURCE, f"resources[{index}]")
        problems[str(path)] = found
    return problems


def check_task_definition(paths: Iterable[Path]) -> Problems:
    """ECS Fargate task definitions: the fields `register-task-definition` needs for Fargate."""
    problems: Problems = {}
    top = ("family", "containerDefinitions", "networkMode", "cpu", "memory")
    for path in paths:
        doc, found = _load_json(path)
        if doc is not None:
            found = _missing(doc, top, "task definition")
            if doc.get("networkMode") != "awsvpc":
                found.append("Fargate needs networkMode awsvpc")
            for index, item in enumerate(doc.get("containerDefinitions") or []):
                found += _missing(item, ("name", "image"), f"containerDefinitions[{index}]")
                if item.get("secrets") and not doc.get("executionRoleArn"):
                    found.append("secrets need an executionRoleArn")
        problems[str(path)] = found
    return problems


def check_knative(paths: Iterable[Path]) -> Problems:
    """Knative services: apiVersion, kind, name and a container image."""
    problems: Problems = {}
    for path in paths:
        doc = yaml.safe_load(path.read_text())
        found = _missing(doc, ("apiVersion", "kind", "metadata", "spec"), "service")
        if not found:
            if doc["apiVersion"] != "serving.knative.dev/v1" or doc["kind"] != "Service":
                found.append("expected serving.knative.dev/v1 Service")
            containers = doc["spec"].get("template", {}).get("spec", {}).get("containers") or []
            found += [] if containers else ["spec.template.spec.containers is empty"]
            found += [m for c in containers for m in _missing(c, ("image",), "container")]
        problems[str(path)] = found
    return problems


def check_external_secret(paths: Iterable[Path]) -> Problems:
    """ExternalSecrets (no CRD schema shipped here): store, target and data are present."""
    problems: Problems = {}
    for path in paths:
        doc = yaml.safe_load(path.read_text())
        spec = doc.get("spec", {}) if isinstance(doc, dict) else {}
        problems[str(path)] = _missing(spec, ("secretStoreRef", "target", "data"), "spec")
    return problems
