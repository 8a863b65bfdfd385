"""Settings that expose the service or read files beyond the project need an explicit opt-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from moai_deploy.spec import models

Loc = tuple[int | str, ...]
Finding = tuple[Loc, str, str]  # where, what is wrong, how to fix it
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
FIRST_UNPRIVILEGED_PORT = 1024


def risky_settings(spec: models.Spec, project_dir: Path) -> Iterator[Finding]:
    """Public bind address, privileged ports, a secrets file outside the project."""
    traffic = spec.traffic
    if traffic.host not in LOOPBACK_HOSTS and not traffic.public:
        yield (
            ("traffic", "host"),
            f"{traffic.host} makes every environment reachable from other machines",
            "add `public: true` under `traffic:` if that is meant, else use 127.0.0.1",
        )
    if not traffic.allow_privileged_ports:
        yield from _privileged_ports(spec)
    if not spec.secrets_outside_project and _outside(spec.secrets_file, project_dir):
        yield (
            ("secrets_file",),
            f"{spec.secrets_file!r} is outside the project folder",
            "keep the secrets file in the project (git-ignored), or add "
            "`secrets_outside_project: true` if reading it from there is meant",
        )


def _privileged_ports(spec: models.Spec) -> Iterator[Finding]:
    for name, overlay in spec.environments.items():
        port = spec.port_of(name)
        if port < FIRST_UNPRIVILEGED_PORT:
            loc: Loc = ("environments", name, "port") if overlay.port else ("defaults", "port")
            yield (
                loc,
                f"port {port} is privileged (below {FIRST_UNPRIVILEGED_PORT}): the router "
                "would need root or CAP_NET_BIND_SERVICE",
                f"use a port >= {FIRST_UNPRIVILEGED_PORT}, or add "
                "`allow_privileged_ports: true` under `traffic:`",
            )


def _outside(secrets_file: str, project_dir: Path) -> bool:
    relative = PurePosixPath(secrets_file)
    if relative.is_absolute() or ".." in relative.parts:
        return not _inside(
            Path(secrets_file) if relative.is_absolute() else project_dir / relative, project_dir
        )
    return False


def _inside(path: Path, project_dir: Path) -> bool:
    try:
        path.resolve().relative_to(project_dir.resolve())
    except ValueError:
        return False
    return True
