"""The process and router objects of one router kind for a project's state folder."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from moai_deploy.traffic.handover import RouterPair


def router_pair(
    name: str,
    state_root: Path,
    entrypoints: Mapping[str, int],
    host: str,
    ready: tuple[str, str],
) -> RouterPair:
    """`traefik` or `haproxy` under `state_root` (TrafficError if it cannot run here);
    `ready` is the spec's (ready_path, ready_status), which the router's health check uses.
    Only the named router's modules load (`moai-deploy status` start-up)."""
    if name == "haproxy":
        from moai_deploy.traffic.haproxy import HaproxyProcess, HaproxyRouter

        haproxy = HaproxyProcess(state_root / "haproxy", entrypoints, host, *ready)
        return RouterPair(haproxy, HaproxyRouter(haproxy))
    from moai_deploy.traffic.traefik import TraefikProcess, TraefikRouter

    traefik = TraefikProcess(state_root / "traefik", entrypoints, host=host)
    return RouterPair(traefik, TraefikRouter(traefik))
