"""Which Python a release environment is built on: ours, unless the project's
`requires-python` excludes it; then an installed interpreter that satisfies it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from moai_deploy.build._lockfiles import poetry_constraint
from moai_deploy.errors import ReleaseFailedError
from moai_deploy.uvtool import uv_binary

_CLAUSE = re.compile(r"^\s*(~=|==|!=|<=|>=|<|>)?\s*([0-9][0-9.*]*)\s*$")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


def _clause_allows(op: str, wanted: str, have: tuple[int, ...]) -> bool:
    if wanted.endswith(".*"):
        prefix = _version(wanted[:-2])
        return (have[: len(prefix)] == prefix) == (op != "!=")
    target = _version(wanted)
    mine = have[: max(len(target), 2)]
    checks = {
        ">=": mine >= target, ">": mine > target, "<=": mine <= target, "<": mine < target,
        "==": mine == target, "!=": mine != target,
        "~=": mine >= target and mine[: len(target) - 1] == target[: len(target) - 1],
    }  # fmt: skip
    return checks[op or "=="]


def allows(specifier: str, version: tuple[int, ...]) -> bool:
    """Whether a requires-python specifier (`>=3.11,<4`) admits `version`; unknown forms
    admit it (the build then finds out)."""
    for clause in filter(None, (c.strip() for c in specifier.split(","))):
        match = _CLAUSE.match(clause)
        if match is not None and not _clause_allows(match.group(1) or "", match.group(2), version):
            return False
    return True


def requires_python(pyproject: dict[str, Any]) -> str | None:
    """PEP 621's requires-python, or Poetry's `python` dependency as a PEP 440 specifier."""
    declared = pyproject.get("project", {}).get("requires-python")
    if isinstance(declared, str):
        return declared
    poetry = pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {}).get("python")
    return poetry_constraint(poetry) if isinstance(poetry, str) else None


def _version_of(python: str) -> tuple[int, ...] | None:
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
            capture_output=True, text=True, check=False, timeout=20,
        )  # fmt: skip
    except OSError:
        return None
    return _version(done.stdout.strip()) if done.returncode == 0 else None


def _installed_elsewhere(specifier: str) -> str | None:
    """pythonX.Y on PATH, or a pyenv-installed interpreter, that satisfies `specifier`."""
    names = [shutil.which(f"python3.{minor}") for minor in range(14, 7, -1)]
    pyenv = sorted(Path.home().glob(".pyenv/versions/*/bin/python3"), reverse=True)
    for candidate in [*(n for n in names if n), *map(str, pyenv)]:
        version = _version_of(candidate)
        if version is not None and allows(specifier, version):
            return candidate
    return None


def interpreter_for(pyproject: dict[str, Any]) -> str:
    """Our interpreter when the project admits it, else one uv finds installed here."""
    specifier = requires_python(pyproject)
    if specifier is None or allows(specifier, sys.version_info[:3]):
        return sys.executable
    done = subprocess.run(
        [uv_binary(), "python", "find", "--no-python-downloads", specifier],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    found = done.stdout.strip() if done.returncode == 0 else ""
    if not found or not Path(found).is_file():
        found = _installed_elsewhere(specifier) or ""
    if not found:
        raise ReleaseFailedError(
            f"the project requires Python {specifier}; no such interpreter is installed here "
            f"(moai-deploy runs on {sys.version.split()[0]})\n"
            "    fix: install one, or set service.python to its path"
        )
    return found
