"""`moai-deploy status` without the spec models, SQLAlchemy or httpx (issue 9: <= 0.3 s CPU).

The full path (`pipeline.status`) validates the spec with pydantic and reads the ledger
through SQLAlchemy; importing those costs more than everything status does. After it has
validated a spec, it remembers the few facts status needs (`remember`), keyed by the
spec file's bytes and moai-deploy's own code. The next `status` of the same spec reads
those facts, the SQLite ledger with sqlite3 (`ledger.light`), supervisord's instances and
the router's saved routing, and shows exactly what the full path would. Whenever it cannot
be sure of that (another spec, PostgreSQL, a docker environment, a paused release, an
unknown environment name, no facts yet) it returns None and the caller takes the full path.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moai_deploy import __version__
from moai_deploy.paths import StateLayout

if TYPE_CHECKING:
    from moai_deploy.ledger.light import LightLedger
    from moai_deploy.pipeline.project import Project
    from moai_deploy.pipeline.status_view import EnvironmentStatus
    from moai_deploy.runtime.local.supervisor_runtime import SupervisorRuntime
    from moai_deploy.traffic.handover import RouterPair

FACTS_FILE = "status-facts.json"
ROUTER_NAMES = ("traefik", "haproxy")  # as pipeline.routers.ROUTERS, without importing it
_CODE = Path(__file__).resolve().parents[1]
# Whose code decides what a spec means and how status reads it: a change there (an
# upgrade, or an edit in a development checkout) makes the remembered facts stale.
_CODE_DIRS = ("spec", "pipeline", "ledger", "runtime/local", "traffic")


@dataclass(frozen=True)
class StatusFacts:
    """What status needs from a validated spec."""

    service: str
    ready_path: str
    ready_status: str
    host: str
    router: str
    environments: dict[str, dict[str, Any]]  # name -> {"port": int, "runtime": str}
    entrypoints: dict[str, dict[str, int]]  # environment -> its entrypoints and ports


def _key(spec_bytes: bytes, spec_path: Path) -> dict[str, str]:
    stamp = hashlib.sha256()
    for folder in _CODE_DIRS:
        for path in sorted((_CODE / folder).glob("*.py")):
            info = path.stat()
            stamp.update(f"{path.name}:{info.st_mtime_ns}:{info.st_size};".encode())
    return {
        "spec": hashlib.sha256(spec_bytes).hexdigest(),
        "path": str(spec_path.resolve()),
        "moai_deploy": __version__,
        "code": stamp.hexdigest(),
    }


def remember(project: Project) -> None:
    """Write the facts of the project's (validated) spec for the next status; best effort."""
    spec, path = project.loaded.spec, project.loaded.path
    try:
        key = _key(path.read_bytes(), path)
    except OSError:
        return
    facts = {
        "key": key,
        "service": spec.service.name,
        "ready_path": spec.service.ready_path,
        "ready_status": spec.service.ready_status,
        "host": spec.traffic.host,
        "router": spec.traffic.router,
        "environments": {
            name: {"port": spec.port_of(name), "runtime": project.environment(name).runtime}
            for name in spec.environments
        },
        "entrypoints": {name: project._entrypoints(name) for name in spec.environments},
    }
    target = project.layout.root / FACTS_FILE
    temporary = target.with_suffix(".tmp")
    with contextlib.suppress(OSError):  # a read-only state folder: the full path next time
        temporary.write_text(json.dumps(facts))
        os.replace(temporary, target)


def _recall(spec_path: Path, layout: StateLayout) -> StatusFacts | None:
    try:
        spec_bytes = spec_path.read_bytes()
        data = json.loads((layout.root / FACTS_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.pop("key", None) != _key(spec_bytes, spec_path):
        return None
    try:
        return StatusFacts(**data)
    except TypeError:
        return None


def fast_statuses(
    spec_path: Path, environment: str | None
) -> tuple[list[EnvironmentStatus], StateLayout] | None:
    """The statuses the full path would show, or None when only it can tell."""
    if os.environ.get("MOAI_DEPLOY_DB"):
        return None  # PostgreSQL (or another file): SQLAlchemy reads it
    layout = StateLayout.for_project(spec_path.resolve().parent)
    facts = _recall(spec_path, layout)
    if facts is None:
        return None
    names = [environment] if environment else list(facts.environments)
    if any(facts.environments.get(n, {}).get("runtime") != "local" for n in names):
        return None  # unknown name (the full path says so) or not the local runtime
    from moai_deploy.ledger.light import LightLedger

    ledger = LightLedger.open(layout.ledger_db)
    if ledger is None:
        return None
    try:
        return _statuses(facts, layout, ledger, names), layout
    except _FullPathNeeded:
        return None
    finally:
        ledger.close()


class _FullPathNeeded(Exception):
    """Something only the full path shows exactly (e.g. who paused a release)."""


def _statuses(
    facts: StatusFacts, layout: StateLayout, ledger: LightLedger, names: list[str]
) -> list[EnvironmentStatus]:
    import sqlite3

    from moai_deploy.runtime.local.supervisor_runtime import SupervisorRuntime
    from moai_deploy.traffic.choose import router_pair

    def pair(name: str) -> RouterPair:  # each environment's own router
        folder = layout.root / "routers" / name
        entrypoints = facts.entrypoints[name]
        ready = (facts.ready_path, facts.ready_status)
        return router_pair(facts.router, folder, entrypoints, facts.host, ready)

    runtime = SupervisorRuntime(layout.supervisor)
    # An older version ran one router for every environment from the state folder's top:
    # while it may still serve, only the full path tells who routes what.
    shared = any((layout.root / name / "state.json").exists() for name in ROUTER_NAMES)
    try:
        statuses = [_one(facts, ledger, runtime, pair(name), name) for name in names]
    except sqlite3.Error:
        raise _FullPathNeeded from None
    if shared and any(s.router != "serving" for s in statuses):
        raise _FullPathNeeded
    return statuses


def _one(
    facts: StatusFacts,
    ledger: LightLedger,
    runtime: SupervisorRuntime,
    pair: RouterPair,
    environment: str,
) -> EnvironmentStatus:
    """As `pipeline.status.environment_status`, in the same order of reads."""
    from moai_deploy.pipeline.status_view import EnvironmentStatus, InstanceView, last_step_text
    from moai_deploy.rollout.quick_probe import ready_once

    path, accept = facts.ready_path, facts.ready_status
    views = [
        InstanceView(i, i.state.alive and ready_once(i.url, path, accept))
        for i in runtime.list(facts.service, environment)
    ]
    routing = pair.router.current(f"{facts.service}-{environment}")
    unfinished = ledger.in_progress(facts.service, environment)
    if unfinished and (unfinished[0].meta.get("rollout") or {}).get("paused_reason"):
        raise _FullPathNeeded  # the pause's author is in the control journal
    live = ledger.live_release(facts.service, environment)
    running = pair.process.is_running()
    router = "serving" if running else "down" if live or views else "idle"
    return EnvironmentStatus(
        environment=environment,
        url=f"http://{facts.host}:{facts.environments[environment]['port']}",
        live=live,
        unfinished=unfinished,
        instances=views,
        weights=routing.weights() if routing else {},
        stopped_at=last_step_text(ledger.steps(unfinished[0].id)) if unfinished else None,
        router=router,
    )
