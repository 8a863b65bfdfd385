"""What the docker runtime needs on this machine, checked one by one, each with its fix."""

from __future__ import annotations

import shutil

from moai_deploy.checks import Check
from moai_deploy.runtime.base import RuntimeUnavailableError
from moai_deploy.runtime.docker.base_image import has_image
from moai_deploy.runtime.docker.engine import START_FIX, connect
from moai_deploy.runtime.docker.local_registry import is_up
from moai_deploy.spec.docker import LOCAL_PYTHON_BASE
from moai_deploy.spec.models import Spec

_REGISTRY_FIX = (
    "start one on {address}: `apt-get install docker-registry`, write a config with "
    "`http: {{addr: {address}}}` and a storage folder, run `docker-registry serve CONFIG` "
    "(see the README), or set docker.registry to a registry you can push to"
)
_BASE_FIX = (
    "build it once: `python -m moai_deploy.runtime.docker.base_image` (as root, needs "
    "debootstrap; the README has the recipe), or set docker.base_image to an image you can pull"
)


def diagnose(spec: Spec, scope: str) -> list[Check]:
    """Engine reachable, registry reachable, base image present."""
    try:
        client = connect(timeout=10)
    except RuntimeUnavailableError as exc:
        detail = str(exc).splitlines()[0]
        return [Check(scope, "docker engine reachable", False, detail, START_FIX)]
    version = client.version().get("Version", "?")
    checks = [Check(scope, "docker engine reachable", True, f"Docker Engine {version}")]
    address = spec.docker.registry
    up = is_up(address)
    checks.append(
        Check(
            scope,
            f"registry {address} reachable",
            up,
            "answers /v2/" if up else "no registry answers there",
            "" if up else _REGISTRY_FIX.format(address=address),
        )
    )
    base = spec.docker.base_image or spec.targets.image.base
    present = has_image(client, base)
    fix = ""
    if not present:
        fix = _BASE_FIX if base == LOCAL_PYTHON_BASE else f"`docker pull {base}`, or {_BASE_FIX}"
        if base == LOCAL_PYTHON_BASE and shutil.which("debootstrap") is None:
            fix = "`apt-get install debootstrap`, then " + fix
    checks.append(Check(scope, f"base image {base} present", present, "", fix))
    return checks
