"""The event stream (resumable with Last-Event-ID, live fan-out), /metrics and DORA."""

from __future__ import annotations

import json
import subprocess
import threading
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from moai_deploy.ledger.events import EventLog
from moai_deploy.ledger.models import Release, ReleaseStep
from moai_deploy.ledger.records import ReleaseRecord
from moai_deploy.ledger.store import Ledger
from moai_deploy.service import ControlService

from .conftest import bearer


def _release(ledger: Ledger, environment: str = "staging", **fields: Any) -> ReleaseRecord:
    base: dict[str, Any] = {
        "service": "hello",
        "environment": environment,
        "version": "v1",
        "commit_sha": None,
        "spec_hash": "x",
        "artifact": None,
        "strategy": "canary",
        "deployed_by": "test",
    }
    return ledger.create_release(**{**base, **fields})


def _read_stream(
    client: TestClient, token: str, headers: dict[str, str], query: str
) -> list[dict[str, Any]]:
    """Every event of one stream (the test app ends a stream after 1.5 s)."""
    found: list[dict[str, Any]] = []
    with client.stream("GET", f"/api/v1/events{query}", headers={**bearer(token), **headers}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        event_id = None
        for line in r.iter_lines():
            if line.startswith("id: "):
                event_id = int(line[4:])
            elif line.startswith("data: ") and event_id is not None:
                event = json.loads(line[6:])
                assert event["id"] == event_id
                found.append(event)
                event_id = None
    return found


def test_stream_resumes_after_last_event_id_and_carries_live_events(
    client: TestClient, tokens: dict[str, str], service: ControlService
) -> None:
    ledger = service.project().ledger
    log = EventLog(ledger)
    release = _release(ledger)
    appended = [log.append(release.id, "note", {"n": n}).id for n in range(3)]

    everything = _read_stream(client, tokens["viewer"], {}, "?after=0")
    ours = [e["id"] for e in everything if e["kind"] == "note"]
    assert ours == appended
    resumed = _read_stream(client, tokens["viewer"], {"Last-Event-ID": str(appended[0])}, "")
    assert [e["id"] for e in resumed if e["kind"] == "note"] == appended[1:]
    assert all(e["id"] > appended[0] for e in resumed)  # nothing twice

    later: list[int] = []
    writer = threading.Timer(0.5, lambda: later.append(log.append(release.id, "late").id))
    writer.start()
    live = _read_stream(client, tokens["viewer"], {}, "")  # from now on
    writer.join()
    assert [e["id"] for e in live] == later
    production = _read_stream(client, tokens["viewer"], {}, "?after=0&environment=production")
    assert production == []


def test_metrics_expose_releases_durations_rollbacks_and_dora(
    client: TestClient, service: ControlService
) -> None:
    ledger = service.project().ledger
    first = _release(ledger)
    ledger.transition(first.id, "in_progress")
    step = ledger.start_step(first.id, "analysis")
    ledger.finish_step(step.id, "succeeded", "Successful")
    ledger.transition(first.id, "succeeded")
    second = _release(ledger, version="v2")
    ledger.transition(second.id, "in_progress")
    ledger.transition(second.id, "aborted", message="analysis failed")
    back = _release(ledger, version="v1", rollback_of=first.id)
    ledger.transition(back.id, "in_progress")
    ledger.transition(back.id, "succeeded")

    text = client.get("/metrics").text
    assert 'moai_releases{environment="staging",status="succeeded"} 2.0' in text
    assert 'moai_releases{environment="staging",status="aborted"} 1.0' in text
    assert 'moai_deploy_duration_seconds_count{environment="staging"} 3.0' in text
    assert 'moai_rollbacks{environment="staging"} 1.0' in text
    assert 'moai_analysis_verdicts{environment="staging",verdict="succeeded"} 1.0' in text
    assert 'moai_dora_deploy_frequency_per_week{environment="staging"} 1.0' in text
    assert 'moai_dora_change_failure_rate{environment="staging"} 0.5' in text


def test_dora_over_a_window_beside_the_targets(
    client: TestClient, tokens: dict[str, str], service: ControlService
) -> None:
    ledger = service.project().ledger
    project_dir = service.project().loaded.project_dir
    sha = subprocess.run(
        ["git", "-C", str(project_dir), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ok = _release(ledger, "production", commit_sha=sha)
    ledger.transition(ok.id, "in_progress")
    ledger.transition(ok.id, "succeeded")
    bad = _release(ledger, "production", version="v2")
    ledger.transition(bad.id, "in_progress")
    step = ledger.start_step(bad.id, "analysis")
    ledger.finish_step(step.id, "failed", "analysis failed")
    ledger.transition(bad.id, "aborted")
    old = _release(ledger, "production", version="v0")
    ledger.transition(old.id, "in_progress")
    ledger.transition(old.id, "succeeded")
    with ledger.write_session() as session:  # ten days ago: outside a 7-day window
        row = session.get(Release, old.id)
        assert row is not None
        row.created_at -= timedelta(days=10)
        row.finished_at = row.created_at + timedelta(minutes=2)
        assert session.get(ReleaseStep, step.id) is not None

    week = client.get("/api/v1/dora?days=7", headers=bearer(tokens["viewer"])).json()
    assert week["environment"] == "production" and week["changes"] == 2
    metrics = week["metrics"]
    assert metrics["deploy_frequency_per_week"]["value"] == 1.0
    assert metrics["deploy_frequency_per_week"]["met"] is False  # target > 10 a week
    assert metrics["change_failure_rate"]["value"] == 0.5
    assert 0 <= metrics["lead_time_seconds"]["value"] < 3600 and metrics["lead_time_seconds"]["met"]
    assert metrics["time_to_restore_seconds"]["value"] < 60
    month = client.get("/api/v1/dora?days=30", headers=bearer(tokens["viewer"])).json()
    assert month["changes"] == 3
