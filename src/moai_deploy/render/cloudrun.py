"""Google Cloud Run: a Knative `service.yaml` (gcloud run services replace) and Terraform.

Secrets are Secret Manager references (`secretKeyRef` / `value_source.secret_key_ref`),
read by a dedicated service account that Terraform grants access to each secret.
"""

from __future__ import annotations

import json
from typing import Any

from moai_deploy.errors import BadInputError
from moai_deploy.render._dump import to_yaml
from moai_deploy.render.context import RenderContext

MAX_CONCURRENCY = 80
REQUEST_TIMEOUT = 300


def render(ctx: RenderContext) -> dict[str, str]:
    """`cloudrun/service.yaml` and `cloudrun/main.tf`."""
    if ctx.targets.cloud.gcp_project is None:
        raise BadInputError(
            "the cloudrun target needs targets.cloud.gcp_project\n"
            "    fix: set it in moai-deploy.yaml, or leave 'cloudrun' out of targets.enabled"
        )
    return {"cloudrun/service.yaml": to_yaml(service(ctx)), "cloudrun/main.tf": terraform(ctx)}


def secret_id(ctx: RenderContext, name: str) -> str:
    """Secret Manager id of one secret of this environment."""
    return f"{ctx.instance}-{name}"


def _account(ctx: RenderContext) -> str:
    return f"{ctx.instance}@{ctx.targets.cloud.gcp_project}.iam.gserviceaccount.com"


def _env(ctx: RenderContext) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        {"name": k, "value": v} for k, v in ctx.plain_env.items() if k != ctx.service.port_env
    ]
    for var in ctx.secrets:
        ref = {"name": secret_id(ctx, var.secret_id), "key": "latest"}
        items.append({"name": var.key, "valueFrom": {"secretKeyRef": ref}})
    return items


def service(ctx: RenderContext) -> dict[str, Any]:
    """The Knative service; Cloud Run sets the port variable itself."""
    res = ctx.targets.resources
    scaling = ctx.targets.autoscaling
    annotations = {
        "autoscaling.knative.dev/minScale": str(ctx.min_replicas),
        "autoscaling.knative.dev/maxScale": str(max(scaling.max_replicas, ctx.min_replicas)),
        "run.googleapis.com/execution-environment": "gen2",
        "run.googleapis.com/startup-cpu-boost": "true",
    }
    startup_failures = max(1, min(120, round(ctx.env.health_check_timeout / 10)))
    container = {
        "image": ctx.image,
        "command": list(ctx.command[:1]),
        "args": list(ctx.command[1:]),
        "ports": [{"name": "http1", "containerPort": ctx.port}],
        "env": _env(ctx),
        "resources": {"limits": {"cpu": res.cpu_limit, "memory": res.memory_limit}},
        "startupProbe": _probe(ctx.service.health_path, ctx.port, 10, startup_failures),
        "livenessProbe": _probe(ctx.service.health_path, ctx.port, 10, 3),
    }
    template = {
        "metadata": {"labels": _labels(ctx), "annotations": annotations},
        "spec": {
            "serviceAccountName": _account(ctx),
            "containerConcurrency": MAX_CONCURRENCY,
            "timeoutSeconds": REQUEST_TIMEOUT,
            "containers": [container],
        },
    }
    metadata = {
        "name": ctx.instance,
        "labels": _labels(ctx),
        "annotations": {
            "run.googleapis.com/ingress": "all",
            "run.googleapis.com/launch-stage": "GA",
        },
    }
    spec = {"template": template, "traffic": [{"percent": 100, "latestRevision": True}]}
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": spec,
    }


def _labels(ctx: RenderContext) -> dict[str, str]:
    # Cloud Run labels: lowercase letters, digits, '_' and '-' only.
    version = "".join(c if c.isalnum() or c in "_-" else "-" for c in ctx.version.lower())
    return {"app": ctx.name, "environment": ctx.environment, "version": version}


def _probe(path: str, port: int, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def _hcl(value: Any) -> str:
    """An HCL literal: JSON strings and numbers are valid HCL; `${` must be escaped."""
    if isinstance(value, str):
        return json.dumps(value).replace("${", "$${").replace("%{", "%%{")
    return json.dumps(value)


def terraform(ctx: RenderContext) -> str:
    """main.tf: provider, service account, secret access, the v2 service, public invoker."""
    from moai_deploy.render._terraform import main_tf

    return main_tf(ctx, _hcl)
