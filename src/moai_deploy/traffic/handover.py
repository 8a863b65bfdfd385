"""One router per state folder: when `traffic.router` changes, the new one takes over.

Both routers listen on the environments' ports, so the one chosen now cannot start while
the previously chosen one still runs. `ExclusiveRouterProcess` hands over on start: the
routings the old router serves are saved into the new one (which loads them at start-up),
the old one stops gracefully, the new one starts. Clients see the ports closed for the
moment between the two (measured well under a second here), never a wrong routing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from moai_deploy.traffic.base import RouterProcess, TrafficRouter


@dataclass(frozen=True)
class RouterPair:
    """A router's process and the router that drives it."""

    process: RouterProcess
    router: TrafficRouter


class ExclusiveRouterProcess:
    """The chosen router's process; starting it first retires the other routers' processes."""

    def __init__(
        self, chosen: RouterPair, others: Iterable[RouterPair], routes: Callable[[], list[str]]
    ) -> None:
        self.chosen = chosen
        self._others = list(others)
        self._routes = routes  # every route this project may have

    def ensure_running(self) -> None:
        """Hand over from a running other router (if any), then start the chosen one."""
        for other in self._others:
            if other.process.is_running():
                for route in self._routes():
                    routing = other.router.current(route)
                    if routing is not None:
                        self.chosen.router.set_weights(routing)  # saved: loaded at start
                other.process.stop()
        self.chosen.process.ensure_running()

    def is_running(self) -> bool:
        return self.chosen.process.is_running()

    def pairs(self) -> list[RouterPair]:
        """The chosen router and the others this project may still run."""
        return [self.chosen, *self._others]

    def stop(self) -> None:
        """Stop the chosen router, and another one still running from before a change."""
        for pair in [self.chosen, *self._others]:
            if pair is self.chosen or pair.process.is_running():
                pair.process.stop()
