"""The dashboard in a real headless Chromium (Debian's, driven by Playwright): during a
canary the weights and the success-rate chart follow within 2 s; the approve button works
for an approver and is refused for a viewer. Screenshots go to the test's tmp folder (or
$MOAI_TEST_ARTIFACTS)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from moai_deploy.ledger.tokens import Role
from moai_deploy.observe.load import start_load_in_background
from moai_deploy.pipeline import operations
from moai_deploy.pipeline.access import create_token
from moai_deploy.pipeline.project import Project
from moai_deploy.runtime.base import free_port
from moai_deploy.server.api import create_app
from moai_deploy.service import ControlService

from .conftest import ENV, edit_spec, make_v2, reopen

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def wait_for(check: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Served:
    url: str
    tokens: dict[str, str]
    artifacts: Path

    def post(self, who: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return httpx.post(
            f"{self.url}/api/v1/environments/{ENV}/{path}", json=body, headers=headers, timeout=60
        )

    def get(self, path: str) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens['viewer']}"}
        return httpx.get(f"{self.url}/api/v1{path}", headers=headers, timeout=30).json()

    def shot(self, page: Page, name: str) -> None:
        path = self.artifacts / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if target := os.environ.get("MOAI_TEST_ARTIFACTS"):
            Path(target).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(target) / path.name)


@pytest.fixture
def served(project_dir: Path, tmp_path: Path) -> Iterator[Served]:
    spec = project_dir / "moai-deploy.yaml"
    project = Project.open(spec)
    roles = {"viewer": Role.VIEWER, "dan": Role.DEPLOYER, "ann": Role.APPROVER}
    tokens = {name: create_token(project, name, role, None)[0] for name, role in roles.items()}
    project.close()
    service = ControlService(spec)
    app = create_app(service)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 30, "the server")
    artifacts = tmp_path / "screenshots"
    artifacts.mkdir()
    served = Served(f"http://127.0.0.1:{port}", tokens, artifacts)
    yield served
    if served.get(f"/environments/{ENV}")["unfinished"]:  # a test stopped mid-release
        served.post("dan", "abort", {"wait": True})
    app.state.jobs.wait_all(120.0)
    server.should_exit = True
    thread.join(30)
    service.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def logged_in(browser: Browser, served: Served, who: str) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    page.goto(served.url + "/")
    page.fill("#token", served.tokens[who])
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#app:not([hidden])")
    page.wait_for_selector(f"#env-{ENV}")
    return page


def _weight_shown(page: Page, version: str, weight: int) -> bool:
    texts = page.locator(f"#env-{ENV} .weight").all_inner_texts()
    return any(t.startswith(f"{version}: {weight}%") for t in texts)


def _set_weight_started(project: Project, release_id: int, weight: int) -> float | None:
    for step in project.ledger.steps(release_id):
        if step.kind == "set_weight" and f"{weight}%" in step.detail + step.kind:
            return step.started_at.timestamp()
    steps = [s for s in project.ledger.steps(release_id) if s.kind == "set_weight"]
    return steps[1].started_at.timestamp() if len(steps) >= 2 else None


def test_weights_and_chart_follow_a_canary_within_two_seconds(
    project_dir: Path, served: Served, browser: Browser
) -> None:
    project = reopen(project_dir)
    operations.deploy(project, ENV, "v1")
    canary = {
        "type": "canary",
        "scale_down_delay": "0s",
        "steps": [{"set_weight": 20}, {"pause": {}}, {"set_weight": 50}, {"pause": {}}],
    }
    edit_spec(project_dir, ENV, strategy=canary)
    make_v2(project_dir)
    url = f"http://127.0.0.1:{project.loaded.spec.port_of(ENV)}/"
    load = start_load_in_background(url, duration=120, concurrency=4)
    try:
        page = logged_in(browser, served, "viewer")
        assert served.post("dan", "deploy", {"version": "v2"}).status_code == 202
        wait_for(lambda: _weight_shown(page, "v2", 20), 90, "v2 at 20% on the page")
        wait_for(
            lambda: page.locator("#legend-success [data-version=v2]").count(), 30, "v2 charted"
        )
        served.shot(page, "canary-20")
        points_before = int(page.locator("#chart-success").get_attribute("data-points") or 0)
        release_id = served.get(f"/environments/{ENV}")["unfinished"][0]["id"]

        assert served.post("dan", "promote").status_code in (200, 202)
        wait_for(lambda: _weight_shown(page, "v2", 50), 30, "v2 at 50% on the page")
        shown_at = time.time()
        changed_at = _set_weight_started(project, release_id, 50)
        assert changed_at is not None
        assert shown_at - changed_at < 2.0, f"weights shown {shown_at - changed_at:.2f}s after"
        wait_for(
            lambda: (
                int(page.locator("#chart-success").get_attribute("data-points") or 0)
                > points_before
            ),
            2.0,
            "a new chart point",
        )
        assert time.time() - changed_at < 2.5
        served.shot(page, "canary-50")
        assert served.post("dan", "promote", {"full": True}).status_code in (200, 202)
        wait_for(
            lambda: served.get(f"/environments/{ENV}")["live"]["version"] == "v2", 60, "v2 live"
        )
        page.wait_for_timeout(1000)
        served.shot(page, "canary-done")
    finally:
        load.stop()
        report = load.result(timeout=30)
    assert report.failed == 0, report.to_dict()


def test_approve_button_refused_for_a_viewer_and_works_for_an_approver(
    project_dir: Path, served: Served, browser: Browser
) -> None:
    edit_spec(project_dir, ENV, approvals={"required": 1})
    assert served.post("dan", "deploy", {"version": "v1"}).status_code == 202
    viewer = logged_in(browser, served, "viewer")
    viewer.wait_for_selector("#approvals .approval button.approve", timeout=60_000)
    viewer.click("#approvals .approval button.approve")
    wait_for(lambda: "refused" in viewer.inner_text("#message"), 10, "the refusal")
    assert "viewer may not approve" in viewer.inner_text("#message")
    served.shot(viewer, "approve-refused-viewer")
    assert served.get("/approvals"), "the release must still wait"

    approver = logged_in(browser, served, "ann")
    approver.wait_for_selector("#approvals .approval button.approve", timeout=30_000)
    approver.click("#approvals .approval button.approve")
    wait_for(lambda: "approve recorded" in approver.inner_text("#message"), 10, "the approval")
    served.shot(approver, "approve-approver")
    wait_for(
        lambda: (served.get(f"/environments/{ENV}")["live"] or {}).get("version") == "v1",
        90,
        "v1 live",
    )
    approver.wait_for_selector("#approvals p.muted", timeout=10_000)  # no longer pending
    audit = served.get("/audit")
    assert any(e["action"] == "approve" and e["actor"] == "ann" for e in audit)
    served.shot(approver, "approved-live")
