"""The pod template shared by the Kubernetes Deployment and the Argo Rollout.

One function, so a laptop release, a Deployment and a Rollout run the same container with
the same probes, limits and hardening.
"""

from __future__ import annotations

import math
from typing import Any

from moai_deploy.render.context import RenderContext, SecretVar

PROBE_PERIOD = 5


def metadata(ctx: RenderContext, name: str, **extra: Any) -> dict[str, Any]:
    """Object metadata with the standard labels, in the environment's namespace."""
    return {"name": name, "namespace": ctx.namespace, "labels": dict(ctx.labels), **extra}


def env_list(ctx: RenderContext) -> list[dict[str, Any]]:
    """Secret variables as secretKeyRef; composites use Kubernetes' own $(VAR) expansion.

    A composite such as `postgresql://app:${secret:DB_PASSWORD}@db/app` first gets each
    referenced secret as its own variable, then refers to it as $(DB_PASSWORD): the value
    is assembled by the kubelet and never written anywhere.
    """
    whole = [var for var in ctx.secrets if var.whole]
    composite = [var for var in ctx.secrets if not var.whole]
    defined = {var.key for var in whole}
    helpers = sorted({name for var in composite for name in var.names} - defined)
    items = [_secret_ref(var.key, var.names[0], ctx) for var in whole]
    items += [_secret_ref(name, name, ctx) for name in helpers]
    items.sort(key=lambda item: str(item["name"]))
    items += [{"name": var.key, "value": _expand(var)} for var in composite]
    return items


def _secret_ref(variable: str, key: str, ctx: RenderContext) -> dict[str, Any]:
    ref = {"name": ctx.secret_object, "key": key}
    return {"name": variable, "valueFrom": {"secretKeyRef": ref}}


def _expand(var: SecretVar) -> str:
    # `$$` is Kubernetes' escape for a literal `$(`; the references become $(NAME).
    literal = var.template.replace("$(", "$$(")
    return SecretVar(var.key, literal).substitute("$({name})")


def container(ctx: RenderContext) -> dict[str, Any]:
    """The app container: probes, limits, pre-stop drain, locked-down security context."""
    res = ctx.targets.resources
    item: dict[str, Any] = {
        "name": ctx.name,
        "image": ctx.image,
        "imagePullPolicy": "IfNotPresent",
        "command": list(ctx.command),
        "ports": [{"name": "http", "containerPort": ctx.port, "protocol": "TCP"}],
        "envFrom": [{"configMapRef": {"name": f"{ctx.name}-config"}}],
    }
    env = env_list(ctx)
    if env:
        item["env"] = env
    item.update(
        {
            "resources": {
                "requests": {"cpu": res.cpu_request, "memory": res.memory_request},
                "limits": {"cpu": res.cpu_limit, "memory": res.memory_limit},
            },
            **probes(ctx),
            # The endpoints keep routing to a terminating pod for a moment; sleeping
            # before SIGTERM lets in-flight and late requests finish (the pre-stop drain).
            "lifecycle": {"preStop": {"exec": {"command": ["sleep", str(ctx.pre_stop_seconds)]}}},
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "runAsNonRoot": True,
                "runAsUser": 1000,
                "runAsGroup": 1000,
                "capabilities": {"drop": ["ALL"]},
            },
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108  # nosec B108
        }
    )
    return item


def probes(ctx: RenderContext) -> dict[str, Any]:
    """Startup budget = the environment's health-check timeout; then readiness/liveness."""
    startup_failures = max(1, math.ceil(ctx.env.health_check_timeout / PROBE_PERIOD))
    return {
        "startupProbe": _http_probe(ctx.service.health_path, PROBE_PERIOD, 3, startup_failures),
        "readinessProbe": _http_probe(ctx.service.ready_path, PROBE_PERIOD, 3, 2),
        "livenessProbe": _http_probe(ctx.service.health_path, 10, 5, 3),
    }


def _http_probe(path: str, period: int, timeout: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
    }


def pod_template(ctx: RenderContext) -> dict[str, Any]:
    """A PodTemplateSpec with Prometheus annotations and a restricted pod security context."""
    return {
        "metadata": {
            "labels": dict(ctx.labels),
            "annotations": {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": str(ctx.port),
                "prometheus.io/path": ctx.service.metrics_path,
            },
        },
        "spec": {
            "serviceAccountName": ctx.name,
            "automountServiceAccountToken": False,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 1000,
                "runAsGroup": 1000,
                "fsGroup": 1000,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "terminationGracePeriodSeconds": ctx.grace_seconds,
            "containers": [container(ctx)],
            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
        },
    }
