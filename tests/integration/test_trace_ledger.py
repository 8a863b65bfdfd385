"""Live SPECs and promotion diffs over releases recorded in a real SQLite ledger.

Releases are created through the Ledger API with `meta["specs"]`, as the deploy path
records them; nothing is deployed for real.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from moai_deploy.cli.trace import register
from moai_deploy.ledger.records import ReleaseRecord
from moai_deploy.ledger.store import Ledger, ledger_url
from moai_deploy.paths import StateLayout
from moai_deploy.trace import diff_specs, live_specs, release_specs

FIXTURES = Path(__file__).parent.parent / "fixtures"
SERVICE = "shop"
SPEC_YAML = """\
service:
  name: shop
  command: python -m shop --port {port}
environments:
  staging: {port: 18181}
  production: {port: 18182}
"""


def specs(*entries: str) -> list[dict[str, str]]:
    """`"AUTH-001 0.1.0 active"` -> `{"id", "version", "status"}`."""
    return [dict(zip(("id", "version", "status"), e.split(), strict=True)) for e in entries]


class History:
    """Records releases the way the rollout does: create, in_progress, then an outcome."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.count = 0

    def release(
        self, env: str, carried: list[dict[str, str]] | None, outcome: str = "succeeded", **kw: Any
    ) -> ReleaseRecord:
        self.count += 1
        record = self.ledger.create_release(
            service=SERVICE,
            environment=env,
            version=kw.get("version", f"v{self.count}"),
            commit_sha=f"{self.count:040x}",
            spec_hash="h",
            artifact=None,
            strategy="blue_green",
            deployed_by="tester",
            rollback_of=kw.get("rollback_of"),
        )
        if carried is not None:  # what the lead's deploy path stores
            self.ledger.update_meta(record.id, {"specs": carried})
        self.ledger.transition(record.id, "in_progress")
        done = self.ledger.transition(record.id, outcome)
        if kw.get("rollback_of") is not None and outcome == "succeeded":
            self.ledger.transition(kw["rollback_of"], "rolled_back")
        return done


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Ledger]]:
    monkeypatch.delenv("MOAI_DEPLOY_DB", raising=False)
    monkeypatch.delenv("MOAI_DEPLOY_STATE", raising=False)
    (tmp_path / "moai-deploy.yaml").write_text(SPEC_YAML)
    layout = StateLayout.for_project(tmp_path)
    layout.ensure()
    with Ledger.open(ledger_url(layout.ledger_db)) as ledger:
        yield tmp_path, ledger


def production_history(h: History) -> dict[str, ReleaseRecord]:
    r1 = h.release("production", specs("AUTH-001 0.1.0 active", "CART-001 0.1.0 draft"))
    failed = h.release("production", specs("AUTH-001 0.9.0 active"), outcome="failed")
    r3 = h.release(
        "production",
        specs("AUTH-001 0.1.0 completed", "CART-001 0.2.0 active", "PAY-001 0.1.0 draft"),
    )
    r4 = h.release("production", specs("AUTH-001 0.1.0 completed", "CART-001 0.2.0 active"))
    r5 = h.release("production", r3.meta["specs"], version=r3.version, rollback_of=r4.id)
    return {"r1": r1, "failed": failed, "r3": r3, "r4": r4, "r5": r5}


def test_live_since_follows_the_unbroken_run_of_live_releases(project: tuple[Path, Ledger]) -> None:
    _, ledger = project
    rel = production_history(History(ledger))
    view = live_specs(ledger, SERVICE, "production")
    assert view.release is not None and view.release.id == rel["r5"].id
    since = {s.id: s.live_since for s in view.specs}
    # AUTH-001 0.1.0 is live since r1: the failed 0.9.0 never took traffic, and a status
    # change (active -> completed) is not a new version.
    assert since["AUTH-001"] == rel["r1"].finished_at
    # CART-001 0.2.0 since r3: r4 (now rolled back) was live and carried it too.
    assert since["CART-001"] == rel["r3"].finished_at
    # PAY-001 left with r4 and came back with the rollback r5.
    assert since["PAY-001"] == rel["r5"].finished_at
    row = next(s for s in view.specs if s.id == "PAY-001")
    assert (row.version, row.status, row.release_id, row.commit) == (
        "0.1.0",
        "draft",
        rel["r5"].id,
        rel["r5"].commit_sha,
    )
    assert view.recorded


