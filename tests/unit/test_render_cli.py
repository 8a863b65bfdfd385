"""`render` and `diff` through the CLI (registered on a fresh typer app, as main.py does)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from moai_deploy.cli.render import register
from moai_deploy.errors import BadInputError
from moai_deploy.render import render
from moai_deploy.render.artifacts import store_release_artifacts
from moai_deploy.spec.loader import load_spec

EXAMPLE = Path(__file__).parents[2] / "examples" / "hello-service" / "moai-deploy.yaml"


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    register(application)
    return application


def _run(app: typer.Typer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--spec", str(EXAMPLE)])
    return result.exit_code, result.output


def test_render_writes_the_selected_targets(app: typer.Typer, tmp_path: Path) -> None:
    code, output = _run(
        app,
        "render",
        "staging",
        "-t",
        "kubernetes",
        "-t",
        "docker",
        "--out",
        str(tmp_path),
        "--version",
        "v9",
    )
    assert code == 0, output
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert "docker/Dockerfile" in written and "kubernetes/deployment.yaml" in written
    assert all(p.split("/")[0] in ("docker", "kubernetes") for p in written)
    assert "ghcr.io/moai-adk/hello:v9" in (tmp_path / "kubernetes/deployment.yaml").read_text()


def test_render_consistency_reports_undeclared_differences(app: typer.Typer) -> None:
    code, output = _run(app, "render", "--consistency", "--version", "v1")
    assert code == 1
    assert "staging vs development: kubernetes/deployment.yaml" in output


def test_diff_against_a_folder_and_a_stored_release(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "out"
    assert _run(app, "render", "production", "--out", str(folder), "--version", "v1")[0] == 0
    code, output = _run(app, "diff", "production", "--against", str(folder), "--version", "v1")
    assert code == 0 and "no difference" in output
    state = tmp_path / "state"
    monkeypatch.setenv("MOAI_DEPLOY_STATE", str(state))
    store_release_artifacts(state, 3, render(load_spec(EXAMPLE).spec, "production", "v1"))
    code, output = _run(app, "diff", "production", "--against", "3", "-t", "ecs", "--version", "v2")
    assert code == 1
    assert '-  "image": "ghcr.io/moai-adk/hello:v1"' not in output  # JSON is indented
    assert '+      "image": "ghcr.io/moai-adk/hello:v2",' in output
    assert "kubernetes/" not in output  # only the selected target is compared


def test_unknown_environment_is_bad_input(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["render", "qa", "--version", "v1", "--spec", str(EXAMPLE)])
    assert isinstance(result.exception, BadInputError)  # main.py maps it to exit 2
    assert "unknown environment 'qa'" in str(result.exception)
