"""Per-release log files (layout, rotated backups, follow) and the masked action log."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from moai_deploy.pipeline.action_log import ActionLog, LoggingReporter
from moai_deploy.rollout.reporter import RecordingReporter
from moai_deploy.runtime.local.logs import LogFile, follow, log_path, release_logs, tail
from moai_deploy.spec.secrets import MASK


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_layout_is_per_environment_and_release(tmp_path: Path) -> None:
    assert log_path(tmp_path, "prod", 7, "hello-prod-blue-0") == (
        tmp_path / "prod" / "release-7" / "hello-prod-blue-0.log"
    )
    assert log_path(tmp_path, "prod", None, "x") == tmp_path / "x.log"


def test_release_logs_lists_backups_oldest_first_and_filters(tmp_path: Path) -> None:
    folder = tmp_path / "prod" / "release-3"
    _write(folder / "a.log", "new\n")
    _write(folder / "a.log.1", "middle\n")
    _write(folder / "a.log.2", "old\n")
    _write(folder / "b.log", "b\n")
    _write(tmp_path / "prod" / "release-10" / "a.log", "ten\n")
    _write(tmp_path / "prod" / "stray.txt", "ignored\n")
    found = release_logs(tmp_path, "prod")
    assert [(f.release, f.instance) for f in found] == [(3, "a"), (3, "b"), (10, "a")]
    assert [p.name for p in found[0].paths] == ["a.log.2", "a.log.1", "a.log"]
    assert tail(found[0], 2) == ["middle", "new"]
    assert tail(found[0], 10) == ["old", "middle", "new"]
    assert tail(found[0], 0) == []
    assert [f.release for f in release_logs(tmp_path, "prod", release=10)] == [10]
    assert [f.instance for f in release_logs(tmp_path, "prod", instance="b")] == ["b"]
    assert release_logs(tmp_path, "staging") == []


def test_follow_emits_appended_whole_lines_and_restarts_after_rotation(tmp_path: Path) -> None:
    path = tmp_path / "prod" / "release-1" / "a.log"
    _write(path, "before\n")
    seen: list[str] = []
    stop = threading.Event()

    def logs() -> list[LogFile]:
        return release_logs(tmp_path, "prod")

    thread = threading.Thread(
        target=follow, args=(logs, lambda _log, line: seen.append(line), lambda: not stop.is_set())
    )
    thread.start()
    try:
        time.sleep(0.3)
        with path.open("a") as handle:
            handle.write("one\ntw")
        time.sleep(0.5)
        assert seen == ["one"]  # the partial line waits for its end
        with path.open("a") as handle:
            handle.write("o\n")
        time.sleep(0.5)
        path.replace(path.with_name("a.log.1"))
        _write(path, "after rotation\n")
        deadline = time.monotonic() + 5
        while "after rotation" not in seen and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert seen == ["one", "two", "after rotation"]


def test_action_log_masks_secret_values_and_secret_fields(tmp_path: Path) -> None:
    path = tmp_path / "moai-deploy.jsonl"
    log = ActionLog(
        path, lambda text: text.replace("hunter22", "****"), service="hello", actor="ci"
    )
    reporter = LoggingReporter(RecordingReporter(), log)
    reporter.event("release_created", release=4, version="v2")
    reporter.step_started("smoke", "GET / with token hunter22")
    reporter.step_finished("smoke", "failed", "answer mentioned hunter22")
    reporter.event("warning", message="x", api_token="abc", nested={"password": "p", "ok": 1})
    text = path.read_text()
    assert "hunter22" not in text and '"abc"' not in text and '"p"' not in text
    entries = [json.loads(line) for line in text.splitlines()]
    assert [e["event"] for e in entries] == [
        "release_created",
        "step_started",
        "step_finished",
        "warning",
    ]
    assert all(e["actor"] == "ci" and e["service"] == "hello" and "timestamp" in e for e in entries)
    assert entries[2]["release"] == 4 and entries[2]["step"] == "smoke"
    assert entries[3]["nested"] == {"password": MASK, "ok": 1}
    assert path.stat().st_mode & 0o077 == 0
