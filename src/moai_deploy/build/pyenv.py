"""Python environments for releases, built with uv and shared by releases whose
dependency inputs hash the same (content-addressed in the user cache)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from moai_deploy.errors import BadInputError, ReleaseFailedError
from moai_deploy.paths import exclusive_lock

_COMPLETE_MARKER = ".moai-complete"


@dataclass(frozen=True)
class PythonEnv:
    """The interpreter a release runs with, and the folder of its console scripts."""

    python: Path
    bin_dir: Path
    reused: bool


def dependency_inputs(snapshot: Path) -> list[str]:
    """The requirement lines that define the release's environment (sorted)."""
    requirements = snapshot / "requirements.txt"
    if requirements.is_file():
        lines = (line.split("#", 1)[0].strip() for line in requirements.read_text().splitlines())
        return sorted(line for line in lines if line and not line.startswith("-"))
    pyproject = snapshot / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise BadInputError(f"{pyproject}: invalid TOML: {exc}") from None
        deps = data.get("project", {}).get("dependencies", [])
        if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
            raise BadInputError(f"{pyproject}: [project].dependencies must be a list of strings")
        return sorted(deps)
    return []


def env_key(requirements: list[str], python: str) -> str:
    """Content address of an environment: the interpreter and the requirements."""
    version = ".".join(str(v) for v in sys.version_info[:3]) if python == sys.executable else python
    payload = "\n".join([f"python={version}", *requirements]).encode()
    return hashlib.sha256(payload).hexdigest()[:16]


def interpreter_env(python: str) -> PythonEnv:
    """Use a named interpreter as is (the spec's `service.python`)."""
    found = shutil.which(python)
    if found is None:
        raise BadInputError(
            f"service.python: interpreter {python!r} not found\n"
            "    fix: give an existing path, or remove `python:` to build an environment"
        )
    path = Path(found)
    return PythonEnv(python=path, bin_dir=path.parent, reused=True)


def ensure_env(snapshot: Path, cache_dir: Path) -> PythonEnv:
    """Build (or reuse) the environment for the snapshot's dependencies."""
    requirements = dependency_inputs(snapshot)
    env_dir = cache_dir / "envs" / env_key(requirements, sys.executable)
    env_dir.parent.mkdir(parents=True, exist_ok=True)
    # Two deploys never build the same environment at once.
    with exclusive_lock(env_dir.parent / f"{env_dir.name}.lock"):
        reused = (env_dir / _COMPLETE_MARKER).is_file()
        if not reused:
            shutil.rmtree(env_dir, ignore_errors=True)
            _build(env_dir, requirements)
            (env_dir / _COMPLETE_MARKER).write_text("\n".join(requirements) + "\n")
    return PythonEnv(python=env_dir / "bin" / "python", bin_dir=env_dir / "bin", reused=reused)


def _uv() -> str:
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.is_file() else shutil.which("uv")
    if found is None:
        raise ReleaseFailedError("uv not found; install moai-deploy with its dependencies")
    return found


def _build(env_dir: Path, requirements: list[str]) -> None:
    uv = _uv()
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(env_dir)])
    if requirements:
        _run(
            [
                uv,
                "pip",
                "install",
                "--quiet",
                "--python",
                str(env_dir / "bin" / "python"),
                *requirements,
            ]
        )


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise ReleaseFailedError(f"building the release environment failed:\n{tail}")
