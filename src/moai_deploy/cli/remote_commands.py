"""The commands a server runs for the CLI (`--server URL`): what they ask, what they show.

Each mirrors its local command in cli/main.py, cli/ops.py or cli/control.py; the server
does the work through its service layer. Without `--wait`, a deploy, rollback or retry
returns once its release is live and verified, or waits at a pause or an approval: the
rest (the old colour's `scale_down_delay`, a timed pause, the approvals) is carried out
by the server, which holds the environment's lock until the last step is done.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from moai_deploy.cli.common import REMOTE
from moai_deploy.cli.output import audit_table, console, print_json, releases_table, status_table
from moai_deploy.cli.remote import RemoteControl, connect
from moai_deploy.errors import ReleaseFailedError

if TYPE_CHECKING:
    from moai_deploy.service.logs import LogQuery

_LEAVE_AT = frozenset({"live", "waiting"})
_DONE = frozenset({"succeeded", "failed"})


@contextmanager
def client() -> Iterator[RemoteControl]:
    assert REMOTE.url is not None  # only called when on_server()
    remote = connect(REMOTE.url, REMOTE.token, REMOTE.token_file)
    try:
        yield remote
    finally:
        remote.close()


class _Follow:
    """Prints a job's release steps as the server finishes them (people, not --json)."""

    def __init__(self, remote: RemoteControl, quiet: bool) -> None:
        self.remote, self.quiet = remote, quiet
        self.shown: set[int] = set()
        self.phase = "running"

    def __call__(self, job: dict[str, Any]) -> None:
        if self.quiet or job.get("release") is None:
            return
        release = self.remote.get(f"/releases/{job['release']}")
        for step in release["steps"]:
            if step["outcome"] != "running" and step["id"] not in self.shown:
                self.shown.add(step["id"])
                mark = "[green]✓[/]" if step["outcome"] == "succeeded" else "[red]✗[/]"
                console.print(f"  {mark} {step['kind']:<11} {step['detail']}", highlight=False)
        if job.get("phase") != self.phase and job.get("phase") == "waiting":
            console.print(f"  [yellow]waiting:[/] {job.get('waiting_on')}", highlight=False)
        self.phase = str(job.get("phase"))


@dataclass(frozen=True)
class How:
    """How a release command goes: the lock wait, whether to wait for the end, --json."""

    lock_wait: float = 0.0
    wait: bool = False
    as_json: bool = False


def _release_job(path: str, body: dict[str, Any], how: How, verb: str) -> None:
    with client() as remote:
        leave_at = frozenset() if how.wait else _LEAVE_AT
        body = {**body, "lock_wait": how.lock_wait}
        job = remote.run(path, body, leave_at=leave_at, progress=_Follow(remote, how.as_json))
        release = job["result"] or remote.get(f"/releases/{job['release']}")
        release.pop("steps", None)
        if how.as_json:
            print_json({**release, "job": {k: job[k] for k in ("id", "state", "phase")}})
            return
        what = f"release #{release['id']} {release['version']}"
        if job["state"] in _DONE:
            console.print(f"[green]✓[/] {what} is {verb}")
        elif job["phase"] == "live":
            console.print(
                f"[green]✓[/] {what} is {verb}; the server finishes the rest (e.g. keeping the "
                "old colour for scale_down_delay) and holds the lock until then; "
                "--wait blocks until it is done",
                highlight=False,
            )
        else:
            console.print(
                f"[yellow]…[/] {what} waits ({job.get('waiting_on')}); the server carries it "
                "on: `moai-deploy status`, `promote` or `approve` it, --wait blocks",
                highlight=False,
            )


def deploy(
    environment: str, version: str | None, resume: bool, reason: str | None, how: How
) -> None:
    body = {"version": version, "resume": resume, "force_reason": reason}
    if not how.as_json:
        console.print(f"[bold]deploy[/] -> {environment} on {REMOTE.url}", highlight=False)
    _release_job(f"/environments/{environment}/deploy", body, how, "live")


def rollback(environment: str, to: str | None, how: How) -> None:
    _release_job(f"/environments/{environment}/rollback", {"to": to}, how, "live again")


def retry(environment: str, how: How) -> None:
    _release_job(f"/environments/{environment}/retry", {}, how, "live")


def control(environment: str, action: str, body: dict[str, Any], as_json: bool) -> None:
    """promote, abort or reject: asked of the server, followed until it answered."""
    with client() as remote:
        job = remote.run(f"/environments/{environment}/{action}", body)
        release = job["result"] or {}
        if as_json:
            print_json(release)
            return
        console.print(
            f"{action}: release #{release.get('id')} {release.get('version')} "
            f"({release.get('status')})",
            highlight=False,
        )


