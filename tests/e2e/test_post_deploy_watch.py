"""The post-deploy watch end to end: `monitor up` (real Prometheus and Alertmanager from
Debian), the example service under load, a release that passes its watch, then a fault
that starts after the switch: the rendered HighErrorRate alert fires in Prometheus,
Alertmanager delivers it to moai-deploy's receiver (alert log, then the spec's webhook as an
`alert_firing` notification), and the watch rolls the release back within its window, with
0 % of the traffic on the bad version afterwards.

Short windows keep it quick: scrape and evaluation every 1 s, rate over 10 s, `for: 2s`.
A 10 s rate window holds ~10 scrapes, so a late scrape on a loaded machine does not leave the
ratio without data (which resets a pending alert); the 90 s watch leaves room for the switch
and the alert's pending time after the fault starts.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner, Result

from moai_deploy.cli.main import app
from moai_deploy.errors import ReleaseFailedError
from moai_deploy.monitor import stack
from moai_deploy.observe.load import start_load_in_background
from moai_deploy.pipeline import operations

from .conftest import ENV, Recorder, edit_spec, make_v2, reopen

pytestmark = pytest.mark.slow
FAST = {
    "scrape_interval": "1s",
    "evaluation_interval": "1s",
    "rate_window": "10s",
    "alerts": {"high_error_rate": {"duration": "2s"}},
    "watch": {"poll_interval": "0.5s"},
}
FAULT_AFTER = 15  # seconds after each v3 instance starts: after the switch, inside the watch


def _cli(project_dir: Path, *args: str) -> Result:
    # In-process (the stack's processes outlive it either way), so coverage sees the CLI.
    return CliRunner().invoke(app, [*args, "-f", str(project_dir / "moai-deploy.yaml")])


def _monitoring(watch_seconds: str) -> dict[str, Any]:
    return {**FAST, "watch": {**FAST["watch"], "duration": watch_seconds}}


def _make_v3_faulty(project_dir: Path) -> None:
    version = project_dir / "app" / "version.py"
    version.write_text(version.read_text().replace('"2.0.0"', '"3.0.0"'))
    env = {"LOG_LEVEL": "INFO", "HELLO_ERROR_RATE": "0.5", "HELLO_FAULT_AFTER": str(FAULT_AFTER)}
    edit_spec(project_dir, ENV, env=env, monitoring=_monitoring("90s"))


class _Webhook:
    """A real HTTP endpoint standing in for the team's chat: records what it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, event: str, version: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for body in self.bodies:
                text = json.dumps(body)
                if event in text and f'"{version}"' in text:
                    return body
            time.sleep(0.5)
        raise AssertionError(f"the webhook got no {event} for {version}: {self.bodies}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _add_webhook(project_dir: Path, url: str) -> None:
    yaml = YAML(typ="rt")
    spec_path = project_dir / "moai-deploy.yaml"
    data = yaml.load(spec_path)
    data["notifications"] = {"webhooks": [{"name": "ops", "url": url, "events": ["alert_firing"]}]}
    yaml.dump(data, spec_path)
    subprocess.run(
        ["git", "commit", "-qam", "alerts to the ops webhook"], cwd=project_dir, check=True
    )


def _delivered(alerts_log: Path, version: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = alerts_log.read_text().splitlines() if alerts_log.exists() else []
        for entry in map(json.loads, lines):
            for alert in entry["alerts"]:
                labels = alert["labels"]
                if labels.get("alertname") == "HighErrorRate" and labels.get("version") == version:
                    return dict(entry)
        time.sleep(0.5)
    raise AssertionError(f"Alertmanager delivered no HighErrorRate for {version}")


@pytest.mark.timeout(420)  # three deploys, a monitoring stack and a 90 s watch window
def test_watch_passes_a_healthy_release_and_rolls_back_a_fault_after_the_switch(
    project_dir: Path,
) -> None:
    edit_spec(project_dir, ENV, monitoring=_monitoring("4s"))
    webhook = _Webhook()
    _add_webhook(project_dir, webhook.url)
    project = reopen(project_dir)
    url = f"http://127.0.0.1:{project.loaded.spec.port_of(ENV)}/"
    try:
        operations.deploy(project, ENV, "v1")  # a first deploy has nothing to watch against
        started = _cli(project_dir, "monitor", "up")
        assert started.exit_code == 0, started.output
        paths = stack.paths_of(project)
        state = stack.running_state(paths)
        assert state is not None

        make_v2(project_dir)
        healthy = operations.deploy(project, ENV, "v2")
        assert healthy.status == "succeeded"
        assert project.ledger.get_release(healthy.id).meta["watch"]["passed"] is True
        watch_steps = [s for s in project.ledger.steps(healthy.id) if s.kind == "watch"]
        assert [s.outcome for s in watch_steps] == ["succeeded"]

        _make_v3_faulty(project_dir)
        project.close()
        project = reopen(project_dir)  # the spec changed
        recorder = Recorder()
        load = start_load_in_background(url, duration=200, concurrency=4)
        try:
            with pytest.raises(ReleaseFailedError, match="HighErrorRate for v3 firing"):
                operations.deploy(project, ENV, "v3", recorder)
            returned = time.time()
            time.sleep(2)  # traffic after the rollback
        finally:
            load.stop()
            report = load.result(timeout=60)
        bad = project.ledger.list_releases(project.service, ENV, limit=1)[0]
        delivered = _delivered(paths.alerts_log, "v3")
        notified = webhook.wait_for("alert_firing", "v3")
        shown = _cli(project_dir, "monitor", "status")
    finally:
        stopped = _cli(project_dir, "monitor", "down")
        project.close()
        webhook.close()

    assert bad.version == "v3" and bad.status == "aborted"
    assert "post-deploy watch" in (bad.message or "")
    undone = [f for _, name, f in recorder.events if name == "undone"]
    assert undone and "HighErrorRate" in undone[0]["reason"]
    assert delivered["status"] == "firing"
    assert "HighErrorRate" in json.dumps(notified)  # Alertmanager -> receiver -> webhooks

    origin = report.started_at
    faulty = [s for s in report.samples if s.version == "3.0.0"]
    failures = [s for s in faulty if s.failed]
    assert failures, "the fault never reached the clients"
    onset, last_bad = min(s.start for s in failures), max(s.start for s in faulty)
    after = [s for s in report.samples if s.start + origin > returned]
    assert after and all(s.version == "2.0.0" and not s.failed for s in after)  # 0 % on v3
    figure = last_bad - onset
    print(f"post-deploy watch: fault onset -> traffic back on v2: {figure:.2f} s")
    assert figure < 90  # inside the watch window

    assert shown.exit_code == 0 and "prometheus" in shown.output, shown.output
    assert "targets:" in shown.output
    assert stopped.exit_code == 0 and "prometheus" in stopped.output
    assert all(not stack._is_ours(pid, paths) for pid in state.pids.values())
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{state.ports.prometheus}/-/ready", timeout=2)
