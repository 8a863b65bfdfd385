"""The Dockerfile `render docker` writes builds a working image for the four kinds of
projects (requirements.txt, PEP 621, Poetry, uv.lock): built by the docker runtime on a
real engine, pushed to a real local registry, run as uid 1000, the server reachable from
outside the container and the image's own HEALTHCHECK (run inside it) healthy."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker
import httpx
import pytest

from moai_deploy.render import render
from moai_deploy.runtime.base import Artifact, ReleaseSource, free_port
from moai_deploy.runtime.docker.images import ImageBuilder, scope_of
from moai_deploy.runtime.docker.local_registry import LocalRegistry
from moai_deploy.spec.loader import load_spec
from moai_deploy.spec.models import Spec

pytestmark = [pytest.mark.slow, pytest.mark.docker]
FIXTURES = Path(__file__).parent.parent / "fixtures" / "docker_projects"
PROJECTS = {
    "wsgi_requirements": "wsgi-requirements /health",
    "fastapi_pep621": "fastapi-pep621",
    "poetry_app": "poetry-app /health",
    "uv_starlette": "uv-starlette ok",
}


def _spec(project: Path, registry: LocalRegistry, base: str) -> Spec:
    spec = load_spec(project / "moai-deploy.yaml").spec
    docker_section = spec.docker.model_copy(
        update={"registry": registry.address, "base_image": base}
    )
    return spec.model_copy(update={"docker": docker_section})


def _wait_healthy(container: docker.models.containers.Container, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    status = "starting"
    while time.monotonic() < deadline:
        container.reload()
        status = container.attrs["State"].get("Health", {}).get("Status", "none")
        if status in ("healthy", "unhealthy") or container.status == "exited":
            return status
        time.sleep(1)
    return status


@dataclass
class Built:
    spec: Spec
    dockerfile: str
    artifact: Artifact
    container: docker.models.containers.Container
    port: int


def _build_and_run(
    name: str, root: Path, client: docker.DockerClient, registry: LocalRegistry, base: str
) -> Built:
    project = root / name
    shutil.copytree(FIXTURES / name, project)
    spec = _spec(project, registry, base)
    builder = ImageBuilder(client, spec, scope_of(root))
    dockerfile = builder.dockerfile_text("t1")
    artifact = builder.build(ReleaseSource(spec.service.name, "t1", project))
    port = free_port()
    container = client.containers.run(
        artifact.facts["image_id"],
        detach=True,
        ports={"8000/tcp": ("127.0.0.1", port)},
        read_only=True,
        tmpfs=dict(spec.docker.tmpfs),
    )
    return Built(spec, dockerfile, artifact, container, port)


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    python_base: str,
) -> Iterator[dict[str, Built]]:
    """The four images, built and started concurrently (CI time)."""
    root = tmp_path_factory.mktemp("docker-projects")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            name: pool.submit(_build_and_run, name, root, docker_client, registry, python_base)
            for name in PROJECTS
        }
        results = {name: future.result() for name, future in futures.items()}
    try:
        yield results
    finally:
        for item in results.values():
            item.container.remove(force=True)
            docker_client.images.remove(item.artifact.facts["image_id"], force=True)


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_rendered_dockerfile_builds_and_serves(
    name: str, built: dict[str, Built], docker_client: docker.DockerClient, registry: LocalRegistry
) -> None:
    item = built[name]
    # One source of truth: the runtime builds exactly what `render docker` writes.
    assert item.dockerfile == render(item.spec, "production", "t1")["docker/Dockerfile"]
    prefix = f"{registry.address}/{item.spec.service.name}@sha256:"
    assert item.artifact.reference.startswith(prefix)
    image = docker_client.images.get(item.artifact.facts["image_id"])
    assert image.attrs["Config"]["User"] == "1000:1000"
    assert "/ready" in " ".join(image.attrs["Config"]["Healthcheck"]["Test"])
    container = item.container
    assert _wait_healthy(container) == "healthy", container.logs().decode()[-2000:]
    response = httpx.get(f"http://127.0.0.1:{item.port}/health", timeout=10)
    assert response.status_code == 200 and PROJECTS[name] in response.text
    assert container.exec_run(["id", "-u"]).output.decode().strip() == "1000"
