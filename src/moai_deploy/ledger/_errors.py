"""Database failures as messages for people: which ledger (file or URL), what, and the fix.

Bad configuration (a malformed or unreachable `MOAI_DEPLOY_DB`, a corrupt or unreadable
file) is exit 2; a ledger that stops accepting writes mid-release (full disk, read-only
folder) is exit 1. Never a traceback, never a password in the message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
)

from moai_deploy.errors import BadInputError, MoaiError

_URL_FIX = (
    "set MOAI_DEPLOY_DB to sqlite:////ABSOLUTE/PATH/ledger.sqlite3 or "
    "postgresql://USER@HOST:5432/DB, or unset it to use the project's own SQLite ledger"
)


class LedgerUnavailableError(BadInputError):
    """The ledger cannot be opened: bad URL, unreachable server, corrupt file (exit 2)."""


class LedgerWriteError(MoaiError):
    """The ledger stopped accepting writes (full disk, read-only folder) (exit 1)."""


def describe(url: URL | str) -> str:
    """The ledger for messages: the file of a SQLite URL, else the URL without password."""
    if isinstance(url, str):  # not parseable: hide any user:password part
        return re.sub(r"//[^@/]*@", "//***@", url)
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True)


def bad_url(url: str, exc: Exception) -> LedgerUnavailableError:
    return LedgerUnavailableError(
        f"MOAI_DEPLOY_DB ({describe(url)}) is not a usable database URL: {exc}\n    fix: {_URL_FIX}"
    )


def _reason(exc: DatabaseError) -> str:
    return str(getattr(exc, "orig", exc) or exc).strip().splitlines()[0]


def translate(exc: DatabaseError, url: URL, *, writing: bool) -> MoaiError:
    """The MoaiError to show for a database error on the ledger at `url`."""
    where, reason = describe(url), _reason(exc)
    low = reason.lower()
    if "disk is full" in low or "no space" in low:
        return LedgerWriteError(
            f"the ledger {where} cannot be written: the disk is full\n"
            "    fix: free space on that filesystem; the next command reconciles the ledger"
        )
    if "readonly" in low or "read-only" in low:
        return LedgerWriteError(
            f"the ledger {where} is read-only ({reason})\n"
            "    fix: make the state folder writable (read-only commands work as is)"
        )
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return LedgerUnavailableError(
            f"the ledger {where} is corrupt: {reason}\n"
            f"    fix: restore it from a backup, or move it away to start a new ledger "
            "(the release history is then lost)"
        )
    if url.get_backend_name() != "sqlite" and isinstance(exc, OperationalError):
        return LedgerUnavailableError(
            f"cannot reach the ledger database {where}: {reason}\n"
            f"    fix: start the server or correct MOAI_DEPLOY_DB; {_URL_FIX}"
        )
    error = LedgerWriteError if writing else LedgerUnavailableError
    return error(
        f"the ledger {where} failed: {reason}\n"
        "    fix: check the file, its folder and free space; `moai-deploy doctor` helps"
    )


@contextmanager
def translated(url: URL, *, writing: bool) -> Iterator[None]:
    """Turn SQLAlchemy's database errors on the ledger into MoaiErrors."""
    try:
        yield
    except (ArgumentError, NoSuchModuleError) as exc:
        raise bad_url(str(url), exc) from None
    except IntegrityError:
        raise  # a constraint the ledger relies on (e.g. one lock per environment)
    except DatabaseError as exc:
        raise translate(exc, url, writing=writing) from None


def open_engine(url: str) -> Engine:
    """Connect to the ledger at `url` and migrate it; every failure is a MoaiError."""
    from moai_deploy.ledger._engine import create_ledger_engine, migrate, normalize_url

    try:
        engine = create_ledger_engine(parsed := normalize_url(url))
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise bad_url(url, exc) from None
    try:
        with translated(parsed, writing=False):
            migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine
