"""The project's files as gates see them: one walk per run, globs, content hashes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
from collections.abc import Iterable
from fnmatch import fnmatch
from pathlib import Path

from moai_deploy.paths import SKIPPED_DIRS

_HIDDEN_KEPT = frozenset({".moai", ".github"})
MAX_FILE_BYTES = 2_000_000


def walk_project(project_dir: Path, skip: Iterable[Path] = ()) -> tuple[str, ...]:
    """Every file of the project (relative posix paths, sorted), minus tool folders and
    what git ignores (the secrets file, local databases: never part of a release)."""
    root = project_dir.resolve()
    skipped = {p.resolve() for p in skip}
    ignored = git_ignored(root)
    found: list[str] = []
    for folder, dirnames, filenames in os.walk(root):
        here = Path(folder)
        dirnames[:] = [d for d in dirnames if _enter(here / d, d, skipped)]
        for name in filenames:
            path = here / name
            relative = path.relative_to(root).as_posix()
            if path.is_file() and not path.is_symlink() and not _is_ignored(relative, ignored):
                found.append(relative)
    return tuple(sorted(found))


def git_ignored(root: Path) -> frozenset[str]:
    """Untracked paths git ignores under `root` (folders end in '/'); empty outside git."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "ls-files", "--others", "--ignored", "--exclude-standard",
             "--directory", "-z"],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return frozenset()
    if done.returncode != 0:
        return frozenset()
    return frozenset(p for p in done.stdout.split("\0") if p)


def _is_ignored(relative: str, ignored: frozenset[str]) -> bool:
    if not ignored:
        return False
    if relative in ignored:
        return True
    parts = relative.split("/")
    return any("/".join(parts[:i]) + "/" in ignored for i in range(1, len(parts)))


def _enter(path: Path, name: str, skipped: set[Path]) -> bool:
    if name in SKIPPED_DIRS or name.endswith(".egg-info"):
        return False
    if name.startswith(".") and name not in _HIDDEN_KEPT:
        return False
    return path.resolve() not in skipped


def matches(relpath: str, pattern: str) -> bool:
    """Glob match: a pattern without '/' matches the file name, else the whole path."""
    if "/" not in pattern:
        return fnmatch(relpath.rsplit("/", 1)[-1], pattern)
    pattern = pattern.removeprefix("./")
    if pattern.endswith("/**"):
        return relpath.startswith(pattern[:-2]) or fnmatch(relpath, pattern)
    return fnmatch(relpath, pattern) or fnmatch(relpath, pattern.replace("**/", ""))


def select(
    files: Iterable[str], patterns: Iterable[str], exclude: Iterable[str] = ()
) -> tuple[str, ...]:
    """The files matching any pattern and no exclude pattern."""
    wanted, unwanted = list(patterns), list(exclude)
    return tuple(
        f
        for f in files
        if any(matches(f, p) for p in wanted) and not any(matches(f, p) for p in unwanted)
    )


def under(files: Iterable[str], folders: Iterable[str]) -> tuple[str, ...]:
    """The files inside any of `folders` ('.' = all)."""
    prefixes = [f.strip("/").removeprefix("./") for f in folders]
    if any(p in ("", ".") for p in prefixes):
        return tuple(files)
    return tuple(f for f in files if any(f == p or f.startswith(p + "/") for p in prefixes))


def named_files(root: Path, values: Iterable[str]) -> tuple[str, ...]:
    """The project files that settings name (a tool's `--config x.toml`, `-c=.bandit`, a
    baseline, a requirements file): they change the result as much as the inputs do, even
    where the walk leaves them out (hidden folders, git-ignored files)."""
    found: set[str] = set()
    for value in values:
        for candidate in (value, value.partition("=")[2]):
            if not candidate or candidate.startswith("-") or "\0" in candidate:
                continue
            path = root / candidate
            try:
                resolved = path.resolve()
                relative = resolved.relative_to(root).as_posix()
            except (OSError, ValueError):  # outside the project, or unresolvable
                continue
            if resolved.is_file():
                found.add(relative)
    return tuple(sorted(found))


class ContentHasher:
    """sha256 of file contents, each file read once per run even when gates share it."""

    def __init__(self, project_dir: Path) -> None:
        self.root = project_dir
        self._known: dict[str, str] = {}
        self._lock = threading.Lock()

    def file(self, relpath: str) -> str:
        with self._lock:
            if relpath in self._known:
                return self._known[relpath]
        digest = hashlib.sha256()
        try:
            with (self.root / relpath).open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 16), b""):
                    digest.update(block)
        except OSError:
            digest.update(b"<unreadable>")
        value = digest.hexdigest()
        with self._lock:
            self._known[relpath] = value
        return value

    def key(self, parts: Iterable[str], files: Iterable[str]) -> str:
        """One hash over some strings (gate, options, tool version) and the files' contents."""
        digest = hashlib.sha256()
        for part in parts:
            digest.update(part.encode() + b"\0")
        for relpath in files:
            digest.update(relpath.encode() + b"\0" + self.file(relpath).encode() + b"\n")
        return digest.hexdigest()
