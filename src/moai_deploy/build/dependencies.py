"""What a project depends on, read from whatever its package manager wrote.

One answer for `init` (which server is declared?), for the release environment (what to
install, pinned from the lock file when there is one) and for the gates (the dev/test
dependencies mypy and pytest need). Lock files win over loose declarations, in the order
uv.lock, poetry.lock, pdm.lock, Pipfile.lock; then requirements*.txt, PEP 621
`[project].dependencies`, Poetry's `[tool.poetry.dependencies]`, a Pipfile, setuptools'
`install_requires`.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moai_deploy.build import _lockfiles
from moai_deploy.build._setuptools import setuptools_requirements
from moai_deploy.errors import BadInputError

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
RUNTIME_REQUIREMENTS = (
    "requirements.txt",
    "requirements/production.txt",
    "requirements/prod.txt",
    "requirements/base.txt",
    "requirements/common.txt",
    "requirements-prod.txt",
)
DEV_REQUIREMENTS = (
    "requirements-dev.txt",
    "requirements-test.txt",
    "requirements/dev.txt",
    "requirements/test.txt",
    "requirements/development.txt",
    "dev-requirements.txt",
    "test-requirements.txt",
)
DEV_GROUPS = ("dev", "test", "tests", "testing", "lint", "typing")


def normalize(name: str) -> str:
    """PEP 503 form of a distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str | None:
    """The distribution a requirement line names (None for options and paths)."""
    text = line.split("#", 1)[0].strip()
    if not text or text.startswith(("-", ".", "/")) or "://" in text.split("@")[0]:
        return None
    match = _NAME.match(text)
    return normalize(match.group(1)) if match else None


@dataclass(frozen=True)
class InstallPlan:
    """How to build a release environment for a project."""

    manager: str  # e.g. "poetry.lock", "requirements.txt", "pyproject.toml [project]", "none"
    requirements: tuple[str, ...]  # lines for `uv pip install -r`, pinned when from a lock
    declared: frozenset[str] = frozenset()  # names the project itself declares (normalized)
    locked: bool = False

    @property
    def names(self) -> frozenset[str]:
        """Every distribution the plan installs, by name (declared ones included)."""
        found = {requirement_name(line) for line in self.requirements}
        return frozenset(n for n in found if n) | self.declared


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's data; bad TOML is bad input naming the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise BadInputError(f"{path}: invalid TOML: {exc}") from None


def install_plan(project: Path, *, dev: bool = False) -> InstallPlan:
    """The project's runtime dependencies (with `dev`, its dev/test ones added)."""
    pyproject = (
        read_toml(project / "pyproject.toml") if (project / "pyproject.toml").is_file() else {}
    )
    declared = declared_names(project, pyproject)
    locked = _lockfiles.from_lock(project, pyproject, dev)
    if locked is not None:
        return InstallPlan(locked[0], locked[1], declared, locked=True)
    plan = _loose_plan(project, pyproject)
    extra = dev_requirements(project, pyproject) if dev else ()
    return InstallPlan(plan.manager, (*plan.requirements, *extra), declared | plan.declared)


def _loose_plan(project: Path, pyproject: dict[str, Any]) -> InstallPlan:
    for relative in RUNTIME_REQUIREMENTS:
        path = project / relative
        if path.is_file():
            lines = tuple(read_requirements(path))
            return InstallPlan(relative, lines, _names(lines))
    pep621 = pyproject.get("project", {}).get("dependencies")
    if pep621:
        lines = _string_list(pep621, "pyproject.toml: [project].dependencies")
        return InstallPlan("pyproject.toml [project]", lines, _names(lines))
    poetry = pyproject.get("tool", {}).get("poetry", {}).get("dependencies")
    if poetry:
        lines = tuple(_lockfiles.poetry_requirements(poetry))
        return InstallPlan("pyproject.toml [tool.poetry]", lines, _names(lines))
    if (project / "Pipfile").is_file():
        lines = tuple(_lockfiles.pipfile_requirements(read_toml(project / "Pipfile"), dev=False))
        return InstallPlan("Pipfile", lines, _names(lines))
    setuptools = tuple(setuptools_requirements(project))
    if setuptools:
        return InstallPlan("setup.cfg/setup.py install_requires", setuptools, _names(setuptools))
    return InstallPlan("none", ())


def _names(lines: tuple[str, ...]) -> frozenset[str]:
    found = {requirement_name(line) for line in lines if ";" not in line}
    return frozenset(n for n in found if n)


def _string_list(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadInputError(f"{where} must be a list of strings")
    return tuple(value)


def declared_names(project: Path, pyproject: dict[str, Any]) -> frozenset[str]:
    """Runtime dependencies the project names itself (what `init` picks a server from)."""
    lines: list[str] = []
    for relative in RUNTIME_REQUIREMENTS[:1]:
        if (project / relative).is_file():
            lines += read_requirements(project / relative)
    lines += [d for d in pyproject.get("project", {}).get("dependencies", []) if isinstance(d, str)]
    poetry = pyproject.get("tool", {}).get("poetry", {}).get("dependencies", {})
    if isinstance(poetry, dict):
        lines += _lockfiles.poetry_requirements(poetry)
    if (project / "Pipfile").is_file():
        lines += _lockfiles.pipfile_requirements(read_toml(project / "Pipfile"), dev=False)
    lines += setuptools_requirements(project)
    return _names(tuple(lines))


def dev_requirements(project: Path, pyproject: dict[str, Any]) -> tuple[str, ...]:
    """Dev/test dependencies from requirements-dev files, PEP 621 extras, PEP 735 groups,
    Poetry groups, PDM dev-dependencies and a Pipfile's [dev-packages]."""
    lines: list[str] = []
    for relative in DEV_REQUIREMENTS:
        if (project / relative).is_file():
            lines += read_requirements(project / relative)
    sources = (
        pyproject.get("project", {}).get("optional-dependencies", {}),
        pyproject.get("dependency-groups", {}),
        pyproject.get("tool", {}).get("pdm", {}).get("dev-dependencies", {}),
    )
    for table in sources:
        for group in DEV_GROUPS:
            lines += [d for d in table.get(group, []) if isinstance(d, str)]
    lines += _lockfiles.poetry_dev_requirements(pyproject.get("tool", {}).get("poetry", {}))
    if (project / "Pipfile").is_file():
        lines += _lockfiles.pipfile_requirements(read_toml(project / "Pipfile"), dev=True)
    lines += setuptools_requirements(project, dev=True)
    return tuple(lines)


def read_requirements(path: Path, seen: frozenset[Path] = frozenset()) -> list[str]:
    """A requirements file's lines with `-r` includes expanded; the project itself (`.`,
    `-e .`) and constraint files are left out (the release runs from its own snapshot)."""
    if path.resolve() in seen:
        return []
    lines: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        include = re.match(r"^(?:-r|--requirement)[\s=]+(\S+)", line)
        if include:
            lines += read_requirements(path.parent / include.group(1), seen | {path.resolve()})
        elif line in {".", "-e .", "-e ./"} or re.match(r"^(?:-c|--constraint)\b", line):
            continue
        else:
            lines.append(line)
    return lines


def installed_names(uv_list_json: str) -> frozenset[str]:
    """Names in `uv pip list --format json` output."""
    return frozenset(normalize(item["name"]) for item in json.loads(uv_list_json or "[]"))
