"""Read endpoints: environments, releases, steps, audit, approvals, trace, jobs, DORA."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from moai_deploy.errors import NotFoundError
from moai_deploy.server.auth import Permission
from moai_deploy.server.deps import Principal, require
from moai_deploy.service import ControlService

router = APIRouter(tags=["read"])
Reader = Annotated[Principal, Depends(require(Permission.READ))]
EnvPath = Annotated[str, Path(description="Environment name from the spec.", max_length=64)]
EnvQuery = Annotated[str | None, Query(description="Only this environment.", max_length=64)]
Limit = Annotated[int, Query(ge=1, le=1000)]


def service_of(request: Request) -> ControlService:
    service: ControlService = request.app.state.service
    return service


@router.get("/whoami")
def whoami(principal: Reader) -> dict[str, Any]:
    """The calling token: name, role, environment scope."""
    return {**principal.token.to_dict(), "via_session": principal.via_session}


@router.get("/environments")
def environments(request: Request, _: Reader) -> list[dict[str, Any]]:
    """Every environment with its live release, unfinished releases, instances and weights."""
    return service_of(request).environments()


@router.get("/environments/{environment}")
def environment(environment: EnvPath, request: Request, _: Reader) -> dict[str, Any]:
    """One environment's live status."""
    return service_of(request).environment(environment)


@router.get("/environments/{environment}/releases")
def environment_releases(
    environment: EnvPath, request: Request, _: Reader, limit: Limit = 50
) -> list[dict[str, Any]]:
    """The environment's releases, newest first."""
    return service_of(request).releases(environment, limit)


@router.get("/environments/{environment}/trace")
def trace(environment: EnvPath, request: Request, _: Reader) -> dict[str, Any]:
    """Which SPECs are live in the environment, since when, from which commit."""
    return service_of(request).trace(environment)


@router.get("/releases")
def releases(
    request: Request, _: Reader, environment: EnvQuery = None, limit: Limit = 50
) -> list[dict[str, Any]]:
    """Releases of every (or one) environment, newest first."""
    return service_of(request).releases(environment, limit)


@router.get("/releases/{release_id}")
def release(
    release_id: Annotated[int, Path(ge=1, le=2**62)], request: Request, _: Reader
) -> dict[str, Any]:
    """One release with its steps and approval decisions."""
    return service_of(request).release(release_id)


@router.get("/audit")
def audit(
    request: Request, _: Reader, environment: EnvQuery = None, limit: Limit = 100
) -> list[dict[str, Any]]:
    """Every action with its actor, newest first."""
    return service_of(request).audit(environment, limit)


@router.get("/approvals")
def pending_approvals(request: Request, _: Reader) -> list[dict[str, Any]]:
    """Releases waiting for approval, with who approved so far."""
    return service_of(request).pending_approvals()


@router.get("/pipelines")
def pipelines(request: Request, _: Reader, limit: Limit = 20) -> list[dict[str, Any]]:
    """Pipeline runs (`ship`), newest first, with their stages."""
    return service_of(request).pipelines(limit)


@router.get("/pipelines/{run_id}")
def pipeline(
    run_id: Annotated[int, Path(ge=1, le=2**62)], request: Request, _: Reader
) -> dict[str, Any]:
    """One pipeline run with its stages."""
    return service_of(request).pipeline(run_id)


@router.get("/jobs/{job_id}")
def job(
    job_id: Annotated[int, Path(ge=1, le=2**62)], request: Request, _: Reader
) -> dict[str, Any]:
    """A long operation started through the API (deploy, rollback, abort...)."""
    found = request.app.state.jobs.get(job_id)
    if found is None:
        raise NotFoundError(f"no job {job_id}")
    data: dict[str, Any] = found.to_dict()
    return data


@router.get("/dora")
def dora(
    request: Request,
    _: Reader,
    environment: EnvQuery = None,
    days: Annotated[float, Query(ge=0.01, le=3650)] = 7.0,
) -> dict[str, Any]:
    """DORA metrics over the last `days`, beside the seed's targets."""
    from moai_deploy.observe.dora import dora_report

    service = service_of(request)
    env = environment or service.production_environment()
    service.check_environment(env)
    project = service.project()
    return dora_report(project, env, days).to_dict()
