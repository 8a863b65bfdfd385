"""Python environments for releases, built with uv and shared by releases whose
dependency inputs hash the same (content-addressed in the user cache)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from moai_deploy.build.dependencies import InstallPlan, install_plan, installed_names, read_toml
from moai_deploy.build.interpreter import interpreter_for
from moai_deploy.errors import BadInputError, ReleaseFailedError
from moai_deploy.paths import exclusive_lock
from moai_deploy.uvtool import uv_binary

_COMPLETE_MARKER = ".moai-complete"


@dataclass(frozen=True)
class PythonEnv:
    """The interpreter a release runs with, and the folder of its console scripts."""

    python: Path
    bin_dir: Path
    reused: bool


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


def ensure_env(
    snapshot: Path, cache_dir: Path, *, dev: bool = False, extra: Sequence[str] = ()
) -> PythonEnv:
    """Build (or reuse) the environment for the snapshot's dependencies (with `dev`, its
    dev/test dependencies too, and `extra` requirements: what the gates run mypy and
    pytest in)."""
    plan = install_plan(snapshot, dev=dev)
    requirements = sorted({*plan.requirements, *extra})
    pyproject = snapshot / "pyproject.toml"
    python = interpreter_for(read_toml(pyproject) if pyproject.is_file() else {})
    env_dir = cache_dir / "envs" / env_key([f"# {plan.manager}", *requirements], python)
    env_dir.parent.mkdir(parents=True, exist_ok=True)
    # Two deploys never build the same environment at once.
    with exclusive_lock(env_dir.parent / f"{env_dir.name}.lock"):
        reused = (env_dir / _COMPLETE_MARKER).is_file()
        if not reused:
            shutil.rmtree(env_dir, ignore_errors=True)
            _build(env_dir, requirements, python)
            check_declared(plan, env_dir / "bin" / "python")
            (env_dir / _COMPLETE_MARKER).write_text("\n".join(requirements) + "\n")
    return PythonEnv(python=env_dir / "bin" / "python", bin_dir=env_dir / "bin", reused=reused)


def check_declared(plan: InstallPlan, python: Path) -> None:
    """Fail the build when a dependency the project declares is not in the environment
    (an instance would die later with `No module named ...`)."""
    if not plan.declared:
        return
    listed = subprocess.run(
        [uv_binary(), "pip", "list", "--python", str(python), "--format", "json"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    missing = sorted(plan.declared - installed_names(listed.stdout))
    if not missing:
        return
    raise ReleaseFailedError(
        f"the release environment lacks {len(missing)} declared dependenc"
        f"{'y' if len(missing) == 1 else 'ies'}: {', '.join(missing[:8])} "
        f"(installed from {plan.manager}: {len(plan.requirements)} requirement(s))\n"
        "    fix: declare every runtime dependency where the build reads them: "
        "requirements.txt, [project].dependencies, or commit the lock file "
        "(poetry.lock, uv.lock, pdm.lock, Pipfile.lock)"
    )


def _build(env_dir: Path, requirements: list[str], python: str) -> None:
    uv = uv_binary()
    _run([uv, "venv", "--quiet", "--python", python, str(env_dir)])
    if requirements:
        listed = env_dir / "moai-requirements.txt"
        listed.write_text("\n".join(requirements) + "\n", encoding="utf-8")
        target = str(env_dir / "bin" / "python")
        _run([uv, "pip", "install", "--quiet", "--python", target, "-r", str(listed)])


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise ReleaseFailedError(f"building the release environment failed:\n{tail}")
