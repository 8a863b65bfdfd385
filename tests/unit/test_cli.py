"""The CLI's exit codes and messages, run in-process through the console-script entry point."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from moai_deploy.cli.main import run
from moai_deploy.ledger.locks import LockRequest, try_acquire
from moai_deploy.ledger.store import Ledger, ledger_url
from moai_deploy.runtime.base import free_port

BAD_SPECS = Path(__file__).parent.parent / "fixtures" / "bad_specs"
GOOD_SPEC = """\
service:
  name: hello
  command: python -m app --port {port}
defaults:
  env:
    DB_PASSWORD: ${secret:DB_PASSWORD}
environments:
  development: {}
"""


def invoke(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.argv", ["moai-deploy", *args])
    with pytest.raises(SystemExit) as exited:
        run()
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), out, err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # A free port: the default one (8080) may be held by another program on this machine.
    spec = GOOD_SPEC.replace("development: {}", f"development: {{port: {free_port()}}}")
    (tmp_path / "moai-deploy.yaml").write_text(spec)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(
        ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@l", "add", "-A"],
        check=True,
    )
    subprocess.run(
        [
            "git",
            "-C",
            str(tmp_path),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@l",
            "commit",
            "-qm",
            "x",
        ],
        check=True,
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MOAI_DEPLOY_STATE", raising=False)
    return tmp_path


def test_validate_ok(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = invoke(capsys, monkeypatch, "validate")
    assert code == 0 and "is valid" in out


@pytest.mark.parametrize(
    "name", ["plaintext_secret.yaml", "malformed_yaml.yaml", "unknown_key.yaml"]
)
def test_validate_bad_spec_exits_2_naming_file_and_line(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = invoke(capsys, monkeypatch, "validate", "-f", str(BAD_SPECS / name))
    assert code == 2
    assert f"{name}:" in err and "fix:" in err
    assert "Traceback" not in err


def test_config_masks_secrets_and_schema_prints_json(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_PASSWORD", "super-secret-value")
    code, out, _ = invoke(capsys, monkeypatch, "config", "development", "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["env"]["DB_PASSWORD"].startswith("********")
    assert "super-secret-value" not in out
    code, out, _ = invoke(capsys, monkeypatch, "schema")
    assert code == 0 and json.loads(out)["title"] == "moai-deploy.yaml"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("deploy", "development", "--version", "v1;rm -rf /"), "not a valid version"),
        (("deploy", "nowhere"), "unknown environment 'nowhere'"),
        (("deploy", "development"), "DB_PASSWORD"),  # secret not set anywhere
        (("rollback", "development", "--to", "$(reboot)"), "not a valid version"),
        (("history", "prod"), "unknown environment"),
        (("deploy",), "Missing argument"),
    ],
)
def test_bad_input_exits_2_and_leaves_no_state(
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    message: str,
) -> None:
    monkeypatch.delenv("DB_PASSWORD", raising=False)
    code, out, err = invoke(capsys, monkeypatch, *args)
    assert code == 2
    assert message in out + err
    assert not (project / ".moai-deploy").exists()


def test_bad_spec_deploy_leaves_no_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(BAD_SPECS / "plaintext_dsn.yaml", tmp_path / "moai-deploy.yaml")
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke(capsys, monkeypatch, "deploy", "production")
    assert code == 2 and "plaintext password" in err
    assert "s3cret" not in err
    assert list(tmp_path.iterdir()) == [tmp_path / "moai-deploy.yaml"]


def test_second_deploy_while_locked_exits_3_naming_the_holder(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_PASSWORD", "pw-value")
    (project / ".moai-deploy").mkdir()
    ledger = Ledger.open(ledger_url(project / ".moai-deploy" / "ledger.sqlite3"))
    try:
        # A manual lock, as `moai-deploy lock acquire` takes it.
        request = LockRequest("alice@laptop", "manual", message="db migration", manual=True)
        assert try_acquire(ledger, "hello", "development", request)
        monkeypatch.setenv("MOAI_DEPLOY_ACTOR", "bob@ci")
        code, _, err = invoke(capsys, monkeypatch, "deploy", "development", "--version", "v1")
        assert code == 3
        assert "locked by alice@laptop" in err and "db migration" in err
        assert ledger.list_releases("hello") == []  # nothing was started
    finally:
        ledger.close()


def test_version_flag(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = invoke(capsys, monkeypatch, "--version")
    assert code == 0 and out.startswith("moai-deploy ")


def test_init_detects_fastapi_and_writes_a_valid_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "api.py").write_text(
        "from fastapi import FastAPI\n\nservice = FastAPI()\n"
    )
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "x.py").write_text("app = Flask(__name__)\n")  # skipped folder
    monkeypatch.chdir(tmp_path)
    code, out, _ = invoke(capsys, monkeypatch, "init")
    assert code == 0 and "fastapi app shop.api:service" in out
    assert "releases get uvicorn from" in " ".join(out.split())  # none is declared
    text = (tmp_path / "moai-deploy.yaml").read_text()
    assert 'extra_requirements: ["uvicorn"]' in text
    assert '["uvicorn", "shop.api:service", "--host", "127.0.0.1"' in text
    # validate also checks that no other program holds a port: use free ones on this machine.
    for default in ("8080", "8081", "8082"):
        text = text.replace(f"port: {default}", f"port: {free_port()}")
    (tmp_path / "moai-deploy.yaml").write_text(text)
    assert invoke(capsys, monkeypatch, "validate")[0] == 0
    code, _, err = invoke(capsys, monkeypatch, "init")
    assert code == 2 and "--force" in err
    assert invoke(capsys, monkeypatch, "init", "--force")[0] == 0


def test_init_detects_flask_as_wsgi(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "web.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    code, out, _ = invoke(capsys, monkeypatch, "init", str(tmp_path))
    assert code == 0 and "flask app web:app" in out
    assert '"--workers", "2", "web:app"]' in (tmp_path / "moai-deploy.yaml").read_text()


def test_a_secrets_file_tracked_by_git_is_refused(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / ".secrets.env").write_text(
        "DB_PASSWORD=committed-by-mistake\n"
    )  # pragma: allowlist secret
    subprocess.run(["git", "-C", str(project), "add", "-f", ".secrets.env"], check=True)
    code, _, err = invoke(capsys, monkeypatch, "deploy", "development", "--version", "v1")
    assert code == 2 and "tracked by git" in err
    assert "committed-by-mistake" not in err
    assert not (project / ".moai-deploy").exists()
