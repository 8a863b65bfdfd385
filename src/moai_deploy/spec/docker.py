"""The `docker:` section: how the docker runtime builds, stores and runs images."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from moai_deploy.spec._base import Section

DEFAULT_REGISTRY = "127.0.0.1:5000"
LOCAL_PYTHON_BASE = "local/python-base:bookworm"


class DockerSpec(Section):
    """Settings of the docker runtime (used by environments with `runtime: docker`)."""

    registry: str = Field(
        default=DEFAULT_REGISTRY,
        pattern=r"^[a-z0-9][a-z0-9.-]*(:\d+)?$",
        description="Registry images are pushed to, host[:port] (default: a local registry "
        "on 127.0.0.1:5000, e.g. Debian's docker-registry).",
    )
    repository: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9._/-]*$",
        description="Repository inside the registry (default: the service name). Images are "
        "tagged <registry>/<repository>:<version> and recorded by digest.",
    )
    base_image: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9._/:@-]*$",
        description="Base image of the builds (default: targets.image.base). Without registry "
        f"access use a locally built one, e.g. {LOCAL_PYTHON_BASE} (see the README's recipe).",
    )
    read_only: bool = Field(
        default=True, description="Run containers with a read-only root filesystem."
    )
    tmpfs: dict[Annotated[str, Field(pattern=r"^/[A-Za-z0-9._/-]*$")], str] = Field(
        default_factory=lambda: {"/tmp": "size=64m"},  # noqa: S108  # nosec B108 - container tmpfs
        description="tmpfs mounts (path: options) writable inside the container.",
    )
    build_timeout: Annotated[float, Field(gt=0, le=7200)] = Field(
        default=900.0, description="Seconds an image build may take."
    )

    @field_validator("tmpfs")
    @classmethod
    def _no_secret_mount(cls, value: dict[str, str]) -> dict[str, str]:
        if any(path.rstrip("/") == "/run/secrets" for path in value):
            raise ValueError("/run/secrets is where moai-deploy mounts secrets; use another path")
        return value
