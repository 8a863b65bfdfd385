"""Nothing the tool writes is readable by other local users, checked as one (uid nobody):
its files, the routers' APIs and metrics, supervisord's socket. The owner's tools still
reach all of them."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from moai_deploy.monitor import stack
from moai_deploy.pipeline import operations
from moai_deploy.pipeline.project import Project
from moai_deploy.pipeline.status import environment_status
from moai_deploy.runtime.local.daemon import SupervisorDaemon, wait_until
from moai_deploy.traffic.haproxy import HaproxyProcess
from moai_deploy.traffic.traefik import TraefikProcess
from moai_deploy.traffic.traefik.config import OWNER_FILE

from ..e2e.conftest import ROUTERS
from .conftest import ENV

pytestmark = pytest.mark.slow

NOBODY = 65534
PROBE = Path(__file__).with_name("probe.py")


def probe(wanted: dict[str, list[str]]) -> dict[str, list[str]]:
    """What uid `nobody` can read or reach (system Python: the venv is under /root)."""
    argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    argv += ["/usr/bin/python3", "-I", "-"]
    out = subprocess.run(
        [*argv, json.dumps(wanted)],
        input=PROBE.read_text(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, list[str]] = json.loads(out.stdout)
    return result


@contextmanager
def traversable(folders: list[Path]) -> Iterator[None]:
    """Let other users pass through (x, not r) these folders for the block, then restore."""
    before = {folder: stat.S_IMODE(folder.stat().st_mode) for folder in folders}
    try:
        for folder, mode in before.items():
            folder.chmod(mode | 0o001)
        yield
    finally:
        for folder, mode in before.items():
            folder.chmod(mode)


def _ancestors(path: Path, stop: Path) -> list[Path]:
    return [p for p in [path, *path.parents] if p == stop or stop in p.parents]


def test_state_files_are_private_to_the_owner(project: Project, project_dir: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to uid nobody")
    operations.deploy(project, ENV, "v1")
    url = f"http://127.0.0.1:{project.loaded.spec.port_of(ENV)}/"
    for _ in range(5):
        httpx.get(url, timeout=5).raise_for_status()
    layout = project.layout
    # Instance logs per release (logs/ENV/release-N/), and moai-deploy's own action log.
    logs = [*sorted(layout.logs.rglob("*.log")), layout.logs / "moai-deploy.jsonl"]
    router = project.proxy_for(ENV).chosen.process  # Traefik or HAProxy: both keep these two logs
    traefik_files = [router.access_log, router.log_file]  # type: ignore[attr-defined]
    supervisor_log = layout.supervisor / "supervisord.log"
    ledger = [layout.ledger_db, layout.ledger_db.with_name("ledger.sqlite3-wal")]
    files = [*ledger, *logs, *traefik_files, supervisor_log]
    assert len(logs) > 1 and all(f.exists() for f in files), files

    assert stat.S_IMODE(layout.root.stat().st_mode) == 0o700
    modes = {str(f): stat.S_IMODE(f.stat().st_mode) for f in files}
    assert modes == {str(f): 0o600 for f in files}

    names = [str(f) for f in files]
    basetemp = project_dir.parent.parent
    # The tmp folders above the state folder let others pass: only our own modes protect.
    with traversable(_ancestors(project_dir, basetemp.parent)):
        assert probe({"files": names}) == {"read": [], "http": [], "unix": [], "status": {}}
        # Even with every folder of the state tree passable, each file is 0600 on its own.
        inner = {f.parent for f in files} | {layout.root}
        with traversable(sorted(inner)):
            assert probe({"files": names})["read"] == []
            # The probe itself works: a world-readable file in the same place is read.
            control = layout.root / "control.txt"
            control.write_text("x")
            control.chmod(0o644)
            assert probe({"files": [str(control)]})["read"] == [str(control)]


def _router_urls(process: TraefikProcess | HaproxyProcess) -> tuple[list[str], list[str]]:
    """(URLs only the owner may read, URLs anyone on the host may reach)."""
    if isinstance(process, HaproxyProcess):  # its runtime API is an owner-only unix socket
        return [process.metrics_url], []
    api = process.api_url
    owner = [f"{api}/api/{path}" for path in ("http/routers", "http/services", "rawdata")]
    return [*owner, process.metrics_url], [f"{api}/ping"]  # /ping says "OK", nothing else


def _scraped(prometheus: str, job: str) -> bool:
    """Whether Prometheus's last scrape of `job` succeeded (up == 1, not a refused 401)."""
    try:
        answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": f'up{{job="{job}"}}'})
        results = answer.json()["data"]["result"]
    except (httpx.HTTPError, ValueError, KeyError):
        return False
    return bool(results) and all(r["value"][1] == "1" for r in results)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("router", ROUTERS)
def test_router_api_and_metrics_answer_only_the_owner(
    project: Project, project_dir: Path, router: str
) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to uid nobody")
    operations.deploy(project, ENV, "v1")
    process = project.proxy_for(ENV).chosen.process
    assert isinstance(process, TraefikProcess | HaproxyProcess)
    # The password, and the configuration holding it (HAProxy) or its hash (Traefik).
    config = (
        process.dynamic_dir / OWNER_FILE
        if isinstance(process, TraefikProcess)
        else process.config_file
    )
    secrets = [process.metrics_password_file, config]
    assert {stat.S_IMODE(f.stat().st_mode) for f in secrets} == {0o600}
    owner_only, public = _router_urls(process)
    sockets = [str(SupervisorDaemon(project.layout.supervisor).socket)]
    sockets += [str(s) for s in process.root.glob("admin-*.sock")]  # HAProxy's runtime APIs
    assert all(Path(s).exists() for s in sockets)
    assert len(sockets) >= (1 if isinstance(process, TraefikProcess) else 2), sockets

    # Every folder on the way passable: only the files' and sockets' own modes and the
    # routers' credentials keep uid nobody out.
    stop = project_dir.parent.parent.parent  # above pytest's base folder
    paths = [*secrets, *map(Path, sockets)]
    folders = {d for path in paths for d in _ancestors(path.parent, stop) or [path.parent]}
    wanted = {"files": [str(f) for f in secrets], "http": owner_only + public, "unix": sockets}
    with traversable(sorted(folders)):
        seen = probe(wanted)
    assert seen["read"] == [] and seen["unix"] == [], seen
    assert seen["status"] == {**dict.fromkeys(owner_only, 401), **dict.fromkeys(public, 200)}

    # The owner's tools get through: status, the analysis's scrape, monitor's Prometheus.
    auth = process.metrics_credentials()
    assert all(httpx.get(url, auth=auth).status_code == 200 for url in owner_only)
    assert environment_status(project, ENV).router == "serving"
    url = f"http://127.0.0.1:{project.loaded.spec.port_of(ENV)}/"
    routing = project.router_for(ENV).current(project.route(ENV))
    assert routing is not None
    (live,) = [b.name for b in routing.backends if b.weight == 100]
    stats = project.traffic_stats(ENV)
    stats(live, 60.0)  # Traefik's first scrape is the baseline
    for _ in range(10):
        httpx.get(url, timeout=5).raise_for_status()
    assert wait_until(lambda: (s := stats(live, 60.0)) is not None and s.requests >= 10, 15.0)
    try:
        state = stack.up(project)
        prometheus = f"http://127.0.0.1:{state.ports.prometheus}"
        assert wait_until(lambda: _scraped(prometheus, f"router-{ENV}"), 60.0)
    finally:
        stack.down(project)
