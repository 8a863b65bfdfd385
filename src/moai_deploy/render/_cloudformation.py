"""The CloudFormation stack of the ECS target (cfn-lint clean).

Network identifiers (VPC, subnets, certificate) are stack parameters: they belong to the
AWS account, not to the service's spec.
"""

from __future__ import annotations

from typing import Any

from moai_deploy.render import ecs
from moai_deploy.render._aws_network import load_balancer, security_groups
from moai_deploy.render.context import RenderContext

_SECRETS_ARN = (  # pragma: allowlist secret - an ARN prefix, not a value
    "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
)


def _ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def _role(service: str, statements: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    assume = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ],
    }
    props: dict[str, Any] = {"AssumeRolePolicyDocument": assume}
    if statements:
        props["Policies"] = [
            {
                "PolicyName": "secrets",
                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
            }
        ]
    return {"Type": "AWS::IAM::Role", "Properties": props}


def parameters(ctx: RenderContext) -> dict[str, Any]:
    """Account-specific inputs of the stack."""
    params: dict[str, Any] = {
        "VpcId": {"Type": "AWS::EC2::VPC::Id", "Description": "VPC of the service."},
        "PublicSubnetIds": {
            "Type": "List<AWS::EC2::Subnet::Id>",
            "Description": "Subnets of the load balancer.",
        },
        "PrivateSubnetIds": {
            "Type": "List<AWS::EC2::Subnet::Id>",
            "Description": "Subnets of the tasks.",
        },
        "ImageTag": {
            "Type": "String",
            "Default": ctx.version,
            "Description": "Image tag (release version).",
        },
    }
    if ctx.targets.ingress.tls:
        params["CertificateArn"] = {
            "Type": "String",
            "Description": "ACM certificate of the HTTPS listener.",
        }
    return params


def _task_definition(ctx: RenderContext) -> dict[str, Any]:
    secrets_arn = _SECRETS_ARN
    container = ecs.container_definition(ctx, "SECRETS_ARN", _ref("LogGroup"), _ref("AWS::Region"))
    container["image"] = _sub(f"{ctx.repository}:${{ImageTag}}")
    for secret in container.get("secrets", []):
        secret["valueFrom"] = _sub(secret["valueFrom"].replace("SECRETS_ARN", secrets_arn))
    cpu, memory = ecs.task_size(ctx)
    return {
        "Type": "AWS::ECS::TaskDefinition",
        "Properties": {
            "Family": ctx.instance,
            "NetworkMode": "awsvpc",
            "RequiresCompatibilities": ["FARGATE"],
            "RuntimePlatform": {"CpuArchitecture": "X86_64", "OperatingSystemFamily": "LINUX"},
            "Cpu": cpu,
            "Memory": memory,
            "ExecutionRoleArn": {"Fn::GetAtt": ["ExecutionRole", "Arn"]},
            "TaskRoleArn": {"Fn::GetAtt": ["TaskRole", "Arn"]},
            "ContainerDefinitions": [_pascal(container)],
            "Volumes": [{"Name": "tmp"}],
        },
    }


_KEEP_KEYS = ("options",)  # log driver options keep their own (lowercase) names


def _pascal(value: Any, parent: str = "") -> Any:
    """The API's camelCase container definition in CloudFormation's PascalCase."""
    if isinstance(value, dict):
        if parent in _KEEP_KEYS or "Ref" in value or "Fn::Sub" in value:
            return value
        return {_key(k): _pascal(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_pascal(item, parent) for item in value]
    return value


def _key(key: str) -> str:
    special = {"readonlyRootFilesystem": "ReadonlyRootFilesystem", "valueFrom": "ValueFrom"}
    return special.get(key, key[:1].upper() + key[1:])


def _service(ctx: RenderContext) -> dict[str, Any]:
    return {
        "Type": "AWS::ECS::Service",
        "DependsOn": ["Listener"],
        "Properties": {
            "Cluster": _ref("Cluster"),
            "TaskDefinition": _ref("TaskDefinition"),
            "LaunchType": "FARGATE",
            "DesiredCount": ctx.min_replicas,
            "HealthCheckGracePeriodSeconds": round(ctx.env.health_check_timeout),
            "DeploymentConfiguration": {
                "MinimumHealthyPercent": 100,
                "MaximumPercent": 200,
                "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
            },
            "NetworkConfiguration": {
                "AwsvpcConfiguration": {
                    "AssignPublicIp": "DISABLED",
                    "Subnets": _ref("PrivateSubnetIds"),
                    "SecurityGroups": [_ref("ServiceSecurityGroup")],
                }
            },
            "LoadBalancers": [
                {
                    "ContainerName": ctx.name,
                    "ContainerPort": ctx.port,
                    "TargetGroupArn": _ref("TargetGroup"),
                }
            ],
        },
    }


def _scaling(ctx: RenderContext) -> dict[str, Any]:
    if not ctx.autoscaling:
        return {}
    scaling = ctx.targets.autoscaling
    target = {
        "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
        "Properties": {
            "MinCapacity": ctx.min_replicas,
            "MaxCapacity": max(scaling.max_replicas, ctx.min_replicas),
            "ResourceId": _sub("service/${Cluster}/${Service.Name}"),
            "ScalableDimension": "ecs:service:DesiredCount",
            "ServiceNamespace": "ecs",
        },
    }
    tracking = {
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
        },
        "TargetValue": float(scaling.cpu_utilization),
        "ScaleInCooldown": 300,
        "ScaleOutCooldown": 60,
    }
    policy = {
        "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
        "Properties": {
            "PolicyName": f"{ctx.instance}-cpu",
            "PolicyType": "TargetTrackingScaling",
            "ScalingTargetId": _ref("ScalableTarget"),
            "TargetTrackingScalingPolicyConfiguration": tracking,
        },
    }
    return {"ScalableTarget": target, "ScalingPolicy": policy}


def _roles(ctx: RenderContext) -> dict[str, Any]:
    arn = _SECRETS_ARN + f"{ctx.name}/{ctx.environment}/*"
    statements = [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": _sub(arn)}
    ]
    execution = _role("ecs-tasks.amazonaws.com", statements if ctx.secrets else None)
    execution["Properties"]["ManagedPolicyArns"] = [
        _sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
    ]
    return {"ExecutionRole": execution, "TaskRole": _role("ecs-tasks.amazonaws.com")}


def template(ctx: RenderContext) -> dict[str, Any]:
    """The whole stack."""
    resources: dict[str, Any] = {
        "Cluster": {
            "Type": "AWS::ECS::Cluster",
            "Properties": {"ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]},
        },
        "LogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": ecs.log_group(ctx), "RetentionInDays": 30},
        },
        **_roles(ctx),
        "TaskDefinition": _task_definition(ctx),
        **security_groups(ctx),
        **load_balancer(ctx),
        "Service": _service(ctx),
        **_scaling(ctx),
    }
    scheme = "https" if ctx.targets.ingress.tls else "http"
    outputs = {
        "ServiceUrl": {
            "Description": "Load balancer URL.",
            "Value": _sub(f"{scheme}://${{LoadBalancer.DNSName}}"),
        }
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"{ctx.name} ({ctx.environment}) on ECS Fargate, rendered by moai-deploy",
        "Parameters": parameters(ctx),
        "Resources": resources,
        "Outputs": outputs,
    }
