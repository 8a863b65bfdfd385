"""Finding @TAGs in a project's files, with MoAI-ADK's regex, file types and ignore rules.

By default the files are the ones MoAI-ADK's `CentralValidator` reads (see `options.py`):
`rglob("*")` minus its extension filter and its substring ignore patterns; symlinked files
are read, symlinked folders are not entered, and every file is read whole as UTF-8 with
undecodable bytes dropped (`errors="ignore"`), lines split as `str.splitlines` splits them.
The options `exact_ignores`, `skip_hidden`, `separate_nested` and `skip_binary` narrow
that scope. One
folder is never read, whatever the options: moai-deploy's own state folder `.moai-deploy/`
(its gate reports and ledger quote TAGs; a MoAI-ADK tree has none).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from moai_deploy.paths import SKIPPED_DIRS, STATE_DIR_NAME
from moai_deploy.trace.model import Location
from moai_deploy.trace.options import TraceOptions

TAG_PATTERN = re.compile(r"@(SPEC|CODE|TEST|DOC):([A-Z]+(?:-[A-Z]+)*-\d{3})")
FILE_TYPES = frozenset({"py", "js", "ts", "jsx", "tsx", "md", "txt", "yml", "yaml", "json"})
# MoAI-ADK's default ignore_patterns, cleaned as its `_should_scan_file` cleans them
# (`replace("/*", "").replace("*", "")`) and then matched as substrings of the path.
MOAI_IGNORE_PATTERNS = (".git/*", "node_modules/*", "__pycache__/*", "*.pyc", ".venv/*", "venv/*")
_IGNORED = tuple(p.replace("/*", "").replace("*", "") for p in MOAI_IGNORE_PATTERNS)
_HIDDEN_KEPT = frozenset({".github"})
MAX_FILE_BYTES = 2_000_000  # with skip_binary: generated or vendored blobs, not TAGs
MOAI_DIR = ".moai"
SPECS_DIR = Path(MOAI_DIR) / "specs"
# Line boundaries `str.splitlines` knows besides "\n" (MoAI-ADK numbers lines with it).
_OTHER_BREAKS = ("\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


@dataclass(frozen=True)
class TagHit:
    """One TAG occurrence: kind (SPEC/CODE/TEST/DOC), id and where."""

    kind: str
    id: str
    location: Location


def suffix(name: str) -> str:
    """The extension without its dot, as `PurePath.suffix` finds it (`.bashrc` has none)."""
    i = name.rfind(".")
    return name[i + 1 :] if 0 < i < len(name) - 1 else ""


def project_files(project_dir: Path, options: TraceOptions | None = None) -> Iterator[Path]:
    """Files to scan for TAGs, in a stable (sorted, depth-first) order."""
    yield from _walk(project_dir, options or TraceOptions(), top=True)


def _walk(folder: Path, options: TraceOptions, top: bool) -> Iterator[Path]:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        return
    in_moai = options.skip_hidden and folder.name == MOAI_DIR
    for entry in entries:
        if _is_dir(entry):
            if not entry.is_symlink() and _enter(folder, entry.name, options, in_moai):
                yield from _walk(folder / entry.name, options, top=False)
        elif not in_moai and _wanted(entry, options):
            yield folder / entry.name


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # a symlinked folder is a folder (never entered, never read)
    except OSError:
        return False


def _enter(here: Path, name: str, options: TraceOptions, in_moai: bool) -> bool:
    if name == STATE_DIR_NAME:  # moai-deploy's own state: its reports quote TAGs
        return False
    if in_moai:
        return name == "specs"
    if options.exact_ignores:
        if name in SKIPPED_DIRS or name.endswith(".egg-info"):
            return False
    elif any(pattern in name for pattern in _IGNORED):
        return False
    if options.skip_hidden and name.startswith(".") and name not in _HIDDEN_KEPT:
        return name == MOAI_DIR
    return not (options.separate_nested and (here / name / MOAI_DIR).is_dir())


def _wanted(entry: os.DirEntry[str], options: TraceOptions) -> bool:
    name = entry.name
    ext = suffix(name)
    if ext and ext not in FILE_TYPES:
        return False
    if options.exact_ignores:
        if name.endswith(".pyc"):
            return False
    elif any(pattern in name for pattern in _IGNORED):
        return False
    try:
        return entry.is_file()  # follows a symlink, as `Path.is_file` does
    except OSError:
        return False


def read_tags(path: Path, project_dir: Path, skip_binary: bool = False) -> list[TagHit]:
    """Every TAG in one file, with 1-based line numbers (an unreadable file has none;
    with `skip_binary`, nor has a binary or an oversized one)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1) if skip_binary else handle.read()
    except OSError:
        return []
    if b"@" not in raw or (skip_binary and _binary(raw)):
        return []
    text = raw.decode("utf-8", errors="ignore")
    rel = path.relative_to(project_dir)
    return [TagHit(kind, tag_id, Location(rel, line)) for kind, tag_id, line in find_tags(text)]


def _binary(raw: bytes) -> bool:
    return len(raw) > MAX_FILE_BYTES or b"\0" in raw[:8192]


def find_tags(text: str) -> list[tuple[str, str, int]]:
    """(kind, id, line) of every TAG in `text`; lines numbered as `splitlines` splits them."""
    if any(mark in text for mark in _OTHER_BREAKS):  # each `in` is one fast C scan
        return [
            (kind, tag_id, number)
            for number, line in enumerate(text.splitlines(), 1)
            for kind, tag_id in TAG_PATTERN.findall(line)
        ]
    found: list[tuple[str, str, int]] = []
    line, last = 1, 0
    for match in TAG_PATTERN.finditer(text):
        line += text.count("\n", last, match.start())
        last = match.start()
        found.append((match.group(1), match.group(2), line))
    return found
