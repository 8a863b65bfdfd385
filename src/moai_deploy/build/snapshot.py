"""Immutable per-release snapshots of the project's code (Capistrano-style releases folder).

A release runs from its own snapshot, so rolling back to v1 really runs v1's code.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from moai_deploy.errors import BadInputError

_COPY_IGNORE = (".git", ".moai-deploy", ".venv", "__pycache__", "*.pyc", ".secrets.env")


@dataclass(frozen=True)
class SourceInfo:
    """Which code a release is made of."""

    commit_sha: str | None  # None when the project is not in a git repository
    dirty: bool  # uncommitted changes exist (they are not part of a git snapshot)

    def default_version(self) -> str | None:
        return self.commit_sha[:7] if self.commit_sha else None


def _git(project_dir: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(project_dir), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def is_tracked(project_dir: Path, path: Path) -> bool:
    """Whether git tracks `path` in the project's repository (False outside git)."""
    return _git(project_dir, "ls-files", "--error-unmatch", "--", str(path)) is not None


def inspect_source(project_dir: Path) -> SourceInfo:
    """The commit the project is at, and whether its folder has uncommitted changes."""
    sha = _git(project_dir, "rev-parse", "--verify", "HEAD")
    if sha is None:
        return SourceInfo(None, dirty=False)
    status = _git(project_dir, "status", "--porcelain", "--", ".")
    return SourceInfo(sha, dirty=bool(status))


def create_snapshot(
    project_dir: Path, releases_root: Path, version: str, commit: str | None
) -> Path:
    """Materialize the code of `commit` (or the work tree without git) once; reuse if present.

    The folder is named after the version and the commit (or the content digest), so a
    snapshot is never overwritten by different code.
    """
    if commit is not None:
        target = releases_root / f"{version}-{commit[:12]}"
        if target.is_dir():
            return target
    releases_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=releases_root))
    try:
        built = staging / "tree"
        if commit is None:
            shutil.copytree(project_dir, built, ignore=shutil.ignore_patterns(*_COPY_IGNORE))
            target = releases_root / f"{version}-{content_digest(built)[:12]}"
            if target.is_dir():
                return target
        else:
            _extract_git_tree(project_dir, commit, built)
        built.rename(target)  # atomic: a snapshot folder is complete or absent
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _extract_git_tree(project_dir: Path, commit: str, into: Path) -> None:
    prefix = _git(project_dir, "rev-parse", "--show-prefix") or ""
    treeish = f"{commit}:{prefix}" if prefix else commit
    done = subprocess.run(
        ["git", "-C", str(project_dir), "archive", "--format=tar", treeish],
        capture_output=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise BadInputError(
            f"cannot snapshot commit {commit[:12]}: {done.stderr.decode(errors='replace').strip()}"
        )
    into.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(into, filter="data")


def content_digest(root: Path) -> str:
    """A stable digest of a folder's files (names and bytes), for non-git projects."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def prune_snapshots(releases_root: Path, keep: int, protected: set[Path]) -> list[Path]:
    """Remove all but the `keep` newest snapshots, never one in `protected`; returns removed."""
    if not releases_root.is_dir():
        return []
    snapshots = sorted(
        (p for p in releases_root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    removed = []
    for path in snapshots[keep:]:
        if path.resolve() not in protected:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
