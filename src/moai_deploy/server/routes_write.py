"""Write endpoints: deploy, rollback, retry, promote, pause, resume, abort, approve,
reject, gates, tokens. Each is authorized by role and environment scope and runs as
its caller, so the audit log and approvals name the token that acted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from moai_deploy.ledger.tokens import Role
from moai_deploy.pipeline.operations import DeployOptions
from moai_deploy.rollout.lock import acting_as
from moai_deploy.server.auth import Permission
from moai_deploy.server.deps import Principal, require
from moai_deploy.server.jobs import Job
from moai_deploy.server.routes_read import EnvPath, service_of
from moai_deploy.service import GateOptions
from moai_deploy.spec._types import VERSION_PATTERN

router = APIRouter(tags=["write"])
Deployer = Annotated[Principal, Depends(require(Permission.DEPLOY))]
Approver = Annotated[Principal, Depends(require(Permission.APPROVE))]
Admin = Annotated[Principal, Depends(require(Permission.ADMIN))]
ACCEPT_WAIT = 2.0  # seconds a request waits for a long operation before answering 202
_HTTP_OF_EXIT = {1: 422, 2: 400, 3: 409}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WaitBody(_Body):
    wait: bool = Field(default=False, description="Answer only when the operation finished.")


class LockedBody(WaitBody):
    lock_wait: float = Field(
        default=0.0, ge=0, le=3600, description="Seconds to wait for the environment's lock."
    )

    def options(self, resume: bool = False) -> DeployOptions:
        return DeployOptions(lock_wait=self.lock_wait, resume=resume)


class DeployBody(LockedBody):
    version: str | None = Field(default=None, pattern=VERSION_PATTERN)
    force_reason: str | None = Field(
        default=None, max_length=500, description="Deploy although a required gate failed."
    )
    resume: bool = Field(default=False, description="Continue the release a killed run left.")


class RollbackBody(LockedBody):
    to: str | None = Field(default=None, pattern=VERSION_PATTERN)


class PromoteBody(WaitBody):
    full: bool = False


class ApproveBody(_Body):
    comment: str = Field(default="", max_length=500)


class RejectBody(WaitBody):
    reason: str = Field(min_length=1, max_length=500)


class TokenBody(_Body):
    name: str = Field(min_length=1, max_length=64)
    role: Role
    environment: str | None = Field(default=None, max_length=64)


def _launch(
    request: Request,
    principal: Principal,
    environment: str,
    work: Callable[[], dict[str, Any]],
    wait: bool,
) -> JSONResponse:
    """Run `work` as a job; answer with its outcome, or 202 while it still runs."""
    service_of(request).check_environment(environment)
    action = request.url.path.rsplit("/", 1)[-1]
    with acting_as(principal.name):
        job: Job = request.app.state.jobs.start(action, environment, principal.name, work)
    job.done.wait(None if wait else ACCEPT_WAIT)
    if not job.done.is_set():
        return JSONResponse(job.to_dict(), status_code=202)
    if job.error is not None:
        status = _HTTP_OF_EXIT.get(job.exit_code or 1, 422)
        return JSONResponse({"error": job.error, "job": job.to_dict()}, status_code=status)
    return JSONResponse(job.to_dict(), status_code=200)


@router.post("/environments/{environment}/deploy")
def deploy(
    environment: EnvPath, request: Request, who: Deployer, body: DeployBody | None = None
) -> Any:
    """Release the project's current commit to the environment with its strategy."""
    body = body or DeployBody()
    service = service_of(request)

    def work() -> dict[str, Any]:
        options = body.options(resume=body.resume)
        return service.deploy(environment, body.version, body.force_reason, options)

    return _launch(request, who, environment, work, body.wait)


@router.post("/environments/{environment}/rollback")
def rollback(
    environment: EnvPath, request: Request, who: Deployer, body: RollbackBody | None = None
) -> Any:
    """Back to the previous (or named) succeeded release."""
    body = body or RollbackBody()
    service = service_of(request)
    options = body.options()
    return _launch(
        request,
        who,
        environment,
        lambda: service.rollback(environment, body.to, options),
        body.wait,
    )


