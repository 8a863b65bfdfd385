"""The handler of each plan step kind; the engine calls them in plan order."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from moai_deploy.errors import ReleaseFailedError
from moai_deploy.rollout.actions import RolloutBase
from moai_deploy.rollout.analysis_record import AnalysisRecord
from moai_deploy.rollout.gateway import FAILED, INCONCLUSIVE, AnalysisTarget, AnalysisVerdict
from moai_deploy.rollout.plan import Step
from moai_deploy.rollout.release_command import run_release_command
from moai_deploy.rollout.routing import GroupShare, build_routing, preview_entrypoint
from moai_deploy.spec.analysis import AnalysisSpec
from moai_deploy.spec.strategies import CanaryStrategy, RollingStrategy


class AnalysisFailedError(ReleaseFailedError):
    """An analysis step judged the new version bad."""


class StepActions(RolloutBase):
    """One method per step kind; each returns the detail the ledger records."""

    # Provided by the engine (control handling).
    def tick(self) -> None:
        raise NotImplementedError

    def wait_until(self, done: Callable[[], bool], seconds: float | None) -> bool:
        raise NotImplementedError

    def request_pause(self, reason: str) -> None:
        raise NotImplementedError

    def consume_promote(self) -> str | None:
        """Take a pending promote request ("step"/"full"), clearing it."""
        raise NotImplementedError

    # -- steps -----------------------------------------------------------------------

    def build(self, step: Step) -> str:
        recorded = self.request.artifact
        meta = {"artifact": recorded.to_meta()} if recorded is not None else {}
        self.artifact = self.artifact_of(self.request.version, meta, self.request.snapshot)
        self.ctx.ledger.update_meta(self.release.id, {"artifact": self.artifact.to_meta()})
        return self.artifact.summary

    def release_step(self, step: Step) -> str:
        return run_release_command(self.ctx, self.ensure_artifact(), self.release)

    def start(self, step: Step) -> str:
        names = self.start_group(self.ctx.config.replicas)
        ports = [i.port for i in self.new_instances()]
        self.ctx.ledger.update_meta(
            self.release.id, {"group": self.state.new_group, "ports": ports}
        )
        return f"{self.state.new_group}: " + ", ".join(names)

    def wait_ready(self, step: Step) -> str:
        names = [i.name for i in self.new_instances()]
        self.await_ready(names)
        return f"{len(names)} instance(s) ready"

    def smoke(self, step: Step) -> str:
        return self.smoke_names([i.name for i in self.new_instances()])

    def set_weight(self, step: Step) -> str:
        if self.skipping() and step.weight != 100:
            return "skipped: promoted in full"
        if step.weight is None:
            raise ValueError("set_weight step without a weight")
        self.state.weight = step.weight
        self.save()  # persisted before acting: a resumed rollout re-applies it
        self._maybe_start_background()  # its baseline is taken before the canary has traffic
        routing = self.apply_routing()
        weights = ", ".join(f"{k}={v}" for k, v in routing.weights().items())
        return f"{step.weight}% to {self.request.version}, verified ({weights})"

    def pause(self, step: Step) -> str:
        if self.skipping():
            return "skipped: promoted in full"
        if self.state.pause_started is None:
            self.state.pause_started = time.time()
            self.save()
        self.ctx.reporter.event("pause", seconds=step.duration)
        remaining = None
        if step.duration is not None:
            remaining = max(0.0, self.state.pause_started + step.duration - time.time())
        promoted = self.wait_until(lambda: self.consume_promote() is not None, remaining)
        self.state.pause_started = None
        return "promoted" if promoted else f"waited {step.duration:g}s"

    def analysis_step(self, step: Step) -> str:
        if self.skipping() or step.analysis is None:
            return "skipped"
        record = AnalysisRecord(self.ctx, self.release.id, step.purpose, step.analysis)
        try:
            if step.preview:
                verdict = self._preview_analysis(step.analysis, record)
            else:
                verdict = self.analysis.run(
                    step.analysis, self.target(), self._interrupted, record.measurement
                )
        except Exception as exc:  # an abort, or a router error around the preview
            record.finish(AnalysisVerdict(FAILED, f"interrupted: {exc}"))
            raise
        record.finish(verdict)
        if verdict.phase == FAILED:
            raise AnalysisFailedError(f"analysis failed: {verdict.message}")
        if verdict.phase == INCONCLUSIVE:
            self.request_pause(f"analysis inconclusive: {verdict.message}")
            self.wait_until(lambda: self.consume_promote() is not None, None)
            return f"inconclusive ({verdict.message}), then promoted"
        return verdict.phase + (f": {verdict.message}" if verdict.message else "")

    def _preview_analysis(self, analysis: AnalysisSpec, record: AnalysisRecord) -> AnalysisVerdict:
        """Judge the new version on its own preview entrypoint, before it gets real traffic."""
        ctx = self.ctx
        backend = f"{ctx.backend_name(self.state.new_group)}-preview"
        preview = build_routing(
            f"{ctx.route}-preview",
            preview_entrypoint(ctx.environment),
            ctx.loaded.spec.service.ready_path,
            [GroupShare(backend, 100, self.new_instances())],
        )
        ctx.router.set_weights(preview)
        try:
            ctx.router.verify(preview, timeout=ctx.config.strategy.verify_timeout)
            ctx.reporter.event("preview", route=preview.route, entrypoint=preview.entrypoint)
            target = AnalysisTarget(canary=backend, stable=None)
            return self.analysis.run(analysis, target, self._interrupted, record.measurement)
        finally:
            ctx.router.remove(preview.route)

    def _measurement(self, data: dict[str, Any]) -> None:
        self.ctx.reporter.event("measurement", **data)

    def _interrupted(self) -> bool:
        self.tick()  # raises on abort
        return self.skipping()  # `promote --full`; a step promote waits for the next pause

    def promote(self, step: Step) -> str:
        self.stop_background()
        ledger = self.ctx.ledger
        if self.ledger_release().status != "succeeded":
            self.release = ledger.transition(self.release.id, "succeeded")
        rollback_of = self.request.rollback_of
        if rollback_of is not None and ledger.get_release(rollback_of).status == "succeeded":
            ledger.transition(rollback_of, "rolled_back")
        return f"{self.request.version} is live"

    def scale_down(self, step: Step) -> str:
        st = self.state
        old = self.group(st.stable_group) if st.stable_group != st.new_group else []
        if not old:
            return "no previous version running"
        self.ctx.reporter.event("scale_down_wait", seconds=step.duration or 0.0)
        time.sleep(step.duration or 0.0)
        self.apply_routing([s for s in self.shares() if s.backend.endswith(st.new_group)])
        self.ctx.runtime.stop([i.name for i in old])
        return f"stopped {len(old)} {st.stable_group} instance(s)"

    def rolling_batch(self, step: Step) -> str:
        st, strategy = self.state, self.ctx.config.strategy
        if not isinstance(strategy, RollingStrategy):
            raise TypeError("rolling_batch step outside a rolling strategy")
        if not st.rolling:
            st.rolling, st.routed_old = True, [i.name for i in self.group(st.stable_group)]
            self.save()
        last = self.steps_after(step) == 0
        pre = min(strategy.max_unavailable, len(st.routed_old), step.drain)
        self._drain(pre, strategy.pre_stop_delay)
        names = self.start_group(step.start, first_index=len(st.routed_new))
        self.await_ready(names)
        self.smoke_names(names)
        st.routed_new = sorted(set(st.routed_new) | set(names))
        self.save()
        self.apply_routing()
        rest = len(st.routed_old) if last else step.drain - pre
        self._drain(rest, strategy.pre_stop_delay)
        return f"{len(st.routed_new)} new in service, {len(st.routed_old)} old left"

    def _drain(self, count: int, pre_stop_delay: float) -> None:
        if count <= 0:
            return
        st = self.state
        victims, st.routed_old = st.routed_old[:count], st.routed_old[count:]
        self.save()
        self.apply_routing()  # out of the router first, so no new request reaches them
        self.wait_until(lambda: False, pre_stop_delay)
        self.ctx.runtime.stop(victims)

    def skipping(self) -> bool:
        """True once `promote --full` asked to skip the remaining steps."""
        raise NotImplementedError

    def _maybe_start_background(self) -> None:
        strategy = self.ctx.config.strategy
        if (
            self.background is None
            and not self.background_over
            and isinstance(strategy, CanaryStrategy)
            and strategy.analysis is not None
            and not self.state.skip_analysis
            and self.state.stable_group is not None
            and 0 < self.state.weight < 100
        ):
            record = AnalysisRecord(self.ctx, self.release.id, "background", strategy.analysis)
            self.background_record = record
            self.background = self.analysis.background(
                strategy.analysis, self.target(), record.measurement
            )
