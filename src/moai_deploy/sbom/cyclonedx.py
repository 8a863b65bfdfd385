"""CycloneDX SBOMs made by `cyclonedx-py` (PyPI `cyclonedx-bom`, one of moai-deploy's own
dependencies: it runs from moai-deploy's environment and only reads the release's). Where
our environment has no `cyclonedx-py` script (e.g. a `pip install --user` whose scripts
folder is not on PATH) it runs as `python -m cyclonedx_py`; where the package is missing
altogether it is provisioned with uv like the gate tools (gates/provision.py: pinned,
cached, isolated).

Two sources, one per kind of artifact:
- a Python environment on this host (the local runtime's release environment, or the
  spec's `service.python`): `from_python(python)`, which reads its installed distributions;
- an environment inside an image: the runtime runs `python -m pip freeze` in the image and
  hands the text to `from_freeze(text)`, which describes exactly those pinned packages.

SBOMs are reproducible (no timestamp, no serial number), so the same environment gives the
same bytes; an environment's SBOM is cached beside it by a key of what it contains.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess  # nosec B404 - cyclonedx-py with argv lists only
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from moai_deploy.errors import MoaiError
from moai_deploy.gates.tools import find_tool, tool_env
from moai_deploy.paths import default_cache_dir, exclusive_lock

TOOL = "cyclonedx-py"
# Provisioned with uv (like the gate tools) when our environment has no copy.
DISTRIBUTION, PINNED_VERSION = "cyclonedx-bom", "7.5.0"
TIMEOUT = 300
SPEC_VERSION = "1.6"


class SbomError(MoaiError):
    """The SBOM could not be made (tool missing, environment unreadable)."""


def module_here() -> bool:
    """Whether our interpreter can import cyclonedx-py's package."""
    return importlib.util.find_spec("cyclonedx_py") is not None


def tool_argv() -> list[str]:
    """How to start cyclonedx-py: our script, our interpreter's module, else provisioned."""
    found = find_tool(TOOL)
    if found is not None:
        return [str(found)]
    if module_here():
        return [sys.executable, "-m", "cyclonedx_py"]
    from moai_deploy.gates.provision import ToolProvisionError, provision

    try:
        return [str(provision(TOOL, PINNED_VERSION, default_cache_dir(), DISTRIBUTION))]
    except ToolProvisionError as exc:
        raise SbomError(
            f"{TOOL} is not installed and could not be provisioned ({exc})\n"
            "    fix: pip install cyclonedx-bom into moai-deploy's environment"
        ) from None


def _run(args: list[str], stdin: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bom.json"
        argv = [*tool_argv(), *args, "--of", "JSON", "--sv", SPEC_VERSION]
        argv += ["--output-reproducible", "-o", str(out)]
        done = subprocess.run(  # nosec B603 - argv list, our own tool
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=tool_env(),
            check=False,
        )
        if done.returncode != 0 or not out.is_file():
            tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
            raise SbomError(f"{TOOL} exited {done.returncode}: {' | '.join(tail)}")
        bom: dict[str, Any] = json.loads(out.read_text())
    return bom


def _root(pyproject: Path | None) -> list[str]:
    """`--pyproject` when cyclonedx-py can name the root component from it: it reads
    `[tool.poetry]` before `[project]`, and a Poetry table without a name (Poetry 2's
    `package-mode = false` beside a PEP 621 table) makes it fail."""
    if pyproject is None or not pyproject.is_file():
        return []
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    poetry = data.get("tool", {}).get("poetry")
    table = poetry if poetry else data.get("project")
    named = isinstance(table, dict) and isinstance(table.get("name"), str)
    return ["--pyproject", str(pyproject)] if named else []


def _site_key(python: Path) -> str:
    """What the environment holds, cheaply: its interpreter and its site-packages' mtimes."""
    prefix = python.parent.parent
    stamps = [
        f"{site}:{site.stat().st_mtime_ns}"
        for site in sorted(prefix.glob("lib/python*/site-packages"))
    ]
    return hashlib.sha256("\n".join([str(python.resolve()), *stamps]).encode()).hexdigest()[:16]


def from_python(
    python: Path, cache_dir: Path | None = None, pyproject: Path | None = None
) -> dict[str, Any]:
    """The SBOM of the environment `python` runs in (cached under `cache_dir/sbom`)."""
    root = _root(pyproject)
    key = hashlib.sha256(f"{_site_key(python)}|{root}".encode()).hexdigest()[:16]
    cached = cache_dir / "sbom" / f"{key}.cdx.json" if cache_dir else None
    if cached is not None and cached.is_file():
        bom: dict[str, Any] = json.loads(cached.read_text())
        return bom
    bom = _run(["environment", *root, str(python)])
    if cached is not None:
        with exclusive_lock(cached.with_suffix(".lock")):
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_text(json.dumps(bom, indent=2) + "\n")
    return bom


def from_freeze(freeze: str, pyproject: Path | None = None) -> dict[str, Any]:
    """The SBOM of an environment given as `pip freeze` output (e.g. from inside an image)."""
    return _run(["requirements", *_root(pyproject), "-"], stdin=freeze)


def packages(bom: dict[str, Any]) -> dict[str, str]:
    """Component name (normalised like PyPI: lowercase, '-' for '_' and '.') -> version."""
    found: dict[str, str] = {}
    for component in bom.get("components", []):
        name = str(component.get("name", "")).lower().replace("_", "-").replace(".", "-")
        if name:
            found[name] = str(component.get("version", ""))
    return dict(sorted(found.items()))
