"""analysis: run an analysis to its verdict, on record; failed aborts the release,
inconclusive pauses for a human (`promote` continues)."""

from __future__ import annotations

from moai_deploy.rollout.analysis_record import AnalysisRecord
from moai_deploy.rollout.errors import AnalysisFailedError
from moai_deploy.rollout.gateway import FAILED, INCONCLUSIVE, AnalysisTarget, AnalysisVerdict
from moai_deploy.rollout.parts import Rollout
from moai_deploy.rollout.plan import Step
from moai_deploy.rollout.routing import GroupShare, build_routing, preview_entrypoint
from moai_deploy.spec.analysis import AnalysisSpec


def run(rollout: Rollout, step: Step) -> str:
    if rollout.skipping or step.analysis is None:
        return "skipped"
    record = AnalysisRecord(rollout.ctx, rollout.progress.release.id, step.purpose, step.analysis)
    try:
        if step.preview:
            verdict = _on_preview(rollout, step.analysis, record)
        else:
            verdict = rollout.analysis.run(
                step.analysis, rollout.target(), rollout.interrupted, record.measurement
            )
    except Exception as exc:  # an abort, or a router error around the preview
        record.finish(AnalysisVerdict(FAILED, f"interrupted: {exc}"))
        raise
    record.finish(verdict)
    if verdict.phase == FAILED:
        raise AnalysisFailedError(f"analysis failed: {verdict.message}")
    if verdict.phase == INCONCLUSIVE:
        lookout = rollout.lookout
        lookout.pause(f"analysis inconclusive: {verdict.message}")
        lookout.wait_until(lambda: lookout.controls.take_promote() is not None, None)
        return f"inconclusive ({verdict.message}), then promoted"
    return verdict.phase + (f": {verdict.message}" if verdict.message else "")


def _on_preview(rollout: Rollout, spec: AnalysisSpec, record: AnalysisRecord) -> AnalysisVerdict:
    """Judge the new version on its own preview entrypoint, before it gets real traffic."""
    ctx = rollout.ctx
    backend = f"{ctx.backend_name(rollout.state.new_group)}-preview"
    preview = build_routing(
        f"{ctx.route}-preview",
        preview_entrypoint(ctx.environment),
        ctx.loaded.spec.service.ready_path,
        [GroupShare(backend, 100, rollout.fleet.new_instances())],
    )
    ctx.router.set_weights(preview)
    try:
        ctx.router.verify(preview, timeout=ctx.config.strategy.verify_timeout)
        ctx.reporter.event("preview", route=preview.route, entrypoint=preview.entrypoint)
        target = AnalysisTarget(canary=backend, stable=None)
        return rollout.analysis.run(spec, target, rollout.interrupted, record.measurement)
    finally:
        ctx.router.remove(preview.route)
