"""The `local` runtime: a release is a snapshot folder plus a Python environment, and its
instances are processes under this state folder's supervisord."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Collection, Sequence
from pathlib import Path

from moai_deploy.build.check import check_command
from moai_deploy.build.pyenv import PythonEnv, ensure_env, interpreter_env
from moai_deploy.checks import Check
from moai_deploy.runtime.base import (
    Artifact,
    CommandResult,
    CommandSpec,
    InstanceStatus,
    ReleaseSource,
    WorkloadSpec,
    free_port,
)
from moai_deploy.runtime.local.logs import log_path
from moai_deploy.runtime.local.plan import instance_argv, link_shared, process_env
from moai_deploy.runtime.local.process import InstanceSpec
from moai_deploy.runtime.local.supervisor_runtime import SupervisorRuntime
from moai_deploy.runtime.registry import RuntimeSettings
from moai_deploy.spec.models import ServiceSpec

NAME = "local"


class LocalRuntime:
    """Runs releases as local processes supervised by supervisord."""

    name = NAME

    def __init__(self, settings: RuntimeSettings) -> None:
        self.settings = settings
        self.service: ServiceSpec = settings.spec.service
        self.supervisor = SupervisorRuntime(settings.layout.supervisor)

    def preflight(self) -> None:
        """Nothing to check: supervisord is started on demand."""

    def diagnose(self, scope: str) -> list[Check]:
        """supervisord importable by this Python; uv for release environments."""
        found = importlib.util.find_spec("supervisor.supervisord") is not None
        checks = [
            Check(
                scope,
                "supervisord available",
                found,
                f"supervisor package in {sys.prefix}" if found else "supervisor is not installed",
                "" if found else "`pip install supervisor` into moai-deploy's environment",
            )
        ]
        if self.service.python is None:
            uv = Path(sys.executable).parent / "uv"
            has_uv = uv.is_file() or shutil.which("uv") is not None
            fix = "" if has_uv else "`pip install uv` into moai-deploy's environment"
            checks.append(Check(scope, "uv available (release environments)", has_uv, "", fix))
        return checks

    # -- artifacts -------------------------------------------------------------------

    def prepare(self, source: ReleaseSource, recorded: Artifact | None = None) -> Artifact:
        """The snapshot and the Python environment built from its dependencies (cached);
        the build fails here when the command's server or app module is not importable."""
        env = self._python(source.snapshot)
        pythonpath = (self.settings.spec.defaults.env or {}).get("PYTHONPATH")
        check_command(env, source.snapshot / self.service.workdir, self.service.command,
                      pythonpath)  # fmt: skip
        if self.service.python is not None:
            summary = f"using interpreter {env.python}"
        else:
            how = "reused" if env.reused else "built"
            summary = f"{how} environment {env.python.parent.parent.name}"
        return Artifact(
            runtime=NAME,
            reference=str(source.snapshot),
            snapshot=source.snapshot,
            summary=summary,
            facts={"python": str(env.python), "bin_dir": str(env.bin_dir)},
        )

    def _python(self, snapshot: Path) -> PythonEnv:
        if self.service.python is not None:
            return interpreter_env(self.service.python)
        service = self.service
        return ensure_env(
            snapshot,
            self.settings.cache_dir,
            dev=service.dev_dependencies,
            extra=service.extra_requirements,
        )

    def _env_of(self, artifact: Artifact) -> PythonEnv:
        python, bin_dir = artifact.facts.get("python"), artifact.facts.get("bin_dir")
        if artifact.runtime == NAME and python and bin_dir and Path(python).exists():
            return PythonEnv(python=Path(python), bin_dir=Path(bin_dir), reused=True)
        return self._python(artifact.snapshot)

    def prune(self, service: str, keep: Collection[Artifact]) -> list[str]:
        """Nothing: environments are shared by dependency hash, snapshots pruned by the caller."""
        return []

    # -- instances -------------------------------------------------------------------

    def _process(self, workload: WorkloadSpec) -> InstanceSpec:
        python_env = self._env_of(workload.artifact)
        port = workload.port or free_port()
        workdir = workload.artifact.snapshot / self.service.workdir
        link_shared(workdir, self._shared_store(workload.environment), workload.shared)
        extra = {
            self.service.port_env: str(port),
            "MOAI_DEPLOY_VERSION": workload.version,
            "MOAI_DEPLOY_ENVIRONMENT": workload.environment,
            "MOAI_DEPLOY_INSTANCE": workload.name,
        }
        return InstanceSpec(
            name=workload.name,
            service=workload.service,
            environment=workload.environment,
            version=workload.version,
            group=workload.group,
            argv=instance_argv(self.service.command, port, python_env),
            cwd=workdir,
            env=process_env(python_env, workload.env.merged(), extra),
            port=port,
            stop_timeout=self.service.stop_timeout,
            log_file=log_path(
                self.settings.layout.logs, workload.environment, workload.release, workload.name
            ),
        )

    def _shared_store(self, environment: str) -> Path:
        return self.settings.layout.root / "shared" / environment

    def start(self, workloads: Sequence[WorkloadSpec]) -> None:
        self.settings.layout.logs.mkdir(parents=True, exist_ok=True)
        self.supervisor.start([self._process(w) for w in workloads])

    def stop(self, names: Sequence[str]) -> None:
        self.supervisor.stop(names)

    def list(
        self, service: str | None = None, environment: str | None = None
    ) -> list[InstanceStatus]:
        return self.supervisor.list(service, environment)

    def logs(self, name: str, lines: int = 100) -> str:
        """The last lines of the instance's current log (its release's file)."""
        known = [i.log_file for i in self.supervisor.list() if i.name == name and i.log_file]
        path = known[0] if known else self.settings.layout.logs / f"{name}.log"
        if not path.is_file():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def run_command(self, command: CommandSpec) -> CommandResult:
        """A process in the release snapshot's workdir, with the release's environment."""
        python_env = self._env_of(command.artifact)
        workdir = command.artifact.snapshot / self.service.workdir
        link_shared(workdir, self._shared_store(command.environment), command.shared)
        extra = {"MOAI_DEPLOY_ENVIRONMENT": command.environment}
        try:
            done = subprocess.run(
                instance_argv(command.argv, 0, python_env),
                cwd=workdir,
                env=process_env(python_env, command.env.merged(), extra),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=command.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            output = _text(exc.stdout) + _text(exc.stderr)
            return CommandResult(exit_code=-1, output=output, timed_out=True)
        except OSError as exc:
            return CommandResult(exit_code=127, output=f"cannot run {command.argv[0]}: {exc}")
        return CommandResult(exit_code=done.returncode, output=done.stdout + done.stderr)

    def shutdown_if_idle(self) -> None:
        self.supervisor.shutdown_if_idle()


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data


def create(settings: RuntimeSettings) -> LocalRuntime:
    return LocalRuntime(settings)
