"""Network part of the ECS stack: security groups, load balancer, target group, listeners."""

from __future__ import annotations

from typing import Any

from moai_deploy.render.context import RenderContext

HTTP_OK = "200-399"


def _ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def security_groups(ctx: RenderContext) -> dict[str, Any]:
    """The load balancer open to the internet; the tasks open to the load balancer only."""
    listen = 443 if ctx.targets.ingress.tls else 80
    lb_sg = {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {
            "GroupDescription": f"{ctx.instance} load balancer",
            "VpcId": _ref("VpcId"),
            "SecurityGroupIngress": [
                {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIp": "0.0.0.0/0"}
                for port in sorted({80, listen})
            ],
        },
    }
    task_sg = {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {
            "GroupDescription": f"{ctx.instance} tasks: only from the load balancer",
            "VpcId": _ref("VpcId"),
            "SecurityGroupIngress": [
                {
                    "IpProtocol": "tcp",
                    "FromPort": ctx.port,
                    "ToPort": ctx.port,
                    "SourceSecurityGroupId": {
                        "Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]
                    },
                }
            ],
        },
    }
    return {"LoadBalancerSecurityGroup": lb_sg, "ServiceSecurityGroup": task_sg}


def _target_group(ctx: RenderContext) -> dict[str, Any]:
    """Health-checked on the readiness path; deregistration waits out the pre-stop drain."""
    return {
        "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
        "Properties": {
            "Port": ctx.port,
            "Protocol": "HTTP",
            "TargetType": "ip",
            "VpcId": _ref("VpcId"),
            "HealthCheckPath": ctx.service.ready_path,
            "HealthCheckIntervalSeconds": 10,
            "HealthCheckTimeoutSeconds": 5,
            "HealthyThresholdCount": 2,
            "UnhealthyThresholdCount": 3,
            "Matcher": {"HttpCode": HTTP_OK},
            "TargetGroupAttributes": [
                {"Key": "deregistration_delay.timeout_seconds", "Value": str(ctx.pre_stop_seconds)}
            ],
        },
    }


def load_balancer(ctx: RenderContext) -> dict[str, Any]:
    """ALB, target group on the readiness path, HTTPS listener (HTTP redirects to it)."""
    tls = ctx.targets.ingress.tls
    resources: dict[str, Any] = {
        "LoadBalancer": {
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {
                "Type": "application",
                "Scheme": "internet-facing",
                "Subnets": _ref("PublicSubnetIds"),
                "SecurityGroups": [_ref("LoadBalancerSecurityGroup")],
                "LoadBalancerAttributes": [
                    {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"}
                ],
            },
        },
        "TargetGroup": _target_group(ctx),
    }
    forward = [{"Type": "forward", "TargetGroupArn": _ref("TargetGroup")}]
    if tls:
        redirect = {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}
        resources["HttpListener"] = _listener(
            80, "HTTP", [{"Type": "redirect", "RedirectConfig": redirect}]
        )
        https = _listener(443, "HTTPS", forward)
        https["Properties"]["Certificates"] = [{"CertificateArn": _ref("CertificateArn")}]
        https["Properties"]["SslPolicy"] = "ELBSecurityPolicy-TLS13-1-2-2021-06"
        resources["Listener"] = https
    else:
        resources["Listener"] = _listener(80, "HTTP", forward)
    return resources


def _listener(port: int, protocol: str, actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Type": "AWS::ElasticLoadBalancingV2::Listener",
        "Properties": {
            "LoadBalancerArn": _ref("LoadBalancer"),
            "Port": port,
            "Protocol": protocol,
            "DefaultActions": actions,
        },
    }
