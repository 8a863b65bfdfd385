"""Every rendered artifact passes the real validators; broken ones are caught by them.

Validators: hadolint (Dockerfile), check-jsonschema's vendored compose-spec,
github-workflows and gitlab-ci schemas, actionlint (+ shellcheck), kubernetes-validate
(Kubernetes 1.32, strict), the Argo Rollouts CRD schemas from ../shared, cfn-lint,
python-hcl2, required-field checks for ARM, the ECS task definition and Knative, promtool
(rules and the PrometheusRule's groups), and tsc against the published Grafana dashboard
and Prometheus Operator types (npm, pinned; see render/_node.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from moai_deploy.render import render
from moai_deploy.render.artifacts import write_files
from moai_deploy.render.validate import validate_trees
from moai_deploy.spec.loader import load_spec

REPO = Path(__file__).parents[2]
SCHEMAS = REPO / ".." / "shared" / "schemas" / "argo-rollouts"
SPECS = {
    "hello": REPO / "examples" / "hello-service" / "moai-deploy.yaml",
    "rich": REPO / "tests" / "golden" / "rich" / "moai-deploy.yaml",
}


@pytest.fixture(scope="module")
def schemas() -> Path:
    # CI lays shared/ beside the clone: a missing schema folder is a broken setup, not a skip.
    assert (SCHEMAS / "rollout-crd.yaml").is_file(), f"Argo Rollouts CRDs missing at {SCHEMAS}"
    return SCHEMAS.resolve()


def test_every_target_of_every_environment_validates(tmp_path: Path, schemas: Path) -> None:
    roots = []
    for name, path in SPECS.items():
        spec = load_spec(path).spec
        for environment in spec.environments:
            root = tmp_path / name / environment
            write_files(root, render(spec, environment, "1.4.0"))
            roots.append(root)
    problems = validate_trees(roots, schemas)
    assert len(problems) > 100  # each file went through a validator
    kinds = {Path(p).relative_to(tmp_path).parts[2] for p in problems}
    assert kinds == {
        "docker",
        "compose",
        "kubernetes",
        "argo-rollouts",
        "ecs",
        "cloudrun",
        "aci",
        "github-actions",
        "gitlab-ci",
        "prometheus-rules",
        "prometheus-rule",
        "grafana-dashboard",
    }
    failing = {path: found for path, found in problems.items() if found}
    assert failing == {}


BROKEN = {
    "docker/Dockerfile": "FROM python\nRUN apt-get update && apt-get install -y curl\n",
    "compose/compose.yaml": "services:\n  app:\n    image: x\n    restart_policy: always\n",
    "kubernetes/service.yaml": (
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: x}]}\n"
    ),
    "argo-rollouts/rollout.yaml": (
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\n"
        "spec: {strategy: {blueGreen: {activeService: a, scaleDownDelay: 3}}}\n"
    ),
    "ecs/cloudformation.yaml": (
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Cluster:\n"
        "    Type: AWS::ECS::Cluster\n    Properties: {ClusterName: {Ref: Missing}}\n"
    ),
    "ecs/task-definition.json": '{"family": "f", "containerDefinitions": [{"name": "a"}]}\n',
    "cloudrun/main.tf": 'resource "x" "y" {\n  a = \n}\n',
    "cloudrun/service.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {}\nspec: {}\n",
    "aci/azuredeploy.json": '{"contentVersion": "1.0.0.0", "resources": [{"type": "t"}]}\n',
    "github-actions/.github/workflows/w.yml": (
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo $X\n"
    ),
    "gitlab-ci/.gitlab-ci.yml": "build:\n  script: make\n  when: sometimes\n",
    "prometheus-rules/rules.yaml": (
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: sum(rate(x[5m]) > \n"
    ),
    "prometheus-rule/prometheusrule.yaml": (
        "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: r}\n"
        "spec: {groups: [{name: g, rules: [{alert: A, expr: up == 0, for: 5 minutes}]}]}\n"
    ),
    "prometheus-rule/podmonitor.yaml": (
        "apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nmetadata: {name: m}\n"
        "spec: {selector: {}, podMetricsEndpoints: [{port: http, scrapeInterval: 5s}]}\n"
    ),
    "grafana-dashboard/dashboard.json": (
        '{"title": "d", "schemaVersion": 39, "annotations": {"list": []}, "panels": '
        '[{"type": "timeseries", "title": "p", "targets": [{"refId": "A", "expr": "up"}], '
        '"options": {"legend": {"displayMode": "lists", "placement": "bottom", '
        '"showLegend": true, "calcs": []}, "tooltip": {"mode": "multi", "sort": "none"}}, '
        '"fieldConfig": {"defaults": {"custom": {}}, "overrides": []}}]}\n'
    ),
}


def test_validators_reject_broken_artifacts(tmp_path: Path, schemas: Path) -> None:
    write_files(tmp_path, BROKEN)
    problems = validate_trees([tmp_path], schemas)
    passed = sorted(
        str(Path(p).relative_to(tmp_path)) for p, found in problems.items() if not found
    )
    assert passed == []
    assert len(problems) == len(BROKEN)
