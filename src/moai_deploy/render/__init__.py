"""Deployment artifacts rendered from the spec: Docker, compose, Kubernetes, Argo Rollouts,
ECS, Cloud Run, ACI, GitHub Actions, GitLab CI, and monitoring (Prometheus rules, a
PrometheusRule with its PodMonitor, a Grafana dashboard).

`render(spec, environment, version)` is a pure function: the same spec, environment and
version always give the same files, byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from moai_deploy.errors import BadInputError
from moai_deploy.render import (
    aci,
    argo,
    cloudrun,
    compose,
    docker,
    ecs,
    github,
    gitlab,
    grafana,
    kubernetes,
    prometheus,
)
from moai_deploy.render.context import RenderContext, build_context
from moai_deploy.spec import models

Renderer = Callable[[RenderContext], dict[str, str]]
TARGETS: dict[str, Renderer] = {
    "docker": docker.render,
    "compose": compose.render,
    "kubernetes": kubernetes.render,
    "argo-rollouts": argo.render,
    "ecs": ecs.render,
    "cloudrun": cloudrun.render,
    "aci": aci.render,
    "github-actions": github.render,
    "gitlab-ci": gitlab.render,
    "prometheus-rules": prometheus.render_rules,
    "prometheus-rule": prometheus.render_operator,
    "grafana-dashboard": grafana.render,
}

__all__ = ["TARGETS", "RenderContext", "build_context", "render", "select_targets"]


# Cloud targets need account/project ids; by default they render only once those are set.
_NEEDS_CLOUD_ID = {"ecs": "aws_account_id", "cloudrun": "gcp_project"}


def select_targets(spec: models.Spec, names: Iterable[str] | None) -> list[str]:
    """The requested targets in canonical order (default: the spec's `targets.enabled`;
    when `enabled` is not set, cloud targets whose ids are missing are left out)."""
    wanted = list(names or spec.targets.enabled)
    if not names and "enabled" not in spec.targets.model_fields_set:
        cloud = spec.targets.cloud
        wanted = [n for n in wanted if getattr(cloud, _NEEDS_CLOUD_ID.get(n, ""), True)]
    unknown = sorted(set(wanted) - set(TARGETS))
    if unknown:
        raise BadInputError(
            f"unknown target(s): {', '.join(unknown)}\n    fix: use {', '.join(TARGETS)}"
        )
    return [name for name in TARGETS if name in wanted]


def render(
    spec: models.Spec, environment: str, version: str, targets: Iterable[str] | None = None
) -> dict[str, str]:
    """Every file of the selected targets for `environment`: relative path -> content."""
    ctx = build_context(spec, environment, version)
    files: dict[str, str] = {}
    for name in select_targets(spec, targets):
        files.update(TARGETS[name](ctx))
    return dict(sorted(files.items()))
