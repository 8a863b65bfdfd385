"""Whether the environments' ports are free for the router (or held by this project's own
router already), each finding with its fix."""

from __future__ import annotations

import socket
from collections.abc import Mapping

from moai_deploy.checks import Check


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_checks(host: str, ports: Mapping[str, tuple[str, int]], held: bool) -> list[Check]:
    """`ports`: entrypoint -> (environment, port); `held`: this project's router runs (so a
    port that cannot be bound is its own)."""
    checks = []
    for entrypoint, (environment, port) in ports.items():
        name = f"port {host}:{port} ({entrypoint}) free"
        if port_free(host, port):
            checks.append(Check(environment, name, True))
        elif held:
            checks.append(Check(environment, name, True, "held by this project's router"))
        else:
            fix = f"stop what listens on {port}, or give {environment} another `port:`"
            checks.append(Check(environment, name, False, "in use by another process", fix))
    return checks
