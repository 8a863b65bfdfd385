"""Pinned requirement lines from lock files (uv, Poetry, PDM, Pipenv) and loose ones from
Poetry and Pipfile tables; `dependencies.py` is the public side."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from moai_deploy.errors import BadInputError
from moai_deploy.uvtool import uv_binary

Locked = tuple[str, tuple[str, ...]]  # (the lock file's name, pinned requirement lines)


def from_lock(project: Path, pyproject: Mapping[str, Any], dev: bool) -> Locked | None:
    """The first lock file's pinned requirements, or None when the project has none."""
    if (project / "uv.lock").is_file() and pyproject:
        return "uv.lock", _uv_export(project, dev)
    if (project / "poetry.lock").is_file():
        return "poetry.lock", tuple(_poetry_lock(_toml(project / "poetry.lock"), dev))
    if (project / "pdm.lock").is_file():
        return "pdm.lock", tuple(_pdm_lock(_toml(project / "pdm.lock"), dev))
    if (project / "Pipfile.lock").is_file():
        return "Pipfile.lock", tuple(_pipfile_lock(project / "Pipfile.lock", dev))
    return None


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BadInputError(f"{path}: invalid TOML: {exc}") from None


def _uv_export(project: Path, dev: bool) -> tuple[str, ...]:
    groups = ["--all-groups"] if dev else ["--no-dev"]
    options = ["--frozen", "--no-hashes", "--no-emit-project", "--no-header", "--no-annotate"]
    argv = [uv_binary(), "export", *options, "--format", "requirements-txt", "--quiet", *groups]
    done = subprocess.run(
        argv, cwd=project, capture_output=True, text=True, check=False, timeout=120
    )
    if done.returncode != 0:
        raise BadInputError(
            f"{project / 'uv.lock'}: uv cannot read it: {done.stderr.strip()[-400:]}\n"
            "    fix: run `uv lock` and commit uv.lock"
        )
    return tuple(line.strip() for line in done.stdout.splitlines() if line.strip())


def _in_groups(package: Mapping[str, Any], wanted: set[str], dev: bool) -> bool:
    """Poetry 1.x writes `category`, Poetry 2 and PDM write `groups`."""
    if "groups" in package:
        return dev or bool(wanted.intersection(package["groups"]))
    category = package.get("category")
    return dev or category in (None, "main")


def _poetry_lock(data: Mapping[str, Any], dev: bool) -> Iterator[str]:
    for package in data.get("package", []):
        if not _in_groups(package, {"main"}, dev):
            continue
        markers = package.get("markers")
        if isinstance(markers, dict):
            markers = markers.get("main")
        yield _pinned(package, markers if isinstance(markers, str) else None)


def _pdm_lock(data: Mapping[str, Any], dev: bool) -> Iterator[str]:
    for package in data.get("package", []):
        if _in_groups(package, {"default"}, dev):
            yield _pinned(package, package.get("marker"))


def _pinned(package: Mapping[str, Any], markers: str | None) -> str:
    name, version = str(package["name"]), str(package.get("version", ""))
    source = package.get("source", {})
    if source.get("type") == "git":
        ref = source.get("resolved_reference") or source.get("reference") or ""
        line = f"{name} @ git+{source['url']}@{ref}"
    else:
        line = f"{name}=={version}" if version else name
    return f"{line} ; {markers}" if markers else line


def _pipfile_lock(path: Path, dev: bool) -> Iterator[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BadInputError(f"{path}: invalid JSON: {exc}") from None
    sections = ["default", "develop"] if dev else ["default"]
    for section in sections:
        for name, info in data.get(section, {}).items():
            yield _pipfile_line(name, info)


def _pipfile_line(name: str, info: Any) -> str:
    if not isinstance(info, dict):
        return name if info in ("*", "") else f"{name}{info}"
    if "git" in info:
        return f"{name} @ git+{info['git']}@{info.get('ref', '')}".rstrip("@")
    version = info.get("version", "")
    line = name if version in ("*", "") else f"{name}{version}"
    return f"{line} ; {info['markers']}" if info.get("markers") else line


def pipfile_requirements(pipfile: Mapping[str, Any], dev: bool) -> list[str]:
    """Loose requirement lines of a Pipfile's [packages] (or [dev-packages])."""
    table = pipfile.get("dev-packages" if dev else "packages", {})
    return [_pipfile_line(name, info) for name, info in table.items()]


def poetry_requirements(table: Mapping[str, Any]) -> list[str]:
    """Requirement lines for a [tool.poetry.dependencies]-style table (python left out)."""
    return [_poetry_line(n, spec) for n, spec in table.items() if n.lower() != "python"]


def poetry_dev_requirements(poetry: Mapping[str, Any]) -> list[str]:
    """Poetry's dev/test groups (1.2+) and the older [tool.poetry.dev-dependencies]."""
    lines = poetry_requirements(poetry.get("dev-dependencies", {}))
    for name, group in poetry.get("group", {}).items():
        if name in ("dev", "test", "tests", "testing", "lint", "typing"):
            lines += poetry_requirements(group.get("dependencies", {}))
    return lines


def _poetry_line(name: str, spec: Any) -> str:
    extras = ""
    if isinstance(spec, dict):
        if "git" in spec:
            return f"{name} @ git+{spec['git']}"
        if spec.get("extras"):
            extras = "[" + ",".join(spec["extras"]) + "]"
        spec = spec.get("version", "*")
    return f"{name}{extras}{poetry_constraint(str(spec))}"


def poetry_constraint(spec: str) -> str:
    """Poetry's `^1.2` / `~1.2` / `1.2.*` / `*` as a PEP 440 specifier."""
    spec = spec.strip()
    if spec in ("", "*"):
        return ""
    if spec.startswith("^"):
        return _caret(spec[1:])
    if spec.startswith("~") and not spec.startswith("~="):
        parts = spec[1:].split(".")
        upper = [parts[0], str(int(parts[1]) + 1)] if len(parts) > 1 else [str(int(parts[0]) + 1)]
        return f">={spec[1:]},<{'.'.join(upper)}"
    if re.match(r"^\d", spec):
        return f"=={spec}"
    return spec.replace(" ", "")


def _caret(version: str) -> str:
    parts = [int(p) if p.isdigit() else 0 for p in version.split(".")]
    first = next((i for i, p in enumerate(parts) if p != 0), len(parts) - 1)
    upper = [*parts[:first], parts[first] + 1]
    return f">={version},<{'.'.join(str(p) for p in upper)}"
