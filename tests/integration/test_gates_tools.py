"""Gates against real tools: a missing tool, an unreachable vulnerability service,
hadolint only when a Dockerfile exists, the TAG gate without SPECs, parallel runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from moai_deploy.gates import tools
from moai_deploy.gates.runner import RunOptions, run_gates
from moai_deploy.paths import StateLayout
from moai_deploy.spec.gates import GATE_NAMES, GatesSpec

HELLO = Path(__file__).parents[2] / "examples" / "hello-service"


def _project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _run(root: Path, gates: GatesSpec, *only: str, state: Path | None = None) -> dict[str, object]:
    layout = StateLayout(state or root / ".state")
    run = run_gates(root, gates, layout, RunOptions(only, use_cache=False))
    return {"passed": run.passed, **{o.result.gate: o for o in run.outcomes}}


def test_unprovisionable_tool_is_an_error_and_on_error_decides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, {"app.py": "x = 1\n"})
    # A version that does not exist: uv cannot provision it, the gate says so.
    monkeypatch.setenv("MOAI_DEPLOY_CACHE", str(tmp_path / "cache"))
    gates = GatesSpec.model_validate({"tools": {"ruff": "999.0.0"}})
    run = _run(root, gates, "ruff")
    outcome = run["ruff"]
    assert outcome.result.status == "error"  # type: ignore[attr-defined]
    assert outcome.result.note.startswith("could not provision ruff with uv")  # type: ignore[attr-defined]
    assert run["passed"] is False  # on_error defaults to fail for an offline gate
    warn = GatesSpec.model_validate({"tools": {"ruff": "999.0.0"}, "ruff": {"on_error": "warn"}})
    assert _run(root, warn, "ruff")["passed"] is True


def test_run_tool_without_the_tool_is_tool_missing(tmp_path: Path) -> None:
    with pytest.raises(tools.ToolMissingError, match="tool not installed: nosuchtool"):
        tools.run_tool("nosuchtool", [], tmp_path, 5.0)


@pytest.mark.slow
def test_unreachable_vulnerability_service_is_error_never_passed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project(tmp_path, {"requirements.txt": "idna==3.7\n"})
    # A proxy on a closed loopback port: the service is unreachable on any machine.
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    run = _run(root, GatesSpec(), "pip_audit")
    result = run["pip_audit"].result  # type: ignore[attr-defined]
    assert result.status == "error"
    assert result.note.startswith("vulnerability service unreachable")
    assert run["passed"] is True  # network gates default to on_error: warn
    strict = GatesSpec.model_validate({"pip_audit": {"on_error": "fail"}})
    again = _run(root, strict, "pip_audit")
    assert again["passed"] is False and again["pip_audit"].result.cached is False  # type: ignore[attr-defined]


@pytest.mark.slow
def test_hadolint_runs_only_when_a_dockerfile_exists(tmp_path: Path) -> None:
    root = _project(tmp_path, {"app.py": "x = 1\n"})
    assert _run(root, GatesSpec(), "hadolint")["hadolint"].result.status == "skipped"  # type: ignore[attr-defined]
    dockerfile = "FROM python:3.11-slim\nRUN apt-get update && apt-get install -y curl\n"
    _project(root, {"Dockerfile": dockerfile})
    result = _run(root, GatesSpec(), "hadolint")["hadolint"].result  # type: ignore[attr-defined]
    assert result.status == "failed"
    assert ("Dockerfile", 2, "DL3008") in {(f.file, f.line, f.rule) for f in result.findings}


def test_tags_gate_is_skipped_without_specs(tmp_path: Path) -> None:
    root = _project(tmp_path, {"app.py": "# @CODE:APP-001\n"})
    result = _run(root, GatesSpec(), "tags")["tags"].result  # type: ignore[attr-defined]
    assert result.status == "skipped" and ".moai/specs" in result.note


@pytest.mark.slow
def test_hello_service_passes_its_gates(tmp_path: Path) -> None:
    # In place: the example is linted with this repository's ruff and mypy settings, as
    # `make lint` does. pip_audit is left out: its answer depends on the network.
    gates = [n for n in GATE_NAMES if n != "pip_audit"]
    run = _run(HELLO, GatesSpec(), *gates, state=tmp_path / "state")
    failed = {n: o.result.findings for n, o in run.items() if n != "passed" and o.blocking}  # type: ignore[attr-defined]
    assert failed == {}
    assert run["passed"] is True


@pytest.mark.slow
def test_secret_references_are_not_secrets_but_values_are(tmp_path: Path) -> None:
    spec = 'env: {DB_USER: app, DB_PASSWORD: "${secret:DB_PASSWORD}"}\n'
    code = 'db_password = "Xq9-hunter2-zz81"\n'  # pragma: allowlist secret
    root = _project(tmp_path, {"moai-deploy.yaml": spec, "settings.py": code})
    result = _run(root, GatesSpec(), "secrets")["secrets"].result  # type: ignore[attr-defined]
    assert [(f.file, f.line) for f in result.findings] == [("settings.py", 1)]


def test_secrets_gate_ignores_what_frameworks_write_and_still_finds_a_key(tmp_path: Path) -> None:
    # Every Alembic project (revision ids, alembic.ini's template URL) and every page with a
    # CDN's subresource integrity hash was "a secret" to detect-secrets: a blocked deploy.
    sri = "sha384-xOolHFLEh07PJGoPkLv1IbcEPTNtaed2xpHsD9ESMhqIYd0nLMwNLD69Npy4HI+N"
    root = _project(
        tmp_path,
        {
            "alembic.ini": "[alembic]\nsqlalchemy.url = driver://user:pass@localhost/dbname\n",
            "alembic/versions/0909f24dfb8a_users.py": (
                '"""users\n\nRevision ID: 0909f24dfb8a\nRevises: 1a2b3c4d5e6f\n"""\n'
                "revision: str = '0909f24dfb8a'\ndown_revision = '1a2b3c4d5e6f'\n"
            ),
            "templates/base.html": f'<link href="x.css"\n      integrity="{sri}">\n',
        },
    )
    clean = _run(root, GatesSpec(), "secrets")
    assert clean["secrets"].result.findings == ()  # type: ignore[attr-defined]
    key = "AKIA" + "ZQ3DT6PQ2VXKMFUL"  # an AWS access key id shape, split so we pass our own gate
    (root / "settings.py").write_text(f'AWS_ACCESS_KEY_ID = "{key}"\n')
    found = _run(root, GatesSpec(), "secrets")["secrets"].result.findings  # type: ignore[attr-defined]
    assert [(f.file, f.line) for f in found] == [("settings.py", 1)]


@pytest.mark.slow
def test_a_config_file_the_args_name_is_part_of_the_cache_key(tmp_path: Path) -> None:
    # The config sits in a hidden folder, which the project walk leaves out: only its
    # being named in `args` makes the cached result depend on it.
    dockerfile = "FROM python:3.11-slim\nRUN apt-get update && apt-get install -y curl\n"
    root = _project(
        tmp_path / "p",
        {"Dockerfile": dockerfile, ".config/hadolint.yaml": "ignored: [DL3008, DL3009, DL3015]\n"},
    )
    gates = GatesSpec.model_validate({"hadolint": {"args": ["--config", ".config/hadolint.yaml"]}})
    layout = StateLayout(tmp_path / "state")

    def run() -> tuple[str, bool]:
        outcome = run_gates(root, gates, layout, RunOptions(("hadolint",))).outcomes[0]
        return outcome.result.status, outcome.result.cached

    assert run() == ("passed", False)
    assert run() == ("passed", True)
    (root / ".config/hadolint.yaml").write_text("ignored: [DL3009, DL3015]\n")
    assert run() == ("failed", False)  # the edited config is read, not the cached pass
