"""supervisord SIGKILLed under load: its instances keep serving (0 failed), and the next
command takes them over by pid, so nothing is orphaned afterwards."""

from __future__ import annotations

import os
import signal
import time

import pytest

from moai_deploy.observe.load import start_load_in_background
from moai_deploy.pipeline import operations
from moai_deploy.pipeline.project import Project
from moai_deploy.runtime.base import InstanceState
from moai_deploy.runtime.local.daemon import pid_alive, wait_until

from .conftest import ENV, make_v2

pytestmark = pytest.mark.slow


def test_supervisord_sigkill_fails_no_request_and_the_next_deploy_leaves_no_orphan(
    project: Project,
) -> None:
    operations.deploy(project, ENV, "v1")
    runtime = project.runtime_for(ENV)
    v1 = {i.name: i.pid for i in runtime.list(project.service, ENV)}
    assert len(v1) == 2 and all(v1.values())
    daemon_pid = int((project.layout.supervisor / "supervisord.pid").read_text())
    url = f"http://127.0.0.1:{project.loaded.spec.port_of(ENV)}/"
    load = start_load_in_background(url, duration=90, concurrency=8)
    try:
        time.sleep(1.0)
        os.kill(daemon_pid, signal.SIGKILL)
        assert wait_until(lambda: not pid_alive(daemon_pid), 10)
        time.sleep(2.0)
        # Not "stopped": the instances run, and the runtime says so (by pid).
        listed = {i.name: (i.state, i.pid) for i in runtime.list(project.service, ENV)}
        assert listed == {name: (InstanceState.RUNNING, pid) for name, pid in v1.items()}
        make_v2(project.loaded.project_dir)
        release = operations.deploy(project, ENV, "v2")  # the next command
    finally:
        load.stop()
        report = load.result(timeout=60)
    print(f"\nsupervisord SIGKILL, then a deploy: {report.failed} of {report.total} failed")
    assert release.status == "succeeded"
    assert report.total > 100 and report.failed == 0
    # scale_down_delay 2 s: the old colour is stopped by pid once the delay is over.
    assert wait_until(lambda: not any(pid_alive(pid or 0) for pid in v1.values()), 60)
    assert {i.version for i in runtime.list(project.service, ENV)} == {"v2"}
