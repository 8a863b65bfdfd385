"""Where traffic goes: group shares -> the router's routing -> applied and verified.

This is the one place a rollout changes weights: `set_new_weight` (the canary's share or
the blue-green switch), `apply` (any set of shares, e.g. a rolling batch), `to_stable`
(the undo). Every routing is verified live before the rollout moves on.
"""

from __future__ import annotations

from dataclasses import replace

from moai_deploy.rollout.context import RolloutContext
from moai_deploy.rollout.fleet import Fleet
from moai_deploy.rollout.progress import Progress
from moai_deploy.rollout.routing import GroupShare, build_routing
from moai_deploy.traffic.base import Routing


class Traffic:
    """The route of one rollout's environment."""

    def __init__(self, ctx: RolloutContext, progress: Progress, fleet: Fleet) -> None:
        self.ctx = ctx
        self.progress = progress
        self.fleet = fleet

    def shares(self) -> list[GroupShare]:
        """Each group's share as the rollout state says (rolling: by routed instance count)."""
        st, ctx, fleet = self.progress.state, self.ctx, self.fleet
        if st.rolling:
            old = [i for i in fleet.group(st.stable_group) if i.name in st.routed_old]
            new = [i for i in fleet.group(st.new_group) if i.name in st.routed_new]
            new_share = round(100 * len(new) / max(1, len(old) + len(new)))
            return [
                GroupShare(ctx.backend_name(st.stable_group or "none"), 100 - new_share, old),
                GroupShare(ctx.backend_name(st.new_group), new_share, new),
            ]
        shares = [GroupShare(ctx.backend_name(st.new_group), st.weight, fleet.new_instances())]
        if st.stable_group is not None:
            stable = fleet.group(st.stable_group)
            shares.insert(0, GroupShare(ctx.backend_name(st.stable_group), 100 - st.weight, stable))
        return shares

    def set_new_weight(self, weight: int) -> Routing:
        """The new version gets `weight` % (saved first: a resumed rollout re-applies it)."""
        self.progress.state.weight = weight
        self.progress.save()
        return self.apply()

    def apply(self, shares: list[GroupShare] | None = None) -> Routing:
        """Route `shares` (default: the state's) and wait until the router serves them."""
        ctx = self.ctx
        routing = build_routing(
            ctx.route,
            ctx.environment,
            ctx.loaded.spec.service.ready_path,
            shares if shares is not None else self.shares(),
        )
        return self._switch(routing)

    def only_new(self) -> Routing:
        """Drop every group but the new one (the old version is about to stop)."""
        new = self.ctx.backend_name(self.progress.state.new_group)
        return self.apply([s for s in self.shares() if s.backend == new])

    def to_stable(self) -> None:
        """Everything to the stable version (or no route at all when there is none)."""
        st, ctx = self.progress.state, self.ctx
        if st.stable_group is None:
            if ctx.router.current(ctx.route) is not None and st.weight > 0:
                ctx.router.remove(ctx.route)
            return
        backend = ctx.backend_name(st.stable_group)
        if not self._to_known_servers(backend):
            stable = self.fleet.group(st.stable_group)
            if not stable:
                return
            self.apply([GroupShare(backend, 100, stable)])
        st.weight, st.rolling = 0, False
        self.progress.save()

    def routed_urls(self, backend: str) -> int:
        """How many servers the router has for `backend` while it gets traffic (else 0)."""
        current = self.ctx.router.current(self.ctx.route)
        found = [b for b in (current.backends if current else ()) if b.name == backend]
        return len(found[0].urls) if found and found[0].weight > 0 else 0

    def _to_known_servers(self, backend: str) -> bool:
        """Stable's servers are already in the router: reuse them, skip the runtime round trip
        (every millisecond here is traffic on the bad version)."""
        current = self.ctx.router.current(self.ctx.route)
        known = [b for b in (current.backends if current else ()) if b.name == backend and b.urls]
        if not known or current is None:
            return False
        self._switch(replace(current, backends=(replace(known[0], weight=100),)))
        return True

    def _switch(self, routing: Routing) -> Routing:
        ctx = self.ctx
        ctx.router.set_weights(routing)
        ctx.router.verify(routing, timeout=ctx.config.strategy.verify_timeout)
        ctx.reporter.event("weights", weights=routing.weights())
        return routing
