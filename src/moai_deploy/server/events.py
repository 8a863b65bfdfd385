"""`GET /api/v1/events`: the event log as server-sent events, resumable with Last-Event-ID.

Each ledger event is an unnamed SSE message with `id:` (its ledger id) and the event as
JSON data (`kind` says what happened); a client that reconnects with `Last-Event-ID: N`
gets every event after N, none twice. With `samples=true` the stream also carries
`event: sample` (live weights and traffic per environment, about twice a second; no id,
so they never disturb resumption).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from moai_deploy.server.auth import Permission
from moai_deploy.server.deps import Principal, require
from moai_deploy.server.hub import Event, EventHub

router = APIRouter(tags=["events"])
_TICK = 0.1
_KEEPALIVE = 15.0


def format_event(event: Event) -> str:
    return f"id: {event['id']}\ndata: {json.dumps(event)}\n\n"


def _wanted(event: Event, environment: str | None) -> bool:
    return environment is None or event.get("environment") in (environment, None)


async def _stream(
    request: Request, hub: EventHub, after: int, environment: str | None, samples: bool
) -> AsyncIterator[str]:
    yield "retry: 1000\n\n"
    seen_sample, idle = 0, 0.0
    max_seconds = getattr(request.app.state, "stream_max_seconds", None)
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not await request.is_disconnected():
        events = hub.after(after)
        if events is None:  # older than the buffer: catch up from the ledger itself
            events = await run_in_threadpool(hub.source.since, after, 500)
        for event in events:
            after = int(event["id"])
            if _wanted(event, environment):
                yield format_event(event)
        if samples and hub.sample is not None and hub.sample_seq != seen_sample:
            seen_sample = hub.sample_seq
            yield f"event: sample\ndata: {json.dumps(hub.sample)}\n\n"
        idle = 0.0 if events else idle + _TICK
        if idle >= _KEEPALIVE:
            idle = 0.0
            yield ": keepalive\n\n"
        if max_seconds is not None and loop.time() - started > max_seconds:
            return
        await asyncio.sleep(_TICK)


@dataclass(frozen=True)
class StreamParams:
    environment: str | None
    after: int | None
    samples: bool
    last_event_id: str | None


def _params(
    environment: Annotated[str | None, Query(max_length=64)] = None,
    after: Annotated[int | None, Query(ge=0, le=2**62, description="Start after this id.")] = None,
    samples: Annotated[bool, Query(description="Also send live samples.")] = False,
    last_event_id: Annotated[str | None, Header(max_length=32)] = None,
) -> StreamParams:
    return StreamParams(environment, after, samples, last_event_id)


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def events(
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.READ))],
    params: Annotated[StreamParams, Depends(_params)],
) -> StreamingResponse:
    """Server-sent events of the event log (from now, or after `Last-Event-ID`/`after`)."""
    hub: EventHub = request.app.state.hub
    start = _start_id(hub, params.after, params.last_event_id)
    headers: dict[str, Any] = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _stream(request, hub, start, params.environment, params.samples),
        media_type="text/event-stream",
        headers=headers,
    )


def _start_id(hub: EventHub, after: int | None, last_event_id: str | None) -> int:
    if last_event_id is not None and last_event_id.strip().isdigit():
        return int(last_event_id.strip())
    if after is not None:
        return after
    return hub.last_id
