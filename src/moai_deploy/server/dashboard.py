"""The dashboard: one HTML page and its script, plus the login that gives it a session.

A login exchanges an API token for an HttpOnly, SameSite=Strict session cookie and a
CSRF token the page sends back in `X-CSRF-Token` on every write (see deps.principal_of).
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from moai_deploy.server.auth import Authenticator, AuthError
from moai_deploy.server.deps import SESSION_COOKIE, client_of

router = APIRouter(tags=["dashboard"])
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def _asset(name: str) -> str:
    return resources.files("moai_deploy.server").joinpath("static", name).read_text()


def _headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": _CSP,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def page() -> HTMLResponse:
    return HTMLResponse(_asset("dashboard.html"), headers=_headers())


@router.get("/static/{name}", include_in_schema=False)
def asset(name: str) -> Response:
    types = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
    if name not in types:
        return Response(status_code=404)
    return Response(_asset(name), media_type=types[name], headers=_headers())


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=200)


@router.post("/login")
def login(body: LoginBody, request: Request) -> JSONResponse:
    """Exchange a token for a dashboard session (cookie) and its CSRF token."""
    auth: Authenticator = request.app.state.auth
    session_id, session, record = auth.login(body.token, client_of(request))
    response = JSONResponse({"csrf": session.csrf, **record.to_dict()})
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(auth.session_ttl),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.get("/session")
def session(
    request: Request, moai_session: Annotated[str | None, Cookie(max_length=100)] = None
) -> dict[str, Any]:
    """The current dashboard session: who, and the CSRF token for writes."""
    if not moai_session:
        raise AuthError("not logged in")
    auth: Authenticator = request.app.state.auth
    current, record = auth.session(moai_session, client_of(request))
    return {"csrf": current.csrf, **record.to_dict()}


@router.post("/logout")
def logout(
    request: Request, moai_session: Annotated[str | None, Cookie(max_length=100)] = None
) -> JSONResponse:
    """End the dashboard session."""
    if moai_session:
        request.app.state.auth.logout(moai_session)
    response = JSONResponse({"ok": True})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
