"""Reading what a project depends on: lock files first, then loose declarations."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from moai_deploy.build._lockfiles import poetry_constraint
from moai_deploy.build.dependencies import install_plan, requirement_name
from moai_deploy.errors import BadInputError

POETRY = """\
[tool.poetry]
name = "x"
[tool.poetry.dependencies]
python = "^3.11"
flask = "^3.0"
psycopg = {version = "~3.1", extras = ["binary"]}
[tool.poetry.group.dev.dependencies]
pytest = "*"
"""


def test_poetry_without_lock_reads_its_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(POETRY)
    plan = install_plan(tmp_path)
    assert plan.manager == "pyproject.toml [tool.poetry]"
    assert plan.requirements == ("flask>=3.0,<4", "psycopg[binary]>=3.1,<3.2")
    assert plan.declared == {"flask", "psycopg"}
    assert "pytest" in install_plan(tmp_path, dev=True).requirements


def test_poetry_lock_groups_and_categories(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(POETRY)
    (tmp_path / "poetry.lock").write_text(
        '[[package]]\nname = "flask"\nversion = "3.0.3"\ngroups = ["main"]\n'
        '[[package]]\nname = "pytest"\nversion = "8.2.0"\ngroups = ["dev"]\n'
        '[[package]]\nname = "colorama"\nversion = "0.4.6"\ncategory = "main"\n'
        'markers = "sys_platform == \\"win32\\""\n'
        '[[package]]\nname = "lib"\nversion = "1.0"\ngroups = ["main"]\n'
        '[package.source]\ntype = "git"\nurl = "https://example.com/lib.git"\n'
        'resolved_reference = "abc123"\n'
    )
    plan = install_plan(tmp_path)
    assert plan.locked and plan.manager == "poetry.lock"
    assert plan.requirements == (
        "flask==3.0.3",
        'colorama==0.4.6 ; sys_platform == "win32"',
        "lib @ git+https://example.com/lib.git@abc123",
    )
    assert "pytest==8.2.0" in install_plan(tmp_path, dev=True).requirements


def test_pdm_and_pipenv_locks(tmp_path: Path) -> None:
    (tmp_path / "pdm.lock").write_text(
        '[[package]]\nname = "litestar"\nversion = "2.9.0"\ngroups = ["default"]\n'
        '[[package]]\nname = "ruff"\nversion = "0.5.0"\ngroups = ["lint"]\n'
    )
    assert install_plan(tmp_path).requirements == ("litestar==2.9.0",)
    (tmp_path / "pdm.lock").unlink()
    lock = {"default": {"django": {"version": "==5.0.6"}, "pkg": {"git": "https://e/p.git"}},
            "develop": {"pytest": {"version": "==8.2.0"}}}  # fmt: skip
    (tmp_path / "Pipfile.lock").write_text(json.dumps(lock))
    plan = install_plan(tmp_path)
    assert plan.manager == "Pipfile.lock"
    assert plan.requirements == ("django==5.0.6", "pkg @ git+https://e/p.git")


def test_requirements_includes_and_the_project_itself(tmp_path: Path) -> None:
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "base.txt").write_text("django>=5  # web\nrequests\n")
    (tmp_path / "requirements.txt").write_text(
        "-r requirements/base.txt\n-e .\n--extra-index-url https://x/simple\ngunicorn\n"
    )
    plan = install_plan(tmp_path)
    assert plan.requirements == ("django>=5", "requests", "--extra-index-url https://x/simple",
                                 "gunicorn")  # fmt: skip
    assert plan.declared == {"django", "requests", "gunicorn"}


def test_pep621_and_dev_groups(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["fastapi>=0.110", "uvicorn[standard]"]\n'
        '[project.optional-dependencies]\ntest = ["pytest"]\n'
        '[dependency-groups]\ndev = ["mypy"]\n'
    )
    assert install_plan(tmp_path).declared == {"fastapi", "uvicorn"}
    dev = install_plan(tmp_path, dev=True).requirements
    assert {"pytest", "mypy"} <= set(dev)


def test_nothing_declared_and_bad_files(tmp_path: Path) -> None:
    assert install_plan(tmp_path).manager == "none"
    (tmp_path / "pyproject.toml").write_text("[project\n")
    with pytest.raises(BadInputError, match="invalid TOML"):
        install_plan(tmp_path)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("^1.2.3", ">=1.2.3,<2"), ("^0.4", ">=0.4,<0.5"), ("~1.2", ">=1.2,<1.3"), ("*", ""),
     ("2.0.1", "==2.0.1"), (">=1, <2", ">=1,<2")],
)  # fmt: skip
def test_poetry_constraints(spec: str, expected: str) -> None:
    assert poetry_constraint(spec) == expected


def test_requirement_names() -> None:
    assert requirement_name("Flask_SQLAlchemy[async]>=3 ; python_version>'3'") == "flask-sqlalchemy"
    assert requirement_name("-r base.txt") is None
    assert requirement_name("git+https://x/y.git") is None


@pytest.mark.parametrize(
    ("specifier", "admitted"),
    [(">=3.11", True), (">=3.12,<4.0", False), ("~=3.11", True), ("<3.11", False),
     ("==3.11.*", True), ("!=3.11.*", False), (">3.10, <=3.11", True), ("weird", True)],
)  # fmt: skip
def test_requires_python_specifiers(specifier: str, admitted: bool) -> None:
    from moai_deploy.build.interpreter import allows

    assert allows(specifier, (3, 11, 7)) is admitted


def test_requires_python_sources_and_a_missing_interpreter() -> None:
    from moai_deploy.build.interpreter import interpreter_for, requires_python
    from moai_deploy.errors import ReleaseFailedError

    assert requires_python({"tool": {"poetry": {"dependencies": {"python": "^3.11"}}}}) == (
        ">=3.11,<4"
    )
    assert interpreter_for({"project": {"requires-python": ">=3.8"}}) == sys.executable
    with pytest.raises(ReleaseFailedError, match=r"(?s)requires Python >=9\.0.*fix: install one"):
        interpreter_for({"project": {"requires-python": ">=9.0"}})


def test_setuptools_declarations(tmp_path: Path) -> None:
    (tmp_path / "setup.py").write_text(
        "from setuptools import setup\nsetup(name='x', install_requires=['flask', 'markdown2'],"
        " extras_require={'dev': ['pytest']})\n"
    )
    plan = install_plan(tmp_path)
    assert plan.manager == "setup.cfg/setup.py install_requires"
    assert plan.declared == {"flask", "markdown2"}
    assert "pytest" in install_plan(tmp_path, dev=True).requirements
    (tmp_path / "setup.cfg").write_text("[options]\ninstall_requires =\n    django>=5\n")
    assert install_plan(tmp_path).requirements == ("django>=5",)
