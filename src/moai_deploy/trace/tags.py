"""Finding @TAGs in a project's files (MoAI-ADK's regex, file types and skipped folders).

Which files: MoAI-ADK's types (py, js, ts, jsx, tsx, md, txt, yml, yaml, json) and files
without an extension, under the project folder, minus tool and build folders, hidden
folders (except `.github`, and `.moai` where only `specs/` is read, because `.moai/memory`
holds guides full of example TAGs) and nested projects: a folder with its own `.moai/`
is another project, traced on its own, so a repository's fixtures and examples do not
leak into its chains.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from moai_deploy.paths import SKIPPED_DIRS
from moai_deploy.trace.model import Location

TAG_PATTERN = re.compile(r"@(SPEC|CODE|TEST|DOC):([A-Z]+(?:-[A-Z]+)*-\d{3})")
FILE_TYPES = frozenset(
    {".py", ".js", ".ts", ".jsx", ".tsx", ".md", ".txt", ".yml", ".yaml", ".json"}
)
_HIDDEN_KEPT = frozenset({".github"})
MAX_FILE_BYTES = 2_000_000  # generated or vendored blobs, not hand-written TAGs
SPECS_DIR = Path(".moai") / "specs"


@dataclass(frozen=True)
class TagHit:
    """One TAG occurrence: kind (SPEC/CODE/TEST/DOC), id and where."""

    kind: str
    id: str
    location: Location


def project_files(project_dir: Path) -> Iterator[Path]:
    """Files to scan for TAGs, in a stable order."""
    for folder, dirnames, filenames in os.walk(project_dir):
        here = Path(folder)
        dirnames[:] = sorted(d for d in dirnames if _enter(project_dir, here, d))
        for name in sorted(filenames):
            path = here / name
            if _wanted(path):
                yield path


def _enter(project_dir: Path, here: Path, name: str) -> bool:
    rel = (here / name).relative_to(project_dir)
    if rel.parts[0] == ".moai":
        return rel.parts[:2] == SPECS_DIR.parts[: len(rel.parts)]
    if name in SKIPPED_DIRS or name.endswith(".egg-info"):
        return False
    if name.startswith(".") and name not in _HIDDEN_KEPT:
        return False
    return not (here / name / ".moai").is_dir()  # a nested project


def _wanted(path: Path) -> bool:
    if path.suffix not in FILE_TYPES and path.suffix:
        return False
    try:
        return path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_FILE_BYTES
    except OSError:
        return False


def read_tags(path: Path, project_dir: Path) -> list[TagHit]:
    """Every TAG in one file, with 1-based line numbers; binary files have none."""
    try:
        raw = path.read_bytes()
    except OSError:
        return []
    if b"\0" in raw[:8192]:
        return []
    rel = path.relative_to(project_dir)
    hits: list[TagHit] = []
    for number, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), 1):
        for match in TAG_PATTERN.finditer(line):
            hits.append(TagHit(match.group(1), match.group(2), Location(rel, number)))
    return hits
