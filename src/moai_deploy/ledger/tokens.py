"""API tokens in the ledger: created once (the caller shows it), stored as a SHA-256 hash.

A token is 32 random bytes (secrets.token_urlsafe), so a fast hash is enough: there is no
password to guess, and the hash only has to keep a ledger reader from using the token.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError

from moai_deploy.errors import BadInputError, LockedError
from moai_deploy.ledger.control_models import ApiTokenRow
from moai_deploy.ledger.models import utcnow
from moai_deploy.ledger.store import Ledger

TOKEN_PREFIX = "mdt_"  # noqa: S105  # nosec B105 - a marker, not a secret
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


class Role(StrEnum):
    VIEWER = "viewer"
    DEPLOYER = "deployer"
    APPROVER = "approver"
    ADMIN = "admin"


@dataclass(frozen=True)
class TokenRecord:
    """A token's identity and powers (never the token itself)."""

    id: int
    name: str
    role: Role
    environment: str | None
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def actor(self) -> str:
        """The name the audit log and approvals record for this token's actions."""
        return self.name

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role.value,
            "environment": self.environment,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
        }


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_role(text: str) -> Role:
    """A role name, or BadInputError listing the roles."""
    try:
        return Role(text)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise BadInputError(f"unknown role {text!r}\n    fix: use one of: {known}") from None


_TOKENS = ApiTokenRow.__table__
_LIVE_COLUMNS = (
    "id", "name", "role", "environment", "created_at", "created_by", "revoked_at", "last_used_at"
)  # fmt: skip
_BY_HASH = select(*(_TOKENS.c[name] for name in _LIVE_COLUMNS)).where(
    _TOKENS.c.revoked_at.is_(None)
)


def _record(row: ApiTokenRow | Row[Any]) -> TokenRecord:
    """From an ORM row or a Core row of the same columns."""
    return TokenRecord(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        environment=row.environment,
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


class TokenStore:
    """Create, look up, list and revoke API tokens."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def create(
        self, name: str, role: Role, environment: str | None, created_by: str
    ) -> tuple[str, TokenRecord]:
        """A new token (returned once, never stored) and its record."""
        if not _NAME.match(name):
            raise BadInputError(
                f"token name {name!r} is not valid\n    fix: letters, digits and . _ @ - "
                "(up to 64 characters), starting with a letter or digit"
            )
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiTokenRow(
            name=name,
            role=role.value,
            environment=environment,
            token_hash=hash_token(token),
            created_at=utcnow(),
            created_by=created_by,
        )
        try:
            with self.ledger.write_session() as session:
                session.add(row)
                session.flush()
                return token, _record(row)
        except IntegrityError:
            raise LockedError(
                f"a token named {name!r} exists\n    fix: choose another name, or "
                f"`moai-deploy token revoke {name}` first"
            ) from None

    def authenticate(self, token: str) -> TokenRecord | None:
        """The live (not revoked) token with this value, or None.

        Every API request pays this, so it is one Core select on the unique (so indexed)
        hash column, without an ORM session: no cache, so a revocation counts at once.
        """
        if not token.startswith(TOKEN_PREFIX):
            return None
        query = _BY_HASH.where(_TOKENS.c.token_hash == hash_token(token))
        with self.ledger.read_connection() as connection:
            row = connection.execute(query).first()
        return _record(row) if row is not None else None

    def get(self, name: str) -> TokenRecord | None:
        """The token named `name` (revoked or not), or None."""
        with self.ledger.read_session() as session:
            row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.name == name))
            return _record(row) if row is not None else None

    def list(self) -> list[TokenRecord]:
        with self.ledger.read_session() as session:
            return [_record(r) for r in session.scalars(select(ApiTokenRow).order_by("id"))]

    def revoke(self, name: str) -> TokenRecord:
        """Revoke by name; BadInputError if there is no such live token."""
        with self.ledger.write_session() as session:
            row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.name == name))
            if row is None or row.revoked_at is not None:
                raise BadInputError(f"no live token named {name!r}")
            row.revoked_at = utcnow()
            return _record(row)
