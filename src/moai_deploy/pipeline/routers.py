"""One router process per environment: a change to one environment (added, re-ported, a
port clash) never restarts or reloads the router another environment's traffic goes through.

Each environment's router lives in `routers/<environment>/<router>/` and listens on that
environment's port only (and its blue-green preview port). `traffic.router` picks which
router; the other router of the same environment hands its routings over when the choice
changes (`ExclusiveRouterProcess`), and so does the single router that older versions ran
for all environments (`traefik/`, `haproxy/` in the state folder): on the first start after
the upgrade, every environment it served moves to its own router at once (a moment of
closed ports, once).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from moai_deploy.paths import StateLayout
from moai_deploy.traffic.base import RouterProcess, TrafficError
from moai_deploy.traffic.choose import router_pair
from moai_deploy.traffic.handover import ExclusiveRouterProcess, RouterPair
from moai_deploy.traffic.haproxy import HaproxyProcess
from moai_deploy.traffic.ports import held_by, port_in_use
from moai_deploy.traffic.traefik import TraefikProcess

ROUTERS = ("traefik", "haproxy")


def router_pids(process: RouterProcess) -> list[int]:
    """Pids of the processes that hold `process`'s listening sockets."""
    if isinstance(process, TraefikProcess | HaproxyProcess):
        return process.supervisor.routers()  # the serving one and its warm standby
    return []


@dataclass
class EnvironmentRouters:
    """The routers of one state folder, one per environment."""

    layout: StateLayout
    chosen: str  # traffic.router
    host: str
    ready: tuple[str, str]  # the spec's (ready_path, ready_status): the health check's
    entrypoints: Callable[[str], dict[str, int]]  # environment -> its entrypoints and ports
    routes: Callable[[str], list[str]]  # environment -> every route it may have
    environments: list[str]
    _proxies: dict[str, ExclusiveRouterProcess] = field(default_factory=dict, repr=False)

    def root(self, environment: str, name: str) -> Path:
        return self.folder(self.layout, environment) / name

    @staticmethod
    def folder(layout: StateLayout, environment: str) -> Path:
        """Where the environment's routers keep their state (`router_pair`'s state root)."""
        return layout.root / "routers" / environment

    def log_of(self, environment: str) -> Path:
        """Where the environment's router's watchdog says why a router stopped."""
        return self.root(environment, self.chosen) / "watchdog.log"

    def proxy(self, environment: str) -> ExclusiveRouterProcess:
        """The environment's chosen router process (it takes over from the other one)."""
        if environment not in self._proxies:
            ports, folder = self.entrypoints(environment), self.folder(self.layout, environment)
            others = []
            for name in ROUTERS:
                if name != self.chosen:
                    with contextlib.suppress(TrafficError):  # cannot run here: not running
                        others.append(router_pair(name, folder, ports, self.host, self.ready))
            chosen = router_pair(self.chosen, folder, ports, self.host, self.ready)
            self._proxies[environment] = ExclusiveRouterProcess(
                chosen, others, lambda: self.routes(environment)
            )
        return self._proxies[environment]

    def busy_ports(self, environment: str) -> dict[str, int]:
        """The environment's entrypoints whose port a process other than its own router holds
        (another program, or another environment's router)."""
        # A shared router of an older version holds them too, until it hands over.
        pairs = [*self.proxy(environment).pairs(), *self.legacy()]
        own = [pid for pair in pairs for pid in router_pids(pair.process)]
        return {
            entrypoint: port
            for entrypoint, port in self.entrypoints(environment).items()
            if port_in_use(self.host, port) and not held_by(own, port)
        }

    def legacy(self) -> list[RouterPair]:
        """The shared router of an older version (all environments' ports), if it runs."""
        ports: dict[str, int] = {}
        for environment in self.environments:
            ports.update(self.entrypoints(environment))
        found = []
        for name in ROUTERS:
            if not (self.layout.root / name / "state.json").exists():
                continue
            with contextlib.suppress(TrafficError):
                pair = router_pair(name, self.layout.root, ports, self.host, self.ready)
                if pair.process.is_running():
                    found.append(pair)
        return found

    def migrate_legacy(self) -> list[str]:
        """Move every environment a shared router serves onto its own router; which moved."""
        moved: list[str] = []
        for pair in self.legacy():
            for environment in self.environments:
                for route in self.routes(environment):
                    routing = pair.router.current(route)
                    if routing is not None:
                        self.proxy(environment).chosen.router.set_weights(routing)
                        if environment not in moved:
                            moved.append(environment)
            pair.process.stop()
        for environment in moved:
            self.proxy(environment).ensure_running()
        return moved

    def stop_legacy(self) -> None:
        for pair in self.legacy():
            pair.process.stop()
