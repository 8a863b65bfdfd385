"""The release ledger against real SQLite files and a real PostgreSQL server."""

from __future__ import annotations

import json
import os
import secrets
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from subprocess import PIPE, Popen
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import OperationalError

from moai_deploy.errors import MoaiError
from moai_deploy.ledger import Ledger, LedgerError, ReleaseRecord, ledger_url
from moai_deploy.ledger._engine import alembic_config
from moai_deploy.ledger.models import Base

PG_ADMIN_URL = os.environ.get(
    "MOAI_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a throwaway PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'ledger.sqlite3'}"
        return
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"moai_ledger_{secrets.token_hex(6)}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI"):  # CI starts PostgreSQL: a missing server is a failure there
            pytest.fail(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def ledger(db_url: str) -> Iterator[Ledger]:
    with Ledger.open(db_url) as led:
        yield led


def _new(led: Ledger, version: str = "1.0.0", **extra: Any) -> ReleaseRecord:
    where = {"service": "shop", "environment": "prod", "version": version, "commit_sha": "abc"}
    how = {"spec_hash": "h" * 8, "artifact": f"/releases/{version}", "strategy": "blue-green"}
    return led.create_release(**{**where, **how, "deployed_by": "alice", **extra})


def _succeed(led: Ledger, release_id: int) -> ReleaseRecord:
    led.transition(release_id, "in_progress")
    return led.transition(release_id, "succeeded")


def test_release_steps_and_audit_round_trip(ledger: Ledger) -> None:
    rel = _new(ledger, meta={"group": "green", "ports": [8001, 8002]})
    assert rel.status == "pending"
    assert rel.started_at is None and rel.finished_at is None
    assert ledger.get_release(rel.id) == rel

    ledger.transition(rel.id, "in_progress")
    build = ledger.start_step(rel.id, "build", detail="uv sync")
    probe = ledger.start_step(rel.id, "health")
    assert (build.sequence, probe.sequence, build.outcome) == (1, 2, "running")
    done = ledger.finish_step(build.id, "succeeded")
    assert done.detail == "uv sync" and done.finished_at is not None
    failed = ledger.finish_step(probe.id, "failed", detail="503 from /healthz")
    assert failed.detail == "503 from /healthz"
    final = ledger.transition(rel.id, "failed", message="health check failed")
    again = ledger.get_release(rel.id)
    assert again == final
    assert again.status == "failed" and again.message == "health check failed"
    assert again.meta == {"group": "green", "ports": [8001, 8002]}
    assert [(s.sequence, s.kind, s.outcome) for s in ledger.steps(rel.id)] == [
        (1, "build", "succeeded"),
        (2, "health", "failed"),
    ]
    event = ledger.record_audit(
        actor="alice", action="deploy", target="shop/prod", outcome="failed",
        service="shop", environment="prod", detail={"release": rel.id},
    )  # fmt: skip
    ledger.record_audit(actor="bob", action="lock", target="cart/dev", outcome="ok")
    assert ledger.list_audit()[1] == event
    assert [a.actor for a in ledger.list_audit(service="shop", environment="prod")] == ["alice"]
    assert ledger.list_audit()[0].detail == {} and event.detail == {"release": rel.id}
    data = json.loads(json.dumps(again.to_dict()))  # JSON-friendly, ISO timestamps with offset
    assert data["finished_at"] == again.finished_at.isoformat()  # type: ignore[union-attr]
    assert json.dumps(ledger.steps(rel.id)[0].to_dict()).count("+00:00") == 2
    assert json.dumps(event.to_dict()).count("+00:00") == 1


# fmt: off
ILLEGAL = [
    "succeeded", "rolled_back", "pending", "bogus", "in_progress>pending",
    "in_progress>in_progress", "failed>in_progress", "aborted>in_progress",
    "in_progress,succeeded>failed", "in_progress,succeeded,rolled_back>succeeded",
    "in_progress,rolled_back>rolled_back",
]
# fmt: on


@pytest.mark.parametrize("case", ILLEGAL)
def test_illegal_transitions_raise(ledger: Ledger, case: str) -> None:
    """`case` is "status,status>illegal": the path taken, then the refused status."""
    path, _, bad = case.rpartition(">")
    rel = _new(ledger)
    for status in filter(None, path.split(",")):
        ledger.transition(rel.id, status)
    before = ledger.get_release(rel.id)
    with pytest.raises(LedgerError, match="cannot go from"):
        ledger.transition(rel.id, bad, message="nope", meta={"x": 1})
    assert ledger.get_release(rel.id) == before  # the failed write left nothing behind


def test_missing_rows_and_bad_steps_raise(ledger: Ledger) -> None:
    assert issubclass(LedgerError, MoaiError)
    missing = [
        lambda: ledger.get_release(999),
        lambda: ledger.transition(999, "in_progress"),
        lambda: ledger.start_step(999, "build"),
        lambda: _new(ledger, rollback_of=999),
    ]
    for call in missing:
        with pytest.raises(LedgerError, match="no release with id 999"):
            call()
    rel = _new(ledger)
    step = ledger.start_step(rel.id, "build")
    with pytest.raises(LedgerError, match="cannot finish"):
        ledger.finish_step(step.id, "running")
    ledger.finish_step(step.id, "skipped")
    with pytest.raises(LedgerError, match="already finished"):
        ledger.finish_step(step.id, "succeeded")
    with pytest.raises(LedgerError, match="no release step"):
        ledger.finish_step(999, "succeeded")
    assert [r.id for r in ledger.list_releases()] == [rel.id]  # the bad create wrote nothing


def test_timestamps_are_aware_utc_and_ordered(ledger: Ledger) -> None:
    rel = _new(ledger)
    ledger.transition(rel.id, "in_progress")
    step = ledger.finish_step(ledger.start_step(rel.id, "swap").id, "succeeded")
    done = ledger.transition(rel.id, "succeeded")
    rolled = ledger.transition(rel.id, "rolled_back", message="bad metrics")

    stamps = [done.created_at, done.started_at, step.started_at, step.finished_at, done.finished_at]
    for stamp in stamps:
        assert stamp is not None and stamp.utcoffset() is not None
        assert stamp.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert stamps == sorted(stamps)  # type: ignore[type-var]
    assert rolled.finished_at == done.finished_at  # rolling back a live release keeps its end

    aborted = _new(ledger, "2.0.0")
    ended = ledger.transition(aborted.id, "aborted")
    assert ended.started_at is None and ended.finished_at is not None
    assert ended.finished_at > aborted.created_at


def test_live_release_across_a_rollback(ledger: Ledger) -> None:
    assert ledger.live_release("shop", "prod") is None
    v1 = _succeed(ledger, _new(ledger, "1.0.0").id)
    assert ledger.live_release("shop", "prod") == v1
    v2 = _succeed(ledger, _new(ledger, "2.0.0").id)
    other = _succeed(ledger, _new(ledger, "9.9.9", environment="staging").id)
    assert ledger.live_release("shop", "prod") == v2
    assert ledger.live_release("shop", "staging") == other
    assert [r.version for r in ledger.succeeded_releases("shop", "prod")] == ["2.0.0", "1.0.0"]

    ledger.transition(v2.id, "rolled_back", message="error rate 12%")
    back = _new(ledger, "1.0.0", rollback_of=v2.id, artifact=v1.artifact)
    assert ledger.live_release("shop", "prod") == v1  # while the rollback runs, v1 rows stand
    assert [r.id for r in ledger.in_progress("shop", "prod")] == [back.id]
    assert ledger.find_release("shop", "prod", "1.0.0") == back  # newest with that version
    assert ledger.find_release("shop", "prod", "3.0.0") is None

    finished = _succeed(ledger, back.id)
    live = ledger.live_release("shop", "prod")
    assert live == finished and live.version == "1.0.0" and live.rollback_of == v2.id
    assert ledger.in_progress("shop", "prod") == []
    assert [r.id for r in ledger.succeeded_releases("shop", "prod")] == [back.id, v1.id]
    assert [r.id for r in ledger.list_releases("shop", "prod")] == [back.id, v2.id, v1.id]
    assert [r.id for r in ledger.list_releases(limit=2)] == [back.id, other.id]
    assert ledger.get_release(v2.id).status == "rolled_back"


def test_meta_is_merged_not_replaced(ledger: Ledger) -> None:
    rel = _new(ledger, meta={"group": "green", "ports": [8001]})
    ledger.update_meta(rel.id, {"ports": [8001, 8002], "weight": 10})
    moved = ledger.transition(rel.id, "in_progress", meta={"weight": 50, "canary": True})
    assert moved.meta == {"group": "green", "ports": [8001, 8002], "weight": 50, "canary": True}
    moved.meta["group"] = "mutated locally"  # records are copies, not live ORM state
    assert ledger.get_release(rel.id).meta["group"] == "green"
    assert _new(ledger, "2.0.0").meta == {}


def _write_rounds(url: str, tag: str, rounds: int) -> None:
    """One writer's workload; also run in child processes by the process test."""
    with Ledger.open(url) as led:
        for i in range(rounds):
            rel = _new(led, f"{tag}-{i}", deployed_by=tag)
            led.transition(rel.id, "in_progress")
            step = led.start_step(rel.id, "build")
            led.finish_step(step.id, "succeeded")
            led.update_meta(rel.id, {"writer": tag})
            led.transition(rel.id, "succeeded")
            led.record_audit(actor=tag, action="deploy", target=str(rel.id), outcome="ok")


def _assert_all_written(url: str, tags: set[str], rounds: int) -> None:
    with Ledger.open(url) as led:
        releases = led.list_releases(limit=1000)
        assert len(releases) == len(tags) * rounds
        assert {r.deployed_by for r in releases} == tags
        assert all(r.status == "succeeded" and r.meta["writer"] == r.deployed_by for r in releases)
        assert len(led.list_audit(limit=1000)) == len(tags) * rounds
        assert all([s.sequence for s in led.steps(r.id)] == [1] for r in releases)


def test_two_ledgers_write_interleaved_from_threads(db_url: str) -> None:
    rounds, errors, start = 25, [], threading.Barrier(2)

    def run(tag: str) -> None:
        start.wait()  # both open (and migrate) the fresh database at the same moment
        try:
            _write_rounds(db_url, tag, rounds)
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=run, args=(tag,)) for tag in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    _assert_all_written(db_url, {"a", "b"}, rounds)


