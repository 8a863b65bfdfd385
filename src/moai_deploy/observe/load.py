"""A bounded HTTP load generator that records every request, for demos and benchmarks.

Each worker owns one keep-alive connection and sends GET requests back to back until the
duration is over or a stop event is set, so a release can be watched from the client's
side: how many requests failed, how latency moved, which versions answered when.

Workers are threads on the stdlib's http.client, not httpx: httpx spent 3-6x more CPU per
request here, so on a 2-core host the client became the bottleneck and its own queueing
showed up as the service's latency.
"""

from __future__ import annotations

import math
import select
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPSConnection
from itertools import chain
from typing import Any
from urllib.parse import urlsplit, urlunsplit

VERSION_HEADER = "X-App-Version"
NO_VERSION = "(none)"  # a response that carried no version header, e.g. a proxy's 502

# A refused connection fails in microseconds; without a pause a worker would spin and
# flood the report with failures that say nothing more than the first one did.
_ERROR_PAUSE = 0.01


@dataclass(frozen=True)
class RequestSample:
    """The outcome of one request; `start` is seconds since the load began."""

    start: float
    latency: float
    status: int | None
    error: str | None = None  # exception class name when the request raised
    version: str | None = None  # the X-App-Version response header

    @property
    def failed(self) -> bool:
        return self.error is not None or self.status is None or not 200 <= self.status < 300


