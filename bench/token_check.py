"""CPU cost of one API token check (what every authenticated request pays first).

    .venv/bin/python bench/token_check.py [--calls 3000] [--tokens 50] [--pg-admin URL]

Times `Authenticator.bearer` on a scratch SQLite ledger (or, with `--pg-admin`, a
throwaway PostgreSQL database made and dropped through that admin URL) holding `--tokens`
live tokens:
CPU milliseconds per call (process_time), the median of 5 rounds, for a valid token and
for an unknown one (a wrong token costs the same lookup, then the rate limiter).
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from moai_deploy.ledger.store import Ledger
from moai_deploy.ledger.tokens import TOKEN_PREFIX, Role, TokenStore
from moai_deploy.server.auth import Authenticator, AuthError, FailedLogins


def per_call_ms(calls: int, check: Callable[[], object]) -> float:
    rounds = []
    for _ in range(5):
        started = time.process_time()
        for _ in range(calls):
            check()
        rounds.append((time.process_time() - started) * 1000 / calls)
    return statistics.median(rounds)


@contextlib.contextmanager
def _database(pg_admin: str | None, scratch: str) -> Iterator[str]:
    if pg_admin is None:
        yield f"sqlite:///{Path(scratch) / 'ledger.db'}"
        return
    from sqlalchemy import create_engine

    admin = create_engine(pg_admin, isolation_level="AUTOCOMMIT")
    name = f"moai_token_bench_{secrets.token_hex(6)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--tokens", type=int, default=50)
    parser.add_argument("--pg-admin", help="e.g. postgresql+psycopg://postgres@127.0.0.1/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, _database(args.pg_admin, scratch) as url:
        ledger = Ledger.open(url)
        try:
            store = TokenStore(ledger)
            values = [
                store.create(f"t{i}", Role.DEPLOYER, None, "bench")[0] for i in range(args.tokens)
            ]
            auth = Authenticator(ledger, FailedLogins(limit=10**9))
            token = values[len(values) // 2]

            def unknown() -> None:
                with contextlib.suppress(AuthError):
                    auth.bearer(TOKEN_PREFIX + "x" * 43, "bench")

            valid = per_call_ms(args.calls, lambda: auth.bearer(token, "bench"))
            invalid = per_call_ms(args.calls, unknown)
        finally:
            ledger.close()
    where = "PostgreSQL" if args.pg_admin else "SQLite"
    print(f"token check on {where}, {args.tokens} tokens, {args.calls} calls x 5 rounds (median):")
    print(f"  valid token:   {valid:.3f} ms CPU per call")
    print(f"  unknown token: {invalid:.3f} ms CPU per call")


if __name__ == "__main__":
    main()