# The child runs this very file's `_write_rounds`, so both tests share one workload.
_CHILD = "import runpy, sys; runpy.run_path(sys.argv[1])['_write_rounds'](*sys.argv[2:4], {})"


@pytest.mark.slow
def test_two_processes_share_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"  # fresh file: both also migrate at once
    rounds = 40
    argv = [sys.executable, "-c", _CHILD.format(rounds), __file__, url]
    procs = [Popen([*argv, tag], stdout=PIPE, stderr=PIPE, text=True) for tag in ("p1", "p2")]
    try:
        results = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    assert [proc.returncode for proc in procs] == [0, 0], results
    _assert_all_written(url, {"p1", "p2"}, rounds)


def test_reopening_is_a_noop_and_schema_matches_models(db_url: str) -> None:
    with Ledger.open(db_url) as led:
        rel = _succeed(led, _new(led).id)
    with Ledger.open(db_url) as led:  # runs the migrations again on the existing schema
        assert led.get_release(rel.id) == rel
        assert led.live_release("shop", "prod") == rel
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            tables = sorted(inspect(conn).get_table_names())
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            # Autogenerate finds nothing to do: the migrations build exactly the models.
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert sorted(v for (v,) in versions) == sorted(heads)  # every branch applied, once
    expected = {"alembic_version", "audit_events", "release_steps", "releases", "rollout_locks"}
    assert expected <= set(tables)
    assert set(tables) - expected <= {t for t in Base.metadata.tables}  # nothing unknown


def test_ledger_url_prefers_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    db = tmp_path / ".moai-deploy" / "ledger.sqlite3"
    monkeypatch.delenv("MOAI_DEPLOY_DB", raising=False)
    assert ledger_url(db) == f"sqlite:///{db}"
    with Ledger.open(ledger_url(db)) as led:  # the state folder is created on open
        assert led.list_releases() == []
    assert db.is_file()
    monkeypatch.setenv("MOAI_DEPLOY_DB", "postgresql+psycopg://u@127.0.0.1:5432/x")
    assert ledger_url(db) == "postgresql+psycopg://u@127.0.0.1:5432/x"
