"""Blue-green: start the idle colour, check it, switch all traffic, retire the old colour.

`plan` is pure (spec -> steps); `BlueGreenRollout` applies the steps through the runtime
and traffic-router protocols, persisting each step in the ledger before acting on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from moai_deploy.build.pyenv import PythonEnv, ensure_env, interpreter_env
from moai_deploy.errors import MoaiError, ReleaseFailedError
from moai_deploy.ledger.records import ReleaseRecord
from moai_deploy.rollout import health
from moai_deploy.rollout.context import ReleaseRequest, RolloutContext
from moai_deploy.rollout.instances import GroupPlan, build_instances, other_group
from moai_deploy.runtime.base import InstanceState, InstanceStatus, free_port
from moai_deploy.spec.models import BlueGreenStrategy
from moai_deploy.traffic.base import Routing, TrafficError, WeightedBackend


@dataclass(frozen=True)
class PlannedStep:
    kind: str
    description: str


def plan(strategy: BlueGreenStrategy, replicas: int) -> list[PlannedStep]:
    """The steps of a blue-green release, in order."""
    return [
        PlannedStep("build", "prepare the release's Python environment"),
        PlannedStep("start", f"start {replicas} instance(s) of the idle colour"),
        PlannedStep("wait_ready", "wait until every new instance is ready"),
        PlannedStep("smoke", "smoke-test the new instances directly"),
        PlannedStep("switch", "switch all traffic to the new colour and verify"),
        PlannedStep("scale_down", f"keep the old colour {strategy.scale_down_delay:g}s, then stop"),
    ]


class BlueGreenRollout:
    """Runs one blue-green release (a deploy or a rollback) to completion or failure."""

    def __init__(self, ctx: RolloutContext, request: ReleaseRequest) -> None:
        self.ctx = ctx
        self.request = request
        self.release: ReleaseRecord | None = None
        self.python_env: PythonEnv | None = None
        self.live = ctx.ledger.live_release(ctx.service, ctx.environment)
        self.old_group: str | None = self.live.meta.get("group") if self.live else None
        self.group = other_group(self.old_group)
        self.new_names: list[str] = []
        self.previous_routing: Routing | None = None
        self.switched = False

    def run(self) -> ReleaseRecord:
        """Run every step; on failure clean up, leave traffic as it was and raise."""
        ctx, req = self.ctx, self.request
        self.release = ctx.ledger.create_release(
            service=ctx.service,
            environment=ctx.environment,
            version=req.version,
            commit_sha=req.commit_sha,
            spec_hash=ctx.loaded.digest,
            artifact=str(req.snapshot),
            strategy="blue_green",
            deployed_by=req.actor,
            rollback_of=req.rollback_of,
            meta={"group": self.group},
        )
        ctx.reporter.event("release_created", release=self.release.id, version=req.version)
        self.release = ctx.ledger.transition(self.release.id, "in_progress")
        handlers: dict[str, Callable[[], str]] = {
            "build": self._build,
            "start": self._start,
            "wait_ready": self._wait_ready,
            "smoke": self._smoke,
            "switch": self._switch,
            "scale_down": self._scale_down,
        }
        try:
            for step in plan(ctx.config.strategy, ctx.config.replicas):
                self._run_step(step, handlers[step.kind])
        except (MoaiError, TrafficError, OSError) as exc:
            if self.release.status == "succeeded":
                # Traffic is already on the new release; only the clean-up failed.
                ctx.reporter.event("cleanup_failed", detail=ctx.secrets.redact(str(exc)))
                return ctx.ledger.get_release(self.release.id)
            self._fail(exc)
            raise ReleaseFailedError(ctx.secrets.redact(str(exc))) from exc
        return ctx.ledger.get_release(self.release.id)

    def _run_step(self, step: PlannedStep, handler: Callable[[], str]) -> None:
        assert self.release is not None
        ledger, reporter = self.ctx.ledger, self.ctx.reporter
        record = ledger.start_step(self.release.id, step.kind, step.description)
        reporter.step_started(step.kind, step.description)
        try:
            detail = handler()
        except Exception as exc:
            message = self.ctx.secrets.redact(str(exc))
            ledger.finish_step(record.id, "failed", message)
            reporter.step_finished(step.kind, "failed", message)
            raise
        ledger.finish_step(record.id, "succeeded", detail)
        reporter.step_finished(step.kind, "succeeded", detail)

    def _build(self) -> str:
        python = self.ctx.loaded.spec.service.python
        if python is not None:
            self.python_env = interpreter_env(python)
            return f"using interpreter {self.python_env.python}"
        self.python_env = ensure_env(self.request.snapshot, self.ctx.cache_dir)
        how = "reused" if self.python_env.reused else "built"
        return f"{how} environment {self.python_env.python.parent.parent.name}"

    def _instances(self, group: str) -> list[InstanceStatus]:
        found = self.ctx.runtime.list(self.ctx.service, self.ctx.environment)
        return [i for i in found if i.group == group]

    def _start(self) -> str:
        ctx = self.ctx
        idle = self._instances(self.group)
        if self._reusable(idle):
            self.new_names = [i.name for i in idle]
            return f"reusing {len(idle)} running instance(s) of {self.request.version}"
        ctx.runtime.stop([i.name for i in idle])
        assert self.python_env is not None
        group_plan = GroupPlan(
            service=ctx.loaded.spec.service,
            environment=ctx.environment,
            version=self.request.version,
            group=self.group,
            workdir=self.request.snapshot / ctx.loaded.spec.service.workdir,
            env=ctx.secrets.resolve(ctx.config.env),
            python_env=self.python_env,
            log_dir=ctx.layout.logs,
        )
        ctx.layout.logs.mkdir(parents=True, exist_ok=True)
        ports = [free_port() for _ in range(ctx.config.replicas)]
        specs = build_instances(group_plan, ports)
        self.new_names = [s.name for s in specs]
        ctx.runtime.start(specs)
        ctx.ledger.update_meta(self._release_id, {"ports": ports})
        return f"{self.group}: " + ", ".join(f"{s.name} on :{s.port}" for s in specs)

    def _reusable(self, idle: list[InstanceStatus]) -> bool:
        """A rollback can switch straight back to the old colour while it still runs."""
        return (
            len(idle) == self.ctx.config.replicas
            and all(i.version == self.request.version for i in idle)
            and all(i.state is InstanceState.RUNNING for i in idle)
        )

    @property
    def _release_id(self) -> int:
        assert self.release is not None
        return self.release.id

    def _new_instances(self) -> list[InstanceStatus]:
        return [i for i in self._instances(self.group) if i.name in self.new_names]

    def _wait_ready(self) -> str:
        spec = self.ctx.loaded.spec.service
        timeout = self.ctx.config.health_check_timeout
        failures = health.wait_ready(self._new_instances, spec.ready_path, timeout)
        if failures:
            raise ReleaseFailedError(self._describe(failures))
        return f"{len(self.new_names)} instance(s) ready"

    def _smoke(self) -> str:
        spec = self.ctx.loaded.spec.service
        paths = [spec.health_path, *self.ctx.config.strategy.smoke_paths]
        failures = health.smoke_test(self._new_instances(), paths)
        if failures:
            raise ReleaseFailedError(self._describe(failures))
        return "passed: " + ", ".join(paths)

    def _describe(self, failures: list[health.HealthFailure]) -> str:
        lines = [f"{f.instance}: {f.reason}" for f in failures]
        logs = {i.name: i.log_file for i in self._new_instances()}
        for failure in failures[:1]:
            log = logs.get(failure.instance)
            if log is not None and log.is_file():
                tail = log.read_text(errors="replace").splitlines()[-10:]
                lines += [f"  last lines of {log}:", *(f"  | {t}" for t in tail)]
        return self.ctx.secrets.redact("\n".join(lines))

    def _routing(self, include_old: bool) -> Routing:
        backends = [self._backend(self.group, 100)]
        if include_old and self.old_group is not None:
            old = self._instances(self.old_group)
            if old:
                backends.append(self._backend(self.old_group, 0, old))
        return Routing(
            route=self.ctx.route,
            entrypoint=self.ctx.environment,
            backends=tuple(backends),
            health_path=self.ctx.loaded.spec.service.ready_path,
        )

    def _backend(
        self, group: str, weight: int, found: list[InstanceStatus] | None = None
    ) -> WeightedBackend:
        instances = found if found is not None else self._new_instances()
        urls = tuple(sorted(i.url for i in instances))
        return WeightedBackend(self.ctx.backend_name(group), weight, urls)

    def _switch(self) -> str:
        ctx = self.ctx
        self.previous_routing = ctx.router.current(ctx.route)
        routing = self._routing(include_old=True)
        self.switched = True
        ctx.router.set_weights(routing)
        ctx.router.verify(routing, timeout=ctx.config.strategy.verify_timeout)
        self.release = ctx.ledger.transition(self._release_id, "succeeded")
        if self.request.rollback_of is not None:
            ctx.ledger.transition(self.request.rollback_of, "rolled_back")
        return f"100% -> {self.group} ({self.request.version}), verified"

    def _scale_down(self) -> str:
        ctx = self.ctx
        if self.old_group is None:
            return "no previous colour"
        delay = ctx.config.strategy.scale_down_delay
        ctx.reporter.event("scale_down_wait", seconds=delay)
        time.sleep(delay)
        routing = self._routing(include_old=False)
        ctx.router.set_weights(routing)
        ctx.router.verify(routing, timeout=ctx.config.strategy.verify_timeout)
        old = [i.name for i in self._instances(self.old_group)]
        ctx.runtime.stop(old)
        return f"stopped {len(old)} {self.old_group} instance(s)"

    def _fail(self, exc: BaseException) -> None:
        """Undo what this release did: traffic back as it was, new instances stopped."""
        ctx = self.ctx
        if self.switched and self.previous_routing is not None:
            try:
                ctx.router.set_weights(self.previous_routing)
                ctx.router.verify(self.previous_routing)
            except TrafficError as restore_error:
                ctx.reporter.event("restore_failed", detail=str(restore_error))
        if self.new_names:
            ctx.runtime.stop(self.new_names)
        message = ctx.secrets.redact(str(exc))
        ctx.ledger.transition(self._release_id, "failed", message=message)
