"""The rollout's instances, through the runtime protocol: start a group, wait until it is
ready, smoke-test it, list and stop it. Nothing here knows which runtime runs them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from moai_deploy.ledger.records import ReleaseRecord
from moai_deploy.rollout import health
from moai_deploy.rollout.context import RolloutContext
from moai_deploy.rollout.errors import InstancesFailedError, ProgressDeadlineError
from moai_deploy.rollout.instances import instance_name
from moai_deploy.rollout.progress import Progress
from moai_deploy.rollout.workloads import group_workloads
from moai_deploy.runtime.base import Artifact, InstanceState, InstanceStatus, ReleaseSource


class Fleet:
    """The instances of one rollout's environment, old and new."""

    def __init__(self, ctx: RolloutContext, progress: Progress) -> None:
        self.ctx = ctx
        self.progress = progress
        self.artifact: Artifact | None = None

    # -- what runs ------------------------------------------------------------------

    def group(self, group: str | None) -> list[InstanceStatus]:
        """The instances of `group`, by name."""
        if group is None:
            return []
        found = self.ctx.runtime.list(self.ctx.service, self.ctx.environment)
        return sorted((i for i in found if i.group == group), key=lambda i: i.name)

    def new_instances(self) -> list[InstanceStatus]:
        """The new group's instances that run this release's version."""
        version = self.progress.request.version
        return [i for i in self.group(self.progress.state.new_group) if i.version == version]

    def stop_group(self, group: str | None) -> int:
        """Stop every instance of `group`; how many there were."""
        names = [i.name for i in self.group(group)]
        if names:
            self.ctx.runtime.stop(names)
        return len(names)

    def stop(self, names: list[str]) -> None:
        self.ctx.runtime.stop(names)

    # -- artifacts --------------------------------------------------------------------

    def artifact_of(self, version: str, meta: Mapping[str, object], snapshot: Path) -> Artifact:
        """A release's recorded artifact when the runtime still has it, else prepared anew."""
        recorded = meta.get("artifact")
        known = Artifact.from_meta(recorded) if isinstance(recorded, dict) else None
        return self.ctx.runtime.prepare(ReleaseSource(self.ctx.service, version, snapshot), known)

    def ensure_artifact(self) -> Artifact:
        """This release's artifact: built by its build step (or again after a resume)."""
        if self.artifact is None:
            request = self.progress.request
            meta = dict(self.progress.ledger_release().meta)
            if "artifact" not in meta and request.artifact is not None:
                meta["artifact"] = request.artifact.to_meta()
            self.artifact = self.artifact_of(request.version, meta, request.snapshot)
        return self.artifact

    # -- starting and checking ----------------------------------------------------------

    def start_new(self, count: int, first_index: int = 0) -> list[str]:
        """Start `count` new-version instances numbered from `first_index`; reuse running ones."""
        ctx, st, version = self.ctx, self.progress.state, self.progress.request.version
        indexes = range(first_index, first_index + count)
        names = [instance_name(ctx.service, ctx.environment, st.new_group, i) for i in indexes]
        running = {i.name: i for i in self.group(st.new_group)}
        if all(
            n in running
            and running[n].version == version
            and running[n].state is InstanceState.RUNNING
            for n in names
        ):
            return names
        ctx.runtime.stop([n for n in names if n in running])
        release = self.progress.release
        ctx.runtime.start(
            group_workloads(ctx, self.ensure_artifact(), release, st.new_group, indexes)
        )
        return names

    def start_stable(
        self, stable: ReleaseRecord, artifact: Artifact, group: str, indexes: list[int]
    ) -> None:
        """Start stable instances again (a rolling update being undone), until ready."""
        specs = [
            spec
            for i in indexes
            for spec in group_workloads(self.ctx, artifact, stable, group, range(i, i + 1))
        ]
        self.ctx.runtime.start(specs)
        names = {s.name for s in specs}
        failures = health.wait_ready(
            lambda: [i for i in self.group(group) if i.name in names],
            self.ctx.loaded.spec.service.ready_path,
            self.ctx.config.health_check_timeout,
            accept=self.ctx.loaded.spec.service.ready_status,
        )
        if failures:
            raise InstancesFailedError(self.describe(failures, self.group(group)))

    def await_ready(self, names: list[str]) -> None:
        """Wait for readiness within the health timeout and the progress deadline."""
        config = self.ctx.config
        deadline = config.strategy.progress_deadline
        timeout = min(config.health_check_timeout, deadline)
        new_group = self.progress.state.new_group

        def listed() -> list[InstanceStatus]:
            return [i for i in self.group(new_group) if i.name in names]

        service = self.ctx.loaded.spec.service
        failures = health.wait_ready(
            listed, service.ready_path, timeout, accept=service.ready_status
        )
        if not failures:
            return
        text = self.describe(failures, listed())
        timed_out = all(f.kind is health.FailureKind.NOT_READY for f in failures)
        if deadline < config.health_check_timeout and timed_out:
            raise ProgressDeadlineError(f"progress deadline ({deadline:g}s) exceeded:\n{text}")
        raise InstancesFailedError(text)

    def smoke(self, names: list[str]) -> str:
        """GET the health path and every smoke path on each instance, directly."""
        spec = self.ctx.loaded.spec.service
        paths = list(dict.fromkeys([spec.health_path, *self.ctx.config.strategy.smoke_paths]))
        group = self.progress.state.new_group
        instances = [i for i in self.group(group) if i.name in names]
        failures = health.smoke_test(instances, paths, accept=spec.ready_status)
        if failures:
            raise InstancesFailedError(self.describe(failures, instances))
        return "passed: " + ", ".join(paths)

    def describe(
        self, failures: list[health.HealthFailure], instances: list[InstanceStatus]
    ) -> str:
        """What failed, with the first failing instance's last log lines (secrets redacted)."""
        lines = [f"{f.instance}: {f.reason}" for f in failures]
        if failures:
            name = failures[0].instance
            tail = self.ctx.runtime.logs(name, 10).splitlines()
            known = {i.name: i.log_file for i in instances}
            where = known.get(name) or f"`moai-deploy logs` of {name}"
            if tail:
                lines += [f"  last lines of {where}:", *(f"  | {t}" for t in tail)]
        return self.ctx.secrets.redact("\n".join(lines))
