"""Hooks around a release (Kamal's hooks): `pre_deploy`, `post_deploy`, `on_failure`.

Each is a list of argv commands run on the deploying machine, in the project folder,
never through a shell, with the release's facts in MOAI_DEPLOY_* variables. A failing
pre_deploy stops the release before anything is recorded or started; post_deploy and
on_failure failures are reported (and audited) but change nothing.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from moai_deploy.errors import MoaiError, ReleaseFailedError
from moai_deploy.pipeline.preflight import audit
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.context import ReleaseRequest
from moai_deploy.rollout.reporter import Reporter

HOOK_KINDS = ("pre_deploy", "post_deploy", "on_failure")
OUTPUT_KEPT = 4000


@dataclass(frozen=True)
class ReleaseFacts:
    """What a hook is told about the release, as MOAI_DEPLOY_* variables."""

    environment: str
    version: str
    action: str  # deploy, rollback, retry
    commit: str | None = None
    release_id: int | None = None
    status: str = ""  # succeeded, failed, aborted, rolled_back ("" before the release)
    error: str = ""  # why it failed (on_failure)

    def variables(self, project: Project) -> dict[str, str]:
        spec = project.loaded.spec
        strategy = project.environment(self.environment).strategy.type
        values = {
            "SERVICE": project.service,
            "ENVIRONMENT": self.environment,
            "VERSION": self.version,
            "ACTION": self.action,
            "COMMIT": self.commit or "",
            "RELEASE_ID": "" if self.release_id is None else str(self.release_id),
            "STRATEGY": strategy,
            "STATUS": self.status,
            "ERROR": self.error[:2000],
            "URL": f"http://{spec.traffic.host}:{spec.port_of(self.environment)}",
        }
        return {f"MOAI_DEPLOY_{key}": value for key, value in values.items()}


def _run(
    argv: tuple[str, ...], project: Project, env: dict[str, str], timeout: float
) -> tuple[int, str]:
    try:
        done = subprocess.run(
            list(argv), cwd=project.loaded.project_dir, env=env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, errors="replace", timeout=timeout, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return -1, f"timed out after {timeout:g}s"
    except OSError as exc:
        return 127, f"cannot run {argv[0]}: {exc}"
    return done.returncode, (done.stdout + done.stderr)[-OUTPUT_KEPT:]


def run_hooks(project: Project, kind: str, facts: ReleaseFacts, reporter: Reporter) -> None:
    """Run the spec's `hooks.<kind>` commands in order (see the module docstring)."""
    hooks = project.loaded.spec.service.hooks
    commands: tuple[tuple[str, ...], ...] = getattr(hooks, kind)
    if not commands:
        return
    env = {**os.environ, **facts.variables(project)}
    secrets = project.secrets()
    secrets.resolve(project.environment(facts.environment).env)  # to mask them in output
    redact = secrets.redact
    for argv in commands:
        shown = " ".join(argv)
        reporter.step_started(f"hook {kind}", shown)
        code, output = _run(argv, project, env, hooks.timeout)
        output = redact(output)
        outcome = "succeeded" if code == 0 else "failed"
        audit(project, facts.environment, f"hook_{kind}", outcome, command=shown,
              exit_code=code, output=output, release=facts.release_id)  # fmt: skip
        last = next(reversed(output.strip().splitlines()), "")
        detail = f"exit {code}" + (f": {last[:120]}" if last else "")
        reporter.step_finished(f"hook {kind}", outcome, detail)
        if code == 0:
            continue
        if kind == "pre_deploy":
            raise ReleaseFailedError(
                f"pre_deploy hook `{shown}` exited {code}; nothing was released\n{output[-1500:]}"
            )
        reporter.event("warning", message=f"{kind} hook `{shown}` exited {code}")


@dataclass
class HookedRelease:
    """What `around_release` learns while the release runs: its id, once recorded."""

    release_id: int | None = None


@contextmanager
def around_release(
    project: Project, environment: str, request: ReleaseRequest, reporter: Reporter
) -> Iterator[HookedRelease]:
    """pre_deploy before the block; post_deploy after it, or on_failure when it raised."""
    facts = ReleaseFacts(environment, request.version, request.action, request.commit_sha)
    run_hooks(project, "pre_deploy", facts, reporter)
    hooked = HookedRelease()
    try:
        yield hooked
    except MoaiError as exc:
        status = project.ledger.get_release(hooked.release_id).status if hooked.release_id else ""
        failed = replace(facts, release_id=hooked.release_id, status=status, error=str(exc))
        run_hooks(project, "on_failure", failed, reporter)
        raise
    if hooked.release_id is not None:
        status = project.ledger.get_release(hooked.release_id).status
        run_hooks(project, "post_deploy", replace(facts, release_id=hooked.release_id,
                                                   status=status), reporter)  # fmt: skip
