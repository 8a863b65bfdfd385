"""API tokens as operations: created (shown once) and revoked, both audited."""

from __future__ import annotations

from moai_deploy.ledger.tokens import Role, TokenRecord, TokenStore
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.lock import actor


def _audit(project: Project, action: str, record: TokenRecord) -> None:
    project.ledger.record_audit(
        actor=actor(),
        action=action,
        target=f"token/{record.name}",
        outcome="succeeded",
        service=project.service,
        environment=record.environment,
        detail={"role": record.role.value, "environment": record.environment},
    )


def create_token(
    project: Project, name: str, role: Role, environment: str | None
) -> tuple[str, TokenRecord]:
    """A new token for `role` (scoped to `environment` if given); the value is not kept."""
    if environment is not None:
        project.environment(environment)  # unknown name is bad input
    token, record = TokenStore(project.ledger).create(name, role, environment, actor())
    _audit(project, "token_create", record)
    return token, record


def revoke_token(project: Project, name: str) -> TokenRecord:
    """Revoke the token named `name`; it stops working at once."""
    record = TokenStore(project.ledger).revoke(name)
    _audit(project, "token_revoke", record)
    return record
