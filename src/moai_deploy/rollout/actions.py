"""What each plan step does, through the runtime, router, ledger and analysis protocols.

Every action is idempotent: a resumed rollout re-runs the step that was interrupted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from moai_deploy.errors import ReleaseFailedError
from moai_deploy.ledger.records import ReleaseRecord
from moai_deploy.rollout import health
from moai_deploy.rollout.analysis_record import AnalysisRecord
from moai_deploy.rollout.context import ReleaseRequest, RolloutContext
from moai_deploy.rollout.gateway import (
    SUCCESSFUL,
    AnalysisGateway,
    AnalysisTarget,
    AnalysisVerdict,
    BackgroundAnalysis,
)
from moai_deploy.rollout.instances import instance_name
from moai_deploy.rollout.plan import Step
from moai_deploy.rollout.routing import GroupShare, build_routing
from moai_deploy.rollout.state import RolloutState
from moai_deploy.rollout.workloads import group_workloads
from moai_deploy.runtime.base import Artifact, InstanceState, InstanceStatus, ReleaseSource
from moai_deploy.traffic.base import Routing


@dataclass
class RolloutRun:
    """One release being rolled out: its ledger record, persisted state, plan and code."""

    release: ReleaseRecord
    state: RolloutState
    steps: list[Step]
    request: ReleaseRequest


class ProgressDeadlineError(ReleaseFailedError):
    """New instances did not become ready before the strategy's progress deadline."""


