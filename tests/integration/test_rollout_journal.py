"""The rollout journal on real SQLite and PostgreSQL: control requests raced from several
processes (nothing lost, abort final), the event log read by id, analysis runs."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from moai_deploy.ledger import Ledger
from moai_deploy.ledger.analysis_log import AnalysisLog, NewMeasurement
from moai_deploy.ledger.controls import ControlLog
from moai_deploy.ledger.events import EventLog
from moai_deploy.ledger.journal_models import ControlKind
from moai_deploy.rollout.controls import Controls
from moai_deploy.rollout.errors import AbortRequested
from moai_deploy.rollout.reporter import RecordingReporter
from moai_deploy.rollout.state import RolloutState

PG_ADMIN_URL = os.environ.get(
    "MOAI_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
WRITERS, EACH = 4, 20

_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from moai_deploy.ledger import Ledger
    from moai_deploy.ledger.controls import ControlLog
    from moai_deploy.ledger.journal_models import ControlKind

    url, release, writer, each = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    go = Path(sys.argv[5])
    kinds = [ControlKind.PAUSE, ControlKind.PROMOTE, ControlKind.ABORT, ControlKind.RESUME]
    with Ledger.open(url) as ledger:
        log = ControlLog(ledger)
        while not go.exists():
            time.sleep(0.005)
        for n in range(each):
            log.request(release, kinds[(n + int(writer)) % 4], f"writer-{writer}", f"n={n}")
    """
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
        return
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"moai_controls_{secrets.token_hex(6)}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _release(ledger: Ledger) -> int:
    release = ledger.create_release(
        service="hello",
        environment="demo",
        version="v2",
        commit_sha=None,
        spec_hash="x",
        artifact=None,
        strategy="canary",
        deployed_by="tester",
    )
    ledger.transition(release.id, "in_progress")
    return release.id


def _state() -> RolloutState:
    return RolloutState(new_group="green", stable_group="blue", stable_release=1, plan_digest="d")


def test_racing_writers_lose_no_request_and_abort_stays_final(db_url: str, tmp_path: Path) -> None:
    ledger = Ledger.open(db_url)
    try:
        release = _release(ledger)
        go = tmp_path / "go"
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", _WRITER, db_url, str(release), str(w), str(EACH), str(go)]
            )
            for w in range(WRITERS)
        ]
        recorder, state = RecordingReporter(), _state()
        controls = Controls(ledger, release, state, recorder, lambda: None)
        go.touch()
        deadline = time.monotonic() + 120
        while any(w.poll() is None for w in writers):  # the engine reads while they write
            assert time.monotonic() < deadline, "writers never finished"
            controls.poll(force=True)
        assert [w.wait(timeout=60) for w in writers] == [0] * WRITERS
        controls.poll(force=True)

        requests = ControlLog(ledger).history(release)
        assert len(requests) == WRITERS * EACH
        assert all(r.consumed_at is not None for r in requests)
        seen = [
            f["request"] for name in ("control", "control_ignored") for _, f in recorder.named(name)
        ]
        assert sorted(seen) == [r.id for r in requests]  # each taken exactly once
        applied = [f["request"] for _, f in recorder.named("control")]
        assert applied == sorted(applied)  # in the order they were written
        first_abort = next(r for r in requests if r.kind is ControlKind.ABORT)
        assert applied[-1] == first_abort.id  # nothing after the abort changed anything
        assert state.aborted_by == first_abort.actor
        with pytest.raises(AbortRequested, match=first_abort.actor):
            controls.check_abort()
        events = EventLog(ledger).since(0, release=release)
        assert [e.id for e in events] == sorted(e.id for e in events)
        assert sum(e.kind == "control" for e in events) == WRITERS * EACH
    finally:
        ledger.close()


def test_promote_ends_a_pause_and_waits_for_a_pause_step(tmp_path: Path) -> None:
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.sqlite3'}") as ledger:
        release = _release(ledger)
        state = _state()
        saved: list[int] = []
        controls = Controls(ledger, release, state, RecordingReporter(), lambda: saved.append(1))
        controls.pause_self("analysis inconclusive")
        assert controls.paused == "analysis inconclusive"
        log = ControlLog(ledger)
        assert log.history(release)[0].actor == "moai-deploy"  # the engine's pause is an entry
        log.request(release, ControlKind.PROMOTE, "alice")
        controls.poll(force=True)
        assert controls.paused is None
        assert controls.take_promote() == "step"
        assert controls.take_promote() is None  # taken once
        log.request(release, ControlKind.PROMOTE_FULL, "bob")
        controls.poll(force=True)
        assert controls.skipping and state.promote == "full"
        assert saved  # what the requests add up to is persisted for a resumed rollout


def test_events_since_is_ordered_filtered_and_paged(db_url: str) -> None:
    with Ledger.open(db_url) as ledger:
        first, second = _release(ledger), _release(ledger)
        log = EventLog(ledger)
        start = log.last_id()
        for n in range(5):
            log.append(first, "weights", {"weights": {"green": n * 20}}, actor="engine")
        log.append(second, "paused", {"reason": "why"})
        log.append(None, "note", {"text": "no release"})
        page = log.since(start, limit=3)
        assert [e.data["weights"]["green"] for e in page] == [0, 20, 40]
        rest = log.since(page[-1].id, release=first)
        assert [e.data["weights"]["green"] for e in rest] == [60, 80]
        assert [e.kind for e in log.since(start, environment="demo")][-1] == "paused"
        assert log.since(log.last_id()) == []
        assert page[0].to_dict()["at"].endswith("+00:00") and page[0].actor == "engine"
        assert log.since(start)[-1].service is None  # an event of no release


def test_analysis_runs_keep_every_measurement(db_url: str) -> None:
    with Ledger.open(db_url) as ledger:
        release = _release(ledger)
        log = AnalysisLog(ledger)
        run = log.start_run(release, "background", ["success-rate"])
        for value, phase in ((0.99, "successful"), (0.62, "failed")):
            log.record(
                run,
                NewMeasurement(
                    "success-rate", phase, value, "result >= 0.95", f"{value}", time.time(), 40
                ),
            )
        log.finish_run(run, "failed", "success-rate failed (0.62: not (result >= 0.95))")
        log.finish_run(run, "successful", "too late")  # a closed run stays as it ended
        [stored] = log.runs(release)
        assert (stored.phase, stored.purpose) == ("failed", "background")
        assert "0.62" in stored.message and stored.finished_at is not None
        values = [(m.value, m.phase, m.condition) for m in log.measurements(release, run)]
        assert values == [
            (0.99, "successful", "result >= 0.95"),
            (0.62, "failed", "result >= 0.95"),
        ]
        assert log.measurements(release)[0].to_dict()["samples"] == 40
