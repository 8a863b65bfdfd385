"""Long operations (deploy, rollback, abort...) run off the HTTP request, in a thread.

The request waits a little for the outcome; what outlives that wait is a job the client
polls (`GET /api/v1/jobs/{id}`). Each job runs with its caller's identity (contextvars).
"""

from __future__ import annotations

import contextvars
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moai_deploy.errors import MoaiError

_KEEP = 200  # finished jobs remembered


@dataclass
class Job:
    id: int
    action: str
    environment: str
    actor: str
    started: float = field(default_factory=time.time)
    finished: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    exit_code: int | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def state(self) -> str:
        if not self.done.is_set():
            return "running"
        return "failed" if self.error is not None else "succeeded"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            "environment": self.environment,
            "actor": self.actor,
            "state": self.state,
            "result": self.result,
            "error": self.error,
            "exit_code": self.exit_code,
        }


class Jobs:
    """Starts jobs in daemon threads and keeps the recent ones."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}
        self._lock = threading.Lock()

    def start(
        self, action: str, environment: str, actor: str, work: Callable[[], dict[str, Any]]
    ) -> Job:
        job = Job(next(self._ids), action, environment, actor)
        context = contextvars.copy_context()

        def run() -> None:
            try:
                job.result = context.run(work)
            except MoaiError as exc:
                job.error, job.exit_code = str(exc), exc.exit_code
            except Exception as exc:  # a job must never die silently
                job.error, job.exit_code = f"{type(exc).__name__}: {exc}", 1
            finally:
                job.finished = time.time()
                job.done.set()

        with self._lock:
            self._jobs[job.id] = job
            for old in sorted(self._jobs)[:-_KEEP]:
                if self._jobs[old].done.is_set():
                    del self._jobs[old]
        threading.Thread(target=run, name=f"moai-job-{job.id}", daemon=True).start()
        return job

    def get(self, job_id: int) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def running(self) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if not j.done.is_set()]

    def wait_all(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for job in self.running():
            job.done.wait(max(0.0, deadline - time.monotonic()))
