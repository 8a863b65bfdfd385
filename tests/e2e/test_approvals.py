"""Approvals end to end through the HTTP API: a real deploy of the example service waits
for two distinct approvers, refuses self-approval, aborts on rejection and ignores an
expired approval. A local webhook receiver checks the notifications' signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from ruamel.yaml import YAML

from moai_deploy.ledger.tokens import Role
from moai_deploy.pipeline.access import create_token
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.reporter import RecordingReporter
from moai_deploy.server.api import create_app
from moai_deploy.service import ControlService

from .conftest import ENV, edit_spec, make_v2

pytestmark = pytest.mark.slow


def wait_for(check: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Api:
    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client, self.tokens = client, tokens

    def post(self, who: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.client.post(f"/api/v1/environments/{ENV}/{path}", json=body, headers=headers)

    def status(self) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.tokens['ann']}"}
        data: dict[str, Any] = self.client.get(
            f"/api/v1/environments/{ENV}", headers=headers
        ).json()
        return data

    def waiting(self) -> bool:
        stopped = self.status()["stopped_at"] or ""
        return "approval (running)" in stopped

    def job_done(self, response: httpx.Response) -> bool:
        headers = {"Authorization": f"Bearer {self.tokens['ann']}"}
        job = self.client.get(f"/api/v1/jobs/{response.json()['id']}", headers=headers).json()
        return bool(job["state"] != "running")

    def live_version(self) -> str | None:
        live = self.status()["live"]
        return live["version"] if live else None


HOOK_KEY = "approvals-e2e-signing-key"  # pragma: allowlist secret


class Hooks:
    """A webhook receiver: keeps the events whose HMAC signature is right."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.bad = 0
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers["X-Moai-Timestamp"].encode()
                mac = hmac.new(HOOK_KEY.encode(), stamp + b"." + body, hashlib.sha256)
                if hmac.compare_digest(
                    "sha256=" + mac.hexdigest(), self.headers["X-Moai-Signature"]
                ):
                    hooks.events.append(json.loads(body)["event"])
                else:
                    hooks.bad += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hooks(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hooks]:
    receiver = Hooks()
    monkeypatch.setenv("HOOK_KEY", HOOK_KEY)
    yaml = YAML(typ="rt")
    spec = project_dir / "moai-deploy.yaml"
    data = yaml.load(spec)
    data["notifications"] = {
        "webhooks": [{"name": "ops", "url": receiver.url, "secret": "${secret:HOOK_KEY}"}]
    }
    yaml.dump(data, spec)
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def recorder() -> RecordingReporter:
    return RecordingReporter()


@pytest.fixture
def api(project_dir: Path, recorder: RecordingReporter, hooks: Hooks) -> Iterator[Api]:
    edit_spec(project_dir, ENV, approvals={"required": 2, "expiry": "1h"})
    spec = project_dir / "moai-deploy.yaml"
    project = Project.open(spec)
    roles = {"ada": Role.ADMIN, "dan": Role.DEPLOYER, "ann": Role.APPROVER, "abe": Role.APPROVER}
    tokens = {name: create_token(project, name, role, None)[0] for name, role in roles.items()}
    project.close()
    service = ControlService(spec, reporter=lambda _project: recorder)
    with TestClient(create_app(service, live_samples=False)) as client:
        api = Api(client, tokens)
        yield api
        if api.status()["unfinished"]:  # a test that failed mid-wait: undo its release
            api.post("ada", "abort", {"wait": True})
        client.app.state.jobs.wait_all(120.0)  # e.g. the SBOM stored after a rollout
    service.close()


def test_waits_for_two_distinct_approvers_and_refuses_self_approval(
    api: Api, recorder: RecordingReporter, hooks: Hooks
) -> None:
    started = api.post("ada", "deploy", {"version": "v1"})
    assert started.status_code == 202  # still running: it waits for approval
    wait_for(api.waiting, what="the approval step")

    own = api.post("ada", "approve")
    assert own.status_code == 403 and "cannot approve" in own.json()["error"]
    assert api.post("dan", "approve").status_code == 403  # a deployer is no approver
    first = api.post("ann", "approve", {"comment": "looks good"})
    assert first.status_code == 200 and first.json()["approvers"] == ["ann"]
    again = api.post("ann", "approve").json()
    assert again["approvers"] == ["ann"] and not again["approved"]  # distinct people
    time.sleep(1.0)
    assert api.waiting() and api.live_version() is None

    second = api.post("abe", "approve").json()
    assert second["approved"] and second["approvers"] == ["ann", "abe"]
    wait_for(lambda: api.live_version() == "v1", what="v1 live")
    assert len(recorder.named("waiting_for_approval")) == 1  # one notification, not per poll
    wait_for(lambda: "succeeded" in hooks.events, what="the succeeded webhook")
    assert hooks.events == ["started", "waiting_for_approval", "approved", "succeeded"]
    assert hooks.bad == 0
    audit = api.client.get(
        "/api/v1/audit", headers={"Authorization": f"Bearer {api.tokens['ann']}"}
    )
    approvals = [(e["actor"], e["outcome"]) for e in audit.json() if e["action"] == "approve"]
    assert ("ada", "refused") in approvals and ("abe", "succeeded") in approvals


def test_rejection_aborts_and_stable_keeps_serving(
    api: Api, project_dir: Path, hooks: Hooks
) -> None:
    first = api.post("ada", "deploy", {"version": "v1"})
    wait_for(api.waiting, what="the approval step")
    api.post("ann", "approve")
    api.post("abe", "approve")
    wait_for(lambda: api.job_done(first), what="the v1 deploy to finish")
    assert api.live_version() == "v1"
    make_v2(project_dir)

    assert api.post("dan", "deploy", {"version": "v2"}).status_code == 202
    wait_for(api.waiting, what="the approval step of v2")
    rejected = api.post("abe", "reject", {"reason": "not on a Friday", "wait": True})
    assert rejected.status_code == 200
    assert rejected.json()["result"]["status"] == "aborted"
    assert api.live_version() == "v1"
    port = api.status()["url"].rsplit(":", 1)[1]
    assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).json()["version"] == "1.0.0"
    releases = api.client.get(
        "/api/v1/releases", headers={"Authorization": f"Bearer {api.tokens['ann']}"}
    ).json()
    detail = api.client.get(
        f"/api/v1/releases/{releases[0]['id']}",
        headers={"Authorization": f"Bearer {api.tokens['ann']}"},
    ).json()
    assert [(a["approver"], a["decision"]) for a in detail["approvals"]] == [("abe", "reject")]
    wait_for(lambda: "aborted" in hooks.events, what="the aborted webhook")


def test_an_expired_approval_does_not_count(api: Api, project_dir: Path) -> None:
    edit_spec(project_dir, ENV, approvals={"required": 2, "expiry": "4s"})
    api.post("dan", "deploy", {"version": "v1"})
    wait_for(api.waiting, what="the approval step")
    api.post("ann", "approve")
    time.sleep(4.5)  # ann's approval expires
    late = api.post("abe", "approve").json()
    assert late["approvers"] == ["abe"] and not late["approved"]
    time.sleep(0.8)  # longer than the release's poll of its approvals
    assert api.waiting()
    renewed = api.post("ann", "approve").json()
    assert renewed["approved"]
    wait_for(lambda: api.live_version() == "v1", what="v1 live")
