"""Merge `defaults` and one environment's overlay into the settings a rollout uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from moai_deploy.errors import BadInputError
from moai_deploy.spec import models
from moai_deploy.spec.control import ApprovalsSpec
from moai_deploy.spec.secrets import MASK, SECRET_REF
from moai_deploy.spec.strategies import AnyStrategy, BlueGreenStrategy

T = TypeVar("T")


@dataclass(frozen=True)
class EnvironmentConfig:
    """Everything about one environment, with defaults applied; secrets still references."""

    name: str
    replicas: int
    port: int
    env: dict[str, str]
    strategy: AnyStrategy
    health_check_timeout: float
    runtime: models.RuntimeName = models.DEFAULT_RUNTIME
    approvals: ApprovalsSpec | None = None

    def to_dict(self, *, masked: bool = True) -> dict[str, Any]:
        env = {
            k: SECRET_REF.sub(f"{MASK} (\\g<0>)", v) if masked else v for k, v in self.env.items()
        }
        return {
            "name": self.name,
            "replicas": self.replicas,
            "port": self.port,
            "env": dict(sorted(env.items())),
            "strategy": self.strategy.model_dump(mode="json"),
            "health_check_timeout": self.health_check_timeout,
            "runtime": self.runtime,
            "approvals": self.approvals.model_dump(mode="json") if self.approvals else None,
        }


def resolve_environment(spec: models.Spec, name: str) -> EnvironmentConfig:
    """The merged settings of environment `name`; BadInputError for an unknown name."""
    if name not in spec.environments:
        known = ", ".join(spec.environments)
        raise BadInputError(
            f"unknown environment {name!r}\n    fix: use one of: {known} (or add it under "
            "`environments:` in moai-deploy.yaml)"
        )
    overlay = spec.environments[name]
    defaults = spec.defaults
    timeout = _first(overlay.health_check_timeout, defaults.health_check_timeout)
    if timeout is None:
        timeout = models.DEFAULT_HEALTH_TIMEOUTS.get(name, models.FALLBACK_HEALTH_TIMEOUT)
    return EnvironmentConfig(
        name=name,
        replicas=_first(overlay.replicas, defaults.replicas) or 1,
        port=spec.port_of(name),
        env={**(defaults.env or {}), **(overlay.env or {})},
        strategy=_merge_strategy(defaults.strategy, overlay.strategy),
        health_check_timeout=timeout,
        runtime=_first(overlay.runtime, defaults.runtime) or models.DEFAULT_RUNTIME,
        approvals=_first(overlay.approvals, defaults.approvals),
    )


def _first(*values: T | None) -> T | None:
    return next((v for v in values if v is not None), None)


def _merge_strategy(base: AnyStrategy | None, overlay: AnyStrategy | None) -> AnyStrategy:
    if overlay is None:
        return base or BlueGreenStrategy()
    if base is None or base.type != overlay.type:
        return overlay
    # Re-validated, not model_copy(update=...): nested blocks (analysis) must stay models.
    merged = {**base.model_dump(exclude_unset=True), **overlay.model_dump(exclude_unset=True)}
    return type(overlay).model_validate(merged)
