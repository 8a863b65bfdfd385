"""`moai-deploy logs ENV`: instance logs, one release at a time.

Local runtime: each release's instances write under `STATE/logs/ENV/release-N/` (rotated by
size), so `--release N` shows exactly that release. Without `--release`: the live release
(or the newest one with logs); with `--follow` and no `--release`, every release, so a
deploy's new instances appear as they start. Lines carry no timestamps of their own on the
local runtime, so `--since` keeps the log files written within that time. Other runtimes:
the last lines of each current instance, through the runtime protocol; `--follow` streams
them where the runtime can (Docker: the Engine's log stream), new instances included.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from moai_deploy.cli.common import DEFAULT_SPEC, EnvArgument, SpecOption, open_project
from moai_deploy.errors import BadInputError

if TYPE_CHECKING:
    from moai_deploy.pipeline.project import Project
    from moai_deploy.runtime.base import InstanceStatus
    from moai_deploy.runtime.local.logs import LogFile


def register(app: typer.Typer) -> None:
    """Add `logs` to the CLI."""
    app.command(name="logs")(logs)


def _since(text: str | None) -> float | None:
    if text is None:
        return None
    from moai_deploy.spec._types import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise BadInputError(f"--since: {exc}") from None
    if not isinstance(seconds, float):
        raise BadInputError(f"--since: {text!r} is not a duration; use e.g. 30s or 10m")
    return time.time() - seconds


def _emit(log: LogFile, line: str) -> None:
    sys.stdout.write(f"{log.instance} #{log.release} | {line}\n")
    sys.stdout.flush()


def _local_files(
    project: Project, environment: str, release: int | None, instance: str | None
) -> list[LogFile]:
    from moai_deploy.runtime.local.logs import release_logs

    return release_logs(project.layout.logs, environment, release, instance)


def _default_release(project: Project, environment: str) -> int | None:
    live = project.ledger.live_release(project.service, environment)
    if live is not None:
        return live.id
    found = _local_files(project, environment, None, None)
    return found[-1].release if found else None


def logs(
    environment: EnvArgument,
    release: Annotated[int | None, typer.Option(help="Release id (default: the live one).")] = None,
    instance: Annotated[str | None, typer.Option(help="One instance by name.")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-F", help="Keep printing new lines.")
    ] = False,
    since: Annotated[
        str | None, typer.Option(help="Only logs written within this time, e.g. 10m.")
    ] = None,
    lines: Annotated[int, typer.Option(min=0, help="Lines per instance to start with.")] = 100,
    spec: SpecOption = DEFAULT_SPEC,
) -> None:
    """Show the instance logs of ENVIRONMENT, per release (--follow to keep watching)."""
    from moai_deploy.runtime.local.logs import follow as follow_logs
    from moai_deploy.runtime.local.logs import tail

    cutoff = _since(since)
    with open_project(spec) as project:
        project.environment(environment)
        runtime = project.runtime_for(environment)
        if runtime.name != "local":
            _other_runtime(project, environment, instance, lines, follow)
            return
        chosen = (
            release if release is not None or follow else _default_release(project, environment)
        )
        if release is not None and not _local_files(project, environment, release, None):
            raise BadInputError(f"release #{release} of {environment!r} has no instance logs")

        def current() -> list[LogFile]:
            found = _local_files(project, environment, chosen, instance)
            return [f for f in found if cutoff is None or f.modified() >= cutoff]

        for log in current():
            for line in tail(log, lines):
                _emit(log, line)
        if follow:
            try:
                follow_logs(current, _emit, lambda: True)
            except KeyboardInterrupt:
                return


def _other_runtime(
    project: Project, environment: str, instance: str | None, lines: int, follow: bool
) -> None:
    runtime = project.runtime_for(environment)
    stream = getattr(runtime, "stream_logs", None)  # a runtime that can follow its instances
    if follow:
        if stream is None:
            raise BadInputError(f"--follow is not available on the {runtime.name} runtime yet")
        follow_instances(
            lambda: runtime.list(project.service, environment), stream, instance, lines
        )
        return
    for status in runtime.list(project.service, environment):
        if instance is None or status.name == instance:
            for line in runtime.logs(status.name, lines).splitlines():
                sys.stdout.write(f"{status.name} {status.version} | {line}\n")


def follow_instances(
    running: Callable[[], list[InstanceStatus]],
    stream: Callable[[str, int], Iterator[str]],
    instance: str | None,
    lines: int,
    poll: float = 1.0,
) -> None:
    """Print every instance's lines as they come (one reader thread per instance), taking
    on instances that start later (a new release), until Ctrl-C."""
    lock, seen = threading.Lock(), set[str]()

    def read(status: InstanceStatus) -> None:
        for line in stream(status.name, lines):
            with lock:
                sys.stdout.write(f"{status.name} {status.version} | {line}\n")
                sys.stdout.flush()

    try:
        while True:
            for status in running():
                if status.name not in seen and instance in (None, status.name):
                    seen.add(status.name)
                    threading.Thread(target=read, args=(status,), daemon=True).start()
            time.sleep(poll)
    except KeyboardInterrupt:
        return