def set_paused(environment: str, paused: bool) -> None:
    action = "pause" if paused else "resume"
    with client() as remote:
        release = remote.post(f"/environments/{environment}/{action}")
        word = "[yellow]paused[/]" if paused else "[green]resumed[/]"
        console.print(f"{word} release #{release['id']} {release['version']}")


def approve(environment: str, comment: str, as_json: bool) -> None:
    with client() as remote:
        tally = remote.post(f"/environments/{environment}/approve", {"comment": comment})
        if as_json:
            print_json(tally)
            return
        state = "approved" if tally["approved"] else "waiting"
        console.print(
            f"[green]✓[/] approval recorded: {len(tally['approvers'])}/{tally['required']} "
            f"({state})"
        )


def ship(version: str | None, as_json: bool) -> None:
    with client() as remote:
        record = remote.run("/ship", {"version": version})["result"]
        if as_json:
            print_json(record)
            return
        console.print(
            f"[green]✓[/] pipeline #{record['id']} {record['version']}: {record['status']}"
        )


def status(environment: str | None, as_json: bool) -> None:
    with client() as remote:
        found = remote.get(f"/environments/{environment}" if environment else "/environments")
        statuses: list[dict[str, Any]] = [found] if environment else found
        if as_json:
            print_json(statuses)
        else:
            for item in statuses:
                console.print(status_table(item))
        down = [s["environment"] for s in statuses if s.get("router") == "down"]
        if down:
            raise ReleaseFailedError(f"the router is down: {', '.join(down)} not served (exit 1)")


def history(environment: str | None, limit: int, as_json: bool) -> None:
    with client() as remote:
        releases = remote.get("/releases", environment=environment, limit=limit)
        if as_json:
            print_json(releases)
            return
        console.print(releases_table(releases, f"releases on {REMOTE.url}"))


def audit(environment: str | None, limit: int, as_json: bool) -> None:
    with client() as remote:
        events = remote.get("/audit", environment=environment, limit=limit)
        if as_json:
            print_json(events)
            return
        console.print(audit_table(events, f"audit log on {REMOTE.url}"))


# The commands below only ask; their local command prints the answer (cli/ops.py etc.).


def events(
    environment: str | None, release: int | None, after: int, limit: int
) -> list[dict[str, Any]]:
    with client() as remote:
        found: list[dict[str, Any]] = remote.get(
            "/event-log", environment=environment, release=release, after=after, limit=limit
        )
        return found


def logs(environment: str, query: LogQuery) -> list[dict[str, Any]]:
    since = max(0.0, time.time() - query.since) if query.since is not None else None
    with client() as remote:
        found: list[dict[str, Any]] = remote.get(
            f"/environments/{environment}/logs",
            release=query.release,
            instance=query.instance,
            lines=query.lines,
            since=since,
        )
        return found


def locks() -> list[dict[str, Any]]:
    with client() as remote:
        held: list[dict[str, Any]] = remote.get("/locks")
        return held


def lock_acquire(environment: str, message: str) -> dict[str, Any]:
    with client() as remote:
        held: dict[str, Any] = remote.post(
            f"/environments/{environment}/lock", {"message": message}
        )
        return held


def lock_release(environment: str, force_reason: str | None) -> dict[str, Any]:
    body = {"force": force_reason is not None, "reason": force_reason}
    with client() as remote:
        done: dict[str, Any] = remote.post(f"/environments/{environment}/lock/release", body)
        return done


def gates(environment: str | None, only: list[str]) -> dict[str, Any]:
    """The server runs the gates on its checkout (they may take minutes: no read timeout)."""
    with client() as remote:
        run: dict[str, Any] = remote.post(
            "/gates", {"environment": environment, "only": only, "advisory": True}, timeout=None
        )
        return run


def tokens() -> list[dict[str, Any]]:
    with client() as remote:
        found: list[dict[str, Any]] = remote.get("/tokens")
        return found


def token_create(name: str, role: str, environment: str | None) -> dict[str, Any]:
    with client() as remote:
        made: dict[str, Any] = remote.post(
            "/tokens", {"name": name, "role": role, "environment": environment}
        )
        return made


def token_revoke(name: str) -> dict[str, Any]:
    with client() as remote:
        record: dict[str, Any] = remote.delete(f"/tokens/{quote(name, safe='')}")
        return record
