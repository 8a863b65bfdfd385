"""Environments are isolated, on both routers: under load on one environment, another is
added, deployed, re-ported and deployed again, and a third clashes with a taken port; the
loaded environment fails no request. Figures are printed (run with -s). And the one router
an older version shared between environments hands each over to its own."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from moai_deploy.errors import SpecError
from moai_deploy.observe.load import LoadReport, start_load_in_background
from moai_deploy.pipeline import operations
from moai_deploy.runtime.base import free_port
from moai_deploy.runtime.local.daemon import wait_until
from moai_deploy.traffic.choose import router_pair

from ..e2e.conftest import ROUTERS
from .conftest import ENV, add_environment, edit_spec, reopen

pytestmark = pytest.mark.slow

CLIENTS = 8


def _deploy(project_dir: Path, environment: str, version: str) -> None:
    project = reopen(project_dir)
    try:
        operations.deploy(project, environment, version)
    finally:
        project.close()


def _served(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _status(project_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "moai_deploy", "status", *args]
    return subprocess.run(
        argv, cwd=project_dir, capture_output=True, text=True, timeout=120, check=False
    )


def _failures(report: LoadReport) -> str:
    kinds = Counter(s.error or str(s.status) for s in report.samples if s.failed)
    return ", ".join(f"{kind}: {count}" for kind, count in kinds.most_common()) or "none"


@pytest.mark.parametrize("router", ROUTERS)
def test_adding_reporting_and_a_port_clash_elsewhere_fail_nothing_here(
    project_dir: Path, router: str
) -> None:
    _deploy(project_dir, ENV, "v1")
    project = reopen(project_dir)
    url = f"http://127.0.0.1:{project.loaded.spec.port_of(ENV)}/"
    project.close()
    load = start_load_in_background(url, duration=300, concurrency=CLIENTS)
    try:
        add_environment(project_dir, "extra", port=free_port(), replicas=1)
        _deploy(project_dir, "extra", "v1")  # a new environment: its own router starts
        edit_spec(project_dir, "extra", port=free_port())
        _deploy(project_dir, "extra", "v1b")  # its port changed: its router hands over
        with socket.socket() as held:  # another program holds the clashing port
            held.bind(("127.0.0.1", 0))
            held.listen()
            add_environment(project_dir, "clash", port=held.getsockname()[1], replicas=1)
            clashing = reopen(project_dir)
            try:
                with pytest.raises(SpecError) as refused:
                    operations.deploy(clashing, "clash", "v1")
            finally:
                clashing.close()
    finally:
        load.stop()
        report = load.result(timeout=60)
    problem = refused.value.problems[0]
    assert refused.value.exit_code == 2
    assert problem.key == "environments.clash.port" and problem.line is not None
    assert "already in use" in problem.message
    print(
        f"\n{router}: add + deploy, re-port + deploy, a port clash elsewhere: "
        f"{report.failed} of {report.total} failed on {ENV} ({_failures(report)})"
    )
    assert report.total > 500 and report.failed == 0


@pytest.mark.parametrize("router", ROUTERS)
def test_the_shared_router_of_an_older_version_hands_every_environment_over(
    project_dir: Path, router: str
) -> None:
    _deploy(project_dir, ENV, "v1")
    project = reopen(project_dir)
    try:
        routing = project.router_for(ENV).current(project.route(ENV))
        assert routing is not None
        # What an older version left: one router for every environment, no per-environment ones.
        project.stop_router(ENV)
        shutil.rmtree(project.layout.root / "routers")
        spec = project.loaded.spec
        ports = {env: spec.port_of(env) for env in spec.environments}
        ready = (spec.service.ready_path, spec.service.ready_status)
        legacy = router_pair(router, project.layout.root, ports, spec.traffic.host, ready)
        legacy.router.set_weights(routing)
        legacy.process.ensure_running()
        url = f"http://127.0.0.1:{spec.port_of(ENV)}/"
        assert wait_until(lambda: _served(url), 10)
    finally:
        project.close()

    # Before the next deploy, status tells who serves (it is not down), on both its paths:
    # the first run is the full one and remembers the spec's facts for the light one.
    for _ in range(2):
        shown = _status(project_dir, "--json")
        assert shown.returncode == 0, shown.stderr
        (view,) = [e for e in json.loads(shown.stdout) if e["environment"] == ENV]
        assert view["router"] == "serving" and "older moai-deploy" in view["router_note"]
        assert view["weights"] == routing.weights()
    assert "older moai-deploy" in _status(project_dir).stdout

    upgraded = reopen(project_dir)
    try:
        upgraded.ensure_router(ENV)  # what the next deploy does first
        assert not legacy.process.is_running()
        assert upgraded.router_running(ENV)
        assert upgraded.router_for(ENV).current(upgraded.route(ENV)) == routing
        assert wait_until(lambda: _served(url), 10)
    finally:
        upgraded.close()
