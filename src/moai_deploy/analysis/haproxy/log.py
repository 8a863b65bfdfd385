"""HAProxy's per-request JSON log, read incrementally: per-version windows and samples.

The router's HAProxy logs one JSON object per request (see `traffic.haproxy.config`):
`at` (accept time, epoch seconds with milliseconds), `version` (the router backend name of
the version whose instance answered, "-" when none did), `status` and `ms` (active time).
Each call parses only what was appended since the previous one.
"""

from __future__ import annotations

import json
import math
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moai_deploy.analysis.base import RequestSample
from moai_deploy.traffic.haproxy.config import NO_VERSION

MAX_ENTRIES = 1_000_000  # bounds memory under heavy traffic (about 15 min at 1,000 req/s)


@dataclass(frozen=True)
class LogWindow:
    """What one version did over a window, from its requests."""

    seconds: float
    durations: tuple[float, ...]  # seconds, one per request
    errors: int  # 5xx responses

    @property
    def requests(self) -> int:
        return len(self.durations)

    @property
    def success_rate(self) -> float | None:
        return 1.0 - self.errors / self.requests if self.requests else None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    @property
    def request_rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def quantile(self, q: float) -> float | None:
        """Latency quantile in seconds (nearest rank); None without requests."""
        if not self.durations:
            return None
        ordered = sorted(self.durations)
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _entry(line: bytes) -> tuple[str, RequestSample] | None:
    try:
        data: Any = json.loads(line)
        version = str(data["version"])
        sample = RequestSample(float(data["at"]), float(data["ms"]) / 1000, int(data["status"]))
    except (ValueError, KeyError, TypeError):
        return None  # HAProxy's own notices share the stream; they are not requests
    if version == NO_VERSION:
        return None  # no server took it (e.g. a 503 with nothing routed)
    return version, sample


class RequestLog:
    """The requests in `path` logged after creation (`from_start=True`: all of them),
    kept for `retention` seconds; a SampleSource for the judge as well."""

    def __init__(self, path: Path, retention: float = 900.0, from_start: bool = False) -> None:
        self._path = path
        self._retention = retention
        self._offset = 0 if from_start or not path.exists() else path.stat().st_size
        self._entries: deque[tuple[str, RequestSample]] = deque(maxlen=MAX_ENTRIES)
        self._lock = threading.Lock()

    def samples(self, backend: str, since: float, until: float) -> list[RequestSample]:
        """Requests to `backend` that started within [since, until) (wall-clock seconds)."""
        with self._lock:
            self._read_new()
            return [s for name, s in self._entries if name == backend and since <= s.at < until]

    def window(self, backend: str, since: float, until: float) -> LogWindow:
        """What `backend` did in [since, until)."""
        samples = self.samples(backend, since, until)
        errors = sum(1 for s in samples if s.status >= 500)
        return LogWindow(until - since, tuple(s.duration for s in samples), errors)

    def _read_new(self) -> None:
        try:
            size = self._path.stat().st_size
        except FileNotFoundError:
            return
        if size < self._offset:  # truncated or rotated: start over
            self._offset = 0
            self._entries.clear()
        with self._path.open("rb") as handle:
            handle.seek(self._offset)
            data = handle.read(size - self._offset)
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next call
        self._offset += end
        for line in data[:end].splitlines():
            parsed = _entry(line)
            if parsed is not None:
                self._entries.append(parsed)
        if self._entries:
            horizon = self._entries[-1][1].at - self._retention
            while self._entries and self._entries[0][1].at < horizon:
                self._entries.popleft()
