"""The Dockerfile `render docker` writes builds a working image for the four kinds of
projects (requirements.txt, PEP 621, Poetry, uv.lock): built by the docker runtime on a
real engine, pushed to a real local registry, run as uid 1000, the server reachable from
outside the container and the image's own HEALTHCHECK (run inside it) healthy."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import docker
import httpx
import pytest

from moai_deploy.render import render
from moai_deploy.runtime.base import ReleaseSource, free_port
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


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_rendered_dockerfile_builds_and_serves(
    name: str,
    tmp_path: Path,
    docker_client: docker.DockerClient,
    registry: LocalRegistry,
    python_base: str,
) -> None:
    project = tmp_path / name
    shutil.copytree(FIXTURES / name, project)
    spec = _spec(project, registry, python_base)
    builder = ImageBuilder(docker_client, spec, scope_of(tmp_path))
    # One source of truth: the runtime builds exactly what `render docker` writes.
    assert builder.dockerfile_text("t1") == render(spec, "production", "t1")["docker/Dockerfile"]

    artifact = builder.build(ReleaseSource(spec.service.name, "t1", project))
    assert artifact.reference.startswith(f"{registry.address}/{spec.service.name}@sha256:")
    image = docker_client.images.get(artifact.facts["image_id"])
    assert image.attrs["Config"]["User"] == "1000:1000"
    assert "/ready" in " ".join(image.attrs["Config"]["Healthcheck"]["Test"])

    port = free_port()
    container = docker_client.containers.run(
        image.id,
        detach=True,
        ports={"8000/tcp": ("127.0.0.1", port)},
        read_only=True,
        tmpfs=dict(spec.docker.tmpfs),
    )
    try:
        assert _wait_healthy(container) == "healthy", container.logs().decode()[-2000:]
        response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10)
        assert response.status_code == 200 and PROJECTS[name] in response.text
        assert container.exec_run(["id", "-u"]).output.decode().strip() == "1000"
    finally:
        container.remove(force=True)
        docker_client.images.remove(image.id, force=True)
