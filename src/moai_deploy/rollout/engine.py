"""The rollout engine: runs a plan step by step, persisting state before acting on it.

The engine is built from parts (`rollout/parts.py`), not from base classes: progress (the
state on record), fleet (instances through the runtime), traffic (shares -> routing ->
verify), lookout (control requests, background analysis, router health) and one handler
per step kind (`rollout/steps/`). Every step is recorded in the ledger before it runs and
finished after; the state is saved after every transition, so a killed deployer can be
resumed (`deploy --resume`) or aborted (`abort`) from another process. Whatever stops a
rollout, it ends terminal with traffic on stable (`rollout/undo.py`).
"""

from __future__ import annotations

from dataclasses import replace

from moai_deploy.errors import ReleaseFailedError
from moai_deploy.ledger.models import ReleaseStatus, StepOutcome
from moai_deploy.ledger.records import ReleaseRecord
from moai_deploy.rollout import failpoints
from moai_deploy.rollout.context import ReleaseRequest, RolloutContext
from moai_deploy.rollout.errors import AbortRequested, undo_status
from moai_deploy.rollout.fleet import Fleet
from moai_deploy.rollout.gateway import AnalysisGateway
from moai_deploy.rollout.journal import JournalReporter
from moai_deploy.rollout.lookout import Lookout
from moai_deploy.rollout.parts import Rollout
from moai_deploy.rollout.plan import Step
from moai_deploy.rollout.progress import Progress, RolloutRun
from moai_deploy.rollout.steps import HANDLERS
from moai_deploy.rollout.traffic import Traffic
from moai_deploy.rollout.undo import undo


class RolloutEngine:
    """Executes one release's plan; `run` returns the finished release or raises."""

    def __init__(self, ctx: RolloutContext, run: RolloutRun, analysis: AnalysisGateway) -> None:
        journal = JournalReporter(ctx.ledger, run.release.id, ctx.reporter, run.request.actor)
        ctx = replace(ctx, reporter=journal)  # every event also goes to the event log
        progress = Progress(ctx.ledger, run)
        fleet = Fleet(ctx, progress)
        traffic = Traffic(ctx, progress, fleet)
        lookout = Lookout(ctx, progress, traffic, analysis)
        self.rollout = Rollout(ctx, progress, fleet, traffic, lookout, analysis)

    @property
    def release(self) -> ReleaseRecord:
        return self.rollout.progress.release

    @property
    def request(self) -> ReleaseRequest:
        return self.rollout.progress.request

    def run(self) -> ReleaseRecord:
        """Run the remaining steps; on failure or abort, traffic goes back to stable."""
        progress = self.rollout.progress
        try:
            while progress.state.step < len(progress.steps):
                step = progress.steps[progress.state.step]
                self.rollout.lookout.hold_while_paused()
                self._run_step(step)
                progress.state.step += 1
                progress.state.done = progress.state.step >= len(progress.steps)
                progress.save()
        except Exception as exc:  # whatever broke, the release ends terminal, traffic on stable
            return self._stopped(exc)
        finally:
            self.rollout.lookout.stop_background()
        return progress.ledger_release()

    def _stopped(self, exc: Exception) -> ReleaseRecord:
        ctx, progress = self.rollout.ctx, self.rollout.progress
        if isinstance(exc, AbortRequested):
            undo(self.rollout, exc.reason, exc.status)
            raise ReleaseFailedError(f"release {exc.status}: {exc.reason}") from None
        reason = ctx.secrets.redact(str(exc) or type(exc).__name__)
        if progress.ledger_release().status == ReleaseStatus.SUCCEEDED:
            ctx.reporter.event("cleanup_failed", detail=reason)  # live already: keep it
            return progress.ledger_release()
        undo(self.rollout, reason, undo_status(exc))
        raise ReleaseFailedError(reason) from exc

    def _run_step(self, step: Step) -> None:
        ctx = self.rollout.ctx
        record = ctx.ledger.start_step(self.release.id, step.kind, step.description)
        failpoints.hit(step.kind)
        ctx.reporter.step_started(step.kind, step.description)
        try:
            detail = HANDLERS[step.kind](self.rollout, step)
        except BaseException as exc:
            message = ctx.secrets.redact(str(exc)) or type(exc).__name__
            ctx.ledger.finish_step(record.id, StepOutcome.FAILED, message)
            ctx.reporter.step_finished(step.kind, StepOutcome.FAILED, message)
            raise
        ctx.ledger.finish_step(record.id, StepOutcome.SUCCEEDED, detail)
        ctx.reporter.step_finished(step.kind, StepOutcome.SUCCEEDED, detail)