def test_unrecorded_releases_break_the_run_and_aborted_canaries_do_not(
    project: tuple[Path, Ledger],
) -> None:
    _, ledger = project
    h = History(ledger)
    first = h.release("staging", specs("AUTH-001 0.1.0 active"))
    h.release("staging", specs("AUTH-001 0.2.0 active"), outcome="rolled_back")  # never live
    same = h.release("staging", specs("AUTH-001 0.1.0 active"))
    view = live_specs(ledger, SERVICE, "staging")
    assert view.specs[0].live_since == first.finished_at != same.finished_at
    h.release("staging", None)  # made before tracing: no meta["specs"]
    assert not live_specs(ledger, SERVICE, "staging").recorded
    last = h.release("staging", specs("AUTH-001 0.1.0 active"))
    assert live_specs(ledger, SERVICE, "staging").specs[0].live_since == last.finished_at


def test_diff_shows_what_a_promotion_adds_removes_and_changes(project: tuple[Path, Ledger]) -> None:
    _, ledger = project
    h = History(ledger)
    production_history(h)  # live: AUTH 0.1.0 completed, CART 0.2.0 active, PAY 0.1.0 draft
    h.release(
        "staging",
        specs("AUTH-001 0.1.0 deprecated", "CART-001 0.3.0 active", "SHIP-001 0.1.0 draft"),
    )
    h.release("production", None, outcome="failed")  # not live: changes nothing
    changes = diff_specs(
        live_specs(ledger, SERVICE, "staging"), live_specs(ledger, SERVICE, "production")
    )
    assert [(c.id, c.change) for c in changes] == [
        ("AUTH-001", "changed"),  # status only
        ("CART-001", "changed"),  # version
        ("PAY-001", "removed"),
        ("SHIP-001", "added"),
    ]
    assert changes[1].source == {"version": "0.3.0", "status": "active"}
    assert changes[1].target == {"version": "0.2.0", "status": "active"}
    same = diff_specs(
        live_specs(ledger, SERVICE, "production"), live_specs(ledger, SERVICE, "production")
    )
    assert {c.change for c in same} == {"unchanged"}


def test_release_specs_of_a_snapshot_round_trip_through_the_ledger(
    project: tuple[Path, Ledger], tmp_path: Path
) -> None:
    _, ledger = project
    snapshot = tmp_path / "releases" / "v1-abc"
    shutil.copytree(FIXTURES / "trace_multi", snapshot)
    History(ledger).release("production", release_specs(snapshot))
    live = {s.id: (s.version, s.status) for s in live_specs(ledger, SERVICE, "production").specs}
    assert live == {
        "AUTH-001": ("0.2.0", "completed"),
        "CART-001": ("0.1.0", "active"),
        "PAY-001": ("0.0.1", "draft"),
        "SHIP-001": ("0.1.0", "shipped"),
        "USER-001": ("0.1.0", "active"),
    }


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_cli_env_and_diff(project: tuple[Path, Ledger]) -> None:
    root, ledger = project
    h = History(ledger)
    rel = production_history(h)
    h.release("staging", specs("SHIP-001 0.1.0 draft"))
    spec = str(root / "moai-deploy.yaml")
    run = CliRunner().invoke(cli(), ["trace", "--env", "production", "--json", "--spec", spec])
    assert run.exit_code == 0, run.output
    shown = json.loads(run.output)
    assert shown["release"] == rel["r5"].id and shown["commit"] == rel["r5"].commit_sha
    assert [s["id"] for s in shown["specs"]] == ["AUTH-001", "CART-001", "PAY-001"]
    assert shown["specs"][0]["live_since"] == rel["r1"].finished_at.isoformat()  # type: ignore[union-attr]
    run = CliRunner().invoke(
        cli(), ["trace", "diff", "staging", "production", "--json", "-f", spec]
    )
    assert run.exit_code == 0, run.output
    changes = {c["id"]: c["change"] for c in json.loads(run.output)["changes"]}
    assert changes == {
        "AUTH-001": "removed",
        "CART-001": "removed",
        "PAY-001": "removed",
        "SHIP-001": "added",
    }
    run = CliRunner().invoke(cli(), ["trace", "diff", "staging", "production", "-f", spec])
    assert run.exit_code == 0 and "promote staging" in run.output and "added" in run.output
    run = CliRunner().invoke(cli(), ["trace", "--env", "production", "-f", spec])
    assert run.exit_code == 0 and "PAY-001" in run.output and f"#{rel['r5'].id}" in run.output


def test_cli_unknown_environment_is_bad_input(project: tuple[Path, Ledger]) -> None:
    root, _ = project
    spec = str(root / "moai-deploy.yaml")
    run = CliRunner().invoke(cli(), ["trace", "--env", "nowhere", "-f", spec])
    assert run.exit_code == 2
    run = CliRunner().invoke(cli(), ["trace", "diff", "staging", "nowhere", "-f", spec])
    assert run.exit_code == 2
