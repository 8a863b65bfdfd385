"""AWS ECS on Fargate: a task definition (for `aws ecs register-task-definition`) and a
CloudFormation stack with the cluster, service, load balancer, scaling, logs and IAM roles.

Secrets are `secrets[].valueFrom` Secrets Manager ARNs: ECS injects them at start; no value
is ever written.
"""

from __future__ import annotations

from typing import Any

from moai_deploy.errors import BadInputError
from moai_deploy.render import _units
from moai_deploy.render._dump import to_json, to_yaml
from moai_deploy.render.context import RenderContext
from moai_deploy.render.docker import healthcheck_argv

ECS_MAX_START_PERIOD = 300
ECS_MAX_STOP_TIMEOUT = 120


def render(ctx: RenderContext) -> dict[str, str]:
    """`ecs/task-definition.json` and `ecs/cloudformation.yaml`."""
    from moai_deploy.render._cloudformation import template

    account = ctx.targets.cloud.aws_account_id
    if account is None:
        raise BadInputError(
            "the ecs target needs targets.cloud.aws_account_id\n"
            "    fix: set it in moai-deploy.yaml, or leave 'ecs' out of targets.enabled"
        )
    region = ctx.targets.cloud.aws_region
    prefix = f"arn:aws:iam::{account}:role/{ctx.instance}"
    secrets_arn = f"arn:aws:secretsmanager:{region}:{account}:secret:"
    task = task_definition(ctx, secrets_arn, region)
    task["executionRoleArn"] = f"{prefix}-execution"
    task["taskRoleArn"] = f"{prefix}-task"
    return {
        "ecs/task-definition.json": to_json(task),
        "ecs/cloudformation.yaml": to_yaml(template(ctx)),
    }


def secret_name(ctx: RenderContext, secret_id: str) -> str:
    """Secrets Manager name of one secret of this environment."""
    return f"{ctx.name}/{ctx.environment}/{secret_id}"


def task_size(ctx: RenderContext) -> tuple[str, str]:
    """Fargate CPU units and memory (MiB) that hold the declared limits."""
    res = ctx.targets.resources
    cpu, memory = _units.fargate_size(res.cpu_limit, res.memory_limit)
    return str(cpu), str(memory)


def container_definition(
    ctx: RenderContext, secrets_arn: str, log_group: Any, region: Any
) -> dict[str, Any]:
    """The app container: hardened, health-checked, logging to CloudWatch."""
    environment = [{"name": k, "value": v} for k, v in ctx.plain_env.items()]
    secrets = [
        {"name": var.key, "valueFrom": secrets_arn + secret_name(ctx, var.secret_id)}
        for var in ctx.secrets
    ]
    item: dict[str, Any] = {
        "name": ctx.name,
        "image": ctx.image,
        "essential": True,
        "command": list(ctx.command),
        "user": "1000:1000",
        "readonlyRootFilesystem": True,
        "linuxParameters": {"initProcessEnabled": True, "capabilities": {"drop": ["ALL"]}},
        "portMappings": [
            {"name": "http", "containerPort": ctx.port, "protocol": "tcp", "appProtocol": "http"}
        ],
        "environment": environment,
    }
    if secrets:
        item["secrets"] = secrets
    item.update(
        {
            "mountPoints": [
                {"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}  # noqa: S108  # nosec B108
            ],
            "stopTimeout": min(ECS_MAX_STOP_TIMEOUT, ctx.grace_seconds),
            "healthCheck": {
                "command": ["CMD", *healthcheck_argv(ctx, ctx.service.health_path)],
                "interval": 30,
                "timeout": 5,
                "retries": 3,
                "startPeriod": min(ECS_MAX_START_PERIOD, round(ctx.env.health_check_timeout)),
            },
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": log_group,
                    "awslogs-region": region,
                    "awslogs-stream-prefix": ctx.name,
                },
            },
        }
    )
    return item


def task_definition(ctx: RenderContext, secrets_arn: str, region: str) -> dict[str, Any]:
    """The Fargate task definition in the shape `register-task-definition` takes."""
    cpu, memory = task_size(ctx)
    return {
        "family": ctx.instance,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        "cpu": cpu,
        "memory": memory,
        "containerDefinitions": [container_definition(ctx, secrets_arn, log_group(ctx), region)],
        "volumes": [{"name": "tmp"}],
    }


def log_group(ctx: RenderContext) -> str:
    return f"/ecs/{ctx.instance}"
