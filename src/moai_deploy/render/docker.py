"""Docker: a multi-stage Dockerfile (uv build stage, non-root runtime) and .dockerignore.

The docker runtime builds its images from this same Dockerfile (one source of truth).
"""

from __future__ import annotations

import json

from moai_deploy.render._docker_install import copy_sources, install_lines
from moai_deploy.render.context import RenderContext
from moai_deploy.spec.resolve import resolve_environment

HEADER = "# Rendered by moai-deploy from moai-deploy.yaml; edit the spec, not this file.\n"
UID = 1000
DOCKERIGNORE = (
    ".git",
    ".github",
    ".gitlab-ci.yml",
    ".moai-deploy",
    ".venv",
    "**/__pycache__",
    "**/*.py[cod]",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".coverage",
    "htmlcov",
    "dist",
    "*.egg-info",
    ".env",
    ".env.*",
    ".secrets.env",
    "*.pem",
    "*.key",
    "rendered",
    "Dockerfile",
    ".dockerignore",
)


def render(ctx: RenderContext) -> dict[str, str]:
    """`docker/Dockerfile` and `docker/.dockerignore`: the same in every environment, since
    one image is built once and promoted from staging to production."""
    return {"docker/Dockerfile": dockerfile(ctx), "docker/.dockerignore": dockerignore()}


def healthcheck_argv(ctx: RenderContext, path: str) -> list[str]:
    """A probe that needs nothing but the image's Python (no curl in slim images)."""
    url = f"http://127.0.0.1:{ctx.port}{path}"
    code = (
        "import sys, urllib.request; "
        f"sys.exit(0 if urllib.request.urlopen('{url}', timeout=4).status < 400 else 1)"
    )
    return ["python", "-c", code]


BUILD_ENV = (
    "PIP_DISABLE_PIP_VERSION_CHECK=1",
    "PIP_NO_CACHE_DIR=1",
    # The image's trust store (so a TLS-inspecting proxy's CA in the base image counts).
    "PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
    "REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt",
    "UV_NATIVE_TLS=1",
    "UV_COMPILE_BYTECODE=1",
    "UV_LINK_MODE=copy",
    "UV_PYTHON_DOWNLOADS=never",
    'PATH="/opt/tools/bin:${PATH}"',
)
# Servers that read their listen address from the environment listen on every interface.
BIND_ENV = ("UVICORN_HOST=0.0.0.0", "FLASK_RUN_HOST=0.0.0.0")


def _env(values: list[str] | tuple[str, ...]) -> list[str]:
    return [f"ENV {values[0]}" + (" \\" if len(values) > 1 else "")] + [
        f"    {v}" + (" \\" if i < len(values) - 1 else "") for i, v in enumerate(values[1:], 1)
    ]


def build_stage(ctx: RenderContext) -> list[str]:
    """uv (and Poetry when needed) in /opt/tools; the dependencies in /opt/venv."""
    image = ctx.targets.image
    return [
        "FROM ${PYTHON_IMAGE} AS build",
        *_env(BUILD_ENV),
        "WORKDIR /src",
        "RUN python3 -m venv /opt/tools \\",
        f"    && /opt/tools/bin/pip install --no-cache-dir uv=={image.uv_version} \\",
        "    && python3 -m venv /opt/venv",
        copy_sources(image),
        *install_lines(image),
    ]


def dockerfile(ctx: RenderContext) -> str:
    """Build stage installs dependencies into /opt/venv; the runtime stage copies it."""
    start = image_start_period(ctx)
    runtime_env = [
        'PATH="/opt/venv/bin:${PATH}"',
        "PYTHONDONTWRITEBYTECODE=1",
        "PYTHONUNBUFFERED=1",
        *BIND_ENV,
        f"{ctx.service.port_env}={ctx.port}",
    ]
    lines = [
        HEADER.rstrip("\n"),
        f"# Image: {ctx.repository}:<version> (build with --build-arg VERSION=<version>).",
        f"ARG PYTHON_IMAGE={ctx.targets.image.base}",
        "",
        *build_stage(ctx),
        "",
        "FROM ${PYTHON_IMAGE} AS runtime",
        "ARG VERSION=dev",
        f'LABEL org.opencontainers.image.title="{ctx.name}" \\',
        '      org.opencontainers.image.version="${VERSION}"',
        *_env(runtime_env),
        f"RUN groupadd --system --gid {UID} app \\",
        f"    && useradd --system --uid {UID} --gid {UID} --no-create-home "
        "--shell /usr/sbin/nologin app",
        "COPY --from=build /opt/venv /opt/venv",
        "WORKDIR /app",
        "# Code stays owned by root: the app user can read it but never change it.",
        "COPY . /app",
        *([f"WORKDIR {ctx.workdir}"] if ctx.workdir != "/app" else []),
        f"USER {UID}:{UID}",
        f"EXPOSE {ctx.port}",
        f"HEALTHCHECK --interval=10s --timeout=5s --start-period={start}s --retries=3 \\",
        "    CMD " + json.dumps(healthcheck_argv(ctx, ctx.service.ready_path)),
        "STOPSIGNAL SIGTERM",
        "CMD " + json.dumps(list(ctx.command)),
    ]
    return "\n".join(lines) + "\n"


def image_start_period(ctx: RenderContext) -> int:
    """One image runs in every environment: it tolerates the slowest start any allows."""
    timeouts = [
        resolve_environment(ctx.spec, name).health_check_timeout for name in ctx.spec.environments
    ]
    return max(10, round(max(timeouts)))


def dockerignore() -> str:
    """What never goes into the build context: VCS, caches, local state and secrets."""
    return HEADER + "\n".join(DOCKERIGNORE) + "\n"
