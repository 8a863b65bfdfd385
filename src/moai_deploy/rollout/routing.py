"""Build the router's view of a rollout (pure): which instances get which share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from moai_deploy.runtime.base import InstanceStatus
from moai_deploy.traffic.base import Routing, WeightedBackend


@dataclass(frozen=True)
class GroupShare:
    """One group's routed instances and its weight."""

    backend: str
    weight: int
    instances: Sequence[InstanceStatus]


def preview_entrypoint(environment: str) -> str:
    """The router entrypoint that serves a blue-green release's new colour before the switch."""
    return f"{environment}-preview"


def build_routing(
    route: str, entrypoint: str, ready_path: str, shares: Sequence[GroupShare]
) -> Routing:
    """Only groups with instances appear; a weight-0 group stays defined for a fast switch."""
    backends = tuple(
        WeightedBackend(share.backend, share.weight, tuple(sorted(i.url for i in share.instances)))
        for share in shares
        if share.instances
    )
    return Routing(route=route, entrypoint=entrypoint, backends=backends, health_path=ready_path)
