"""Traefik as the traffic router: one process per state folder, driven by its file provider."""

from moai_deploy.traffic.traefik.process import TraefikProcess, find_traefik_binary
from moai_deploy.traffic.traefik.router import TraefikRouter

__all__ = ["TraefikProcess", "TraefikRouter", "find_traefik_binary"]
