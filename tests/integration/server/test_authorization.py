"""Every role against every write endpoint; revoked, anonymous and env-scoped tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from moai_deploy.ledger.store import Ledger, ledger_url
from moai_deploy.pipeline.access import revoke_token
from moai_deploy.pipeline.project import Project
from moai_deploy.service import ControlService

from .conftest import bearer

# (method, path, body, roles allowed). Bodies that an authorized caller gets refused for
# other reasons (bad version, nothing in progress) keep the test from deploying anything:
# authorization is decided before the body is even validated.
WRITES: list[tuple[str, str, dict[str, Any] | None, set[str]]] = [
    (
        "POST",
        "/api/v1/environments/staging/deploy",
        {"version": "bad version"},
        {"deployer", "admin"},
    ),
    ("POST", "/api/v1/environments/staging/rollback", {"to": "bad version"}, {"deployer", "admin"}),
    ("POST", "/api/v1/environments/staging/retry", {}, {"deployer", "admin"}),
    ("POST", "/api/v1/environments/staging/promote", {}, {"deployer", "admin"}),
    ("POST", "/api/v1/environments/staging/pause", None, {"deployer", "admin"}),
    ("POST", "/api/v1/environments/staging/resume", None, {"deployer", "admin"}),
    ("POST", "/api/v1/environments/staging/abort", {}, {"deployer", "admin"}),
    ("POST", "/api/v1/environments/staging/approve", {}, {"approver", "admin"}),
    ("POST", "/api/v1/environments/staging/reject", {"reason": "no"}, {"approver", "admin"}),
    ("POST", "/api/v1/gates", {"only": ["no-such-gate"]}, {"deployer", "admin"}),
    ("POST", "/api/v1/tokens", {"name": "fresh", "role": "viewer"}, {"admin"}),
    ("DELETE", "/api/v1/tokens/nobody", None, {"admin"}),
]
ROLES = ["viewer", "deployer", "approver", "admin"]


def _send(client: TestClient, method: str, path: str, body: Any, headers: dict[str, str]) -> int:
    response = client.request(method, path, json=body, headers=headers)
    return response.status_code


Case = tuple[str, str, dict[str, Any] | None, set[str]]


@pytest.mark.parametrize("case", WRITES, ids=[w[1] for w in WRITES])
@pytest.mark.parametrize("role", ROLES)
def test_role_against_write_endpoint(
    client: TestClient, tokens: dict[str, str], role: str, case: Case
) -> None:
    method, path, body, allowed = case
    status = _send(client, method, path, body, bearer(tokens[role]))
    if role in allowed:
        assert status not in (401, 403, 500), status
    else:
        assert status == 403


@pytest.mark.parametrize("case", WRITES, ids=[w[1] for w in WRITES])
def test_no_anonymous_or_revoked_write(
    client: TestClient, tokens: dict[str, str], case: Case
) -> None:
    method, path, body, _allowed = case
    assert _send(client, method, path, body, {}) == 401
    assert _send(client, method, path, body, bearer(tokens["revoked"])) == 401
    assert _send(client, method, path, body, bearer("mdt_made-up")) == 401


def test_environment_scoped_token_only_acts_on_its_environment(
    client: TestClient, tokens: dict[str, str]
) -> None:
    scoped = bearer(tokens["prod-deployer"])
    refused = client.post("/api/v1/environments/staging/pause", headers=scoped)
    assert refused.status_code == 403 and "scoped to 'production'" in refused.json()["error"]
    # On its own environment it passes authorization (and is told nothing is in progress).
    allowed = client.post("/api/v1/environments/production/pause", headers=scoped)
    assert allowed.status_code == 400 and "in progress" in allowed.json()["error"]
    # Reading is not scoped; token management and gates need an unscoped token.
    assert client.get("/api/v1/environments/staging", headers=scoped).status_code == 200
    assert client.post("/api/v1/gates", json={}, headers=scoped).status_code == 403


def test_reads_need_a_token(client: TestClient, tokens: dict[str, str]) -> None:
    assert client.get("/api/v1/environments").status_code == 401
    assert client.get("/api/v1/environments", headers=bearer(tokens["viewer"])).status_code == 200
    assert client.get("/api/v1/tokens", headers=bearer(tokens["viewer"])).status_code == 403


def test_failed_logins_are_rate_limited(client: TestClient, tokens: dict[str, str]) -> None:
    for _ in range(10):
        assert client.get("/api/v1/whoami", headers=bearer("mdt_wrong")).status_code == 401
    limited = client.get("/api/v1/whoami", headers=bearer(tokens["admin"]))
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_actions_are_audited_with_the_token_name(
    client: TestClient, tokens: dict[str, str], service: ControlService
) -> None:
    created = client.post(
        "/api/v1/tokens", json={"name": "ci", "role": "deployer"}, headers=bearer(tokens["admin"])
    )
    assert created.status_code == 201 and created.json()["token"].startswith("mdt_")
    audit = client.get("/api/v1/audit", headers=bearer(tokens["viewer"])).json()
    newest = audit[0]
    assert (newest["actor"], newest["action"], newest["target"]) == (
        "admin",
        "token_create",
        "token/ci",
    )
    # Only the hash is stored: the token value is nowhere in the ledger file.
    project = service.project()
    with Ledger.open(ledger_url(project.layout.ledger_db)):
        data = project.layout.ledger_db.read_bytes()
        assert created.json()["token"].encode() not in data
    login = client.post("/login", json={"token": created.json()["token"]})
    assert login.status_code == 200


def test_dashboard_writes_need_the_csrf_token(client: TestClient, tokens: dict[str, str]) -> None:
    login = client.post("/login", json={"token": tokens["deployer"]})
    assert login.status_code == 200
    csrf = login.json()["csrf"]
    assert client.get("/api/v1/whoami").json()["name"] == "deployer"  # the cookie
    without = client.post("/api/v1/environments/staging/pause")
    assert without.status_code == 403 and "CSRF" in without.json()["error"]
    wrong = client.post("/api/v1/environments/staging/pause", headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403
    right = client.post("/api/v1/environments/staging/pause", headers={"X-CSRF-Token": csrf})
    assert right.status_code == 400  # authorized; nothing in progress to pause
    assert client.get("/session").json()["csrf"] == csrf
    client.post("/logout")
    assert client.get("/api/v1/whoami").status_code == 401


def test_a_token_revoked_elsewhere_stops_at_its_next_request(
    client: TestClient, tokens: dict[str, str], spec_path: Path
) -> None:
    """The token check reads the ledger on every request (no cache), so a revocation by
    another process (the local CLI, a second server) counts at once."""
    headers = {"Authorization": f"Bearer {tokens['viewer']}"}
    assert client.get("/api/v1/whoami", headers=headers).json()["name"] == "viewer"
    project = Project.open(spec_path)
    try:
        revoke_token(project, "viewer")
    finally:
        project.close()
    assert client.get("/api/v1/whoami", headers=headers).status_code == 401
