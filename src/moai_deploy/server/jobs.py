"""Long operations (deploy, rollback, abort...) run off the HTTP request, in a thread.

The request waits a little for the outcome; what outlives that wait is a job the client
polls (`GET /api/v1/jobs/{id}`). Each job runs with its caller's identity (contextvars).

A job also says where its release is (`phase`): `running`, `waiting` (a pause or an
approval: the server keeps the time, or waits for the people) or `live` (promoted; what
is left, e.g. keeping the old colour for `scale_down_delay`, the server finishes). A
client that does not wait for the end can leave at `live` or `waiting`; the server holds
the environment's lock until the release's last step is done.
"""

from __future__ import annotations

import contextvars
import itertools
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from moai_deploy.errors import MoaiError
from moai_deploy.rollout.reporter import Reporter

_KEEP = 200  # finished jobs remembered
_WAITS = frozenset({"pause", "approval"})  # steps that wait on the clock or on people


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
    phase: str = "running"  # running | waiting | live (see the module's docstring)
    waiting_on: str | None = None  # the step a waiting release holds at
    release_id: int | None = None  # the release the job runs, once recorded
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
            "phase": self.phase,
            "waiting_on": self.waiting_on,
            "release": self.release_id,
        }


_CURRENT: ContextVar[Job | None] = ContextVar("moai_deploy_job", default=None)


class JobReporter:
    """Passes a rollout's events on and keeps the running job's `phase` and release."""

    def __init__(self, inner: Reporter, job: Job) -> None:
        self._inner, self._job = inner, job

    def step_started(self, kind: str, description: str) -> None:
        if kind in _WAITS and self._job.phase != "live":
            self._job.phase, self._job.waiting_on = "waiting", description
        self._inner.step_started(kind, description)

    def step_finished(self, kind: str, outcome: str, detail: str) -> None:
        if kind == "promote" and outcome == "succeeded":
            self._job.phase, self._job.waiting_on = "live", None
        elif kind in _WAITS and self._job.phase == "waiting":
            self._job.phase, self._job.waiting_on = "running", None
        self._inner.step_finished(kind, outcome, detail)

    def event(self, name: str, **fields: Any) -> None:
        if name in ("release_created", "resumed") and isinstance(fields.get("release"), int):
            self._job.release_id = fields["release"]
        self._inner.event(name, **fields)


def job_reporter(inner: Reporter) -> Reporter:
    """`inner`, watched for the job running now (a release's phase); else `inner` itself.

    Only single releases report phases: a pipeline (`ship`) runs several, and is `live`
    only when it is done.
    """
    job = _CURRENT.get()
    if job is None or job.action not in ("deploy", "rollback", "retry"):
        return inner
    return JobReporter(inner, job)


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
        context.run(_CURRENT.set, job)

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
