"""`moai-deploy ship`: the spec's pipeline, stage by stage, recorded in the ledger.

A stage deploys its environment (required gates, build, approvals and the strategy all
come with the deploy), then runs its test commands against the environment's URL. The
first failure stops the pipeline: a failed deploy was already undone by its rollout; a
failed test rolls that environment back to its previous release (or stops it when there
was none). Later stages never run.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

from moai_deploy.build.snapshot import inspect_source
from moai_deploy.errors import BadInputError, MoaiError, ReleaseFailedError
from moai_deploy.ledger.pipelines import PipelineRecord, PipelineStore
from moai_deploy.notify.base import Notification
from moai_deploy.pipeline import operations
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.lock import actor
from moai_deploy.rollout.reporter import NullReporter, Reporter
from moai_deploy.spec.pipeline import PipelineStage, TestCommand

_OUTPUT_KEPT = 2000  # characters of a test command's output kept in its stage record


@dataclass
class _Run:
    project: Project
    store: PipelineStore
    run_id: int
    version: str
    reporter: Reporter

    def notify(self, event: str, message: str = "") -> None:
        if not self.project.loaded.spec.notifications.webhooks:
            return
        note = Notification(event, self.project.service, None, None, self.version, actor(), message)
        for notifier in self.project.notifiers:
            notifier.notify(note)

    def fail(self, message: str) -> ReleaseFailedError:
        self.store.finish(self.run_id, "failed", message)
        self.notify("pipeline_failed", message)
        self.reporter.event("pipeline_failed", run=self.run_id, message=message)
        return ReleaseFailedError(f"pipeline #{self.run_id} failed: {message}")


def ship(
    project: Project, version: str | None = None, reporter: Reporter | None = None
) -> PipelineRecord:
    """Run every stage of the spec's pipeline in order; ReleaseFailedError on the first failure."""
    spec = project.loaded.spec.pipeline
    if spec is None:
        raise BadInputError("the spec has no `pipeline:` section\n    fix: add pipeline.stages")
    source = inspect_source(project.loaded.project_dir)
    version = operations.validate_version(version) if version else source.default_version()
    if version is None:
        raise BadInputError("no git commit to name the release after\n    fix: pass --version")
    store = PipelineStore(project.ledger)
    run = _Run(
        project,
        store,
        store.start(project.service, version, source.commit_sha, actor()),
        version,
        reporter or NullReporter(),
    )
    run.notify("pipeline_started")
    run.reporter.event("pipeline_started", run=run.run_id, version=version)
    for stage in spec.stages:
        _deploy_stage(run, stage)
        for test in stage.tests:
            _test_stage(run, stage, test)
    store.finish(run.run_id, "succeeded")
    run.notify("pipeline_succeeded")
    record = store.get(run.run_id)
    assert record is not None
    return record


def _deploy_stage(run: _Run, stage: PipelineStage) -> None:
    env = stage.environment
    stage_id = run.store.start_stage(run.run_id, "deploy", f"deploy {env}", env)
    run.reporter.event("pipeline_stage", stage=f"deploy {env}")
    try:
        release = operations.deploy(run.project, env, run.version, run.reporter)
    except MoaiError as exc:
        latest = run.project.ledger.list_releases(run.project.service, env, limit=1)
        run.store.finish_stage(stage_id, "failed", str(exc), latest[0].id if latest else None)
        raise run.fail(f"deploy {env}: {exc}") from None
    run.store.finish_stage(stage_id, "succeeded", f"{release.version} live", release.id)


def _test_stage(run: _Run, stage: PipelineStage, test: TestCommand) -> None:
    env = stage.environment
    project = run.project
    stage_id = run.store.start_stage(run.run_id, "test", test.name, env)
    run.reporter.event("pipeline_stage", stage=f"test {test.name} against {env}")
    url = f"http://{project.loaded.spec.traffic.host}:{project.loaded.spec.port_of(env)}"
    passed, output = _run_test(test, project, url, env)
    run.store.finish_stage(stage_id, "succeeded" if passed else "failed", output)
    if passed:
        return
    _roll_back_stage(run, env)
    raise run.fail(f"test {test.name} against {env} failed")


def _run_test(test: TestCommand, project: Project, url: str, env: str) -> tuple[bool, str]:
    environ = {**os.environ, "MOAI_DEPLOY_URL": url, "MOAI_DEPLOY_ENVIRONMENT": env}
    try:
        done = subprocess.run(
            list(test.command),
            cwd=project.loaded.project_dir,
            env=environ,
            capture_output=True,
            text=True,
            timeout=test.timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, f"timed out after {test.timeout:g}s"
    except OSError as exc:
        return False, f"could not run {test.command[0]}: {exc.strerror}"
    output = (done.stdout + done.stderr)[-_OUTPUT_KEPT:]
    return done.returncode == 0, f"exit {done.returncode}\n{output}".strip()


def _roll_back_stage(run: _Run, env: str) -> None:
    project = run.project
    stage_id = run.store.start_stage(run.run_id, "rollback", f"roll back {env}", env)
    earlier = [
        r
        for r in project.ledger.succeeded_releases(project.service, env)
        if r.version != run.version
    ]
    try:
        if earlier:
            release = operations.rollback(project, env, None, run.reporter)
            run.store.finish_stage(stage_id, "succeeded", f"back to {release.version}", release.id)
        else:
            stopped = operations.down(project, env)
            run.store.finish_stage(stage_id, "succeeded", f"no earlier release: stopped {stopped}")
    except MoaiError as exc:
        run.store.finish_stage(stage_id, "failed", str(exc))
