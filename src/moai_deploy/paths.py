"""Where moai-deploy keeps its state for one project (the state folder)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

STATE_DIR_NAME = ".moai-deploy"
# The spec's file name in a project folder (here so the CLI knows it without the models).
SPEC_FILE_NAME = "moai-deploy.yaml"
# Nothing the tool writes is readable by other local users: folders 0700, files 0600, and the
# daemons it starts (supervisord and its instances, the router) run with this umask.
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PRIVATE_UMASK = 0o077

# Tool, build and state folders: never a project's own sources (gates, trace, snapshots).
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".moai-deploy",
        "build",
        "dist",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
        ".hypothesis",
        ".eggs",
        "htmlcov",
        "site-packages",
    }
)


def default_cache_dir() -> Path:
    """User-level cache shared across projects (content-addressed, so sharing is safe)."""
    if env := os.environ.get("MOAI_DEPLOY_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "moai-deploy"


@dataclass(frozen=True)
class StateLayout:
    """The folders under a project's state folder; each owner creates what it uses."""

    root: Path

    @classmethod
    def for_project(cls, project_dir: Path) -> StateLayout:
        if env := os.environ.get("MOAI_DEPLOY_STATE"):
            return cls(Path(env).resolve())
        return cls((project_dir / STATE_DIR_NAME).resolve())

    @property
    def ledger_db(self) -> Path:
        return self.root / "ledger.sqlite3"

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def traefik(self) -> Path:
        return self.root / "traefik"

    @property
    def supervisor(self) -> Path:
        return self.root / "supervisor"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    def ensure(self) -> None:
        """Create the state folder, private to its owner (instance logs may hold secrets)."""
        self.root.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        if self.root.stat().st_mode & 0o077:
            self.root.chmod(PRIVATE_DIR_MODE)
        gitignore = self.root / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text("*\n")


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically, readable by its owner only: written 0600 under
    a temporary name that matches no glob of ours (`.NAME.tmp`), flushed to disk, renamed, so
    a reader (supervisord's reloadConfig, HAProxy, Prometheus, a deployer) sees the old file
    or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    os.fchmod(fd, PRIVATE_FILE_MODE)  # O_CREAT's mode does not apply to a leftover file
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def private_file(path: Path) -> Path:
    """Create `path` (empty) as 0600 if missing, or narrow an existing one to 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
    return path


@contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on `path` (created if missing) for the block; the kernel
    drops it if the process dies, so a crash never leaves it held."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
