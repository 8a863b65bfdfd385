"""FastAPI dependencies: the calling principal, checked against a permission."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from moai_deploy.ledger.tokens import TokenRecord
from moai_deploy.server.auth import (
    Authenticator,
    AuthError,
    Permission,
    authorize,
    csrf_matches,
)

SESSION_COOKIE = "moai_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    token: TokenRecord
    via_session: bool

    @property
    def name(self) -> str:
        return self.token.actor


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def principal_of(request: Request) -> Principal:
    """The caller from `Authorization: Bearer` or the session cookie (+ CSRF on writes)."""
    auth: Authenticator = request.app.state.auth
    client = client_of(request)
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            auth.limiter.failed(client)
            raise AuthError("use `Authorization: Bearer TOKEN`")
        return Principal(auth.bearer(value.strip(), client), via_session=False)
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        raise AuthError("authentication required: a Bearer token or a dashboard login")
    session, token = auth.session(session_id, client)
    if request.method not in _SAFE_METHODS and not csrf_matches(
        session, request.headers.get(CSRF_HEADER)
    ):
        raise CsrfError("missing or wrong CSRF token")
    return Principal(token, via_session=True)


class CsrfError(Exception):
    """A cookie-authenticated write without the session's CSRF token (HTTP 403)."""


def require(permission: Permission) -> Callable[[Request], Principal]:
    """A dependency: the caller, authorized for `permission` on the path's environment.

    Endpoints run their work inside `acting_as(principal.name)` (a dependency runs in
    another thread than a sync endpoint, so it cannot set the actor for it).
    """

    def dependency(request: Request) -> Principal:
        principal = principal_of(request)
        authorize(principal.token, permission, request.path_params.get("environment"))
        return principal

    return dependency
