"""The post-deploy watch: after the switch, the release stays under watch for
`monitoring.watch.duration` before it is marked live; a firing alert for the new version
(from the local monitoring stack's Prometheus) or a failed analysis in that window aborts
it, which sends the traffic back to the old version (still running: the old colour or the
stable canary group is only scaled down after the watch).

One step kind, `watch`, planned just before `promote` (see `with_watch`) and run by
`run_watch` (`steps/__init__.py` maps the kind to it); its analysis is on record like any.
"""

from __future__ import annotations

import time
from typing import Any

from moai_deploy.errors import ReleaseFailedError
from moai_deploy.monitor.alerts import Alert, PrometheusQueryError, alerts
from moai_deploy.monitor.stack import running_state, stack_paths
from moai_deploy.monitor.targets import write_environment_targets
from moai_deploy.rollout.analysis_record import AnalysisRecord
from moai_deploy.rollout.context import RolloutContext
from moai_deploy.rollout.errors import AnalysisFailedError
from moai_deploy.rollout.gateway import FAILED, AnalysisVerdict
from moai_deploy.rollout.parts import Rollout
from moai_deploy.rollout.plan import Situation, Step
from moai_deploy.spec.monitoring import WatchSpec

KIND = "watch"
MAX_QUERY_ERRORS = 3
_TICK = 0.05


class WatchFailedError(AnalysisFailedError):
    """The release misbehaved during its post-deploy watch (judged bad: it is aborted)."""


def with_watch(steps: list[Step], ctx: RolloutContext, situation: Situation) -> list[Step]:
    """`steps` with the environment's watch right before `promote`. None on a first deploy
    (nothing to go back to) or a rollback inside the rollback window (already proven)."""
    seconds = ctx.loaded.spec.monitoring_of(ctx.environment).watch.duration
    if (
        seconds <= 0
        or not situation.has_stable
        or situation.skip_analysis
        or not any(s.kind == "promote" for s in steps)
    ):
        return steps
    at = next(i for i, s in enumerate(steps) if s.kind == "promote")
    watch = Step(KIND, f"watch the release {seconds:g}s after the switch", duration=seconds)
    return [*steps[:at], watch, *steps[at:]]


def _prometheus(host: Rollout) -> str:
    paths = stack_paths(host.ctx.layout.root, host.ctx.loaded.path)
    state = running_state(paths)
    if state is None:
        raise ReleaseFailedError(
            "the post-deploy watch follows the alerts of the local monitoring stack, which is "
            "not running\n    fix: `moai-deploy monitor up`, or set monitoring.watch.alerts: "
            "false (and a watch analysis)"
        )
    # The new version's instances are scraped from now on, not only after the release.
    ctx = host.ctx
    write_environment_targets(
        paths.targets, ctx.environment, ctx.runtime.list(ctx.service, ctx.environment)
    )
    return f"http://127.0.0.1:{state.ports.prometheus}"


def _firing(prometheus: str, host: Rollout) -> list[Alert]:
    ctx, version = host.ctx, host.request.version
    return [
        alert
        for alert in alerts(prometheus, ctx.service, ctx.environment)
        if alert.state == "firing" and alert.labels.get("version", version) == version
    ]


def run_watch(host: Rollout, step: Step) -> str:
    """Watch for `step.duration` seconds; raise WatchFailedError at the first sign of trouble."""
    if host.skipping:
        return "skipped: promoted in full"
    spec: WatchSpec = host.ctx.loaded.spec.monitoring_of(host.ctx.environment).watch
    seconds = step.duration or 0.0
    prometheus = _prometheus(host) if spec.alerts else None
    record, background = None, None
    if spec.analysis is not None:
        record = AnalysisRecord(host.ctx, host.progress.release.id, KIND, spec.analysis)
        background = host.analysis.background(spec.analysis, host.target(), record.measurement)
    started = time.monotonic()
    try:
        _watch_loop(host, spec, prometheus, background, started + seconds)
    finally:
        if background is not None and record is not None:
            background.stop()
            record.finish(background.verdict() or AnalysisVerdict("successful", "watch over"))
    how = " and ".join(n for n, on in (("alerts", prometheus), ("analysis", background)) if on)
    host.ctx.ledger.update_meta(
        host.progress.release.id, {"watch": {"passed": True, "seconds": seconds, "by": how}}
    )
    return f"passed its watch: {seconds:g}s without a firing alert or a failed analysis ({how})"


def _watch_loop(
    host: Rollout, spec: WatchSpec, prometheus: str | None, background: Any, until: float
) -> None:
    started, next_poll, errors = time.monotonic(), 0.0, 0
    while time.monotonic() < until:
        host.lookout.tick()  # abort requests from other commands
        elapsed = time.monotonic() - started
        verdict = background.verdict() if background is not None else None
        if verdict is not None and verdict.phase == FAILED:
            raise WatchFailedError(
                f"post-deploy watch: analysis failed after {elapsed:.1f}s: {verdict.message}"
            )
        if prometheus is not None and time.monotonic() >= next_poll:
            next_poll = time.monotonic() + spec.poll_interval
            try:
                firing = _firing(prometheus, host)
                errors = 0
            except PrometheusQueryError as exc:
                errors += 1
                if errors >= MAX_QUERY_ERRORS:
                    raise ReleaseFailedError(f"post-deploy watch cannot see: {exc}") from None
                continue
            if firing:
                what = "; ".join(a.describe() for a in firing)
                raise WatchFailedError(
                    f"post-deploy watch: {what}, {elapsed:.1f}s after the switch"
                )
        time.sleep(_TICK)
