"""The router never sends to a version it knows is down: while the new version has a share
of the traffic, its servers' health as the router sees it is watched, and a version whose
every server stays marked down is a failed release (its share goes back to stable)."""

from __future__ import annotations

import time
from collections.abc import Callable

from moai_deploy.traffic.base import HealthView, TrafficRouter

CHECK_EVERY = 0.5  # seconds between looks at the router's health check
GRACE = 2.0  # all servers down this long (about two of Traefik's 1 s checks) = down


class HealthGuard:
    """Asks the router about one backend now and then; says when it is down for good."""

    def __init__(self, router: TrafficRouter) -> None:
        self._view = router if isinstance(router, HealthView) else None
        self._checked_at = 0.0
        self._down_since: float | None = None

    def down(self, backend: str, routed: Callable[[], int]) -> str | None:
        """Why `backend` (`routed()`: how many servers it has) counts as down, or None."""
        now = time.monotonic()
        if self._view is None or now - self._checked_at < CHECK_EVERY:
            return None
        self._checked_at = now
        urls = routed()
        down = self._view.servers_down(backend) if urls else None
        if down is None or len(down) < urls:
            self._down_since = None
            return None
        self._down_since = self._down_since or now
        if now - self._down_since < GRACE:
            return None
        return (
            f"the router's health check marked every server of {backend} down "
            f"({len(down)} of {urls}) for {now - self._down_since:.1f}s"
        )