@dataclass
class LoadReport:
    """Every request sent during one load run, and what it says in aggregate."""

    samples: list[RequestSample]
    duration: float
    started_at: float = 0.0  # wall-clock time (epoch seconds) of offset 0

    @property
    def total(self) -> int:
        return len(self.samples)

    @property
    def failed(self) -> int:
        return sum(1 for s in self.samples if s.failed)

    @property
    def ok(self) -> int:
        return self.total - self.failed

    def percentile(self, p: float) -> float:
        """Latency (seconds) at percentile `p` (0-100) over all requests; 0.0 when none."""
        return _percentile([s.latency for s in self.samples], p)

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    def between(self, t0: float, t1: float) -> list[RequestSample]:
        """The requests started in [t0, t1) seconds since the load began."""
        return [s for s in self.samples if t0 <= s.start < t1]

    def failures_between(self, t0: float, t1: float) -> int:
        """How many requests started in [t0, t1) failed."""
        return sum(1 for s in self.between(t0, t1) if s.failed)

    def latency_percentile_between(self, t0: float, t1: float, p: float) -> float:
        """Latency percentile `p` of the requests started in [t0, t1); 0.0 when none."""
        return _percentile([s.latency for s in self.between(t0, t1)], p)

    def versions_timeline(self, bucket: float = 1.0) -> list[tuple[float, dict[str, int]]]:
        """Per `bucket` seconds from 0, how many responses each version served.

        Every bucket up to the last request is listed, empty ones too, so gaps show.
        Requests that got no response at all are not counted (see `failures_between`).
        """
        if bucket <= 0:
            raise ValueError("bucket must be > 0")
        if not self.samples:
            return []
        last = max(int(s.start // bucket) for s in self.samples)
        counts: list[Counter[str]] = [Counter() for _ in range(last + 1)]
        for s in self.samples:
            if s.status is not None:
                counts[int(s.start // bucket)][s.version or NO_VERSION] += 1
        return [(i * bucket, dict(sorted(c.items()))) for i, c in enumerate(counts)]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (latencies in milliseconds)."""
        versions = Counter(s.version or NO_VERSION for s in self.samples if s.status is not None)
        errors = Counter(s.error or f"HTTP {s.status}" for s in self.samples if s.failed)
        return {
            "requests": self.total,
            "failed": self.failed,
            "ok": self.ok,
            "duration_s": round(self.duration, 3),
            "rps": round(self.total / self.duration, 1) if self.duration > 0 else 0.0,
            "p50_ms": round(self.p50 * 1000, 2),
            "p99_ms": round(self.p99 * 1000, 2),
            "versions": dict(sorted(versions.items())),
            "errors": dict(sorted(errors.items())),
        }


def _percentile(values: list[float], p: float) -> float:
    # Nearest-rank: always a latency that was really observed.
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, got {p}")
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def run_load(
    url: str,
    *,
    duration: float,
    concurrency: int = 16,
    stop: threading.Event | None = None,
    timeout: float = 5.0,
) -> LoadReport:
    """Send GETs to `url` from `concurrency` keep-alive workers until `duration` or `stop`."""
    job = _LoadJob(url, duration, stop or threading.Event(), concurrency, timeout)
    return job.run(time.monotonic())


class _Connection:
    """One keep-alive HTTP/1.1 connection, reopened when the server closed it while idle."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        https = parts.scheme == "https"
        kind = HTTPSConnection if https else HTTPConnection
        self._conn = kind(parts.hostname, parts.port or (443 if https else 80), timeout=timeout)
        self._target = urlunsplit(("", "", parts.path or "/", parts.query, ""))

    def sample(self, origin: float) -> RequestSample:
        """Time one GET; a request that raised is a recorded failure, never an exception."""
        started = time.monotonic()
        try:
            status, version = self._get()
        except Exception as exc:
            latency = time.monotonic() - started
            return RequestSample(started - origin, latency, None, type(exc).__name__)
        latency = time.monotonic() - started
        return RequestSample(started - origin, latency, status, None, version)

    def close(self) -> None:
        self._conn.close()

    def _get(self) -> tuple[int, str | None]:
        """Send one GET and read the whole response: (status, version header)."""
        if self._conn.sock is not None:
            # Readable while idle means the server hung up: reconnect, as httpx does,
            # instead of reporting a failure that no real client would see.
            idle = select.poll()
            idle.register(self._conn.sock, select.POLLIN)
            if idle.poll(0):
                self._conn.close()
        try:
            self._conn.request("GET", self._target)
            response = self._conn.getresponse()
            response.read()
        except BaseException:
            self._conn.close()  # a half-used connection cannot carry another request
            raise
        return response.status, response.getheader(VERSION_HEADER)


@dataclass
class _LoadJob:
    url: str
    duration: float
    stop: threading.Event
    concurrency: int = 16
    timeout: float = 5.0
    first_failed: float | None = None  # wall time the clients first saw a failure

    def run(self, origin: float) -> LoadReport:
        if self.duration < 0 or self.concurrency < 1:
            raise ValueError("duration must be >= 0 and concurrency >= 1")
        deadline = origin + self.duration
        outputs: list[list[RequestSample]] = [[] for _ in range(self.concurrency)]
        args = [(_Connection(self.url, self.timeout), origin, deadline, out) for out in outputs]
        workers = [threading.Thread(target=self._worker, args=a, daemon=True) for a in args]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        samples = sorted(chain.from_iterable(outputs), key=lambda s: s.start)
        elapsed = time.monotonic() - origin
        return LoadReport(samples, elapsed, time.time() - elapsed)

    def _worker(
        self, conn: _Connection, origin: float, deadline: float, out: list[RequestSample]
    ) -> None:
        try:
            while not self.stop.is_set() and time.monotonic() < deadline:
                out.append(sample := conn.sample(origin))
                if sample.failed and self.first_failed is None:
                    self.first_failed = time.time()
                if sample.error is not None:
                    self.stop.wait(_ERROR_PAUSE)
        finally:
            conn.close()


class LoadHandle:
    """A load run going on in a background thread."""

    def __init__(self, job: _LoadJob) -> None:
        self._job = job
        self._origin = time.monotonic()
        pool = ThreadPoolExecutor(1, thread_name_prefix="moai-load")
        self._future = pool.submit(job.run, self._origin)
        pool.shutdown(wait=False)  # the pool ends with its one run; nothing else joins it

    def elapsed(self) -> float:
        """Seconds since the load began, on the same clock as the samples' `start`."""
        return time.monotonic() - self._origin

    def first_failure(self) -> float | None:
        """Wall time (epoch seconds) the clients first saw a failed request, live."""
        return self._job.first_failed

    def stop(self) -> None:
        """Ask the workers to finish their current request and stop."""
        self._job.stop.set()

    def result(self, timeout: float | None = None) -> LoadReport:
        """Wait for the run to end and return its report (TimeoutError if it does not)."""
        return self._future.result(timeout)


def start_load_in_background(url: str, **kw: Any) -> LoadHandle:
    """Start `run_load(url, **kw)` in a thread; stop it early with `handle.stop()`."""
    stop = kw.pop("stop", None) or threading.Event()
    return LoadHandle(_LoadJob(url, stop=stop, **kw))
