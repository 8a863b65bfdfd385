"""`ControlService`: every operation of one project, for the CLI and the server alike.

The server keeps one service for its life: reads share one open project (reopened when
the spec file changes) and every write opens the project afresh, as a CLI command does,
and runs as the acting principal (`rollout.lock.acting_as`). A CLI command makes a
service for itself (`ControlService.for_command`): one project for the reads and writes
of that one command. Each operation returns JSON-ready data; the API sends it as it is,
the CLI prints it (or `--json` it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moai_deploy.errors import BadInputError, NotFoundError
from moai_deploy.ledger.store import LedgerError
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.reporter import NullReporter, Reporter

if TYPE_CHECKING:
    from moai_deploy.gates.runner import Progress
    from moai_deploy.ledger.tokens import Role, TokenRecord
    from moai_deploy.pipeline.operations import DeployOptions
    from moai_deploy.pipeline.status_view import EnvironmentStatus
    from moai_deploy.service.logs import LogQuery

ReporterFactory = Callable[[Project], Reporter]


@dataclass(frozen=True)
class GateOptions:
    """How `ControlService.gates` runs: just these gates, the advisory ones too, the cache,
    where the reports go (default: the state folder's), who watches them run."""

    only: tuple[str, ...] = ()
    advisory: bool = False
    use_cache: bool = True
    report_dir: Path | None = None
    progress: Progress | None = field(default=None, compare=False)


STATUS_TTL = 0.5  # seconds one live status read serves every reader of that environment


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0  # Project.open explains a missing or unreadable spec


class ControlService:
    """Every operation of the project at `spec_path`; each returns JSON-ready data."""

    def __init__(
        self,
        spec_path: Path,
        reporter: ReporterFactory | None = None,
        *,
        project_per_write: bool = True,
    ) -> None:
        self.spec_path = spec_path.resolve()
        self._reporter = reporter or (lambda _project: NullReporter())
        self._project_per_write = project_per_write
        self._watch: Callable[[Reporter], Reporter] = lambda reporter: reporter
        self._shared: Project | None = None
        self._mtime = 0.0
        self._lock = threading.Lock()
        self._status: dict[str, tuple[float, dict[str, Any]]] = {}
        self._status_locks: dict[str, threading.Lock] = {}
        self.project()  # a bad spec fails the server's start, not its first request

    @classmethod
    @contextmanager
    def for_command(cls, spec_path: Path) -> Iterator[ControlService]:
        """A service for one CLI command: one project, closed when the command ends."""
        service = cls(spec_path, project_per_write=False)
        try:
            yield service
        finally:
            service.close()

    def watch_reporters(self, watch: Callable[[Reporter], Reporter]) -> None:
        """Pass every write's reporter through `watch` (the server follows its jobs so)."""
        self._watch = watch

    # -- projects ------------------------------------------------------------------

    def project(self) -> Project:
        """The shared read-side project, reopened when the spec file changed."""
        with self._lock:
            mtime = _mtime(self.spec_path)
            if self._shared is None or (self._project_per_write and mtime != self._mtime):
                fresh = Project.open(self.spec_path)
                if self._shared is not None:
                    self._shared.close()
                self._shared, self._mtime = fresh, mtime
            return self._shared

    @contextmanager
    def writing(self) -> Iterator[Project]:
        """The project one write runs on: its own on a server (closed afterwards, as the
        CLI's is), the command's one in the CLI."""
        if not self._project_per_write:
            yield self.project()
            return
        project = Project.open(self.spec_path)
        try:
            yield project
        finally:
            project.close()

    def _report(self, project: Project, given: Reporter | None) -> Reporter:
        return self._watch(given if given is not None else self._reporter(project))

    def close(self) -> None:
        with self._lock:
            if self._shared is not None:
                self._shared.close()
                self._shared = None

    def check_environment(self, environment: str) -> None:
        names = self.project().loaded.spec.environments
        if environment not in names:
            raise NotFoundError(
                f"unknown environment {environment!r}\n    fix: use one of: {', '.join(names)} "
                "(or add it under `environments:` in moai-deploy.yaml)"
            )

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

    def status_views(self, environment: str | None) -> list[EnvironmentStatus]:
        """The live status of one (or every) environment as objects, for the CLI's tables
        (`environment()` is the same as data, shared by a server's readers)."""
        from moai_deploy.pipeline.status import environment_status

        names = [environment] if environment is not None else self.environment_names()
        for name in names:
            self.check_environment(name)
        return [environment_status(self.project(), name) for name in names]

    def _read_status(self, environment: str) -> dict[str, Any]:
        project = self.project()
        data = self.status_views(environment)[0].to_dict()
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
        from moai_deploy.ledger.approvals import ApprovalStore

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

    def events(
        self, environment: str | None, release: int | None, after: int, limit: int
    ) -> list[dict[str, Any]]:
        """The rollout event log, oldest first (after the event id `after`)."""
        from moai_deploy.ledger.events import EventLog

        if environment is not None:
            self.check_environment(environment)
        project = self.project()
        found = EventLog(project.ledger).since(
            after, release=release, service=project.service, environment=environment, limit=limit
        )
        return [e.to_dict() for e in found]

    def logs(self, environment: str, query: LogQuery) -> list[dict[str, Any]]:
        """The last lines of each instance's log (see service/logs.py)."""
        from moai_deploy.service.logs import read_logs

        self.check_environment(environment)
        return read_logs(self.project(), environment, query)

    def locks(self) -> list[dict[str, Any]]:
        """Who holds which environment's lock (and whether the holder is alive)."""
        from moai_deploy.service.locks import held_locks

        return held_locks(self.project())

    def pending_approvals(self) -> list[dict[str, Any]]:
        from moai_deploy.pipeline import approvals

        return approvals.pending(self.project())

    def trace(self, environment: str) -> dict[str, Any]:
        from moai_deploy.trace.live import live_specs

        self.check_environment(environment)
        project = self.project()
        return live_specs(project.ledger, project.service, environment).to_dict()

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

    def tokens(self) -> list[dict[str, Any]]:
        """Every API token (never a token's value)."""
        from moai_deploy.ledger.tokens import TokenStore

        return [t.to_dict() for t in TokenStore(self.project().ledger).list()]

    # -- writes (each one as the calling principal; see rollout.lock.acting_as) -----

    def deploy(
        self,
        environment: str,
        version: str | None,
        force_reason: str | None,
        options: DeployOptions | None = None,
        reporter: Reporter | None = None,
    ) -> dict[str, Any]:
        from moai_deploy.pipeline import operations

        self.check_environment(environment)
        with self.writing() as project:
            options = replace(options or operations.DeployOptions(), force_reason=force_reason)
            watched = self._report(project, reporter)
            return operations.deploy(project, environment, version, watched, options).to_dict()

    def rollback(
        self,
        environment: str,
        to: str | None,
        options: DeployOptions | None = None,
        reporter: Reporter | None = None,
    ) -> dict[str, Any]:
        from moai_deploy.pipeline import operations

        self.check_environment(environment)
        with self.writing() as project:
            watched = self._report(project, reporter)
            return operations.rollback(project, environment, to, watched, options).to_dict()

    def retry(
        self,
        environment: str,
        options: DeployOptions | None = None,
        reporter: Reporter | None = None,
    ) -> dict[str, Any]:
        from moai_deploy.pipeline import operations

        self.check_environment(environment)
        with self.writing() as project:
            watched = self._report(project, reporter)
            return operations.retry(project, environment, watched, options).to_dict()

    def promote(
        self, environment: str, full: bool, reporter: Reporter | None = None
    ) -> dict[str, Any]:
        from moai_deploy.pipeline import control

        self.check_environment(environment)
        with self.writing() as project:
            watched = self._report(project, reporter)
            return control.promote(project, environment, full, watched).to_dict()

    def set_paused(self, environment: str, paused: bool) -> dict[str, Any]:
        from moai_deploy.pipeline import control

        self.check_environment(environment)
        with self.writing() as project:
            return control.set_paused(project, environment, paused).to_dict()

    def abort(self, environment: str, reporter: Reporter | None = None) -> dict[str, Any]:
        from moai_deploy.pipeline import control

        self.check_environment(environment)
        with self.writing() as project:
            return control.abort(project, environment, self._report(project, reporter)).to_dict()

    def approve(self, environment: str, comment: str) -> dict[str, Any]:
        from moai_deploy.pipeline import approvals

        self.check_environment(environment)
        with self.writing() as project:
            return approvals.approve(project, environment, comment).to_dict()

    def reject(
        self, environment: str, reason: str, reporter: Reporter | None = None
    ) -> dict[str, Any]:
        from moai_deploy.pipeline import approvals

        self.check_environment(environment)
        with self.writing() as project:
            watched = self._report(project, reporter)
            return approvals.reject(project, environment, reason, watched).to_dict()

    def ship(self, version: str | None, reporter: Reporter | None = None) -> dict[str, Any]:
        from moai_deploy.pipeline.ship import ship

        with self.writing() as project:
            return ship(project, version, self._report(project, reporter)).to_dict()

    def down(self, environment: str) -> int:
        """Stop every instance of the environment and remove its route; how many stopped."""
        from moai_deploy.pipeline import operations

        self.check_environment(environment)
        with self.writing() as project:
            return operations.down(project, environment)

    def gates(self, environment: str | None, options: GateOptions | None = None) -> dict[str, Any]:
        """Run the quality gates (cached by their inputs), write their reports, record the
        run in the ledger. With an environment: the gates it requires (and, `advisory`,
        the others too, which cannot block); without: every enabled gate, all blocking."""
        from moai_deploy.gates.project import report_and_record
        from moai_deploy.gates.runner import RunOptions, run_gates

        chosen = options or GateOptions()
        if environment is not None:
            self.check_environment(environment)
        with self.writing() as project:
            run_options = RunOptions(
                only=chosen.only,
                environment=environment,
                use_cache=chosen.use_cache,
                required_only=environment is not None and not chosen.advisory,
                python=project.loaded.spec.service.python,
                progress=chosen.progress,
            )
            spec = project.loaded.spec
            run = run_gates(project.loaded.project_dir, spec.gates, project.layout, run_options)
            record = (project.ledger, project.service)
            reports = report_and_record(run, project.layout, chosen.report_dir, record)
            return {**run.to_dict(), "reports": str(reports)}

    def lock_acquire(self, environment: str, message: str) -> dict[str, Any]:
        """Hold the environment's lock by hand (e.g. maintenance); audited."""
        from moai_deploy.service.locks import acquire

        self.check_environment(environment)
        with self.writing() as project:
            return acquire(project, environment, message)

    def lock_release(self, environment: str, force_reason: str | None) -> dict[str, Any]:
        """Release a manual lock, or break any holder's with a reason; audited."""
        from moai_deploy.service.locks import release

        self.check_environment(environment)
        if force_reason is not None and not force_reason.strip():
            raise BadInputError("breaking a lock needs a reason\n    fix: --reason TEXT")
        with self.writing() as project:
            return release(project, environment, force_reason)

    def create_token(
        self, name: str, role: Role, environment: str | None
    ) -> tuple[str, TokenRecord]:
        from moai_deploy.pipeline import access

        if environment is not None:
            self.check_environment(environment)
        with self.writing() as project:
            return access.create_token(project, name, role, environment)

    def revoke_token(self, name: str) -> TokenRecord:
        from moai_deploy.pipeline import access

        with self.writing() as project:
            return access.revoke_token(project, name)
