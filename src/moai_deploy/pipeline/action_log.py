"""moai-deploy's own actions as JSON lines (structlog) in the state folder: every audited
action and every rollout step and event, with its release id, step and actor.

`STATE/logs/moai-deploy.jsonl`, mode 0600, rotated by size (one backup, `.1`). Secret
values the environment resolves are masked, and so is any field whose name says it holds
a secret.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from moai_deploy.rollout.reporter import Reporter
from moai_deploy.spec.secrets import MASK

FILE_NAME = "moai-deploy.jsonl"
MAX_BYTES = 10 * 1024 * 1024
_SECRET_KEY = re.compile(r"(?i)(password|passwd|secret|token|api[_-]?key|credential)")


def action_log_path(logs_root: Path) -> Path:
    return logs_root / FILE_NAME


class ActionLog:
    """Appends one JSON object per action to the state folder's action log."""

    def __init__(self, path: Path, redact: Callable[[str], str], **context: Any) -> None:
        self.path = path
        self.redact = redact
        self.context = context
        self._render = structlog.processors.JSONRenderer(sort_keys=True)
        self._stamp = structlog.processors.TimeStamper(fmt="iso", utc=True)

    def bind(self, **context: Any) -> None:
        self.context.update(context)

    def _mask(self, _logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
        return {
            key: MASK if _SECRET_KEY.search(key) else self._masked(value)
            for key, value in event.items()
        }

    def _masked(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {
                k: MASK if _SECRET_KEY.search(str(k)) else self._masked(v) for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self._masked(v) for v in value]
        return value

    def write(self, event: str, **fields: Any) -> None:
        """One line: time, the bound context (service, environment, release, actor), fields."""
        data: dict[str, Any] = {**self.context, **fields, "event": event}
        stamped = dict(self._stamp(None, "info", data))
        line = str(self._render(None, "info", self._mask(None, "info", stamped)))
        # Best effort: a full disk or read-only folder must not break the rollout it logs
        # (the undo path logs too, and has to run to the end).
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists() and self.path.stat().st_size > MAX_BYTES:
                self.path.replace(self.path.with_name(self.path.name + ".1"))
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                handle.write(f"{line}\n")


class LoggingReporter:
    """A reporter that also writes every step and event to the action log."""

    def __init__(self, inner: Reporter, log: ActionLog) -> None:
        self.inner = inner
        self.log = log

    def step_started(self, kind: str, description: str) -> None:
        self.inner.step_started(kind, description)
        self.log.write("step_started", step=kind, description=description)

    def step_finished(self, kind: str, outcome: str, detail: str) -> None:
        self.inner.step_finished(kind, outcome, detail)
        self.log.write("step_finished", step=kind, outcome=outcome, detail=detail)

    def event(self, name: str, **fields: Any) -> None:
        self.inner.event(name, **fields)
        if name in ("release_created", "resumed") and "release" in fields:
            self.log.bind(release=fields["release"])
        self.log.write(name, **fields)


def project_action_log(project: Any, environment: str) -> ActionLog:
    """The action log of a project's environment, masking the secrets its variables use."""
    from moai_deploy.errors import BadInputError
    from moai_deploy.rollout.lock import actor

    resolver = project.secrets()
    # Unresolvable secrets are not in memory, so there is nothing of them to mask.
    with contextlib.suppress(BadInputError):
        resolver.resolve(project.environment(environment).env)
    return ActionLog(
        action_log_path(project.layout.logs),
        resolver.redact,
        service=project.service,
        environment=environment,
        actor=actor(),
    )
