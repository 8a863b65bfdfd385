"""One readiness probe with the standard library's http.client, for `moai-deploy status`.

The same answer as `rollout.health.is_ready` (2xx; or, for `<500`, any answer below 500
after following redirects that stay on the same scheme, host and port), without importing
httpx, which costs more CPU than the rest of `status` (see bench/cli_start.py).
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

ACCEPT_BELOW_500 = "<500"  # as rollout.health.ACCEPT_BELOW_500
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5


def ready_once(base_url: str, ready_path: str, accept: str, timeout: float = 1.0) -> bool:
    """Whether an instance at `base_url` (http://host:port) answers `ready_path` as wanted."""
    import http.client  # only when an instance runs

    url = base_url + ready_path
    try:
        code, location = _get(url, timeout)
        for _ in range(_MAX_REDIRECTS):
            if accept != ACCEPT_BELOW_500 or code not in _REDIRECTS or not location:
                break
            target = urljoin(url, location)
            if urlsplit(target)[:2] != urlsplit(url)[:2]:
                break  # to https or another host: the app answered, that is enough
            url = target
            code, location = _get(url, timeout)
    except (OSError, http.client.HTTPException, ValueError):
        return False
    return 200 <= code < 300 or (accept == ACCEPT_BELOW_500 and code < 500)


def _get(url: str, timeout: float) -> tuple[int, str | None]:
    import http.client

    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None:
        raise ValueError(f"not a plain http URL: {url}")
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        target = parts.path or "/"
        connection.request("GET", f"{target}?{parts.query}" if parts.query else target)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Location")
    finally:
        connection.close()
