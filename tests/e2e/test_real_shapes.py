"""Real project shapes deploy on the first try: for each fixture project, `moai-deploy init`,
then `deploy staging` with nothing added but secrets; data written before v2 survives the
v2 deploy and the rollback, both under load with 0 failed requests; a failing release
command leaves the old version serving and the release failed.

The one spec edit besides secrets is staging's scale-down delay (init writes 30 s, the
time an instant rollback is kept possible; here 1 s so the cycle fits the CI budget).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest

from moai_deploy.cli.demo import edit_environment
from moai_deploy.observe.load import start_load_in_background
from moai_deploy.spec.loader import load_spec

PROJECTS = Path(__file__).parents[1] / "fixtures" / "projects"
CLI = str(Path(sys.executable).with_name("moai-deploy"))
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]
PG_ADMIN = os.environ.get("MOAI_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def _git(project: Path, *args: str) -> None:
    subprocess.run([*GIT, "-C", str(project), *args], check=True, capture_output=True)


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], cwd=project, capture_output=True, text=True, timeout=900, check=False
    )


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def _break_init_db(project: Path) -> None:
    _append(project / "notes" / "schema.sql", "CREATE TABLE oops (;\n")


def _break_django_migrate(project: Path) -> None:
    (project / "notes" / "migrations" / "0002_broken.py").write_text(
        "from django.db import migrations\n\n\ndef fail(apps, schema_editor):\n"
        "    raise RuntimeError('data migration failed on purpose')\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    dependencies = [('notes', '0001_initial')]\n"
        "    operations = [migrations.RunPython(fail)]\n"
    )


def _break_alembic(project: Path) -> None:
    (project / "migrations" / "versions" / "0002_broken.py").write_text(
        'revision = "0002"\ndown_revision = "0001"\n\n\ndef upgrade():\n'
        "    raise RuntimeError('migration failed on purpose')\n"
    )


def _failing_release_command(project: Path) -> None:
    """This shape has no release command of its own: the spec gets one that fails."""
    text = (project / "moai-deploy.yaml").read_text()
    text = text.replace(
        "  # release_command:",
        '  release_command: ["python", "-c", "raise SystemExit(\'release step failed\')"]\n'
        "  # release_command:",
        1,
    )
    (project / "moai-deploy.yaml").write_text(text)


@dataclass
class Shape:
    fixture: str
    secrets: Callable[[str], dict[str, str]] = field(default=lambda _db: {})
    postgres: bool = False
    breaks: Callable[[Path], None] = _failing_release_command
    release_step: bool = True  # init found a release command of its own


SHAPES = [
    Shape(
        "flask_factory",
        secrets=lambda _db: {"SECRET_KEY": uuid.uuid4().hex},
        breaks=_break_init_db,
    ),
    Shape(
        "django_procfile",
        secrets=lambda _db: {"DJANGO_SECRET_KEY": uuid.uuid4().hex * 2},
        breaks=_break_django_migrate,
    ),
    Shape(
        "poetry_fastapi",
        secrets=lambda db: {"DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}"},
        postgres=True,
        breaks=_break_alembic,
    ),
    Shape("uv_starlette", release_step=False),
    Shape("waitress_wsgi", release_step=False),
]


@pytest.fixture
def database(request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"w9_{uuid.uuid4().hex[:12]}"
    shape: Shape = request.node.callspec.params["shape"]
    if not shape.postgres:
        yield name
        return
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.fixture
def project(tmp_path: Path, shape: Shape) -> Iterator[Path]:
    directory = tmp_path / shape.fixture.replace("_", "-")
    shutil.copytree(PROJECTS / shape.fixture, directory)
    _git(directory, "init", "-q", "-b", "main")
    yield directory
    if (directory / "moai-deploy.yaml").is_file():
        _cli(directory, "down", "staging")


def _notes(url: str) -> tuple[str, list[str]]:
    body = httpx.get(url, timeout=10, follow_redirects=True).json()
    return body["version"], body["notes"]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("shape", SHAPES, ids=[s.fixture for s in SHAPES])
def test_init_deploy_v2_rollback_and_a_failing_release(
    shape: Shape, project: Path, database: str
) -> None:
    init = _cli(project, "init")
    assert init.returncode == 0, init.stderr
    secrets = shape.secrets(database)
    (project / ".secrets.env").write_text("".join(f"{k}={v}\n" for k, v in secrets.items()))
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "v1 with the spec init wrote")
    assert (
        ".secrets.env"
        not in subprocess.run(
            ["git", "-C", str(project), "ls-files"], capture_output=True, text=True, check=True
        ).stdout
    )
    edit_environment(project, "staging", strategy={"type": "blue_green", "scale_down_delay": "1s"})

    first = _cli(project, "deploy", "staging", "--version", "v1")
    assert first.returncode == 0, first.stdout + first.stderr
    assert bool(re.search(r"release\s+ran `", first.stdout)) is shape.release_step
    url = f"http://127.0.0.1:{load_spec(project / 'moai-deploy.yaml').spec.port_of('staging')}/"
    assert httpx.post(url + "notes", content="written before v2", timeout=10).status_code == 201
    assert _notes(url) == ("v1", ["written before v2"])

    (project / "CHANGES.txt").write_text("v2: a new release\n")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "v2")
    load = start_load_in_background(url, duration=600.0, concurrency=8)
    try:
        second = _cli(project, "deploy", "staging", "--version", "v2")
        assert second.returncode == 0, second.stdout + second.stderr
        assert _notes(url) == ("v2", ["written before v2"])
        back = _cli(project, "rollback", "staging")
        assert back.returncode == 0, back.stdout + back.stderr
    finally:
        load.stop()
        report = load.result(timeout=60)
    assert report.total > 50 and report.failed == 0, report.to_dict()
    assert _notes(url) == ("v1", ["written before v2"])

    shape.breaks(project)
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "v3 with a broken release step")
    broken = _cli(project, "deploy", "staging", "--version", "v3")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "release command" in broken.stdout + broken.stderr
    assert _notes(url) == ("v1", ["written before v2"])  # the old version still serves
    history = json.loads(_cli(project, "history", "staging", "--json").stdout)
    assert history[0]["version"] == "v3" and history[0]["status"] == "failed"
    assert history[0]["meta"]["release_command"][-1]["exit_code"] != 0
