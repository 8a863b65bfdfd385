"""rolling_batch: drain up to `unavailable` old instances, start a batch of new ones, wait
until they are ready and smoke-tested, route them, then drain the rest of the batch."""

from __future__ import annotations

from moai_deploy.rollout.parts import Rollout
from moai_deploy.rollout.plan import Step


def run(rollout: Rollout, step: Step) -> str:
    st, fleet = rollout.state, rollout.fleet
    if not st.rolling:
        st.rolling, st.routed_old = True, [i.name for i in fleet.group(st.stable_group)]
        rollout.progress.save()
    last = rollout.progress.steps_after(step) == 0
    pre = min(step.unavailable, len(st.routed_old), step.drain)
    _drain(rollout, pre, step.pre_stop_delay)
    names = fleet.start_new(step.start, first_index=len(st.routed_new))
    fleet.await_ready(names)
    fleet.smoke(names)
    st.routed_new = sorted(set(st.routed_new) | set(names))
    rollout.progress.save()
    rollout.traffic.apply()
    rest = len(st.routed_old) if last else step.drain - pre
    _drain(rollout, rest, step.pre_stop_delay)
    return f"{len(st.routed_new)} new in service, {len(st.routed_old)} old left"


def _drain(rollout: Rollout, count: int, pre_stop_delay: float) -> None:
    if count <= 0:
        return
    st = rollout.state
    victims, st.routed_old = st.routed_old[:count], st.routed_old[count:]
    rollout.progress.save()
    rollout.traffic.apply()  # out of the router first, so no new request reaches them
    rollout.lookout.wait_until(lambda: False, pre_stop_delay)
    rollout.fleet.stop(victims)