@router.post("/environments/{environment}/retry")
def retry(
    environment: EnvPath, request: Request, who: Deployer, body: LockedBody | None = None
) -> Any:
    """Run the latest aborted or failed release again."""
    body = body or LockedBody()
    service, options = service_of(request), body.options()
    return _launch(
        request, who, environment, lambda: service.retry(environment, options), body.wait
    )


@router.post("/environments/{environment}/promote")
def promote(
    environment: EnvPath, request: Request, who: Deployer, body: PromoteBody | None = None
) -> Any:
    """Skip the current pause (or every remaining step with `full`)."""
    body = body or PromoteBody()
    service = service_of(request)
    return _launch(
        request, who, environment, lambda: service.promote(environment, body.full), body.wait
    )


@router.post("/environments/{environment}/abort")
def abort(
    environment: EnvPath, request: Request, who: Deployer, body: WaitBody | None = None
) -> Any:
    """Traffic back to stable at once; the release ends aborted."""
    body = body or WaitBody()
    service = service_of(request)
    return _launch(request, who, environment, lambda: service.abort(environment), body.wait)


@router.post("/environments/{environment}/pause")
def pause(environment: EnvPath, request: Request, who: Deployer) -> dict[str, Any]:
    """Hold the rollout at its next step boundary."""
    with acting_as(who.name):
        return service_of(request).set_paused(environment, True)


@router.post("/environments/{environment}/resume")
def resume(environment: EnvPath, request: Request, who: Deployer) -> dict[str, Any]:
    """Let a paused rollout go on."""
    with acting_as(who.name):
        return service_of(request).set_paused(environment, False)


@router.post("/environments/{environment}/approve")
def approve(
    environment: EnvPath, request: Request, who: Approver, body: ApproveBody | None = None
) -> dict[str, Any]:
    """Approve the release waiting in the environment (not one you deployed)."""
    body = body or ApproveBody()
    with acting_as(who.name):
        return service_of(request).approve(environment, body.comment)


@router.post("/environments/{environment}/reject")
def reject(environment: EnvPath, body: RejectBody, request: Request, who: Approver) -> Any:
    """Reject the waiting release: it is aborted, traffic stays on stable."""
    service = service_of(request)
    return _launch(
        request, who, environment, lambda: service.reject(environment, body.reason), body.wait
    )


class ShipBody(WaitBody):
    version: str | None = Field(default=None, pattern=VERSION_PATTERN)


@router.post("/ship")
def ship(request: Request, who: Deployer, body: ShipBody | None = None) -> Any:
    """Run the spec's pipeline (every stage's deploy and tests); needs an unscoped token."""
    options = body or ShipBody()
    service = service_of(request)
    environment = service.environment_names()[0]  # jobs are filed under an environment
    return _launch(request, who, environment, lambda: service.ship(options.version), options.wait)


class GatesBody(_Body):
    environment: str | None = Field(default=None, max_length=64)
    only: list[str] = Field(default=[], max_length=20, description="Just these gates.")
    advisory: bool = Field(
        default=False,
        description="With `environment`: also run the gates it does not require (they "
        "cannot block), as `moai-deploy gate --env` does.",
    )


@router.post("/gates")
def gates(body: GatesBody, request: Request, who: Deployer) -> dict[str, Any]:
    """Run the quality gates: those `environment` requires, `only` these, or every one;
    their reports are written on the server and the run recorded in its ledger.

    Like token management, this needs a token not scoped to one environment.
    """
    options = GateOptions(only=tuple(body.only), advisory=body.advisory)
    with acting_as(who.name):
        return service_of(request).gates(body.environment, options)


@router.get("/tokens", tags=["admin"])
def list_tokens(request: Request, _: Admin) -> list[dict[str, Any]]:
    """Every API token (never the token values)."""
    return service_of(request).tokens()


@router.post("/tokens", tags=["admin"], status_code=201)
def create_token(body: TokenBody, request: Request, who: Admin) -> dict[str, Any]:
    """A new token; its value is in this answer only."""
    with acting_as(who.name):
        token, record = service_of(request).create_token(body.name, body.role, body.environment)
    return {**record.to_dict(), "token": token}


@router.delete("/tokens/{name}", tags=["admin"])
def revoke_token(name: str, request: Request, who: Admin) -> dict[str, Any]:
    """Revoke a token at once (its sessions end too)."""
    with acting_as(who.name):
        return service_of(request).revoke_token(name).to_dict()
