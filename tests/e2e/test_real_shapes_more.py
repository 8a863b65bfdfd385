"""More real shapes deploy with nothing added but secrets (kevinbowen777/django-polls'
shape): a Django project whose settings load the debug toolbar, a dev-only dependency
(init sets `service.dev_dependencies`), and redirect every http request to https, so the
readiness probe and the router's health check only ever see a 301 (both take it as alive;
whichever router is the default)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from moai_deploy.spec.loader import load_spec

PROJECTS = Path(__file__).parents[1] / "fixtures" / "projects"
CLI = str(Path(sys.executable).with_name("moai-deploy"))
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@localhost"]


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], cwd=project, capture_output=True, text=True, timeout=900, check=False
    )


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "polls"
    shutil.copytree(PROJECTS / "django_devtools", directory)
    subprocess.run([*GIT, "init", "-q", str(directory)], check=True)
    yield directory
    _cli(directory, "down", "staging")


def test_dev_only_toolbar_and_https_redirect_deploy_with_secrets_only(project: Path) -> None:
    assert _cli(project, "init").returncode == 0
    spec = load_spec(project / "moai-deploy.yaml").spec
    assert spec.service.dev_dependencies is True
    (project / ".secrets.env").write_text("DJANGO_SECRET_KEY=test-only-key-for-the-fixture\n")
    subprocess.run([*GIT, "-C", str(project), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(project), "commit", "-qm", "v1"], check=True)
    deployed = _cli(project, "deploy", "staging")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    url = f"http://127.0.0.1:{spec.port_of('staging')}/"
    with httpx.Client(timeout=10, follow_redirects=False) as client:
        answers = {client.get(url).status_code for _ in range(20)}
        assert answers == {301}  # served by the app, never a router's 503
        assert client.get(url).headers["location"].startswith("https://")
    shown = _cli(project, "status", "staging", "--json")
    assert shown.returncode == 0, shown.stderr
    [status] = json.loads(shown.stdout)
    assert status["router"] == "serving"
    assert [i["ready"] for i in status["instances"]] == [True, True]


@pytest.fixture
def flaskr(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "flaskr"
    shutil.copytree(PROJECTS / "flask_noserver", directory)
    subprocess.run([*GIT, "init", "-q", str(directory)], check=True)
    yield directory
    _cli(directory, "down", "staging")


def _commit(project: Path, message: str) -> None:
    subprocess.run([*GIT, "-C", str(project), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(project), "commit", "-qm", message], check=True)


def test_tutorial_flask_app_without_a_server_deploys_and_keeps_its_data(flaskr: Path) -> None:
    # tbrlpld/flaskr's shape: no WSGI server declared, an init-db that drops its tables.
    assert _cli(flaskr, "init").returncode == 0
    service = load_spec(flaskr / "moai-deploy.yaml").spec.service
    assert service.extra_requirements == ("gunicorn",)
    assert service.setup_command == (("flask", "--app", "notes", "init-db"),)
    (flaskr / ".secrets.env").write_text("SECRET_KEY=test-only-key-for-the-fixture\n")
    _commit(flaskr, "v1")
    first = _cli(flaskr, "deploy", "staging")
    assert first.returncode == 0, first.stdout + first.stderr
    url = f"http://127.0.0.1:{load_spec(flaskr / 'moai-deploy.yaml').spec.port_of('staging')}"
    with httpx.Client(base_url=url, timeout=10) as client:
        assert client.post("/notes", content=b"written before v2").status_code < 300
        (flaskr / "CHANGES").write_text("v2\n")
        _commit(flaskr, "v2")
        second = _cli(flaskr, "deploy", "staging")
        assert second.returncode == 0, second.stdout + second.stderr
        assert "init-db" not in second.stdout  # the first release only
        assert "written before v2" in client.get("/").text
