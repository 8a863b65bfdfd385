"""Environments are isolated, on both routers: under load on one environment, another is
added, deployed, re-ported and deployed again, and a third clashes with a taken port; the
loaded environment fails no request. Figures are printed (run with -s)."""

from __future__ import annotations

import socket
from collections import Counter
from pathlib import Path

import pytest

from moai_deploy.errors import SpecError
from moai_deploy.observe.load import LoadReport, start_load_in_background
from moai_deploy.pipeline import operations
from moai_deploy.runtime.base import free_port

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
