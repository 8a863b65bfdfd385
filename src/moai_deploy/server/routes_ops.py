"""Operator endpoints: the event log as a list, instance logs, the rollout lock.

`GET /events` streams the event log; `GET /event-log` pages through it (what
`moai-deploy events` prints). Instance logs need the deploy permission (an application's
output may carry what a viewer should not read); breaking another holder's lock needs admin.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from moai_deploy.rollout.lock import acting_as
from moai_deploy.server.auth import Permission, authorize
from moai_deploy.server.deps import Principal, require
from moai_deploy.server.routes_read import EnvPath, EnvQuery, Limit, Reader, service_of
from moai_deploy.service.logs import LogQuery

router = APIRouter(tags=["operations"])
Deployer = Annotated[Principal, Depends(require(Permission.DEPLOY))]
Id = Annotated[int | None, Query(ge=1, le=2**62)]


@router.get("/event-log")
def event_log(
    request: Request,
    _: Reader,
    environment: EnvQuery = None,
    release: Id = None,
    after: Annotated[int, Query(ge=0, le=2**62, description="Only events after this id.")] = 0,
    limit: Limit = 500,
) -> list[dict[str, Any]]:
    """The rollout event log, oldest first: transitions, steps, weights, measurements."""
    return service_of(request).events(environment, release, after, limit)


def _log_query(
    release: Id = None,
    instance: Annotated[str | None, Query(max_length=128)] = None,
    lines: Annotated[int, Query(ge=0, le=10_000)] = 100,
    since: Annotated[
        float | None, Query(ge=0, le=10 * 365 * 86400, description="Seconds back.")
    ] = None,
) -> LogQuery:
    return LogQuery(release, instance, lines, time.time() - since if since is not None else None)


@router.get("/environments/{environment}/logs")
def logs(
    environment: EnvPath,
    request: Request,
    _: Deployer,
    query: Annotated[LogQuery, Depends(_log_query)],
) -> list[dict[str, Any]]:
    """The last `lines` of each instance's log: of `release` (default: the live one)."""
    return service_of(request).logs(environment, query)


@router.get("/locks")
def locks(request: Request, _: Reader) -> list[dict[str, Any]]:
    """Who holds which environment's rollout lock, and whether the holder is alive."""
    return service_of(request).locks()


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LockBody(_Body):
    message: str = Field(min_length=1, max_length=500, description="Why (shown to others).")


class UnlockBody(_Body):
    force: bool = Field(default=False, description="Break a lock someone else holds (admin).")
    reason: str | None = Field(default=None, max_length=500, description="Why (with force).")


@router.post("/environments/{environment}/lock")
def lock_acquire(
    environment: EnvPath, body: LockBody, request: Request, who: Deployer
) -> dict[str, Any]:
    """Hold the environment's lock by hand (e.g. maintenance): rollouts get 409 until released."""
    with acting_as(who.name):
        return service_of(request).lock_acquire(environment, body.message)


@router.post("/environments/{environment}/lock/release")
def lock_release(
    environment: EnvPath, request: Request, who: Deployer, body: UnlockBody | None = None
) -> dict[str, Any]:
    """Release the manual lock; `force` with a `reason` breaks any holder's (admin only)."""
    body = body or UnlockBody()
    if body.force:
        authorize(who.token, Permission.ADMIN, environment)
    reason = (body.reason or "") if body.force else None
    with acting_as(who.name):
        return service_of(request).lock_release(environment, reason)
