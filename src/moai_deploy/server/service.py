"""The control plane's service layer: the CLI's operations for one project, by name.

Reads share one open project (reopened when the spec file changes); every write opens
the project afresh, exactly as a CLI command does, and runs as the acting principal.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from moai_deploy.errors import NotFoundError
from moai_deploy.ledger.approvals import ApprovalStore
from moai_deploy.ledger.store import LedgerError
from moai_deploy.ledger.tokens import Role, TokenRecord
from moai_deploy.pipeline import access, approvals, control, operations
from moai_deploy.pipeline.operations import DeployOptions
from moai_deploy.pipeline.project import Project
from moai_deploy.pipeline.status import environment_status
from moai_deploy.rollout.reporter import NullReporter, Reporter
from moai_deploy.server.jobs import job_reporter

ReporterFactory = Callable[[Project], Reporter]
STATUS_TTL = 0.5  # seconds one live status read serves every reader of that environment


class ControlService:
    """Every operation the API offers; each returns JSON-ready data."""

    def __init__(self, spec_path: Path, reporter: ReporterFactory | None = None) -> None:
        self.spec_path = spec_path.resolve()
        self._reporter = reporter or (lambda _project: NullReporter())
        self._shared: Project | None = None
        self._mtime = 0.0
        self._lock = threading.Lock()
        self._status: dict[str, tuple[float, dict[str, Any]]] = {}
        self._status_locks: dict[str, threading.Lock] = {}
        self.project()  # a bad spec fails the server's start, not its first request

    # -- projects ------------------------------------------------------------------

    def project(self) -> Project:
        """The shared read-side project, reopened when the spec file changed."""
        with self._lock:
            mtime = self.spec_path.stat().st_mtime
            if self._shared is None or mtime != self._mtime:
                fresh = Project.open(self.spec_path)
                if self._shared is not None:
                    self._shared.close()
                self._shared, self._mtime = fresh, mtime
            return self._shared

    @contextmanager
    def writing(self) -> Iterator[Project]:
        """A project of its own for one write, closed afterwards (as the CLI does)."""
        project = Project.open(self.spec_path)
        try:
            yield project
        finally:
            project.close()

    def _report(self, project: Project) -> Reporter:
        """The reporter of one write: the server's, watched for its job's phase."""
        return job_reporter(self._reporter(project))

    def close(self) -> None:
        with self._lock:
            if self._shared is not None:
                self._shared.close()
                self._shared = None

    def check_environment(self, environment: str) -> None:
        if environment not in self.project().loaded.spec.environments:
            known = ", ".join(self.project().loaded.spec.environments)
            raise NotFoundError(f"unknown environment {environment!r} (known: {known})")

    # -- reads ---------------------------------------------------------------------

    def service_name(self) -> str:
        return self.project().service

    def environment_names(self) -> list[str]:
        return list(self.project().loaded.spec.environments)

    def production_environment(self) -> str:
        """`production` if the spec has it, else its last environment (DORA's default)."""
        names = self.environment_names()
        return "production" if "production" in names else names[-1]

    def environment(self, environment: str) -> dict[str, Any]:
        """Live status; concurrent readers share one read (at most STATUS_TTL old, or the
        last one while a slow read, e.g. during a rollout's start step, is under way)."""
        self.check_environment(environment)
        with self._lock:
            lock = self._status_locks.setdefault(environment, threading.Lock())
        cached = self._status.get(environment)
        if cached is not None and time.monotonic() - cached[0] < STATUS_TTL:
            return cached[1]
        if not lock.acquire(blocking=cached is None):
            return cached[1] if cached is not None else self.environment(environment)
        try:
            data = self._read_status(environment)
            self._status[environment] = (time.monotonic(), data)
            return data
        finally:
            lock.release()

    def _read_status(self, environment: str) -> dict[str, Any]:
        project = self.project()
        data = environment_status(project, environment).to_dict()
        rule = project.environment(environment).approvals
        data["approvals"] = rule.model_dump(mode="json") if rule else None
        data["strategy"] = project.environment(environment).strategy.type
        return data

    def environments(self) -> list[dict[str, Any]]:
        return [self.environment(name) for name in self.environment_names()]

    def releases(self, environment: str | None, limit: int) -> list[dict[str, Any]]:
        if environment is not None:
            self.check_environment(environment)
        project = self.project()
        return [
            r.to_dict() for r in project.ledger.list_releases(project.service, environment, limit)
        ]

    def release(self, release_id: int) -> dict[str, Any]:
        ledger = self.project().ledger
        try:
            release = ledger.get_release(release_id)
        except LedgerError:
            raise NotFoundError(f"no release with id {release_id}") from None
        if release.service != self.service_name():
            raise NotFoundError(f"no release with id {release_id}")
        data = release.to_dict()
        data["steps"] = [s.to_dict() for s in ledger.steps(release_id)]
        data["approvals"] = [a.to_dict() for a in ApprovalStore(ledger).for_release(release_id)]
        return data

    def audit(self, environment: str | None, limit: int) -> list[dict[str, Any]]:
        if environment is not None:
            self.check_environment(environment)
        project = self.project()
        return [e.to_dict() for e in project.ledger.list_audit(project.service, environment, limit)]

    def pending_approvals(self) -> list[dict[str, Any]]:
        return approvals.pending(self.project())

    def trace(self, environment: str) -> dict[str, Any]:
        from moai_deploy.trace.live import live_specs

        self.check_environment(environment)
        project = self.project()
        return live_specs(project.ledger, project.service, environment).to_dict()

    # -- writes (each one as the calling principal; see rollout.lock.acting_as) -----

    def deploy(
        self,
        environment: str,
        version: str | None,
        force_reason: str | None,
        options: DeployOptions | None = None,
    ) -> dict[str, Any]:
        self.check_environment(environment)
        with self.writing() as project:
            options = replace(options or DeployOptions(), force_reason=force_reason)
            release = operations.deploy(
                project, environment, version, self._report(project), options
            )
            return release.to_dict()

    def rollback(
        self, environment: str, to: str | None, options: DeployOptions | None = None
    ) -> dict[str, Any]:
        self.check_environment(environment)
        with self.writing() as project:
            reporter = self._report(project)
            return operations.rollback(project, environment, to, reporter, options).to_dict()

    def retry(self, environment: str, options: DeployOptions | None = None) -> dict[str, Any]:
        self.check_environment(environment)
        with self.writing() as project:
            reporter = self._report(project)
            return operations.retry(project, environment, reporter, options).to_dict()

    def promote(self, environment: str, full: bool) -> dict[str, Any]:
        self.check_environment(environment)
        with self.writing() as project:
            reporter = self._report(project)
            return control.promote(project, environment, full, reporter).to_dict()

    def set_paused(self, environment: str, paused: bool) -> dict[str, Any]:
        self.check_environment(environment)
        with self.writing() as project:
            return control.set_paused(project, environment, paused).to_dict()

    def abort(self, environment: str) -> dict[str, Any]:
        self.check_environment(environment)
        with self.writing() as project:
            return control.abort(project, environment, self._report(project)).to_dict()

    def approve(self, environment: str, comment: str) -> dict[str, Any]:
        self.check_environment(environment)
        with self.writing() as project:
            return approvals.approve(project, environment, comment).to_dict()

    def reject(self, environment: str, reason: str) -> dict[str, Any]:
        self.check_environment(environment)
        with self.writing() as project:
            reporter = self._report(project)
            return approvals.reject(project, environment, reason, reporter).to_dict()

    def gates(self, environment: str | None, only: tuple[str, ...] = ()) -> dict[str, Any]:
        from moai_deploy.gates.runner import RunOptions, run_gates

        if environment is not None:
            self.check_environment(environment)
        with self.writing() as project:
            options = RunOptions(
                only=only, environment=environment, required_only=environment is not None
            )
            run = run_gates(
                project.loaded.project_dir, project.loaded.spec.gates, project.layout, options
            )
            return run.to_dict()

    def create_token(
        self, name: str, role: Role, environment: str | None
    ) -> tuple[str, TokenRecord]:
        with self.writing() as project:
            return access.create_token(project, name, role, environment)

    def revoke_token(self, name: str) -> TokenRecord:
        with self.writing() as project:
            return access.revoke_token(project, name)

    def ship(self, version: str | None) -> dict[str, Any]:
        from moai_deploy.pipeline.ship import ship

        with self.writing() as project:
            return ship(project, version, self._report(project)).to_dict()

    def pipelines(self, limit: int) -> list[dict[str, Any]]:
        from moai_deploy.ledger.pipelines import PipelineStore

        project = self.project()
        return [p.to_dict() for p in PipelineStore(project.ledger).list(project.service, limit)]

    def pipeline(self, run_id: int) -> dict[str, Any]:
        from moai_deploy.ledger.pipelines import PipelineStore

        found = PipelineStore(self.project().ledger).get(run_id)
        if found is None or found.service != self.service_name():
            raise NotFoundError(f"no pipeline run {run_id}")
        return found.to_dict()
