"""The CLI driving a real `moai-deploy server` (`--server URL`): reads, writes, and every
refusal the server can give, as the CLI's documented exit codes, without a traceback and
without ever showing the token."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from moai_deploy.pipeline.project import Project

from ...e2e.server_process import CLI, cli, running_server

pytestmark = pytest.mark.slow  # a real server process per test module


@pytest.fixture
def server(spec_path: Path, tokens: dict[str, str]) -> Iterator[str]:
    with running_server(spec_path) as url:
        yield url


def _remote(
    url: str, token: str | None, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {"MOAI_DEPLOY_SERVER": url, "HOME": str(cwd or Path("/nonexistent"))}
    if token is not None:
        env["MOAI_DEPLOY_TOKEN"] = token
    return cli(*args, env=env, cwd=cwd, timeout=60)


def _clean(done: subprocess.CompletedProcess[str], *secrets: str) -> str:
    text = done.stdout + done.stderr
    assert "Traceback" not in text, text
    for secret in secrets:
        assert secret not in text  # the token is never shown, not even in errors
    return text


def test_reads_and_refusals_map_to_exit_codes(
    server: str, tokens: dict[str, str], spec_path: Path
) -> None:
    viewer, deployer = tokens["viewer"], tokens["deployer"]
    done = _remote(server, viewer, "status", "--json")
    assert done.returncode == 0, done.stderr
    assert '"environment": "staging"' in done.stdout and '"production"' in done.stdout
    done = _remote(server, viewer, "history", "staging")
    assert done.returncode == 0 and "releases on" in _clean(done, viewer), done.stderr

    cases = [
        (None, ("status",), 2, "needs an API token"),
        (tokens["revoked"], ("status",), 2, "HTTP 401"),
        (viewer, ("deploy", "staging"), 2, "may not deploy"),
        (tokens["staging-deployer"], ("abort", "production"), 2, "HTTP 403"),
        (deployer, ("status", "nowhere"), 2, "unknown environment"),
        (deployer, ("deploy", "staging", "--version", "bad version"), 2, "refused"),
        (deployer, ("retry", "staging"), 2, "not aborted or failed"),
        (deployer, ("pause", "staging"), 2, "HTTP 400"),
        (tokens["approver"], ("approve", "production"), 2, "HTTP 4"),
        (deployer, ("ship",), 2, "no `pipeline:` section"),
        (tokens["staging-deployer"], ("ship",), 2, "HTTP 403"),
    ]
    for token, args, code, text in cases:
        done = _remote(server, token, *args)
        out = _clean(done, *tokens.values())
        assert done.returncode == code, (args, done.returncode, out)
        assert text in out, (args, out)


def test_a_held_lock_is_exit_3_and_bad_targets_exit_2(
    server: str, tokens: dict[str, str], spec_path: Path
) -> None:
    held = cli("lock", "acquire", "staging", "-m", "maintenance", cwd=spec_path.parent)
    assert held.returncode == 0, held.stderr
    done = _remote(server, tokens["deployer"], "deploy", "staging", "--version", "v1")
    out = _clean(done, tokens["deployer"])
    assert done.returncode == 3, out
    assert "is locked by" in out and "maintenance" in out and "HTTP 409" in out

    nobody = _remote("http://127.0.0.1:9", tokens["viewer"], "status")
    assert nobody.returncode == 2 and "cannot reach the server" in _clean(nobody)
    bad = _remote("ftp://x", tokens["viewer"], "status")
    assert bad.returncode == 2 and "not an http(s) URL" in _clean(bad)


def test_token_file_must_be_private(server: str, tokens: dict[str, str], tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(tokens["viewer"] + "\n")
    token_file.chmod(0o644)
    args = ("--token-file", str(token_file), "status", "staging")
    done = _remote(server, None, *args)
    assert done.returncode == 2 and "chmod 600" in _clean(done, tokens["viewer"])
    token_file.chmod(0o600)
    done = _remote(server, None, *args)
    assert done.returncode == 0, done.stderr
    assert "staging" in _clean(done, tokens["viewer"])

    home = tmp_path / "home"  # the default file, ~/.config/moai-deploy/token
    (home / ".config" / "moai-deploy").mkdir(parents=True)
    default = home / ".config" / "moai-deploy" / "token"
    default.write_text(tokens["viewer"])
    default.chmod(0o600)
    done = _remote(server, None, "history", cwd=home)
    assert done.returncode == 0, done.stderr


def test_approve_reject_and_abort_through_the_server(
    server: str, tokens: dict[str, str], spec_path: Path
) -> None:
    try:
        _approvals_and_controls(server, tokens)
    finally:  # the deploys started the router; a release left waiting holds the lock
        _remote(server, tokens["admin"], "abort", "production")
        down = cli("down", "production", cwd=spec_path.parent)
        assert down.returncode == 0, down.stderr


def _approvals_and_controls(server: str, tokens: dict[str, str]) -> None:
    # production needs 2 approvals: its release waits at its first step, before anything runs
    done = _remote(server, tokens["deployer"], "deploy", "production", "--version", "v1")
    assert done.returncode == 0, done.stderr
    assert "waits (wait for 2 approval(s))" in _clean(done, tokens["deployer"])
    own = _remote(server, tokens["deployer"], "approve", "production")
    assert own.returncode == 2 and "may not approve" in _clean(own)
    once = _remote(server, tokens["approver"], "approve", "production", "--json")
    assert once.returncode == 0, once.stderr
    assert '"approved": false' in once.stdout and '"required": 2' in once.stdout
    rejected = _remote(server, tokens["admin"], "reject", "production", "--reason", "not today")
    assert rejected.returncode == 0, rejected.stderr
    assert "(aborted)" in _clean(rejected, tokens["admin"])

    # the rejected release's deploy job may still be undoing (and holding the lock)
    again = _remote(
        server, tokens["deployer"], "deploy", "production", "--version", "v1", "--lock-wait", "60s"
    )
    assert again.returncode == 0 and "waits" in again.stdout, again.stderr
    paused = _remote(server, tokens["deployer"], "pause", "production")
    assert paused.returncode == 0 and "paused release" in paused.stdout, paused.stderr
    resumed = _remote(server, tokens["deployer"], "resume", "production")
    assert resumed.returncode == 0 and "resumed release" in resumed.stdout, resumed.stderr
    aborted = _remote(server, tokens["deployer"], "abort", "production")
    assert aborted.returncode == 0 and "(aborted)" in aborted.stdout, aborted.stderr

    # --wait follows the release until it ends; Ctrl-C leaves it to the server
    env = {**os.environ, "MOAI_DEPLOY_SERVER": server, "MOAI_DEPLOY_TOKEN": tokens["deployer"]}
    waiting = subprocess.Popen(
        [CLI, "deploy", "production", "--version", "v1", "--lock-wait", "60s", "--wait"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    for _ in range(100):  # until the server has the release waiting for approvals
        status = _remote(server, tokens["viewer"], "status", "production", "--json")
        if status.returncode == 0 and json.loads(status.stdout)[0]["unfinished"]:
            break
        time.sleep(0.3)
    waiting.send_signal(signal.SIGINT)
    out, err = waiting.communicate(timeout=30)
    assert waiting.returncode == 130, out + err
    assert "stopped following" in err and "Traceback" not in err
    still = _remote(server, tokens["viewer"], "status", "production", "--json")
    assert '"status": "in_progress"' in still.stdout  # the server still holds it
    assert _remote(server, tokens["deployer"], "abort", "production").returncode == 0
    history = _remote(server, tokens["viewer"], "history", "production", "--json")
    assert history.stdout.count('"status": "aborted"') == 3, history.stdout
    audit = _remote(server, tokens["viewer"], "audit", "production", "--json")
    assert audit.returncode == 0, audit.stderr
    actions = {(e["actor"], e["action"]) for e in json.loads(audit.stdout)}
    assert {("approver", "approve"), ("admin", "reject"), ("deployer", "abort")} <= actions
    shown = _remote(server, tokens["viewer"], "audit")
    assert shown.returncode == 0 and "audit log on" in _clean(shown, tokens["viewer"])
    events = _remote(server, tokens["viewer"], "events", "production", "--json")
    assert events.returncode == 0, events.stderr
    kinds = {e["kind"] for e in json.loads(events.stdout)}
    assert kinds, events.stdout  # the releases above wrote their transitions
    lines = _remote(server, tokens["viewer"], "events", "production")
    assert lines.returncode == 0 and all(kind in lines.stdout for kind in kinds), lines.stdout


def test_locks_through_the_server(server: str, tokens: dict[str, str], spec_path: Path) -> None:
    deployer, viewer, admin = tokens["deployer"], tokens["viewer"], tokens["admin"]
    held = _remote(server, deployer, "lock", "acquire", "staging", "-m", "db maintenance")
    assert held.returncode == 0 and "locked by deployer" in _clean(held, deployer), held.stderr
    shown = _remote(server, viewer, "lock", "status", "--json")
    assert shown.returncode == 0, shown.stderr
    [lock] = json.loads(shown.stdout)
    assert (lock["environment"], lock["holder"], lock["message"]) == (
        "staging",
        "deployer",
        "db maintenance",
    )
    here = cli("lock", "status", cwd=spec_path.parent)  # the same lock, read on this machine
    assert here.returncode == 0 and "db maintenance" in here.stdout, here.stderr
    cases = [
        (deployer, ("lock", "acquire", "staging", "-m", "again"), 3, "is locked by"),
        (deployer, ("deploy", "staging", "--version", "v1"), 3, "HTTP 409"),
        (viewer, ("lock", "release", "staging"), 2, "may not deploy"),
        (deployer, ("lock", "release", "staging", "--force", "--reason", "x"), 2, "may not admin"),
        (tokens["staging-deployer"], ("lock", "acquire", "production", "-m", "x"), 2, "HTTP 403"),
        (deployer, ("lock", "release", "nowhere"), 2, "unknown environment"),
    ]
    for token, args, code, text in cases:
        done = _remote(server, token, *args)
        out = _clean(done, *tokens.values())
        assert done.returncode == code, (args, done.returncode, out)
        assert text in out, (args, out)
    released = _remote(server, deployer, "lock", "release", "staging")
    assert released.returncode == 0 and "staging unlocked" in released.stdout, released.stderr
    again = _remote(server, deployer, "lock", "release", "staging")
    assert again.returncode == 2 and "no manual lock held" in _clean(again), again.stdout
    broke = _remote(server, admin, "lock", "release", "staging", "--force", "--reason", "test")
    assert broke.returncode == 0 and "(none held)" in broke.stdout, broke.stderr
    audit = json.loads(_remote(server, viewer, "audit", "staging", "--json").stdout)
    actions = [(e["actor"], e["action"]) for e in audit]
    assert ("deployer", "lock_acquire") in actions and ("deployer", "lock_release") in actions
    assert ("admin", "lock_break") in actions


def test_tokens_through_the_server_are_admin_only_and_audited(
    server: str, tokens: dict[str, str]
) -> None:
    admin = tokens["admin"]
    made = _remote(server, admin, "token", "create", "ci", "--role", "viewer", "--json")
    assert made.returncode == 0, made.stderr
    new = json.loads(made.stdout)
    assert (new["name"], new["role"], new["created_by"]) == ("ci", "viewer", "admin")
    assert _remote(server, new["token"], "status", "staging").returncode == 0
    listed = _remote(server, admin, "token", "list", "--json")
    assert listed.returncode == 0 and new["token"] not in listed.stdout, listed.stderr
    assert "ci" in {t["name"] for t in json.loads(listed.stdout)}
    cases = [
        (tokens["deployer"], ("token", "list"), 2, "may not admin"),
        (tokens["approver"], ("token", "create", "x", "--role", "admin"), 2, "HTTP 403"),
        (tokens["viewer"], ("token", "revoke", "admin"), 2, "HTTP 403"),
        (admin, ("token", "create", "ci", "--role", "viewer"), 3, "exists"),
        (admin, ("token", "create", "y", "--role", "boss"), 2, "unknown role"),
        (admin, ("token", "create", "y", "--role", "viewer", "--env", "moon"), 2, "unknown env"),
        (admin, ("token", "revoke", "nobody"), 2, "no live token"),
    ]
    for token, args, code, text in cases:
        done = _remote(server, token, *args)
        out = _clean(done, *tokens.values(), new["token"])
        assert done.returncode == code, (args, done.returncode, out)
        assert text in out, (args, out)
    revoked = _remote(server, admin, "token", "revoke", "ci")
    assert revoked.returncode == 0 and "token ci revoked" in revoked.stdout, revoked.stderr
    after = _remote(server, new["token"], "status", "staging")
    assert after.returncode == 2 and "HTTP 401" in _clean(after, new["token"])
    audit = json.loads(_remote(server, tokens["viewer"], "audit", "--json").stdout)
    done_by_admin = {(e["action"], e["target"]) for e in audit if e["actor"] == "admin"}
    assert {("token_create", "token/ci"), ("token_revoke", "token/ci")} <= done_by_admin


def test_gates_logs_and_events_through_the_server(
    server: str, tokens: dict[str, str], spec_path: Path
) -> None:
    deployer, viewer = tokens["deployer"], tokens["viewer"]
    gates = _remote(server, deployer, "gate", "--json")
    assert gates.returncode == 0, gates.stderr
    assert json.loads(gates.stdout)["passed"] is True  # every gate of this spec is disabled
    shown = _remote(server, deployer, "gate", "--env", "staging")
    assert shown.returncode == 0 and "gates passed" in shown.stdout, shown.stderr

    # Instance logs where the local runtime writes them (STATE/logs/ENV/release-N/); the
    # e2e test_release_logs.py has real instances write them.
    project = Project.open(spec_path)
    try:
        folder = project.layout.logs / "staging" / "release-7"
    finally:
        project.close()
    folder.mkdir(parents=True)
    (folder / "web-blue.log").write_text("started\nserving on 8000\n")
    logs = _remote(server, deployer, "logs", "staging", "--release", "7", "--lines", "1")
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout == "web-blue #7 | serving on 8000\n"
    here = cli("logs", "staging", "--release", "7", "--lines", "1", cwd=spec_path.parent)
    assert here.stdout == logs.stdout  # the same service call, here and there

    status = _remote(server, viewer, "status", "staging")
    local_status = cli("status", "staging", cwd=spec_path.parent)
    assert status.returncode == local_status.returncode == 0, status.stderr
    assert status.stdout == local_status.stdout  # one table for both (the same dict)

    events = _remote(server, viewer, "events", "--json")
    local = cli("events", "--json", cwd=spec_path.parent)
    assert events.returncode == 0 and json.loads(events.stdout) == json.loads(local.stdout)
    cases = [
        (viewer, ("gate",), 2, "may not deploy"),
        (tokens["staging-deployer"], ("gate",), 2, "scoped to 'staging'"),
        (deployer, ("gate", "--no-cache"), 2, "for gates run on this machine"),
        (deployer, ("gate", "--env", "moon"), 2, "unknown environment"),
        (viewer, ("logs", "staging"), 2, "may not deploy"),
        (tokens["prod-deployer"], ("logs", "staging"), 2, "HTTP 403"),
        (deployer, ("logs", "staging", "--release", "8"), 2, "has no instance logs"),
        (deployer, ("logs", "moon"), 2, "unknown environment"),
        (deployer, ("logs", "staging", "--follow"), 2, "not through a server"),
        (viewer, ("events", "moon"), 2, "HTTP 404"),
    ]
    for token, args, code, text in cases:
        done = _remote(server, token, *args)
        out = _clean(done, *tokens.values())
        assert done.returncode == code, (args, done.returncode, out)
        assert text in out, (args, out)
