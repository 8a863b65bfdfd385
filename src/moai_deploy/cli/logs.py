"""`moai-deploy logs ENV`: instance logs, one release at a time.

Local runtime: each release's instances write under `STATE/logs/ENV/release-N/` (rotated by
size), so `--release N` shows exactly that release. Without `--release`: the live release
(or the newest one with logs); with `--follow` and no `--release`, every release, so a
deploy's new instances appear as they start. Lines carry no timestamps of their own on the
local runtime, so `--since` keeps the log files written within that time. Other runtimes:
the last lines of each current instance, through the runtime protocol; `--follow` streams
them where the runtime can (Docker: the Engine's log stream), new instances included.

The lines shown once come from the service layer (`service/logs.py`), so `--server URL`
shows the same lines from the server's machine; `--follow` reads the files here only.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from moai_deploy.cli.common import (
    DEFAULT_SPEC,
    EnvArgument,
    SpecOption,
    local_service,
    on_server,
    open_project,
)
from moai_deploy.errors import BadInputError

if TYPE_CHECKING:
    from moai_deploy.pipeline.project import Project
    from moai_deploy.runtime.base import InstanceStatus
    from moai_deploy.runtime.local.logs import LogFile
    from moai_deploy.service.logs import LogQuery


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


def _print_lines(found: list[dict[str, Any]]) -> None:
    for item in found:
        if item.get("release") is not None:
            sys.stdout.write(f"{item['instance']} #{item['release']} | {item['line']}\n")
        else:
            sys.stdout.write(f"{item['instance']} {item['version']} | {item['line']}\n")


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
    from moai_deploy.service.logs import LogQuery

    cutoff = _since(since)
    query = LogQuery(release, instance, lines, cutoff)
    if on_server():
        if follow:
            raise BadInputError(
                "--follow reads the log files on their machine, not through a server\n"
                "    fix: run it on the server's machine, or repeat without --follow"
            )
        from moai_deploy.cli import remote_commands

        _print_lines(remote_commands.logs(environment, query))
        return
    if not follow:
        with local_service(spec) as service:
            _print_lines(service.logs(environment, query))
        return
    with open_project(spec) as project:
        project.environment(environment)
        if project.runtime_for(environment).name != "local":
            _other_runtime(project, environment, instance, lines)
            return
        _follow_local(project, environment, query)


def _follow_local(project: Project, environment: str, query: LogQuery) -> None:
    from moai_deploy.runtime.local.logs import follow as follow_logs
    from moai_deploy.runtime.local.logs import tail
    from moai_deploy.service.logs import local_files

    if query.release is not None and not local_files(project, environment, query.release, None):
        raise BadInputError(f"release #{query.release} of {environment!r} has no instance logs")

    def current() -> list[LogFile]:
        found = local_files(project, environment, query.release, query.instance)
        return [f for f in found if query.since is None or f.modified() >= query.since]

    for log in current():
        for line in tail(log, query.lines):
            _emit(log, line)
    try:
        follow_logs(current, _emit, lambda: True)
    except KeyboardInterrupt:
        return


def _other_runtime(project: Project, environment: str, instance: str | None, lines: int) -> None:
    runtime = project.runtime_for(environment)
    stream = getattr(runtime, "stream_logs", None)  # a runtime that can follow its instances
    if stream is None:
        raise BadInputError(f"--follow is not available on the {runtime.name} runtime yet")
    follow_instances(lambda: runtime.list(project.service, environment), stream, instance, lines)


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
