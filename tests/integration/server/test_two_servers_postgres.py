"""Two real servers on one PostgreSQL ledger, asked to deploy the same environment at the
same moment: the ledger's lock lets exactly one run; the other answers 409 naming it."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from moai_deploy.cli.demo import edit_environment, find_example, prepare_workspace
from moai_deploy.ledger.tokens import Role
from moai_deploy.pipeline import operations
from moai_deploy.pipeline.access import create_token
from moai_deploy.pipeline.project import Project

from ...e2e.server_process import running_server

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
PG_ADMIN_URL = os.environ.get(
    "MOAI_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ENV = "demo"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL database of its own (tests running at once never collide)."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"moai_two_servers_{secrets.token_hex(6)}"
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


def test_two_servers_never_run_the_same_release_twice(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOAI_DEPLOY_DB", pg_url)
    project_dir = prepare_workspace(find_example(None), tmp_path)
    edit_environment(project_dir, ENV, replicas=1)
    spec = project_dir / "moai-deploy.yaml"
    project = Project.open(spec)
    token, _ = create_token(project, "ci", Role.DEPLOYER, None)
    answers: list[httpx.Response] = []
    try:
        with (
            running_server(spec, log=tmp_path / "a.log") as first,
            running_server(spec, log=tmp_path / "b.log") as second,
        ):
            start = threading.Barrier(2)

            def deploy(url: str) -> None:
                start.wait(10)
                answers.append(
                    httpx.post(
                        f"{url}/api/v1/environments/{ENV}/deploy",
                        json={"version": "v1", "wait": True},
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=300,
                    )
                )

            threads = [threading.Thread(target=deploy, args=(url,)) for url in (first, second)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(320)
        codes = sorted(a.status_code for a in answers)
        assert codes == [200, 409], [a.text for a in answers]
        refused = next(a for a in answers if a.status_code == 409).json()["error"]
        assert f"hello/{ENV} is locked by ci" in refused and "deploy v1" in refused
        releases = project.ledger.list_releases("hello", ENV, 10)
        assert [(r.version, r.status) for r in releases] == [("v1", "succeeded")]
        audit = project.ledger.list_audit("hello", ENV, 20)
        assert [e.outcome for e in audit if e.action == "deploy"] == ["succeeded"]
    finally:
        operations.down(project, ENV)
        project.close()
