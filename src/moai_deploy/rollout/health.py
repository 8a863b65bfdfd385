"""Readiness waiting and smoke tests against instances, directly (not through the router)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import httpx

from moai_deploy.runtime.base import InstanceState, InstanceStatus


class FailureKind(StrEnum):
    """What went wrong, for decisions (the reason is for people)."""

    CRASHED = "crashed"
    NOT_READY = "not_ready"  # still not ready when the time was up
    FAILED = "failed"  # answered with an error, or not at all (smoke test)


@dataclass(frozen=True)
class HealthFailure:
    """Why an instance is not healthy."""

    instance: str
    reason: str
    kind: FailureKind = FailureKind.FAILED


# What a probe accepts (the spec's `service.ready_status`): 2xx, or any answer below 500
# with redirects followed (apps without a health route: a login redirect or a 404 page
# still proves the process serves).
ACCEPT_2XX, ACCEPT_BELOW_500 = "2xx", "<500"


def _get(client: httpx.Client, url: str, accept: str) -> httpx.Response:
    """GET `url`; for `<500`, follow redirects that stay on the same scheme, host and port
    (a redirect to https or another host already proves the app answers)."""
    response = client.get(url)
    for _ in range(5):
        target = response.next_request if accept == ACCEPT_BELOW_500 else None
        if target is None or (target.url.scheme, target.url.netloc) != (
            response.url.scheme,
            response.url.netloc,
        ):
            break
        response = client.send(target)
    return response


def _probe(client: httpx.Client, url: str, accept: str = ACCEPT_2XX) -> str | None:
    """None when `url` answers as `accept` wants, else why not."""
    try:
        response = _get(client, url, accept)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    code = response.status_code
    if 200 <= code < 300 or (accept == ACCEPT_BELOW_500 and code < 500):
        return None
    return f"HTTP {code}"


def wait_ready(
    list_instances: Callable[[], Sequence[InstanceStatus]],
    ready_path: str,
    timeout: float,
    interval: float = 0.1,
    accept: str = ACCEPT_2XX,
) -> list[HealthFailure]:
    """Poll until every instance answers `ready_path` as `accept` wants; fail fast on a crash."""
    deadline = time.monotonic() + timeout
    pending: dict[str, str] = {}
    with httpx.Client(timeout=2.0) as client:
        while True:
            instances = list_instances()
            crashed = [i for i in instances if i.state is InstanceState.CRASHED]
            if crashed:
                return [
                    HealthFailure(i.name, f"crashed: {i.detail}", FailureKind.CRASHED)
                    for i in crashed
                ]
            pending = {}
            for inst in instances:
                reason = _probe(client, inst.url + ready_path, accept)
                if reason is not None:
                    pending[inst.name] = reason
            if not pending:
                return []
            if time.monotonic() >= deadline:
                return [
                    HealthFailure(
                        name, f"not ready after {timeout:g}s ({reason})", FailureKind.NOT_READY
                    )
                    for name, reason in pending.items()
                ]
            time.sleep(interval)


def smoke_test(
    instances: Sequence[InstanceStatus], paths: Sequence[str], accept: str = ACCEPT_2XX
) -> list[HealthFailure]:
    """Every path must answer (2xx, or below 500 as `accept` says) on every instance."""
    failures = []
    with httpx.Client(timeout=5.0) as client:
        for inst in instances:
            for path in paths:
                reason = _probe(client, inst.url + path, accept)
                if reason is not None:
                    failures.append(HealthFailure(inst.name, f"GET {path}: {reason}"))
    return failures


@lru_cache(maxsize=4)
def _status_client(timeout: float) -> httpx.Client:
    # One shared (thread-safe) client: building one costs ~0.2 s of CPU (its TLS context),
    # far more than the probe, and the control plane shows status to many clients at once.
    return httpx.Client(timeout=timeout)


def is_ready(url: str, ready_path: str, timeout: float = 1.0, accept: str = ACCEPT_2XX) -> bool:
    """One quick readiness probe (status display)."""
    return _probe(_status_client(timeout), url + ready_path, accept) is None
