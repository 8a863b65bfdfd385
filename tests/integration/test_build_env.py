"""Release environments built with uv from what the project declares (a Poetry project no
longer gets an empty environment), and the build-time checks that stop a release whose
instances would crash: declared dependencies missing, the command's program or module
not there."""

from __future__ import annotations

from pathlib import Path

import pytest

from moai_deploy.build.check import check_command, modules_of
from moai_deploy.build.pyenv import ensure_env
from moai_deploy.errors import ReleaseFailedError

POETRY = """\
[tool.poetry]
name = "app"
version = "0.1.0"
[tool.poetry.dependencies]
python = "^3.11"
six = "^1.16"
"""


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def test_poetry_project_gets_its_dependencies(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(POETRY)
    (tmp_path / "web.py").write_text("import six\n")
    env = ensure_env(tmp_path, cache)
    assert not env.reused
    check_command(env, tmp_path, ["python", "-m", "web"])
    assert ensure_env(tmp_path, cache).reused


def test_stale_requirements_missing_a_declared_dependency_fail_the_build(
    tmp_path: Path, cache: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "a"\ndependencies = ["six"]\n')
    (tmp_path / "requirements.txt").write_text("# nothing pinned yet\n")
    with pytest.raises(ReleaseFailedError, match=r"lacks 1 declared dependency: six"):
        ensure_env(tmp_path, cache)


def test_command_program_and_module_are_checked(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "requirements.txt").write_text("six\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "wsgi.py").write_text("application = None\n")
    env = ensure_env(tmp_path, cache)
    with pytest.raises(ReleaseFailedError, match=r"`gunicorn` .* is not installed"):
        check_command(env, tmp_path, ["gunicorn", "pkg.wsgi:application"])
    with pytest.raises(ReleaseFailedError, match=r"loads pkg\.missing, which is not importable"):
        check_command(env, tmp_path, ["python", "-m", "pkg.missing"])
    check_command(env, tmp_path, ["python", "-m", "pkg.wsgi"])
    check_command(env, tmp_path, ["python", "manage.py", "runserver"])


def test_modules_of_server_commands() -> None:
    assert modules_of(["gunicorn", "-b", "127.0.0.1:{port}", "app:create_app()"]) == (
        "gunicorn",
        ["app"],
    )
    assert modules_of(["python", "-m", "uvicorn", "svc.main:app", "--port", "{port}"]) == (
        None,
        ["uvicorn", "svc.main"],
    )
    assert modules_of(["waitress-serve", "--listen=127.0.0.1:{port}", "wsgi:application"]) == (
        "waitress-serve",
        ["wsgi"],
    )
