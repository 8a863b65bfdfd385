"""What every renderer needs, resolved once: the spec, one environment, the version.

Rendering is a pure function of this context, so it is built from the validated spec and
the version only (no clock, no file system, no environment variables).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from moai_deploy.render.bind import container_command
from moai_deploy.spec import models
from moai_deploy.spec.resolve import EnvironmentConfig, resolve_environment
from moai_deploy.spec.secrets import SECRET_REF
from moai_deploy.spec.targets import Accessory, TargetsSpec

_PER_ENVIRONMENT = (
    "resources",
    "autoscaling",
    "ingress",
    "namespace",
    "hot_reload",
    "secret_store",
)
SECRET_OBJECT_SUFFIX = "-secrets"  # noqa: S105  # nosec B105 - a name, not a value


@dataclass(frozen=True)
class SecretVar:
    """An environment variable whose value holds `${secret:NAME}` references."""

    key: str
    template: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(SECRET_REF.findall(self.template)))

    @property
    def whole(self) -> bool:
        """The value is exactly one reference (else the secret store holds the whole value)."""
        return SECRET_REF.fullmatch(self.template) is not None

    @property
    def secret_id(self) -> str:
        """Name of the secret holding this variable's value in a cloud secret manager."""
        return self.names[0] if self.whole else self.key

    def substitute(self, pattern: str) -> str:
        """The template with each reference written as `pattern` ('{name}' is the name)."""
        return SECRET_REF.sub(lambda m: pattern.format(name=m.group(1)), self.template)


@dataclass(frozen=True)
class RenderContext:
    """One environment of one service at one version, with every default applied."""

    spec: models.Spec
    env: EnvironmentConfig
    version: str
    targets: TargetsSpec

    @property
    def service(self) -> models.ServiceSpec:
        return self.spec.service

    @property
    def name(self) -> str:
        return self.spec.service.name

    @property
    def environment(self) -> str:
        return self.env.name

    @property
    def instance(self) -> str:
        return f"{self.name}-{self.environment}"

    @property
    def namespace(self) -> str:
        return self.targets.namespace or self.instance

    @property
    def repository(self) -> str:
        return self.targets.image.repository or self.name

    @property
    def image(self) -> str:
        return f"{self.repository}:{self.version}"

    @property
    def port(self) -> int:
        return self.targets.container_port

    @property
    def strategy_type(self) -> str:
        return str(getattr(self.env.strategy, "type", "blue_green"))

    @property
    def progressive(self) -> bool:
        """Blue-green and canary run as Argo Rollouts on Kubernetes."""
        return self.strategy_type in ("blue_green", "canary")

    @property
    def min_replicas(self) -> int:
        return self.targets.autoscaling.min_replicas or self.env.replicas

    @property
    def autoscaling(self) -> bool:
        return self.targets.autoscaling.enabled

    @property
    def pre_stop_seconds(self) -> int:
        return round(float(getattr(self.env.strategy, "pre_stop_delay", 15.0)))

    @property
    def grace_seconds(self) -> int:
        return max(30, self.pre_stop_seconds + round(self.service.stop_timeout))

    @property
    def workdir(self) -> str:
        sub = self.service.workdir.strip("/")
        return "/app" if sub in ("", ".") else f"/app/{sub}"

    @cached_property
    def command(self) -> tuple[str, ...]:
        """The service's argv inside a container: its port, listening on every interface."""
        return container_command(
            tuple(arg.replace("{port}", str(self.port)) for arg in self.service.command)
        )

    @cached_property
    def plain_env(self) -> dict[str, str]:
        """Non-secret variables, sorted, with the port variable set to the container port."""
        values = {k: v for k, v in self.env.env.items() if not SECRET_REF.search(v)}
        values[self.service.port_env] = str(self.port)
        return dict(sorted(values.items()))

    @cached_property
    def secrets(self) -> tuple[SecretVar, ...]:
        """Variables holding secret references, sorted by name."""
        items = sorted(self.env.env.items())
        return tuple(SecretVar(k, v) for k, v in items if SECRET_REF.search(v))

    @property
    def secret_object(self) -> str:
        """The Kubernetes Secret the pods read (created out of band or by an ExternalSecret)."""
        return f"{self.name}{SECRET_OBJECT_SUFFIX}"

    @cached_property
    def accessories(self) -> dict[str, Accessory]:
        """Accessories this environment runs, by name."""
        defined = self.targets.accessories
        return {
            name: acc
            for name, acc in sorted(defined.items())
            if acc.environments is None or self.environment in acc.environments
        }

    @cached_property
    def labels(self) -> dict[str, str]:
        return {
            **self.selector,
            "app.kubernetes.io/version": self.version,
            "app.kubernetes.io/managed-by": "moai-deploy",
            "moai-deploy/environment": self.environment,
        }

    @cached_property
    def selector(self) -> dict[str, str]:
        return {"app.kubernetes.io/name": self.name, "app.kubernetes.io/instance": self.instance}


def merged_targets(spec: models.Spec, environment: str) -> TargetsSpec:
    """`targets:` with `defaults.targets` and the environment's `targets:` applied."""
    merged = spec.targets
    for overlay in (spec.defaults.targets, spec.environments[environment].targets):
        if overlay is None:
            continue
        update: dict[str, Any] = {}
        for field in _PER_ENVIRONMENT:
            value = getattr(overlay, field)
            if value is None:
                continue
            base = getattr(merged, field)
            if hasattr(value, "model_dump") and base is not None:
                value = base.model_copy(update=value.model_dump(exclude_unset=True))
            update[field] = value
        merged = merged.model_copy(update=update)
    return merged


def build_context(spec: models.Spec, environment: str, version: str) -> RenderContext:
    """The render context of `environment`; BadInputError for an unknown environment."""
    config = resolve_environment(spec, environment)
    return RenderContext(spec, config, version, merged_targets(spec, environment))
