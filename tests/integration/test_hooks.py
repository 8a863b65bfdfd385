"""Hooks around a release run as argv lists in the project folder, with the release's facts
in MOAI_DEPLOY_* variables; pre_deploy failures stop the release, others only warn. Every
run is audited with its (masked) output."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from moai_deploy.errors import ReleaseFailedError
from moai_deploy.pipeline.hooks import ReleaseFacts, run_hooks
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.reporter import RecordingReporter

SHOW_FACTS = (
    "import json, os; "
    "print(json.dumps({k: v for k, v in os.environ.items() if k.startswith('MOAI_DEPLOY_')}))"
)
SPEC = """\
service:
  name: app
  command: python -m app
  hooks:
    pre_deploy:
      - [{python}, -c, "{show_facts}"]
    post_deploy: [[{python}, -c, "import sys; print('token', 'hunter2-secret'); sys.exit(4)"]]
defaults:
  env: {{API_TOKEN: "${{secret:API_TOKEN}}"}}
environments:
  staging: {{port: 18123}}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    (tmp_path / "moai-deploy.yaml").write_text(
        SPEC.format(python=sys.executable, show_facts=SHOW_FACTS)
    )
    monkeypatch.setenv("API_TOKEN", "hunter2-secret")
    opened = Project.open(tmp_path / "moai-deploy.yaml")
    yield opened
    opened.close()


def test_hooks_get_the_release_facts_and_failures_are_judged_by_kind(project: Project) -> None:
    reporter = RecordingReporter()
    facts = ReleaseFacts("staging", "v7", "deploy", commit="abc123", release_id=12)
    run_hooks(project, "pre_deploy", facts, reporter)
    audit = project.ledger.list_audit(project.service, "staging", 10)
    seen = json.loads(audit[0].detail["output"])
    assert seen["MOAI_DEPLOY_VERSION"] == "v7" and seen["MOAI_DEPLOY_RELEASE_ID"] == "12"
    assert seen["MOAI_DEPLOY_URL"] == "http://127.0.0.1:18123"
    assert seen["MOAI_DEPLOY_STRATEGY"] == "blue_green" and seen["MOAI_DEPLOY_COMMIT"] == "abc123"

    run_hooks(project, "post_deploy", facts, reporter)  # exits 4: a warning, no exception
    post = project.ledger.list_audit(project.service, "staging", 10)[0]
    assert post.action == "hook_post_deploy" and post.outcome == "failed"
    assert "hunter2-secret" not in post.detail["output"]  # masked
    assert reporter.named("warning")


def test_a_failing_pre_deploy_hook_stops_the_release(project: Project, tmp_path: Path) -> None:
    bad = SPEC.format(python=sys.executable, show_facts=SHOW_FACTS).replace(
        "import json", "import sys; sys.exit(3); import json"
    )
    (tmp_path / "moai-deploy.yaml").write_text(bad)
    failing = Project.open(tmp_path / "moai-deploy.yaml")
    try:
        with pytest.raises(ReleaseFailedError, match=r"pre_deploy hook .* exited 3"):
            run_hooks(
                failing, "pre_deploy", ReleaseFacts("staging", "v1", "deploy"), RecordingReporter()
            )
    finally:
        failing.close()
