"""Who is calling and what they may do: API tokens, roles, environment scope, sessions.

Roles: viewer reads; deployer also deploys, promotes, pauses, resumes, aborts, retries,
rolls back and runs gates; approver also approves and rejects; admin does everything and
manages tokens. A token scoped to one environment acts on that environment only.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from moai_deploy.errors import ForbiddenError
from moai_deploy.ledger.store import Ledger
from moai_deploy.ledger.tokens import Role, TokenRecord, TokenStore


class Permission(StrEnum):
    READ = "read"
    DEPLOY = "deploy"
    APPROVE = "approve"
    ADMIN = "admin"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.DEPLOYER: frozenset({Permission.READ, Permission.DEPLOY}),
    Role.APPROVER: frozenset({Permission.READ, Permission.APPROVE}),
    Role.ADMIN: frozenset(Permission),
}


class AuthError(Exception):
    """No valid credentials (HTTP 401)."""


class RateLimited(Exception):
    """Too many failed logins from this client (HTTP 429)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed logins; retry in {retry_after:.0f}s")
        self.retry_after = retry_after


def authorize(token: TokenRecord, permission: Permission, environment: str | None) -> None:
    """Raise ForbiddenError unless `token` may do `permission` on `environment`."""
    if permission not in GRANTS[token.role]:
        raise ForbiddenError(f"role {token.role.value} may not {permission.value}")
    if (
        permission is not Permission.READ
        and token.environment is not None
        and environment != token.environment
    ):
        where = environment or "every environment"
        raise ForbiddenError(
            f"token {token.name} is scoped to {token.environment!r}, not {where!r}"
        )


class FailedLogins:
    """At most `limit` failed logins per client in `window` seconds; then 429 until it passes."""

    def __init__(self, limit: int = 10, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        with self._lock:
            recent = self._recent(client)
            if len(recent) >= self.limit:
                raise RateLimited(self.window - (time.monotonic() - recent[0]))

    def failed(self, client: str) -> None:
        with self._lock:
            self._recent(client).append(time.monotonic())

    def _recent(self, client: str) -> deque[float]:
        recent = self._failures.setdefault(client, deque())
        while recent and time.monotonic() - recent[0] > self.window:
            recent.popleft()
        return recent


@dataclass(frozen=True)
class Session:
    """A dashboard login: the token stays with the browser only as this session's id."""

    token_name: str
    csrf: str
    expires: float


class Authenticator:
    """Bearer tokens for programs, session cookies (plus a CSRF token) for the dashboard."""

    def __init__(self, ledger: Ledger, limiter: FailedLogins | None = None) -> None:
        self.tokens = TokenStore(ledger)
        self.limiter = limiter or FailedLogins()
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self.session_ttl = 8 * 3600.0

    def bearer(self, token: str, client: str) -> TokenRecord:
        self.limiter.check(client)
        record = self.tokens.authenticate(token)
        if record is None:
            self.limiter.failed(client)
            raise AuthError("invalid or revoked token")
        return record

    def login(self, token: str, client: str) -> tuple[str, Session, TokenRecord]:
        """A new session for a valid token: (session id, session, token record)."""
        record = self.bearer(token, client)
        session = Session(record.name, secrets.token_urlsafe(24), time.time() + self.session_ttl)
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[session_id] = session
        return session_id, session, record

    def session(self, session_id: str, client: str) -> tuple[Session, TokenRecord]:
        """The live session and its (still valid) token; AuthError otherwise."""
        self.limiter.check(client)
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None or session.expires < time.time():
            self.limiter.failed(client)
            raise AuthError("not logged in")
        record = self.tokens.get(session.token_name)
        if record is None or record.revoked_at is not None:
            self.logout(session_id)
            raise AuthError("the session's token was revoked")
        return session, record

    def logout(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)


def csrf_matches(session: Session, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(session.csrf, presented)
