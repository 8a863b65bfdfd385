"""The hello-service HTTP app: a greeting, liveness, readiness and Prometheus metrics.

Run: `python -m uvicorn app.main:app --host 127.0.0.1 --port PORT`. Knobs (see knobs.py)
come from the environment and are read once, when the app is created.
"""

# @CODE:HELLO-001

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from .knobs import ErrorSchedule, KnobError, Knobs
from .metrics import Metrics, MetricsMiddleware
from .version import __version__

VERSION_HEADER = "X-App-Version"


@dataclass
class Lifecycle:
    """Where the process is in its life, as far as readiness is concerned."""

    knobs: Knobs
    started_at: float | None = None  # monotonic time of lifespan startup
    shutting_down: bool = False

    def not_ready_reason(self) -> str | None:
        """Why the service must not get traffic now, or None when it may."""
        if self.shutting_down:
            return "shutting down"
        if self.knobs.never_ready:
            return "never ready (HELLO_NEVER_READY)"
        if self.started_at is None:
            return "not started"
        up_for = time.monotonic() - self.started_at
        if up_for < self.knobs.start_delay_s:
            return "starting (HELLO_START_DELAY)"
        if 0 < self.knobs.unready_after_s <= up_for:
            return "failing its readiness check (HELLO_UNREADY_AFTER)"
        return None

    def fault_active(self) -> bool:
        """Whether the error-rate and latency knobs apply yet (HELLO_FAULT_AFTER)."""
        if self.started_at is None:
            return False
        return time.monotonic() - self.started_at >= self.knobs.fault_after_s


def create_app(env: Mapping[str, str] | None = None) -> FastAPI:
    """Build the app from `env` (default: os.environ); raises KnobError on a bad knob."""
    env = os.environ if env is None else env
    knobs = Knobs.from_env(env)
    life = Lifecycle(knobs)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        life.started_at = time.monotonic()
        life.shutting_down = False
        yield
        # Once shutdown begins, a router polling /ready must stop sending us traffic.
        life.shutting_down = True

    app = FastAPI(title="hello-service", version=__version__, lifespan=lifespan)
    metrics = Metrics()
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.state.lifecycle = life
    _add_routes(app, env, knobs, life, metrics)
    return app


def _add_routes(
    app: FastAPI, env: Mapping[str, str], knobs: Knobs, life: Lifecycle, metrics: Metrics
) -> None:
    identity = {
        "service": "hello",
        "version": __version__,
        "release": env.get("MOAI_DEPLOY_VERSION") or None,
        "instance": env.get("MOAI_DEPLOY_INSTANCE") or None,
    }
    errors = ErrorSchedule(knobs.error_rate)
    headers = {VERSION_HEADER: __version__}

    @app.get("/")
    async def hello() -> JSONResponse:
        # Decide on arrival, so the failing requests follow arrival order exactly.
        active = life.fault_active()
        fails = active and errors.next_fails()
        if active and knobs.latency_s > 0:
            await asyncio.sleep(knobs.latency_s)
        if fails:
            body = {"error": "injected failure (HELLO_ERROR_RATE)", "version": __version__}
            return JSONResponse(body, status_code=500, headers=headers)
        return JSONResponse(identity, headers=headers)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> JSONResponse:
        reason = life.not_ready_reason()
        if reason is None:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)


def _app_from_environment() -> FastAPI:
    try:
        return create_app()
    except KnobError as exc:
        # Exit with one clear line instead of an import traceback from uvicorn.
        raise SystemExit(f"hello-service: bad configuration: {exc}") from None


app = _app_from_environment()
