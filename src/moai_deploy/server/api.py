"""The FastAPI application: versioned REST API, event stream, dashboard, /metrics.

Errors map to HTTP like exit codes do on the command line: bad input 400, unknown
thing 404, not allowed 403, locked 409, a release that failed 422, no credentials 401,
too many failed logins 429. Nothing a user sends produces a 500.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from moai_deploy import __version__
from moai_deploy.errors import (
    BadInputError,
    ForbiddenError,
    LockedError,
    MoaiError,
    NotFoundError,
)
from moai_deploy.server.auth import Authenticator, AuthError, RateLimited
from moai_deploy.server.deps import CsrfError
from moai_deploy.server.hub import EventHub, EventSource
from moai_deploy.server.jobs import Jobs, job_reporter
from moai_deploy.service import ControlService

API_PREFIX = "/api/v1"


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _status_of(exc: MoaiError) -> int:
    for kind, status in (
        (NotFoundError, 404),
        (ForbiddenError, 403),
        (BadInputError, 400),
        (LockedError, 409),
    ):
        if isinstance(exc, kind):
            return status
    return 422


def _install_error_handlers(app: FastAPI) -> None:
    async def moai_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, MoaiError)
        return _error(_status_of(exc), str(exc))

    async def auth_error(request: Request, exc: Exception) -> JSONResponse:
        return _error(401, str(exc), {"WWW-Authenticate": "Bearer"})

    async def rate_limited(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RateLimited)
        return _error(429, str(exc), {"Retry-After": str(max(1, round(exc.retry_after)))})

    async def csrf_error(request: Request, exc: Exception) -> JSONResponse:
        return _error(403, str(exc))

    app.add_exception_handler(MoaiError, moai_error)
    app.add_exception_handler(AuthError, auth_error)
    app.add_exception_handler(RateLimited, rate_limited)
    app.add_exception_handler(CsrfError, csrf_error)


def _event_source(service: ControlService) -> EventSource:
    from moai_deploy.server.sources import JournalEventSource

    project = service.project()
    return JournalEventSource(project.ledger, project.service)


def create_app(
    service: ControlService, auth: Authenticator | None = None, *, live_samples: bool = True
) -> FastAPI:
    """The server's app over `service`; `auth` defaults to the project's token store."""
    from moai_deploy.server import (
        dashboard,
        events,
        metrics,
        routes_ops,
        routes_read,
        routes_write,
    )
    from moai_deploy.server.live import LiveSampler

    service.watch_reporters(job_reporter)  # a job's phase follows its release's steps
    hub = EventHub(_event_source(service))
    sampler = LiveSampler(service) if live_samples else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        hub.start(sampler)
        try:
            yield
        finally:
            hub.stop()
            app.state.jobs.wait_all(5.0)
            if sampler is not None:
                sampler.close()

    app = FastAPI(
        lifespan=lifespan,
        title="moai-deploy control plane",
        version=__version__,
        description="Releases, approvals and the event log of one moai-deploy project.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.service = service
    app.state.auth = auth or Authenticator(service.project().ledger)
    app.state.jobs = Jobs()
    app.state.hub = hub
    _install_error_handlers(app)
    app.include_router(routes_read.router, prefix=API_PREFIX)
    app.include_router(routes_write.router, prefix=API_PREFIX)
    app.include_router(routes_ops.router, prefix=API_PREFIX)
    app.include_router(events.router, prefix=API_PREFIX)
    app.include_router(metrics.router)
    app.include_router(dashboard.router)

    @app.get("/healthz", tags=["server"])
    def healthz() -> dict[str, Any]:
        """Liveness of the server itself (no authentication)."""
        return {"ok": True, "version": __version__}

    return app
