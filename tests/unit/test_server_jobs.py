"""A job's phase follows its release: waiting at a pause or an approval, live once promoted
(what is left, e.g. the old colour's scale-down, runs on without the caller)."""

from __future__ import annotations

import threading

from moai_deploy.rollout.reporter import RecordingReporter
from moai_deploy.server.jobs import Jobs, job_reporter


def _run_job(action: str, script: list[tuple[str, str]]) -> list[str]:
    """Run a job whose work reports `script`; returns the phase seen after each report."""
    jobs, seen, inner = Jobs(), [], RecordingReporter()
    go = threading.Event()

    def work() -> dict[str, object]:
        go.wait(5)  # until `job` below is assigned
        reporter = job_reporter(inner)
        reporter.event("release_created", release=7, version="v2")
        for what, kind in script:
            if what == "start":
                reporter.step_started(kind, f"{kind} step")
            else:
                reporter.step_finished(kind, "succeeded", "ok")
            seen.append(job.phase)
        return {"id": 7}

    job = jobs.start(action, "demo", "ci", work)
    go.set()
    assert job.done.wait(5) and job.error is None, job.error
    assert job.to_dict()["release"] == (7 if action == "deploy" else None)
    assert len(inner.events) == 1 + len(script)  # everything still reaches the inner reporter
    return seen


def test_phase_is_waiting_at_pauses_and_approvals_and_live_after_promote() -> None:
    script = [
        ("start", "approval"),
        ("finish", "approval"),
        ("start", "set_weight"),
        ("finish", "set_weight"),
        ("start", "pause"),
        ("finish", "pause"),
        ("start", "promote"),
        ("finish", "promote"),
        ("start", "scale_down"),
    ]
    assert _run_job("deploy", script) == [
        "waiting",
        "running",
        "running",
        "running",
        "waiting",
        "running",
        "running",
        "live",
        "live",
    ]


def test_a_pipeline_job_has_no_release_phase() -> None:
    # `ship` runs several releases: its first stage's promotion is not the pipeline's end
    assert _run_job("ship", [("start", "promote"), ("finish", "promote")]) == ["running"] * 2