class RolloutBase:
    """Shared plumbing of the engine: state, instances, routing, redaction."""

    def __init__(self, ctx: RolloutContext, run: RolloutRun, analysis: AnalysisGateway) -> None:
        self.ctx = ctx
        self.release = run.release
        self.state = run.state
        self.request = run.request
        self.steps = run.steps
        self.analysis = analysis
        self.artifact: Artifact | None = None
        self.background: BackgroundAnalysis | None = None
        self.background_record: AnalysisRecord | None = None
        self.background_over = False  # decided and acted on: not started again

    def ledger_release(self) -> ReleaseRecord:
        return self.ctx.ledger.get_release(self.release.id)

    def save(self) -> None:
        self.ctx.ledger.update_meta(self.release.id, self.state.to_meta())

    def redact(self, text: str) -> str:
        return self.ctx.secrets.redact(text)

    def group(self, group: str | None) -> list[InstanceStatus]:
        if group is None:
            return []
        found = self.ctx.runtime.list(self.ctx.service, self.ctx.environment)
        return sorted((i for i in found if i.group == group), key=lambda i: i.name)

    def new_instances(self) -> list[InstanceStatus]:
        return [i for i in self.group(self.state.new_group) if i.version == self.request.version]

    def shares(self) -> list[GroupShare]:
        st, ctx = self.state, self.ctx
        if st.rolling:
            old = [i for i in self.group(st.stable_group) if i.name in st.routed_old]
            new = [i for i in self.group(st.new_group) if i.name in st.routed_new]
            # Per-instance balance: each group's share follows its routed instance count.
            new_share = round(100 * len(new) / max(1, len(old) + len(new)))
            return [
                GroupShare(ctx.backend_name(st.stable_group or "none"), 100 - new_share, old),
                GroupShare(ctx.backend_name(st.new_group), new_share, new),
            ]
        shares = [GroupShare(ctx.backend_name(st.new_group), st.weight, self.new_instances())]
        if st.stable_group is not None:
            stable = self.group(st.stable_group)
            shares.insert(0, GroupShare(ctx.backend_name(st.stable_group), 100 - st.weight, stable))
        return shares

    def apply_routing(self, shares: list[GroupShare] | None = None) -> Routing:
        ctx = self.ctx
        routing = build_routing(
            ctx.route,
            ctx.environment,
            ctx.loaded.spec.service.ready_path,
            shares if shares is not None else self.shares(),
        )
        ctx.router.set_weights(routing)
        ctx.router.verify(routing, timeout=ctx.config.strategy.verify_timeout)
        ctx.reporter.event("weights", weights=routing.weights())
        return routing

    def target(self) -> AnalysisTarget:
        stable = self.state.stable_group
        return AnalysisTarget(
            canary=self.ctx.backend_name(self.state.new_group),
            stable=self.ctx.backend_name(stable) if stable else None,
        )

    def background_verdict(self) -> AnalysisVerdict | None:
        return self.background.verdict() if self.background is not None else None

    def stop_background(self) -> None:
        """Stop the background analysis; its record ends with its verdict so far."""
        if self.background is not None:
            self.background.stop()
            if self.background_record is not None:
                verdict = self.background.verdict() or AnalysisVerdict(SUCCESSFUL, "stopped")
                self.background_record.finish(verdict)
            self.background = None

    def restore_stable_routing(self) -> None:
        """Everything to the stable version (or no route at all when there is none)."""
        st = self.state
        if st.stable_group is None:
            if self.ctx.router.current(self.ctx.route) is not None and st.weight > 0:
                self.ctx.router.remove(self.ctx.route)
            return
        if not self._route_back_fast(self.ctx.backend_name(st.stable_group)):
            stable = self.group(st.stable_group)
            if not stable:
                return
            self.apply_routing([GroupShare(self.ctx.backend_name(st.stable_group), 100, stable)])
        st.weight, st.rolling = 0, False
        self.save()

    def _route_back_fast(self, backend: str) -> bool:
        """Stable's servers are already in the router: reuse them, skip the runtime round trip
        (every millisecond here is traffic on the bad version)."""
        ctx = self.ctx
        current = ctx.router.current(ctx.route)
        known = [b for b in (current.backends if current else ()) if b.name == backend and b.urls]
        if not known or current is None:
            return False
        routing = replace(current, backends=(replace(known[0], weight=100),))
        ctx.router.set_weights(routing)
        ctx.router.verify(routing, timeout=ctx.config.strategy.verify_timeout)
        ctx.reporter.event("weights", weights=routing.weights())
        return True

    def restore_stable_capacity(self) -> None:
        """After a rolling update is undone: restart the old instances it had drained."""
        st, ctx = self.state, self.ctx
        if st.stable_group is None or st.stable_release is None:
            return
        running = {i.name for i in self.group(st.stable_group) if i.state is InstanceState.RUNNING}
        missing = [
            index
            for index in range(ctx.config.replicas)
            if instance_name(ctx.service, ctx.environment, st.stable_group, index) not in running
        ]
        if not missing:
            return
        stable = ctx.ledger.get_release(st.stable_release)
        artifact = self.artifact_of(stable.version, stable.meta, Path(stable.artifact or ""))
        specs = [
            spec
            for i in missing
            for spec in group_workloads(ctx, artifact, stable, st.stable_group, range(i, i + 1))
        ]
        ctx.runtime.start(specs)
        names = {s.name for s in specs}
        failures = health.wait_ready(
            lambda: [i for i in self.group(st.stable_group) if i.name in names],
            ctx.loaded.spec.service.ready_path,
            ctx.config.health_check_timeout,
            accept=ctx.loaded.spec.service.ready_status,
        )
        if failures:
            raise ReleaseFailedError(self.describe(failures, self.group(st.stable_group)))
        stable_all = self.group(st.stable_group)
        self.apply_routing([GroupShare(ctx.backend_name(st.stable_group), 100, stable_all)])

    def stop_new_group(self) -> None:
        names = [i.name for i in self.group(self.state.new_group)]
        if names:
            self.ctx.runtime.stop(names)

    # -- starting and checking instances -------------------------------------------------

    def artifact_of(self, version: str, meta: Mapping[str, object], snapshot: Path) -> Artifact:
        """A release's recorded artifact when the runtime still has it, else prepared anew."""
        recorded = meta.get("artifact")
        known = Artifact.from_meta(recorded) if isinstance(recorded, dict) else None
        source = ReleaseSource(self.ctx.service, version, snapshot)
        return self.ctx.runtime.prepare(source, known)

    def ensure_artifact(self) -> Artifact:
        """This release's artifact: built by its build step (or again after a resume)."""
        if self.artifact is None:
            meta = dict(self.ledger_release().meta)
            if "artifact" not in meta and self.request.artifact is not None:
                meta["artifact"] = self.request.artifact.to_meta()
            self.artifact = self.artifact_of(self.request.version, meta, self.request.snapshot)
        return self.artifact

    def start_group(self, count: int, first_index: int = 0) -> list[str]:
        """Start `count` new-version instances numbered from `first_index`; reuse running ones."""
        ctx, st = self.ctx, self.state
        names = [
            instance_name(ctx.service, ctx.environment, st.new_group, i)
            for i in range(first_index, first_index + count)
        ]
        running = {i.name: i for i in self.group(st.new_group)}
        if all(
            n in running
            and running[n].version == self.request.version
            and running[n].state is InstanceState.RUNNING
            for n in names
        ):
            return names
        ctx.runtime.stop([n for n in names if n in running])
        workloads = group_workloads(
            ctx,
            self.ensure_artifact(),
            self.release,
            st.new_group,
            range(first_index, first_index + count),
        )
        ctx.runtime.start(workloads)
        return names

    def await_ready(self, names: list[str]) -> None:
        """Wait for readiness within the health timeout and the progress deadline."""
        config = self.ctx.config
        deadline = config.strategy.progress_deadline
        timeout = min(config.health_check_timeout, deadline)

        def listed() -> list[InstanceStatus]:
            return [i for i in self.group(self.state.new_group) if i.name in names]

        service = self.ctx.loaded.spec.service
        failures = health.wait_ready(
            listed, service.ready_path, timeout, accept=service.ready_status
        )
        if not failures:
            return
        text = self.describe(failures, listed())
        if deadline < config.health_check_timeout and "not ready after" in text:
            raise ProgressDeadlineError(f"progress deadline ({deadline:g}s) exceeded:\n{text}")
        raise ReleaseFailedError(text)

    def describe(
        self, failures: list[health.HealthFailure], instances: list[InstanceStatus]
    ) -> str:
        lines = [f"{f.instance}: {f.reason}" for f in failures]
        if failures:
            name = failures[0].instance
            tail = self.ctx.runtime.logs(name, 10).splitlines()
            known = {i.name: i.log_file for i in instances}
            where = known.get(name) or f"`moai-deploy logs` of {name}"
            if tail:
                lines += [f"  last lines of {where}:", *(f"  | {t}" for t in tail)]
        return self.redact("\n".join(lines))

    def smoke_names(self, names: list[str]) -> str:
        spec = self.ctx.loaded.spec.service
        paths = list(dict.fromkeys([spec.health_path, *self.ctx.config.strategy.smoke_paths]))
        instances = [i for i in self.group(self.state.new_group) if i.name in names]
        failures = health.smoke_test(instances, paths, accept=spec.ready_status)
        if failures:
            raise ReleaseFailedError(self.describe(failures, instances))
        return "passed: " + ", ".join(paths)

    def steps_after(self, step: Step) -> int:
        return len(self.steps) - 1 - self.steps.index(step)
