"""`moai-deploy demo --runtime docker`: the demo's scratch project on the Docker Engine, with
a local registry and the locally built Python base image (the README's recipe)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ruamel.yaml import YAML

from moai_deploy.pipeline.project import Project

_GIT = ["git", "-c", "user.name=moai-demo", "-c", "user.email=demo@localhost"]


def use_docker(project: Path, environment: str, registry: str, base_image: str) -> None:
    """Switch the scratch spec's `environment` to the docker runtime and commit it."""
    yaml = YAML(typ="rt")
    spec_path = project / "moai-deploy.yaml"
    data = yaml.load(spec_path)
    data["docker"] = {"registry": registry, "base_image": base_image}
    data["environments"][environment]["runtime"] = "docker"
    yaml.dump(data, spec_path)
    subprocess.run(
        [*_GIT, "-C", str(project), "commit", "-q", "-am", f"{environment} runs on docker"],
        check=True,
        capture_output=True,
    )


def remove_images(project: Project) -> list[str]:
    """Remove every image the project's docker runtime built (the demo and tests clean up)."""
    return list(project.driver("docker").prune(project.service, []))


@contextmanager
def docker_demo(workspace: Path) -> Iterator[tuple[str, str]]:
    """(registry address, base image) for the demo; the registry stops afterwards.

    Fails with RuntimeUnavailableError (and the fix) when no engine is reachable.
    """
    from moai_deploy.cli.output import console
    from moai_deploy.runtime.docker.base_image import ensure_python_base
    from moai_deploy.runtime.docker.engine import connect
    from moai_deploy.runtime.docker.local_registry import LocalRegistry
    from moai_deploy.spec.docker import LOCAL_PYTHON_BASE

    client = connect()
    if not client.images.list(name=LOCAL_PYTHON_BASE):
        console.print(f"building the base image {LOCAL_PYTHON_BASE} once (debootstrap, ~2 min)")
    ensure_python_base(client, LOCAL_PYTHON_BASE)
    registry = LocalRegistry(workspace / "registry").start()
    console.print(f"local registry on {registry.address}")
    try:
        yield registry.address, LOCAL_PYTHON_BASE
    finally:
        registry.stop()
