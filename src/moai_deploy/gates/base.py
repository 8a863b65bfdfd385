"""The gate plugin protocol: a name, the inputs it reads, its options, `run(ctx)`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol, TypeVar, runtime_checkable

from moai_deploy.gates.inputs import under
from moai_deploy.gates.model import Finding, GateResult, GateStatus
from moai_deploy.spec.gates import GateSettings

# Configuration files that change what any Python tool reports.
PY_CONFIG = ("pyproject.toml", "setup.cfg", "tox.ini")
S = TypeVar("S", bound=GateSettings)


@dataclass(frozen=True)
class GateContext:
    """What a gate gets to run: the project, its settings, its input files, a work folder."""

    project_dir: Path
    settings: GateSettings
    files: tuple[str, ...]  # the gate's inputs, relative posix paths, sorted
    work_dir: Path  # empty folder for raw reports; kept with the cached result
    tool_version: str | None = None
    tool_path: Path | None = None  # the gate's tool, resolved (provisioned) by the runner
    python: Path | None = None  # the project's environment, for gates that import its code

    def executable(self, name: str) -> str | Path:
        """The resolved path of the gate's tool, else its name (looked up on PATH)."""
        return self.tool_path if self.tool_path is not None else name

    def options(self, kind: type[S]) -> S:
        """The settings as the gate's own settings class."""
        if not isinstance(self.settings, kind):
            raise TypeError(f"expected {kind.__name__}, got {type(self.settings).__name__}")
        return self.settings

    def target_paths(self, default: list[str] | None = None) -> list[str]:
        """`paths` from the settings, else `default`, else `src` when it exists, else '.'."""
        if self.settings.paths is not None:
            return list(self.settings.paths)
        if default is not None:
            return default
        return ["src"] if (self.project_dir / "src").is_dir() else ["."]

    def files_in(self, paths: list[str], suffix: str = "") -> tuple[str, ...]:
        """The gate's input files under `paths`, optionally only those ending in `suffix`."""
        return tuple(f for f in under(self.files, paths) if f.endswith(suffix))

    def result(
        self,
        name: str,
        findings: list[Finding],
        *,
        report: Path | None = None,
        note: str = "",
    ) -> GateResult:
        """`failed` when any finding is an error, else `passed`."""
        failed = any(f.severity == "error" for f in findings)
        return GateResult(
            gate=name,
            status=GateStatus.FAILED if failed else GateStatus.PASSED,
            findings=tuple(findings),
            report_path=str(report) if report else None,
            note=note,
            tool_version=self.tool_version,
        )

    def error(self, name: str, note: str, report: Path | None = None) -> GateResult:
        """The gate could not run; `note` says why."""
        return GateResult(
            gate=name,
            status=GateStatus.ERROR,
            report_path=str(report) if report else None,
            note=note,
            tool_version=self.tool_version,
        )

    def relative(self, path: str) -> str:
        """A tool's path (absolute or relative to the project) as a project-relative path."""
        candidate = Path(path)
        if candidate.is_absolute():
            try:
                return candidate.resolve().relative_to(self.project_dir.resolve()).as_posix()
            except ValueError:
                return candidate.as_posix()
        return candidate.as_posix().removeprefix("./")


@runtime_checkable
class Gate(Protocol):
    """A quality gate. `run` may raise ToolMissingError/ToolTimeoutError (-> `error`)."""

    name: ClassVar[str]
    description: ClassVar[str]
    inputs: ClassVar[tuple[str, ...]]  # globs of the files whose contents it reads
    tool: ClassVar[str | None]  # executable whose version is part of the cache key
    network: ClassVar[bool]  # needs the network: on_error defaults to `warn`
    security: ClassVar[bool]  # its findings go to the SARIF report
    project_env: ClassVar[bool]  # imports the project's code: runs with its environment

    def skip_reason(self, project_dir: Path, files: tuple[str, ...]) -> str | None:
        """Why the gate does not apply to this project, or None when it does."""

    def cache_parts(self) -> tuple[str, ...]:
        """More strings that invalidate cached results (versions of libraries it uses)."""

    def run(self, ctx: GateContext) -> GateResult:
        """Check the project; return the result (duration is filled in by the runner)."""


class BaseGate:
    """Defaults for built-in gates: applies everywhere, offline, not security."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    inputs: ClassVar[tuple[str, ...]] = ("*.py", *PY_CONFIG)
    tool: ClassVar[str | None] = None
    network: ClassVar[bool] = False
    security: ClassVar[bool] = False
    project_env: ClassVar[bool] = False

    def skip_reason(self, project_dir: Path, files: tuple[str, ...]) -> str | None:
        return None

    def cache_parts(self) -> tuple[str, ...]:
        return ()
