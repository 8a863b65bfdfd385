"""`moai-deploy init` reads real project shapes: the fixture projects (one per shape) and
small projects written here for the cases the fixtures do not cover."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from moai_deploy.errors import BadInputError
from moai_deploy.init import detect_project, ensure_gitignored, write_spec
from moai_deploy.init.project import free_ports
from moai_deploy.init.servers import read_procfile
from moai_deploy.spec.loader import load_spec

PROJECTS = Path(__file__).parents[1] / "fixtures" / "projects"


def copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(PROJECTS / name, target)
    return target


def test_flask_factory_with_sqlite_in_the_instance_folder() -> None:
    d = detect_project(PROJECTS / "flask_factory")
    assert d.app is not None and d.app.factory and d.app.ref == "notes:create_app"
    assert d.server == "gunicorn"
    assert d.command[-1] == "notes:create_app()"
    assert d.release.commands == (("flask", "--app", "notes", "init-db"),)
    assert d.release.shared_paths == ("instance/",)
    assert (d.health.ready_path, d.health.ready_status) == ("/", "<500")
    assert "SECRET_KEY" in d.optional_env


def test_django_with_a_procfile_and_gunicorn_from_requirements() -> None:
    d = detect_project(PROJECTS / "django_procfile")
    assert d.app is not None and d.app.ref == "mysite.wsgi:application"
    assert d.command == ("gunicorn", "mysite.wsgi", "--bind", "127.0.0.1:{port}", "--workers", "2")
    assert d.server == "gunicorn"
    assert any("Procfile" in note for note in d.notes)
    assert d.release.commands == (
        ("python", "manage.py", "migrate", "--noinput"),
        ("python", "manage.py", "collectstatic", "--noinput"),
    )
    assert d.release.shared_paths == ("db.sqlite3",)
    assert d.required_env == ["DJANGO_SECRET_KEY"]
    assert d.health.ready_path == "/"


def test_poetry_fastapi_with_alembic_installs_from_poetry_lock() -> None:
    d = detect_project(PROJECTS / "poetry_fastapi")
    assert d.app is not None and d.app.ref == "app.main:app" and d.app.interface == "asgi"
    assert d.server == "uvicorn"
    assert d.manager.startswith("poetry.lock")
    assert d.release.commands == (("alembic", "upgrade", "head"),)
    assert (d.health.ready_path, d.health.ready_status) == ("/health", "2xx")
    assert d.required_env == ["DATABASE_URL"]


def test_uv_locked_starlette_with_its_own_readiness_route() -> None:
    d = detect_project(PROJECTS / "uv_starlette")
    assert d.app is not None and d.app.framework == "starlette"
    assert d.command[0] == "uvicorn" and "app.main:app" in d.command
    assert d.manager.startswith("uv.lock")
    assert d.health.ready_path == "/healthz"
    assert d.release.shared_paths == ("var/",)


def test_plain_wsgi_app_served_by_waitress() -> None:
    d = detect_project(PROJECTS / "waitress_wsgi")
    assert d.app is not None and d.app.ref == "wsgi:application"
    assert d.command == ("waitress-serve", "--listen=127.0.0.1:{port}", "wsgi:application")
    assert d.release.shared_paths == ("data/",)
    assert d.required_env == []


@pytest.mark.parametrize("name", sorted(p.name for p in PROJECTS.iterdir() if p.is_dir()))
def test_written_spec_validates_and_keeps_state_out_of_git(name: str, tmp_path: Path) -> None:
    project = copy(name, tmp_path)
    path, detection = write_spec(project)
    loaded = load_spec(path)
    service = loaded.spec.service
    assert service.command == detection.command
    assert service.release_command == detection.release.commands
    assert service.shared_paths == detection.release.shared_paths
    assert loaded.spec.gates.required["staging"] == ["ruff", "secrets"]
    assert loaded.spec.gates.required["production"] == ["all"]
    ports = [loaded.spec.port_of(env) for env in loaded.spec.environments]
    assert len(set(ports)) == 3 and all(20000 <= p < 30000 for p in ports)
    ignored = (project / ".gitignore").read_text().splitlines()
    assert ".moai-deploy/" in ignored and ".secrets.env" in ignored
    with pytest.raises(BadInputError, match="already exists"):
        write_spec(project)


def test_factory_without_a_declared_server_gets_one_from_the_spec(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["flask"]\n')
    (tmp_path / "web.py").write_text(
        "from flask import Flask\n\ndef make_app():\n    app = Flask(__name__)\n"
        "    @app.get('/api/healthz')\n    def h():\n        return 'ok'\n    return app\n"
    )
    d = detect_project(tmp_path)
    assert d.server is None
    assert any("releases get gunicorn from `service.extra_requirements`" in n for n in d.notes)
    assert d.command[-1] == "web:make_app()"
    assert d.health.ready_path == "/api/healthz" and d.health.ready_status == "2xx"
    # tbrlpld/flaskr (a tutorial app run with `flask run`): the release installs gunicorn.
    assert d.extra_requirements == ["gunicorn"]
    path, _ = write_spec(tmp_path)
    assert load_spec(path).spec.service.extra_requirements == ("gunicorn",)


@pytest.mark.parametrize("bad", ["--index-url=http://evil", "-e .", "pkg; os_name", "a b"])
def test_extra_requirements_are_requirements_never_installer_options(
    tmp_path: Path, bad: str
) -> None:
    spec = PROJECTS.parents[2] / "examples" / "hello-service"
    text = (spec / "moai-deploy.yaml").read_text()
    text = text.replace(
        "  port_env: PORT\n", f"  port_env: PORT\n  extra_requirements: [{bad!r}]\n"
    )
    (tmp_path / "moai-deploy.yaml").write_text(text)
    with pytest.raises(BadInputError, match="extra_requirements"):
        load_spec(tmp_path / "moai-deploy.yaml")


def test_blueprint_prefix_and_fastapi_docs_fallback(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("fastapi\nhypercorn\n")
    (tmp_path / "main.py").write_text(
        "from fastapi import APIRouter, FastAPI\nrouter = APIRouter(prefix='/items')\n"
        "@router.get('/{item_id}')\ndef item(item_id: int):\n    return {}\napp = FastAPI()\n"
    )
    d = detect_project(tmp_path)
    assert d.command == ("hypercorn", "--bind", "127.0.0.1:{port}", "main:app")
    assert d.health.ready_path == "/docs"


def test_procfile_release_phase_and_shell_lines() -> None:
    parsed = read_procfile("release: python manage.py migrate\nweb: gunicorn app:app -b :$PORT\n")
    assert parsed is not None
    assert parsed.web == ("gunicorn", "app:app", "-b", ":{port}")
    assert parsed.release == (("python", "manage.py", "migrate"),)
    chained = read_procfile("web: python manage.py migrate && gunicorn app:app\n")
    assert chained is not None and chained.release == (("python", "manage.py", "migrate"),)
    shell = read_procfile("web: cd src; gunicorn app:app\n")
    assert shell is not None and shell.web is None and "needs a shell" in shell.note


def test_destructive_init_db_runs_on_the_first_release_only(tmp_path: Path) -> None:
    shutil.copytree(PROJECTS / "flask_factory", tmp_path / "p")
    (tmp_path / "p" / "notes" / "schema.sql").write_text("DROP TABLE IF EXISTS note;\n")
    d = detect_project(tmp_path / "p")
    assert d.release.commands == ()
    assert d.release.setup == (("flask", "--app", "notes", "init-db"),)
    assert any("drops tables, so it runs on an environment's first" in n for n in d.release.notes)
    spec = load_spec(write_spec(tmp_path / "p")[0]).spec
    assert spec.service.setup_command == d.release.setup and spec.service.release_command == ()


def test_gitignore_entries_are_added_once(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("/.moai-deploy\n*.pyc")
    assert ensure_gitignored(tmp_path, [".moai-deploy/", ".secrets.env"]) == [".secrets.env"]
    assert ensure_gitignored(tmp_path, [".moai-deploy/", ".secrets.env"]) == []
    assert (tmp_path / ".gitignore").read_text().startswith("/.moai-deploy\n*.pyc\n")


def test_free_ports_differ_per_project_and_are_free() -> None:
    one, other = free_ports("notes", 3), free_ports("shop", 3)
    assert len(set(one)) == 3 and one != other


def test_src_layout_sets_pythonpath_and_tests_are_kept_out_of_the_secrets_scan(
    tmp_path: Path,
) -> None:
    (tmp_path / "src" / "shop").mkdir(parents=True)
    (tmp_path / "src" / "shop" / "__init__.py").write_text("")
    (tmp_path / "src" / "shop" / "app.py").write_text(
        "from litestar import Litestar\napp = Litestar([])\n"
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "requirements.txt").write_text("litestar\ngranian\n")
    path, d = write_spec(tmp_path)
    assert d.app is not None and d.app.ref == "shop.app:app"
    assert d.command[:3] == ("granian", "--interface", "asgi")
    loaded = load_spec(path)
    assert loaded.spec.defaults.env is not None and loaded.spec.defaults.env["PYTHONPATH"] == "src"
    assert loaded.spec.gates.secrets.exclude == ["tests/**"]
    assert d.health.ready_path == "/schema"


def test_a_dev_only_app_in_installed_apps_installs_the_dev_dependencies(tmp_path: Path) -> None:
    # kevinbowen777/django-polls: debug_toolbar in INSTALLED_APPS and MIDDLEWARE while
    # django-debug-toolbar is a dev dependency; the release crashed on its import.
    project = copy("django_procfile", tmp_path)
    settings = project / "mysite" / "settings.py"
    text = settings.read_text().replace('    "notes",\n', '    "notes",\n    "debug_toolbar",\n')
    settings.write_text(text)
    (project / "requirements-dev.txt").write_text("-r requirements.txt\ndjango-debug-toolbar>=4\n")
    d = detect_project(project)
    assert d.dev_only == {"debug_toolbar": "django-debug-toolbar"}
    assert any(n.startswith("dev_dependencies: the settings load debug_toolbar") for n in d.notes)
    path, _ = write_spec(project)
    assert load_spec(path).spec.service.dev_dependencies is True
    # Provided by the release dependencies: nothing to add.
    _append_line(project / "requirements.txt", "django-debug-toolbar>=4")
    assert detect_project(project).dev_only == {}
    assert load_spec(write_spec(project, force=True)[0]).spec.service.dev_dependencies is False


def _append_line(path: Path, line: str) -> None:
    path.write_text(path.read_text() + line + "\n")
