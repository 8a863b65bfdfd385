"""Instance logs as data: the last lines of each instance of one release (or the current
instances, on runtimes other than the local one). `moai-deploy logs` prints these; on a
server, `GET /api/v1/environments/{env}/logs` sends them.

Local runtime: each release's instances write under `STATE/logs/ENV/release-N/`, so
`release` picks exactly that release's lines; without it, the live release (or the newest
one with logs). Lines carry no timestamps there, so `since` keeps the files written since.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moai_deploy.errors import BadInputError
from moai_deploy.pipeline.project import Project

if TYPE_CHECKING:
    from moai_deploy.runtime.local.logs import LogFile


def local_files(
    project: Project, environment: str, release: int | None, instance: str | None
) -> list[LogFile]:
    from moai_deploy.runtime.local.logs import release_logs

    return release_logs(project.layout.logs, environment, release, instance)


def default_release(project: Project, environment: str) -> int | None:
    """The live release, else the newest one with logs."""
    live = project.ledger.live_release(project.service, environment)
    if live is not None:
        return live.id
    found = local_files(project, environment, None, None)
    return found[-1].release if found else None


@dataclass(frozen=True)
class LogQuery:
    """Which lines: of `release` (default: the live one), one `instance`, the last `lines`
    of each, only files written since the epoch second `since`."""

    release: int | None = None
    instance: str | None = None
    lines: int = 100
    since: float | None = None


def read_logs(project: Project, environment: str, query: LogQuery) -> list[dict[str, Any]]:
    """[{instance, release, version, line}] oldest first per instance; see the module."""
    from moai_deploy.runtime.local.logs import tail

    release, instance, lines, since = query.release, query.instance, query.lines, query.since

    runtime = project.runtime_for(environment)
    if runtime.name != "local":
        return [
            {"instance": status.name, "release": None, "version": status.version, "line": line}
            for status in runtime.list(project.service, environment)
            if instance is None or status.name == instance
            for line in runtime.logs(status.name, lines).splitlines()
        ]
    if release is not None and not local_files(project, environment, release, None):
        raise BadInputError(f"release #{release} of {environment!r} has no instance logs")
    chosen = release if release is not None else default_release(project, environment)
    if chosen is None:
        return []
    return [
        {"instance": log.instance, "release": log.release, "version": None, "line": line}
        for log in local_files(project, environment, chosen, instance)
        if since is None or log.modified() >= since
        for line in tail(log, lines)
    ]
