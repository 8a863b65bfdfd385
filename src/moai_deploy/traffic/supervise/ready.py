"""Readiness probes the watchdog runs against a router generation (stdlib HTTP only).

"Ready" means serving the configuration on disk, not merely up: for Traefik, every route
file in the dynamic folder (files named `_*` are not routes) and every router the check
names is a loaded, enabled router in its API, asked with the owner's credentials.
"""

from __future__ import annotations

import base64
import json
import socket
import urllib.request
from pathlib import Path
from typing import Any


def _get(url: str, auth: list[str] | None, timeout: float) -> Any:
    request = urllib.request.Request(url)  # noqa: S310 - loopback URL we built
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310
        return json.loads(response.read())


def _auth(check: dict[str, Any]) -> list[str] | None:
    """[user, password]: given, or read from `auth_file` (so the password is in one file)."""
    if "auth_file" in check:
        return [check["user"], Path(check["auth_file"]).read_text().strip()]
    auth: list[str] | None = check.get("auth")
    return auth


def _traefik_ready(check: dict[str, Any], ports: dict[str, int], timeout: float, pid: int) -> bool:
    files = Path(check["dynamic_dir"]).glob("*.yml")
    wanted = {f"{path.stem}@file" for path in files if not path.name.startswith("_")}
    wanted |= set(check.get("routers", []))
    url = f"http://127.0.0.1:{ports[check['api']]}/api/http/routers?per_page=1000"
    routers = _get(url, _auth(check), timeout)
    loaded = {r.get("name") for r in routers if r.get("status") == "enabled"}
    return wanted <= loaded


def _http_ready(check: dict[str, Any], ports: dict[str, int], timeout: float, pid: int) -> bool:
    url = f"http://127.0.0.1:{ports[check['port']]}{check.get('path', '/')}"
    request = urllib.request.Request(url)
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310
        return bool(200 <= response.status < 300)


def _haproxy_ready(check: dict[str, Any], ports: dict[str, int], timeout: float, pid: int) -> bool:
    """HAProxy serves its configuration file (which holds the routings) once its runtime
    API answers: `admin-<pid>.sock`, relative to the watchdog's working directory."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(check["socket"].format(pid=pid))
        sock.sendall(b"show info\n")
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    return f"Pid: {pid}\n".encode() in answer


READY_CHECKS = {"traefik": _traefik_ready, "http": _http_ready, "haproxy": _haproxy_ready}


def is_ready(check: dict[str, Any], ports: dict[str, int], timeout: float, pid: int = 0) -> bool:
    """Whether the generation `pid` with `ports` passes `check` (False on any error)."""
    probe = READY_CHECKS[check["kind"]]
    try:
        return probe(check, ports, timeout, pid)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
