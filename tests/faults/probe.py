"""Run as an unprivileged user (stdlib only, system Python): what can it read or reach?

Usage: python3 probe.py JSON  where JSON is {"files": [...], "http": [...], "unix": [...]}.
Prints {"read": [paths read], "http": [urls answered], "unix": [sockets answered],
"status": {url: the HTTP status it answered, or 0 when it could not be reached}}.
"""

from __future__ import annotations

import json
import socket
import sys
import urllib.error
import urllib.request


def _readable(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError:
        return False
    return True


def _http(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            response.read(1)
    except OSError:
        return False
    return True


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:  # an answer: e.g. 401
        return int(exc.code)
    except OSError:
        return 0


def _unix(path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(3)
            sock.connect(path)
            sock.sendall(b"GET /ping HTTP/1.0\r\n\r\n")
            return bool(sock.recv(1))
    except OSError:
        return False


def main() -> None:
    wanted = json.loads(sys.argv[1])
    print(
        json.dumps(
            {
                "read": [p for p in wanted.get("files", []) if _readable(p)],
                "http": [u for u in wanted.get("http", []) if _http(u)],
                "unix": [u for u in wanted.get("unix", []) if _unix(u)],
                "status": {u: _status(u) for u in wanted.get("http", [])},
            }
        )
    )


if __name__ == "__main__":
    main()
