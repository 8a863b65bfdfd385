"""Rendered artifacts stored with each release, and unified diffs against them or a folder."""

from __future__ import annotations

import difflib
import json
import os
import shutil
import tempfile
from pathlib import Path

from moai_deploy.errors import BadInputError

ARTIFACTS_DIR = "artifacts"
MANIFEST = "manifest.json"


def release_dir(state_root: Path, release_id: int) -> Path:
    """Where the artifacts of one release live."""
    return state_root / ARTIFACTS_DIR / str(release_id)


def prune_release_artifacts(state_root: Path, kept: set[int]) -> list[int]:
    """Remove the stored artifacts of every release not in `kept`; the ids removed."""
    root = state_root / ARTIFACTS_DIR
    if not root.is_dir():
        return []
    removed = []
    for folder in root.iterdir():
        if folder.is_dir() and folder.name.isdigit() and int(folder.name) not in kept:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(int(folder.name))
    return sorted(removed)


def _safe(relative: str) -> Path:
    path = Path(relative)
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(f"artifact path {relative!r} escapes its folder")
    return path


def write_files(root: Path, files: dict[str, str]) -> None:
    """Write `files` under `root` (each file atomically; folders created as needed)."""
    for relative, content in sorted(files.items()):
        target = root / _safe(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
        Path(tmp).replace(target)


def read_tree(root: Path) -> dict[str, str]:
    """Every file under `root`, by relative path."""
    if not root.is_dir():
        raise BadInputError(f"{root}: no such folder of rendered artifacts")
    return {
        str(path.relative_to(root)): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def store_release_artifacts(state_root: Path, release_id: int, files: dict[str, str]) -> Path:
    """Keep the files rendered for a release (with a manifest listing them)."""
    folder = release_dir(state_root, release_id)
    write_files(folder / "files", files)
    manifest = {"release_id": release_id, "files": sorted(files)}
    write_files(folder, {MANIFEST: json.dumps(manifest, indent=2) + "\n"})
    return folder


def load_release_artifacts(state_root: Path, release_id: int) -> dict[str, str]:
    """The files stored with a release; BadInputError when none were stored."""
    folder = release_dir(state_root, release_id)
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise BadInputError(
            f"release #{release_id} has no stored artifacts\n"
            "    fix: diff against a folder with --against DIR"
        )
    names = json.loads(manifest.read_text())["files"]
    return {name: (folder / "files" / _safe(name)).read_text(encoding="utf-8") for name in names}


def unified_diff(old: dict[str, str], new: dict[str, str], old_label: str, new_label: str) -> str:
    """One unified diff over every file (added, removed and changed), sorted by path."""
    chunks: list[str] = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        chunks.extend(
            difflib.unified_diff(
                (before or "").splitlines(keepends=True),
                (after or "").splitlines(keepends=True),
                f"{old_label}/{path}" if before is not None else "/dev/null",
                f"{new_label}/{path}" if after is not None else "/dev/null",
            )
        )
    return "".join(line if line.endswith("\n") else line + "\n" for line in chunks)
