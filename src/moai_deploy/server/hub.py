"""Fan-out of the ledger's event log to many stream subscribers from one poller.

One thread reads new events from the ledger (one indexed query per poll) into a ring
buffer; subscribers read the buffer, never the database, so 100 dashboards cost what one
does. A subscriber resuming from an id older than the buffer catches up from the ledger.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

Event = dict[str, Any]


class EventSource(Protocol):
    """Where events come from (the ledger's event log)."""

    def since(self, after_id: int, limit: int) -> list[Event]: ...

    def last_id(self) -> int: ...


class EventHub:
    """Polls `source` every `poll` seconds; keeps the last `keep` events; live samples too."""

    def __init__(self, source: EventSource, poll: float = 0.2, keep: int = 2000) -> None:
        self.source = source
        self.poll = poll
        self._buffer: deque[Event] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._last_id = source.last_id()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sample: Event | None = None  # the latest live sample (weights, traffic)
        self.sample_seq = 0
        self.errors = 0
        self.sample_every = 0.5

    @property
    def last_id(self) -> int:
        with self._lock:
            return self._last_id

    def start(self, sampler: Callable[[], Event | None] | None = None) -> None:
        self._thread = threading.Thread(
            target=self._loop, args=(sampler,), name="moai-event-hub", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self, sampler: Callable[[], Event | None] | None) -> None:
        sampled = 0.0
        while not self._stop.wait(self.poll):
            try:
                self.pull()
                if sampler is not None and time.monotonic() - sampled >= self.sample_every:
                    sampled = time.monotonic()
                    self.publish_sample(sampler())
            except Exception:  # the stream must outlive a busy or briefly broken ledger
                self.errors += 1

    def pull(self) -> int:
        """Read what the ledger has past the last id; returns how many events arrived."""
        fresh = self.source.since(self.last_id, 500)
        with self._lock:
            for event in fresh:
                self._buffer.append(event)
                self._last_id = max(self._last_id, int(event["id"]))
        return len(fresh)

    def publish_sample(self, sample: Event | None) -> None:
        if sample is not None:
            with self._lock:
                self.sample, self.sample_seq = sample, self.sample_seq + 1

    def after(self, after_id: int, limit: int = 500) -> list[Event] | None:
        """Buffered events with id > `after_id`; None when the buffer no longer reaches back
        that far (the caller then reads the ledger: `source.since`)."""
        with self._lock:
            if after_id >= self._last_id:
                return []
            if not self._buffer or int(self._buffer[0]["id"]) > after_id + 1:
                return None
            return [e for e in self._buffer if int(e["id"]) > after_id][:limit]
