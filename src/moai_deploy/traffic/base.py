"""The traffic router protocol: send weighted traffic to groups of instances, and verify it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class TrafficError(Exception):
    """The router could not apply or confirm a routing change."""


@dataclass(frozen=True)
class WeightedBackend:
    """One group of instances (one version) and its share of the traffic."""

    name: str  # e.g. "hello-production-green"; unique within the router
    weight: int  # 0..100; weights of a route's backends add up to 100
    urls: tuple[str, ...]  # e.g. ("http://127.0.0.1:41234",)


@dataclass(frozen=True)
class Routing:
    """The whole routing of one route: which backends receive its traffic, and how much."""

    route: str  # e.g. "hello-production"
    entrypoint: str  # the listening entrypoint's name, e.g. "production"
    backends: tuple[WeightedBackend, ...]
    health_path: str = "/ready"

    def weights(self) -> dict[str, int]:
        return {b.name: b.weight for b in self.backends}


class TrafficRouter(Protocol):
    """Applies routings atomically and confirms they are live before a rollout moves on."""

    def set_weights(self, routing: Routing) -> None:
        """Replace the route's routing with `routing`, atomically."""
        ...

    def verify(self, routing: Routing, timeout: float = 10.0) -> None:
        """Return once the router serves exactly `routing`; raise TrafficError after timeout."""
        ...

    def current(self, route: str) -> Routing | None:
        """The routing last applied for `route`, or None."""
        ...

    def remove(self, route: str) -> None:
        """Stop routing `route` at all."""
        ...


class RouterProcess(Protocol):
    """The proxy process a router drives; it outlives the CLI run that starts it."""

    def ensure_running(self) -> None:
        """Start the proxy if needed (it serves the last routing at once); wait until ready."""
        ...

    def is_running(self) -> bool:
        """Whether the proxy process is alive."""
        ...

    def stop(self) -> None:
        """Stop the proxy gracefully (in-flight requests finish)."""
        ...


@runtime_checkable
class HealthView(Protocol):
    """A router that health-checks its servers and says which ones it marked down."""

    def servers_down(self, backend: str) -> list[str] | None:
        """URLs of `backend` the router's health check holds down; None if it cannot tell."""
        ...
