"""Begin a new rollout, or pick up one a killed deployer left behind."""

from __future__ import annotations

from pathlib import Path

from moai_deploy.errors import BadInputError
from moai_deploy.ledger.models import ReleaseStatus, StepOutcome
from moai_deploy.ledger.records import ReleaseRecord
from moai_deploy.rollout.context import ReleaseRequest, RolloutContext
from moai_deploy.rollout.engine import RolloutEngine
from moai_deploy.rollout.gateway import AnalysisGateway
from moai_deploy.rollout.instances import other_group
from moai_deploy.rollout.plan import Situation, plan
from moai_deploy.rollout.progress import RolloutRun
from moai_deploy.rollout.release_command import runs_release_command
from moai_deploy.rollout.state import RolloutState, plan_digest
from moai_deploy.rollout.watch import with_watch
from moai_deploy.trace import release_specs


def _stable(ctx: RolloutContext) -> tuple[ReleaseRecord | None, str | None]:
    """The live release and its group, if its instances still run."""
    live = ctx.ledger.live_release(ctx.service, ctx.environment)
    group = live.meta.get("group") if live is not None else None
    if group is None:
        return live, None
    running = [
        i
        for i in ctx.runtime.list(ctx.service, ctx.environment)
        if i.group == group and i.state.alive
    ]
    return live, (group if running else None)


def required_approvals(ctx: RolloutContext, request: ReleaseRequest) -> int:
    """Approvals the environment asks for; a rollback restores service without waiting."""
    rule = ctx.config.approvals
    return 0 if rule is None or request.action == "rollback" else rule.required


def begin(ctx: RolloutContext, request: ReleaseRequest, analysis: AnalysisGateway) -> RolloutEngine:
    """Record a new release and its plan; the returned engine runs it."""
    live, stable_group = _stable(ctx)
    approvals = required_approvals(ctx, request)
    situation = Situation(
        ctx.config.replicas, stable_group is not None, request.skip_analysis, approvals,
        release_command=runs_release_command(ctx, request.rollback_of),
    )  # fmt: skip
    steps = with_watch(plan(ctx.config.strategy, situation), ctx, situation)
    state = RolloutState(
        new_group=other_group(stable_group),
        stable_group=stable_group,
        stable_release=live.id if live is not None else None,
        plan_digest=plan_digest(steps),
        skip_analysis=request.skip_analysis,
        approvals=approvals,
    )
    release = ctx.ledger.create_release(
        service=ctx.service,
        environment=ctx.environment,
        version=request.version,
        commit_sha=request.commit_sha,
        spec_hash=ctx.loaded.digest,
        artifact=str(request.snapshot),
        strategy=ctx.config.strategy.type,
        deployed_by=request.actor,
        rollback_of=request.rollback_of,
        meta={"group": state.new_group, **state.to_meta()},
    )
    ctx.ledger.update_meta(release.id, {"specs": release_specs(request.snapshot)})
    ctx.reporter.event("release_created", release=release.id, version=request.version)
    release = ctx.ledger.transition(release.id, ReleaseStatus.IN_PROGRESS)
    return RolloutEngine(ctx, RolloutRun(release, state, steps, request), analysis)


def resume(
    ctx: RolloutContext, release: ReleaseRecord, actor: str, analysis: AnalysisGateway
) -> RolloutEngine:
    """An engine that continues `release` from its last confirmed step."""
    try:
        state = RolloutState.from_meta(release.meta)
    except (TypeError, ValueError) as exc:
        raise BadInputError(f"release #{release.id} cannot be resumed: {exc}") from None
    situation = Situation(
        ctx.config.replicas, state.stable_group is not None, state.skip_analysis, state.approvals,
        release_command=runs_release_command(ctx, release.rollback_of),
    )  # fmt: skip
    steps = with_watch(plan(ctx.config.strategy, situation), ctx, situation)
    if plan_digest(steps) != state.plan_digest:
        raise BadInputError(
            f"release #{release.id} was planned from a different spec\n"
            "    fix: restore the spec it started with, or `moai-deploy abort` it"
        )
    for step in ctx.ledger.steps(release.id):
        if step.outcome == StepOutcome.RUNNING:
            message = "interrupted: the deploying process stopped"
            ctx.ledger.finish_step(step.id, StepOutcome.FAILED, message)
    request = ReleaseRequest(
        version=release.version,
        commit_sha=release.commit_sha,
        snapshot=Path(release.artifact or ""),
        actor=actor,
        rollback_of=release.rollback_of,
        action="resume",
        skip_analysis=state.skip_analysis,
    )
    ctx.reporter.event("resumed", release=release.id, step=state.step)
    return RolloutEngine(ctx, RolloutRun(release, state, steps, request), analysis)
