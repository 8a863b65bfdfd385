"""Reaching the Docker Engine: one client, and its failures as messages with a fix."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import docker
import requests
from docker.errors import APIError, DockerException

from moai_deploy.errors import ReleaseFailedError
from moai_deploy.runtime.base import RuntimeUnavailableError

START_FIX = (
    "start the engine: `dockerd >/tmp/dockerd.log 2>&1 &` as root (Debian: "
    "`apt-get install docker.io`), or point DOCKER_HOST at a running one; "
    "`moai-deploy doctor` checks everything the project needs"
)


def connect(timeout: float = 60.0) -> docker.DockerClient:
    """A client that answered a ping; RuntimeUnavailableError (with the fix) otherwise."""
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.DockerClient.from_env(timeout=int(timeout))
        client.ping()
    except (DockerException, requests.RequestException, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RuntimeUnavailableError(
            f"the Docker engine at {where} is not reachable ({reason[:200]})\n    fix: {START_FIX}"
        ) from None
    return client


@contextmanager
def engine_errors(doing: str) -> Iterator[None]:
    """Engine failures while `doing` something become a failed release (exit 1)."""
    try:
        yield
    except APIError as exc:
        detail = exc.explanation or str(exc)
        raise ReleaseFailedError(f"docker: {doing} failed: {detail}") from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise RuntimeUnavailableError(
            f"docker: the engine stopped answering while {doing} ({type(exc).__name__})\n"
            f"    fix: {START_FIX}"
        ) from None
