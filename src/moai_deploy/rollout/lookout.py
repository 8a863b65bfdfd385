"""While a rollout runs or waits, three things can stop or hold it: a control request
(abort, pause, promote), the background analysis's verdict, and the router's health check
holding the new version down. `Lookout.tick` looks at all three."""

from __future__ import annotations

import time
from collections.abc import Callable

from moai_deploy.rollout.analysis_record import AnalysisRecord
from moai_deploy.rollout.context import RolloutContext
from moai_deploy.rollout.controls import Controls
from moai_deploy.rollout.errors import AbortRequested
from moai_deploy.rollout.gateway import (
    FAILED,
    INCONCLUSIVE,
    SUCCESSFUL,
    AnalysisGateway,
    AnalysisTarget,
    AnalysisVerdict,
    BackgroundAnalysis,
)
from moai_deploy.rollout.health_guard import HealthGuard
from moai_deploy.rollout.progress import Progress
from moai_deploy.rollout.traffic import Traffic
from moai_deploy.spec.analysis import AnalysisSpec

TICK = 0.05  # seconds between looks while waiting


class Lookout:
    """Controls, background analysis and router health of one rollout."""

    def __init__(
        self, ctx: RolloutContext, progress: Progress, traffic: Traffic, analysis: AnalysisGateway
    ) -> None:
        self.ctx = ctx
        self.progress = progress
        self.traffic = traffic
        self.analysis = analysis
        self.controls = Controls(
            ctx.ledger, progress.release.id, progress.state, ctx.reporter, progress.save
        )
        self._health = HealthGuard(ctx.router)
        self._background: BackgroundAnalysis | None = None
        self._record: AnalysisRecord | None = None
        self._background_over = False  # decided and acted on: not started again

    # -- waiting ----------------------------------------------------------------------

    def tick(self) -> None:
        """Raise AbortRequested on an abort request, a failed background analysis or a new
        version the router holds down; pause on an inconclusive background analysis."""
        self.controls.check_abort()
        self._check_router_health()
        verdict = self._background.verdict() if self._background is not None else None
        if verdict is None:
            return
        if verdict.phase == FAILED:
            raise AbortRequested(f"background analysis failed: {verdict.message}")
        if verdict.phase == INCONCLUSIVE:
            # Argo: an inconclusive analysis pauses; a human's promote continues without it.
            self.stop_background()
            self._background_over = True
            self.pause(f"background analysis inconclusive: {verdict.message}")

    def wait_until(self, done: Callable[[], bool], seconds: float | None) -> bool:
        """Wait until `done()` or `seconds` elapse (None: forever), ticking all along."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while not done():
            self.tick()
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(TICK)
        return True

    def pause(self, reason: str) -> None:
        """The engine's own pause (an entry in the control log), shown with how to go on."""
        if self.controls.paused is None:
            self.controls.pause_self(reason)
            command = f"moai-deploy promote {self.ctx.environment}"
            self.ctx.reporter.event("paused", reason=reason, command=command)

    def hold_while_paused(self) -> None:
        """Between steps: wait out a pause request (resume or promote ends it)."""
        self.tick()
        reason = self.controls.paused
        if reason is not None:
            command = f"moai-deploy resume {self.ctx.environment}"
            self.ctx.reporter.event("paused", reason=reason, command=command)
            self.wait_until(lambda: self.controls.paused is None, None)

    # -- background analysis ------------------------------------------------------------

    def start_background(self, spec: AnalysisSpec, target: AnalysisTarget) -> None:
        """Start the canary's background analysis once (its baseline precedes any traffic)."""
        if self._background is not None or self._background_over:
            return
        self._record = AnalysisRecord(self.ctx, self.progress.release.id, "background", spec)
        self._background = self.analysis.background(spec, target, self._record.measurement)

    def stop_background(self, verdict: AnalysisVerdict | None = None) -> None:
        """Stop it; its record ends with `verdict`, or its own verdict so far."""
        if self._background is None:
            return
        self._background.stop()
        if self._record is not None:
            final = verdict or self._background.verdict() or AnalysisVerdict(SUCCESSFUL, "stopped")
            self._record.finish(final)
        self._background = None

    def _check_router_health(self) -> None:
        st = self.progress.state
        if st.rolling or st.stable_group is None or not 0 < st.weight < 100:
            return
        backend = self.ctx.backend_name(st.new_group)
        reason = self._health.down(backend, lambda: self.traffic.routed_urls(backend))
        if reason is None:
            return
        failed = AnalysisVerdict(FAILED, f"router-health failed ({reason})")
        if self._record is not None:  # the analysis counts it as a failed measurement
            self._record.measurement(
                {
                    "metric": "router-health",
                    "phase": FAILED,
                    "value": 0.0,
                    "at": time.time(),
                    "message": reason,
                    "condition": "servers up > 0",
                }
            )
        self.stop_background(failed)
        raise AbortRequested(failed.message)
