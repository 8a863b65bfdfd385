"""The SBOM of a release's artifact, through the runtime protocol only.

- An artifact whose Python environment is on this host (the local driver records its
  interpreter in `facts["python"]`) is read directly by `cyclonedx-py environment`;
  cached by what it describes (the environment's installed distributions and the
  release's pyproject): releases sharing an environment share it (5-12 s each otherwise).
- Any other artifact (an image): the driver runs a one-off command in it that lists the
  installed distributions with the standard library (no pip needed: uv-built
  environments have none), and `cyclonedx-py requirements` describes exactly those.
  Cached by the artifact's reference (an image digest names its content).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from moai_deploy.runtime.base import Artifact, CommandSpec, Runtime
from moai_deploy.sbom.cyclonedx import SbomError, from_freeze, from_python

# Prints `name==version` for every distribution the artifact's interpreter sees.
LIST_DISTRIBUTIONS = (
    "import importlib.metadata as m\n"
    "for d in sorted({(d.metadata['Name'], d.version) for d in m.distributions()}):\n"
    "    print(f'{d[0]}=={d[1]}')\n"
)
_PINNED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==\S+$")


def sbom_of_artifact(
    runtime: Runtime, artifact: Artifact, service: str, environment: str, cache_dir: Path
) -> dict[str, Any]:
    """A CycloneDX SBOM of what the artifact runs."""
    pyproject = artifact.snapshot / "pyproject.toml"
    python = artifact.facts.get("python")
    bom: dict[str, Any]
    if python and Path(python).exists():
        cached = cache_dir / "sbom" / f"env-{_environment_key(Path(python), pyproject)}.cdx.json"
        if cached.is_file():
            bom = json.loads(cached.read_text())
            return bom
        bom = from_python(Path(python), cache_dir, pyproject)
        _keep(cached, bom)
        return bom
    key = hashlib.sha256(artifact.reference.encode()).hexdigest()[:16]
    cached = cache_dir / "sbom" / f"artifact-{key}.cdx.json"
    if cached.is_file():
        bom = json.loads(cached.read_text())
        return bom
    listed = installed_distributions(runtime, artifact, service, environment)
    bom = from_freeze(listed, pyproject)
    _keep(cached, bom)
    return bom


def _environment_key(python: Path, pyproject: Path) -> str:
    """What the SBOM of a local environment depends on: its interpreter, the name and
    version of every installed distribution (their dist-info folders) and the pyproject."""
    digest = hashlib.sha256(str(python).encode())
    for info in sorted(python.parent.parent.glob("lib/python*/site-packages/*.dist-info")):
        digest.update(info.name.encode() + b"\0")
    if pyproject.is_file():
        digest.update(pyproject.read_bytes())
    return digest.hexdigest()[:24]


def _keep(path: Path, bom: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(bom, indent=2) + "\n")
    tmp.replace(path)


def installed_distributions(
    runtime: Runtime, artifact: Artifact, service: str, environment: str
) -> str:
    """`name==version` lines of the artifact's environment, from a command run inside it."""
    command = CommandSpec(
        name=f"{service}-{environment}-sbom",
        service=service,
        environment=environment,
        artifact=artifact,
        argv=("python", "-c", LIST_DISTRIBUTIONS),
        timeout=120.0,
    )
    result = runtime.run_command(command)
    lines = [line.strip() for line in result.output.splitlines() if _PINNED.match(line.strip())]
    if result.exit_code != 0 or not lines:
        raise SbomError(f"listing the artifact's packages failed (exit {result.exit_code})")
    return "\n".join(lines) + "\n"
