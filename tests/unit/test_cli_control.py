"""`token create|list|revoke`, `approve`, `reject` and `server --help` on the command line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from moai_deploy.cli.main import run

SPEC = """\
service:
  name: hello
  command: python -m app --port {port}
environments:
  staging: {}
  production:
    approvals: {required: 2}
gates:
  required: {}
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
    (tmp_path / "moai-deploy.yaml").write_text(SPEC)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MOAI_DEPLOY_STATE", raising=False)
    monkeypatch.delenv("MOAI_DEPLOY_DB", raising=False)
    monkeypatch.setenv("MOAI_DEPLOY_ACTOR", "tester")
    return tmp_path


def test_token_lifecycle(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = invoke(capsys, monkeypatch, "token", "create", "ci", "--role", "deployer")
    assert code == 0
    token = out.strip().splitlines()[-1]
    assert token.startswith("mdt_") and len(token) > 40
    code, out, _ = invoke(capsys, monkeypatch, "token", "list")
    assert code == 0 and out.split() == ["ci", "deployer", "*", "live"] and token not in out
    code, _, err = invoke(capsys, monkeypatch, "token", "create", "ci", "--role", "viewer")
    assert code == 3 and "exists" in err
    code, _, err = invoke(capsys, monkeypatch, "token", "create", "x", "--role", "root")
    assert code == 2 and "unknown role 'root'" in err
    code, _, err = invoke(
        capsys, monkeypatch, "token", "create", "p", "--role", "viewer", "--env", "nope"
    )
    assert code == 2 and "unknown environment" in err
    code, out, _ = invoke(capsys, monkeypatch, "token", "revoke", "ci")
    assert code == 0 and "revoked" in out
    code, out, _ = invoke(capsys, monkeypatch, "token", "list", "--json")
    assert code == 0 and '"revoked_at": null' not in out
    code, _, err = invoke(capsys, monkeypatch, "token", "revoke", "ci")
    assert code == 2 and "no live token" in err
    code, out, _ = invoke(capsys, monkeypatch, "audit", "--json")
    assert '"token_revoke"' in out and '"tester"' in out and token not in out


def test_approve_and_reject_without_a_waiting_release(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = invoke(capsys, monkeypatch, "approve", "staging")
    assert code == 2 and "does not require approvals" in err
    code, _, err = invoke(capsys, monkeypatch, "approve", "production")
    assert code == 2 and "no release" in err
    code, _, err = invoke(capsys, monkeypatch, "reject", "production", "--reason", " ")
    assert code == 2 and "needs a reason" in err
    code, _, _ = invoke(capsys, monkeypatch, "reject", "production")
    assert code == 2  # --reason is required


def test_server_help_lists_its_options(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = invoke(capsys, monkeypatch, "server", "--help")
    assert code == 0 and "--host" in out and "--port" in out
