"""Alembic environment: runs on the connection `Ledger.open` passes in.

There is no alembic.ini; `moai_deploy.ledger._engine.migrate` builds the config and
puts the open connection (already inside a locked transaction) in
`config.attributes["connection"]`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from moai_deploy.ledger.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode lets later migrations copy tables.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("moai-deploy migrations need config.attributes['connection']")
_run(connection)
