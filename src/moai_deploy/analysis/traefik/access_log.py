"""Per-request samples from Traefik's JSON access log, for the statistical judge.

Traefik's histograms hold buckets, not requests; its access log has one JSON object per
request with `ServiceName` ("hello-production-green@file"), `StartUTC`, `Duration` (ns) and
`DownstreamStatus`. The log is read incrementally: each call parses only what was appended.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any

from moai_deploy.analysis.base import RequestSample
from moai_deploy.analysis.traefik.scrape import service_label

_FRACTION = re.compile(r"\.(\d+)")


def parse_utc(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 time with up to nanosecond precision."""
    match = _FRACTION.search(text)
    fraction = 0.0
    if match is not None:  # Python's parser takes at most microseconds: split them off
        fraction = float("0." + match.group(1))
        text = text[: match.start()] + text[match.end() :]
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() + fraction


def _sample(entry: Any) -> tuple[str, RequestSample] | None:
    try:
        service = str(entry["ServiceName"])
        at = parse_utc(str(entry["StartUTC"]))
        sample = RequestSample(at, float(entry["Duration"]) / 1e9, int(entry["DownstreamStatus"]))
    except (KeyError, TypeError, ValueError):
        return None  # e.g. a request no router matched: no service, nothing to judge
    return service, sample


class AccessLogSamples:
    """A SampleSource over Traefik's access log; sees requests logged after its creation
    (`from_start=True` reads the whole file) and keeps `retention` seconds of them."""

    def __init__(self, path: Path, retention: float = 3600.0, from_start: bool = False) -> None:
        self._path = path
        self._retention = retention
        self._offset = 0 if from_start or not path.exists() else path.stat().st_size
        self._entries: deque[tuple[str, RequestSample]] = deque()
        self._lock = threading.Lock()

    def samples(self, backend: str, since: float, until: float) -> list[RequestSample]:
        """Requests to `backend` that started within [since, until) (wall-clock seconds)."""
        label = service_label(backend)
        with self._lock:
            self._read_new()
            return [s for name, s in self._entries if name == label and since <= s.at < until]

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
            self._add(line)
        if self._entries:
            horizon = self._entries[-1][1].at - self._retention
            while self._entries and self._entries[0][1].at < horizon:
                self._entries.popleft()

    def _add(self, line: bytes) -> None:
        try:
            entry = json.loads(line)
        except ValueError:
            return
        parsed = _sample(entry)
        if parsed is not None:
            self._entries.append(parsed)
