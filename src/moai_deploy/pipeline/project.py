"""A project: its spec, its state folder and the providers that act on it.

This is the one place that picks implementations (SQLite/PostgreSQL ledger, the runtime
driver each environment names, the Traefik router); everything else only sees protocols.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from moai_deploy.build.snapshot import is_tracked
from moai_deploy.errors import BadInputError
from moai_deploy.ledger.store import Ledger, ledger_url
from moai_deploy.notify.base import Notifier
from moai_deploy.paths import StateLayout, default_cache_dir
from moai_deploy.rollout.context import RolloutContext
from moai_deploy.rollout.gateway import AnalysisGateway
from moai_deploy.rollout.reporter import NullReporter, Reporter
from moai_deploy.rollout.routing import preview_entrypoint
from moai_deploy.runtime import registry
from moai_deploy.runtime.base import Runtime
from moai_deploy.spec.loader import LoadedSpec, load_spec
from moai_deploy.spec.resolve import EnvironmentConfig, resolve_environment
from moai_deploy.spec.secrets import SecretResolver
from moai_deploy.spec.strategies import BlueGreenStrategy
from moai_deploy.traffic.traefik.process import TraefikProcess
from moai_deploy.traffic.traefik.router import TraefikRouter

if TYPE_CHECKING:
    from moai_deploy.analysis.traefik.scrape import WindowStats


@dataclass
class Project:
    """Lazily opens what a command needs, so bad input fails before any state is touched."""

    loaded: LoadedSpec
    layout: StateLayout
    _runtimes: dict[str, Runtime] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, spec_path: Path) -> Project:
        loaded = load_spec(spec_path)
        return cls(loaded, StateLayout.for_project(loaded.project_dir))

    @property
    def service(self) -> str:
        return self.loaded.spec.service.name

    def environment(self, name: str) -> EnvironmentConfig:
        return resolve_environment(self.loaded.spec, name)

    def secrets(self) -> SecretResolver:
        """Resolves secret references; refuses a secrets file that git tracks."""
        path = self.loaded.project_dir / self.loaded.spec.secrets_file
        if path.is_file() and is_tracked(self.loaded.project_dir, path):
            raise BadInputError(
                f"{path}: the secrets file is tracked by git, so its values are in the history\n"
                f"    fix: `git rm --cached {path.name}`, add it to .gitignore, rotate the secrets"
            )
        return SecretResolver(path)

    @cached_property
    def ledger(self) -> Ledger:
        self.layout.ensure()
        return Ledger.open(ledger_url(self.layout.ledger_db))

    def runtime_for(self, environment: str) -> Runtime:
        """The runtime driver the environment names (`runtime:`, default local)."""
        return self.driver(self.environment(environment).runtime)

    def driver(self, name: str) -> Runtime:
        """One driver object per project and driver name."""
        if name not in self._runtimes:
            self.layout.ensure()
            settings = registry.RuntimeSettings(
                spec=self.loaded.spec,
                project_dir=self.loaded.project_dir,
                layout=self.layout,
                cache_dir=default_cache_dir(),
            )
            self._runtimes[name] = registry.create(name, settings)
        return self._runtimes[name]

    def runtimes(self) -> list[Runtime]:
        """The drivers of every environment of the spec."""
        names = {self.environment(env).runtime for env in self.loaded.spec.environments}
        return [self.driver(name) for name in sorted(names)]

    @cached_property
    def traefik(self) -> TraefikProcess:
        spec = self.loaded.spec
        entrypoints = {name: spec.port_of(name) for name in spec.environments}
        for name in spec.environments:
            port = self.preview_port(name)
            if port is not None:
                entrypoints[preview_entrypoint(name)] = port
        return TraefikProcess(self.layout.traefik, entrypoints, host=spec.traffic.host)

    def preview_port(self, environment: str) -> int | None:
        """Where the new colour is reachable before the switch (pre-promotion analysis)."""
        strategy = self.environment(environment).strategy
        if not isinstance(strategy, BlueGreenStrategy) or not strategy.pre_promotion_analysis:
            return None
        return strategy.preview_port or self.loaded.spec.port_of(environment) + 1000

    @cached_property
    def router(self) -> TraefikRouter:
        return TraefikRouter(self.traefik)

    def ensure_router(self) -> None:
        """Start the project's router process if it is not running."""
        self.traefik.ensure_running()

    def router_running(self) -> bool:
        return self.traefik.is_running()

    def stop_router(self) -> None:
        self.traefik.stop()

    def traffic_stats(self) -> Callable[[str, float], WindowStats | None]:
        """Per-backend request stats over a window, from the router's own metrics."""
        from moai_deploy.analysis.traefik.provider import TraefikMetricProvider

        return TraefikMetricProvider(self.traefik.metrics_url).stats

    def route(self, environment: str) -> str:
        return f"{self.service}-{environment}"

    @cached_property
    def notifiers(self) -> list[Notifier]:
        """The spec's webhooks (signing keys resolved from secrets), started on first use."""
        from moai_deploy.notify.setup import webhook_notifiers

        return webhook_notifiers(self.loaded.spec, self.secrets(), self.ledger)

    def notifying(self, environment: str, reporter: Reporter) -> Reporter:
        """`reporter`, also telling the notifiers about release transitions."""
        if not self.loaded.spec.notifications.webhooks:
            return reporter
        from moai_deploy.notify.dispatch import NotifyingReporter

        return NotifyingReporter(reporter, self.notifiers, self.ledger, (self.service, environment))

    def rollout_context(
        self, config: EnvironmentConfig, secrets: SecretResolver, reporter: Reporter | None = None
    ) -> RolloutContext:
        return RolloutContext(
            loaded=self.loaded,
            config=config,
            layout=self.layout,
            ledger=self.ledger,
            runtime=self.driver(config.runtime),
            router=self.router,
            secrets=secrets,
            reporter=self.notifying(config.name, reporter or NullReporter()),
        )

    def analysis_gateway(self) -> AnalysisGateway:
        """Analysis over this project's Traefik metrics (or a Prometheus a metric names)."""
        from moai_deploy.analysis.traefik.provider import TraefikMetricProvider
        from moai_deploy.pipeline.analysis import MetricsAnalysis

        traefik = self.traefik
        return MetricsAnalysis(lambda: TraefikMetricProvider(traefik.metrics_url), None)

    def close(self) -> None:
        if "notifiers" in self.__dict__:
            for notifier in self.notifiers:
                notifier.close(timeout=30.0)  # deliveries queued by this command go out
        if "ledger" in self.__dict__:
            self.ledger.close()
