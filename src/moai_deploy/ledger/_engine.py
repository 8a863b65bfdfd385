"""Engine setup (SQLite pragmas, explicit transactions) and schema migration."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError

from moai_deploy.ledger._heads import MIGRATIONS_DIR, script_heads
from moai_deploy.paths import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE

if TYPE_CHECKING:
    from alembic.config import Config

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Execution option asking for a write transaction (BEGIN IMMEDIATE on SQLite).
WRITE_OPTION = "moai_ledger_write"
# Arbitrary constant key for the advisory lock that serialises PostgreSQL migrations.
_PG_MIGRATION_LOCK_KEY = 0x6D6F6169


def normalize_url(url: str) -> URL:
    """Parse a database URL; plain `postgresql://` uses psycopg 3, the installed driver."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_ledger_engine(url: URL) -> Engine:
    """Engine for the ledger; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        database = Path(url.database).expanduser()
        if database.is_file() and not os.access(database.parent, os.W_OK):
            return _read_only_engine(database)
        _private_sqlite_files(database)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _read_only_engine(database: Path) -> Engine:
    """A read-only state folder (e.g. a read-only mount): status and history still read the
    ledger, as an immutable file (no WAL, no shm, no locks); writes fail with a message."""

    def connect() -> sqlite3.Connection:
        uri = f"file:{database}?mode=ro&immutable=1"
        connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
        connection.isolation_level = None
        return connection

    engine = create_engine(f"sqlite:///{database}", creator=connect)  # URL: for messages
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _private_sqlite_files(database: Path) -> None:
    """The ledger and its WAL/shm files are the owner's only (SQLite gives the WAL and shm
    the database file's mode, so creating that one 0600 first is enough for new ledgers)."""
    if not database.exists():
        database.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
    for path in (
        database,
        database.with_name(database.name + "-wal"),
        database.with_name(database.name + "-shm"),
    ):
        with contextlib.suppress(OSError):  # read-only folder or file: reads still work
            if path.exists() and path.stat().st_mode & 0o077:
                path.chmod(PRIVATE_FILE_MODE)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from pysqlite: it would otherwise run SELECTs
    # outside any transaction and BEGIN only at the first write, breaking atomicity.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first: switching to WAL itself may have to wait for a lock.
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _enable_wal(cursor: sqlite3.Cursor) -> None:
    # WAL is persistent in the file, so only the first opener converts it; that needs an
    # exclusive lock and SQLite reports "locked" at once there instead of calling the busy
    # handler, so concurrent first opens retry here until the busy timeout.
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_on_begin(connection: Connection) -> None:
    # Writers take the write lock up front. A deferred transaction that reads and then
    # writes fails at once with "database is locked" if another writer committed in
    # between (the busy timeout cannot help there); IMMEDIATE waits instead.
    if connection.get_execution_options().get(WRITE_OPTION):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic config built in code (no alembic.ini), pointing at the packaged scripts."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _at_heads(engine: Engine) -> bool:
    """Whether the database already carries every head revision (nothing to migrate)."""
    heads = script_heads()
    if heads is None:
        return False
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version"))
            current = frozenset(str(row[0]) for row in rows)
    except DBAPIError:  # a new database: no version table yet
        return False
    return current == heads


def migrate(engine: Engine) -> None:
    """Upgrade the schema to every head; concurrent openers wait for each other."""
    if _at_heads(engine):
        return
    from alembic import command

    with engine.connect() as connection:
        connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(
                    f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK_KEY})"
                )
            command.upgrade(alembic_config(connection), "heads")
