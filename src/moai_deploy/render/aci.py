"""Azure Container Instances: an ARM template whose secrets are `securestring` parameters.

Each secret variable becomes a secure parameter and the container's `secureValue`: Azure
never shows it in the deployment history, and the template holds no value.
"""

from __future__ import annotations

import re
from typing import Any

from moai_deploy.render import _units
from moai_deploy.render._dump import to_json
from moai_deploy.render.context import RenderContext

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
API_VERSION = "2023-05-01"


def render(ctx: RenderContext) -> dict[str, str]:
    """`aci/azuredeploy.json`."""
    return {"aci/azuredeploy.json": to_json(template(ctx))}


def parameter_name(secret_id: str) -> str:
    """The ARM parameter name for one secret reference: a prefix plus the id in CamelCase
    (DB_PASSWORD gives the suffix DbPassword)."""
    words = re.split(r"[^A-Za-z0-9]+", secret_id)
    return "secret" + "".join(word[:1].upper() + word[1:].lower() for word in words if word)


def _parameters(ctx: RenderContext) -> dict[str, Any]:
    location = ctx.targets.cloud.azure_location or "[resourceGroup().location]"
    params: dict[str, Any] = {
        "location": {
            "type": "string",
            "defaultValue": location,
            "metadata": {"description": "Azure region."},
        },
        "imageTag": {
            "type": "string",
            "defaultValue": ctx.version,
            "metadata": {"description": "Release version."},
        },
        "registryUsername": {
            "type": "string",
            "metadata": {"description": "Registry user (pull only)."},
        },
        "registryPassword": {
            "type": "securestring",
            "metadata": {"description": "Registry token (pull only)."},
        },
    }
    for var in ctx.secrets:
        description = f"Value of {var.key} (from the secret store; never in the template)."
        params[parameter_name(var.secret_id)] = {
            "type": "securestring",
            "metadata": {"description": description},
        }
    return params


def _container(ctx: RenderContext) -> dict[str, Any]:
    res = ctx.targets.resources
    env: list[dict[str, Any]] = [
        {"name": k, "value": _literal(v)} for k, v in ctx.plain_env.items()
    ]
    env += [
        {"name": var.key, "secureValue": f"[parameters('{parameter_name(var.secret_id)}')]"}
        for var in ctx.secrets
    ]
    startup = max(10, round(ctx.env.health_check_timeout))
    return {
        "name": ctx.name,
        "properties": {
            "image": f"[concat('{ctx.repository}:', parameters('imageTag'))]",
            "command": [_literal(arg) for arg in ctx.command],
            "ports": [{"port": ctx.port, "protocol": "TCP"}],
            "environmentVariables": env,
            "resources": {
                "requests": {
                    "cpu": _units.millicores(res.cpu_limit) / 1000,
                    "memoryInGB": _units.gigabytes(res.memory_limit),
                }
            },
            "readinessProbe": _probe(ctx.service.ready_path, ctx.port, 0, 5),
            "livenessProbe": _probe(ctx.service.health_path, ctx.port, startup, 10),
        },
    }


def _literal(value: str) -> str:
    """ARM evaluates strings starting with '[' as expressions; '[[' keeps one literal '['."""
    return "[" + value if value.startswith("[") else value


def _probe(path: str, port: int, delay: int, period: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port, "scheme": "http"},
        "initialDelaySeconds": delay,
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": 3,
    }


def template(ctx: RenderContext) -> dict[str, Any]:
    """The deployment template: one Linux container group with a public DNS name."""
    registry = ctx.repository.split("/")[0] if "/" in ctx.repository else "index.docker.io"
    group = {
        "type": "Microsoft.ContainerInstance/containerGroups",
        "apiVersion": API_VERSION,
        "name": ctx.instance,
        "location": "[parameters('location')]",
        "tags": {"app": ctx.name, "environment": ctx.environment, "managed-by": "moai-deploy"},
        "properties": {
            "containers": [_container(ctx)],
            "osType": "Linux",
            "restartPolicy": "Always",
            "sku": "Standard",
            "imageRegistryCredentials": [
                {
                    "server": registry,
                    "username": "[parameters('registryUsername')]",
                    "password": "[parameters('registryPassword')]",  # nosec B105
                }
            ],
            "ipAddress": {
                "type": "Public",
                "dnsNameLabel": f"[concat('{ctx.instance}-', uniqueString(resourceGroup().id))]",
                "ports": [{"port": ctx.port, "protocol": "TCP"}],
            },
        },
    }
    group_id = f"resourceId('{group['type']}', '{ctx.instance}')"
    fqdn = f"[reference({group_id}).ipAddress.fqdn]"
    return {
        "$schema": SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": _parameters(ctx),
        "resources": [group],
        "outputs": {"fqdn": {"type": "string", "value": fqdn}},
    }
