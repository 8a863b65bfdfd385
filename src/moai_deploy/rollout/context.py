"""What a rollout acts through, and what it is asked to release."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from moai_deploy.ledger.store import Ledger
from moai_deploy.paths import StateLayout
from moai_deploy.rollout.reporter import Reporter
from moai_deploy.runtime.base import Artifact, Runtime
from moai_deploy.spec.loader import LoadedSpec
from moai_deploy.spec.resolve import EnvironmentConfig
from moai_deploy.spec.secrets import SecretResolver
from moai_deploy.traffic.base import TrafficRouter


@dataclass(frozen=True)
class RolloutContext:
    """The spec, the environment and the protocols a rollout drives; no provider specifics."""

    loaded: LoadedSpec
    config: EnvironmentConfig
    layout: StateLayout
    ledger: Ledger
    runtime: Runtime
    router: TrafficRouter
    secrets: SecretResolver
    reporter: Reporter

    @property
    def service(self) -> str:
        return self.loaded.spec.service.name

    @property
    def environment(self) -> str:
        return self.config.name

    @property
    def route(self) -> str:
        return f"{self.service}-{self.environment}"

    def backend_name(self, group: str) -> str:
        return f"{self.route}-{group}"


@dataclass(frozen=True)
class ReleaseRequest:
    """The code to release: a version label, its commit and its snapshot folder."""

    version: str
    commit_sha: str | None
    snapshot: Path
    actor: str
    rollback_of: int | None = None
    action: str = "deploy"
    skip_analysis: bool = False  # a rollback inside the rollback window
    artifact: Artifact | None = None  # the one recorded for this code (rollback, retry)
