"""Run as a child process: deploy, filling the state folder's disk when a step starts.

Usage: python deploy_filling.py SPEC ENVIRONMENT VERSION STEP FOLDER. Prints one JSON line:
{"filled_at": epoch s, "returned_at": epoch s, "error": first line, "events": [[s, name]]}.
A child, so that the deployer whose ledger could not be written exits, as a CLI run does.
"""

from __future__ import annotations

import errno
import json
import sys
import time
import traceback
from pathlib import Path

from moai_deploy.errors import MoaiError
from moai_deploy.pipeline import operations
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.reporter import RecordingReporter


def fill(path: Path) -> None:
    """Write `path` until the file system is full."""
    chunk = b"\0" * (1 << 20)
    with path.open("wb", buffering=0) as handle:
        while True:
            try:
                handle.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(chunk) == 1:
                    return
                chunk = chunk[: len(chunk) // 2]


class FillDiskAt(RecordingReporter):
    """Fills the disk of `folder` the moment the step `kind` starts."""

    def __init__(self, folder: Path, kind: str) -> None:
        super().__init__()
        self.folder, self.kind = folder, kind
        self.filled_at: float | None = None

    def step_started(self, kind: str, description: str) -> None:
        super().step_started(kind, description)
        if kind == self.kind and self.filled_at is None:
            fill(self.folder / "filler")
            self.filled_at = time.time()


def main(spec: str, environment: str, version: str, step: str, folder: str) -> None:
    reporter = FillDiskAt(Path(folder), step)
    error = ""
    project = Project.open(Path(spec))
    try:
        operations.deploy(project, environment, version, reporter)
    except MoaiError as exc:
        error = str(exc).splitlines()[0]
        cause: BaseException | None = exc
        while cause is not None:  # where it failed first, for the test's report
            traceback.print_exception(type(cause), cause, cause.__traceback__, chain=False)
            cause = cause.__context__
    finally:
        try:
            project.close()
        except MoaiError as exc:
            error = error or str(exc).splitlines()[0]
    filled = reporter.filled_at or 0.0
    events = [[round(at - filled, 2), name] for at, name, _ in reporter.events]
    result = {"filled_at": filled, "returned_at": time.time(), "error": error, "events": events}
    print(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:6])
