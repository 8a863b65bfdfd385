"""The `targets:` section: what rendered artifacts (Docker, Kubernetes, cloud, CI) need.

`targets:` at the top level holds the shared settings; `defaults.targets` and
`environments.NAME.targets` override the per-environment ones (resources, autoscaling,
ingress, namespace, ...), so environments differ only by what their overlays declare.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field

from moai_deploy.spec._base import Section
from moai_deploy.spec._types import DnsName, EnvVarName, Port

TargetName = Literal[
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
]
ALL_TARGETS: tuple[TargetName, ...] = get_args(TargetName)
CpuQuantity = Annotated[str, Field(pattern=r"^(\d+m|\d+(\.\d{1,3})?)$")]
MemoryQuantity = Annotated[str, Field(pattern=r"^\d+(Mi|Gi)$")]
Percent = Annotated[int, Field(ge=1, le=100)]


class ImageSpec(Section):
    """The container image: where it is pushed and how it is built."""

    repository: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9._/:-]*[a-z0-9]$",
        description="Image repository, e.g. ghcr.io/acme/hello (default: the service name). "
        "The tag is always the release version.",
    )
    base: str = Field(
        default="python:3.11-slim-bookworm",
        description="Base image of both Dockerfile stages (a build argument, PYTHON_IMAGE).",
    )
    dependencies: str = Field(
        default="auto",
        pattern=r"^(auto|[A-Za-z0-9_.][A-Za-z0-9_./-]*)$",
        description="What the build stage installs dependencies from: auto (uv.lock, then "
        "poetry.lock, requirements.txt, pyproject.toml, whichever the project has), or one "
        "of those files, or another requirements file.",
    )
    uv_version: str = Field(
        default="0.9.5", pattern=r"^\d+\.\d+\.\d+$", description="uv release the build uses."
    )
    poetry_version: str = Field(
        default="2.1.4",
        pattern=r"^\d+\.\d+\.\d+$",
        description="Poetry release the build uses for projects with a poetry.lock.",
    )
    dockerfile: str = Field(
        default="Dockerfile",
        description="Where the rendered Dockerfile is placed in the project (compose builds it).",
    )


class ResourcesSpec(Section):
    """CPU and memory per instance, Kubernetes-style quantities (250m, 1, 512Mi, 1Gi)."""

    cpu_request: CpuQuantity = Field(default="250m", description="Guaranteed CPU.")
    cpu_limit: CpuQuantity = Field(default="1", description="CPU ceiling.")
    memory_request: MemoryQuantity = Field(default="256Mi", description="Guaranteed memory.")
    memory_limit: MemoryQuantity = Field(default="512Mi", description="Memory ceiling.")


class AutoscalingSpec(Section):
    """Horizontal autoscaling (HPA, ECS target tracking, Cloud Run max instances)."""

    enabled: bool = Field(default=False, description="Scale between min and max replicas.")
    min_replicas: Annotated[int, Field(ge=1, le=1000)] | None = Field(
        default=None, description="Lower bound (default: the environment's replicas)."
    )
    max_replicas: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=10, description="Upper bound."
    )
    cpu_utilization: Percent = Field(default=70, description="Target average CPU use, %.")
    memory_utilization: Percent = Field(default=80, description="Target average memory, %.")


class IngressSpec(Section):
    """Public HTTP(S) entry: host, TLS and rate limits (Kubernetes Ingress, ALB, nginx)."""

    host: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$",
        description="Public host name; unset = no Ingress.",
    )
    tls: bool = Field(default=True, description="Serve HTTPS (certificate from cert-manager).")
    cluster_issuer: str = Field(default="letsencrypt-prod", description="cert-manager issuer.")
    class_name: str = Field(default="nginx", description="Ingress class.")
    controller_namespace: str = Field(
        default="ingress-nginx",
        description="Namespace of the ingress controller, the only source of inbound traffic.",
    )
    rate_limit_rps: Annotated[int, Field(ge=1)] = Field(
        default=100, description="Requests per second per client IP."
    )
    limit_connections: Annotated[int, Field(ge=1)] = Field(
        default=10, description="Concurrent connections per client IP."
    )


class Dependency(Section):
    """Something the service connects to; the only egress a NetworkPolicy allows (+ DNS)."""

    name: DnsName = Field(description="Name (pods labelled app.kubernetes.io/name=NAME).")
    port: Port
    cidr: str | None = Field(
        default=None, description="Reach it by address block instead of by pod label."
    )


class Accessory(Section):
    """A side service the app needs in compose environments (postgres, redis, nginx, ...)."""

    image: str = Field(description="Image with an explicit tag, e.g. postgres:16-alpine.")
    ports: tuple[Port, ...] = Field(default=(), description="Container ports it listens on.")
    publish: bool = Field(
        default=False, description="Publish the ports on the host (127.0.0.1 only)."
    )
    env: dict[EnvVarName, str] = Field(
        default_factory=dict, description="Its environment; values may be ${secret:NAME}."
    )
    volumes: dict[DnsName, str] = Field(
        default_factory=dict, description="Named volume -> path inside the container."
    )
    command: tuple[str, ...] | None = Field(default=None, description="Overrides the CMD.")
    healthcheck: tuple[str, ...] | None = Field(
        default=None, description="argv whose success means ready (the app waits for it)."
    )
    proxy: bool = Field(
        default=False,
        description="nginx in front of the app (gets an nginx.conf; published on the "
        "environment's port).",
    )
    environments: tuple[DnsName, ...] | None = Field(
        default=None, description="Environments that run it (default: all)."
    )


class CloudSpec(Section):
    """Cloud accounts the cloud targets deploy to (no credentials, only identifiers)."""

    aws_region: str = Field(default="us-east-1", description="AWS region (ECS).")
    aws_account_id: str | None = Field(
        default=None, pattern=r"^\d{12}$", description="AWS account id (ECS secrets ARNs)."
    )
    gcp_project: str | None = Field(default=None, description="Google Cloud project id.")
    gcp_region: str = Field(default="us-central1", description="Cloud Run region.")
    azure_location: str | None = Field(
        default=None, description="Azure location (default: the resource group's)."
    )


class CiSpec(Section):
    """CI pipelines: which environments they deploy, from which branch."""

    branch: str = Field(default="main", description="Branch whose pushes are deployed.")
    python_version: str = Field(default="3.11", description="Python the pipeline runs.")
    staging: str | None = Field(
        default="staging", description="Environment deployed automatically after the build."
    )
    production: str | None = Field(
        default="production", description="Environment deployed after a manual approval."
    )
    install: str = Field(
        default="moai-deploy", description="pip requirement that installs moai-deploy in CI."
    )


class _PerEnvironment(Section):
    """Fields an environment may override; None means 'inherit'."""

    resources: ResourcesSpec | None = Field(default=None, description="CPU and memory.")
    autoscaling: AutoscalingSpec | None = Field(default=None, description="Autoscaling.")
    ingress: IngressSpec | None = Field(default=None, description="Public entry.")
    namespace: DnsName | None = Field(
        default=None, description="Kubernetes namespace (default: SERVICE-ENVIRONMENT)."
    )
    hot_reload: bool | None = Field(
        default=None, description="Compose: mount the source and restart on change (dev)."
    )
    secret_store: str | None = Field(
        default=None,
        description="Kubernetes: ClusterSecretStore an ExternalSecret reads secrets from "
        "(unset: the pods reference an existing Secret SERVICE-secrets).",
    )


class EnvironmentTargets(_PerEnvironment):
    """Per-environment overrides of the render settings."""


class TargetsSpec(_PerEnvironment):
    """Settings for rendering deployment artifacts (image, resources, ingress, ...)."""

    enabled: tuple[TargetName, ...] = Field(
        default=ALL_TARGETS, description="Targets `moai-deploy render` writes by default."
    )
    resources: ResourcesSpec = Field(default_factory=ResourcesSpec, description="CPU, memory.")
    autoscaling: AutoscalingSpec = Field(
        default_factory=AutoscalingSpec, description="Autoscaling (off unless enabled)."
    )
    ingress: IngressSpec = Field(default_factory=IngressSpec, description="Public entry.")
    hot_reload: bool = Field(
        default=False, description="Compose: mount the source and restart on change (dev)."
    )
    image: ImageSpec = Field(default_factory=ImageSpec, description="The container image.")
    container_port: Port = Field(default=8000, description="Port the app listens on inside.")
    egress: tuple[Dependency, ...] = Field(
        default=(), description="Dependencies the service may connect to (NetworkPolicy)."
    )
    accessories: dict[DnsName, Accessory] = Field(
        default_factory=dict, description="Accessories by name (compose)."
    )
    prometheus_url: str = Field(
        default="http://prometheus.monitoring.svc.cluster.local:9090",
        description="Prometheus the Argo Rollouts analysis queries.",
    )
    monitoring_namespace: str = Field(
        default="monitoring", description="Namespace allowed to scrape /metrics."
    )
    cloud: CloudSpec = Field(default_factory=CloudSpec, description="Cloud identifiers.")
    ci: CiSpec = Field(default_factory=CiSpec, description="CI pipelines.")
