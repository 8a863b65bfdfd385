"""Broken ledgers: malformed, unreachable, corrupt, read-only, full. A message naming the
file or URL and a fix, the right exit code, never a traceback, never a password."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from moai_deploy.errors import EXIT_BAD_INPUT, EXIT_RELEASE_FAILED, MoaiError
from moai_deploy.ledger._errors import LedgerUnavailableError, LedgerWriteError
from moai_deploy.ledger.store import Ledger, ledger_url

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounts need root")


def _release(ledger: Ledger, version: str = "v1") -> int:
    record = ledger.create_release(
        service="hello",
        environment="production",
        version=version,
        commit_sha=None,
        spec_hash="x",
        artifact=None,
        strategy="blue_green",
        deployed_by="test",
    )
    return record.id


@contextlib.contextmanager
def mounted(folder: Path, *options: str) -> Iterator[Path]:
    """A real mount on `folder` for the block (tmpfs with size=, or a read-only bind)."""
    subprocess.run(["mount", *options, str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("nonsense://user:s3cretpw@host/db", "nonsense://"),
        ("postgresql://user:s3cretpw@127.0.0.1:1/test", "127.0.0.1:1/test"),
    ],
)
def test_a_malformed_or_unreachable_database_url_is_bad_input(url: str, where: str) -> None:
    with pytest.raises(LedgerUnavailableError) as caught:
        Ledger.open(url)
    message = str(caught.value)
    assert caught.value.exit_code == EXIT_BAD_INPUT
    assert where in message and "fix:" in message and "MOAI_DEPLOY_DB" in message
    assert "s3cretpw" not in message


def test_a_corrupt_ledger_file_is_bad_input_naming_the_file(tmp_path: Path) -> None:
    database = tmp_path / "ledger.sqlite3"
    database.write_bytes(os.urandom(8192))
    with pytest.raises(LedgerUnavailableError) as caught:
        Ledger.open(ledger_url(database))
    assert str(database) in str(caught.value) and "corrupt" in str(caught.value)
    assert "fix: restore it from a backup" in str(caught.value)


def test_a_read_only_state_folder_still_reads_and_refuses_writes_clearly(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    with Ledger.open(ledger_url(state / "ledger.sqlite3")) as ledger:
        _release(ledger)
    with mounted(state, "--bind", str(state)):
        subprocess.run(["mount", "-o", "remount,ro,bind", str(state)], check=True)
        with Ledger.open(ledger_url(state / "ledger.sqlite3")) as ledger:
            assert [r.version for r in ledger.list_releases("hello", "production")] == ["v1"]
            with pytest.raises(LedgerWriteError) as caught:
                _release(ledger, "v2")
    assert caught.value.exit_code == EXIT_RELEASE_FAILED
    assert "read-only" in str(caught.value) and str(state) in str(caught.value)


def test_a_full_disk_is_a_clear_write_error(tmp_path: Path) -> None:
    state = tmp_path / "small"
    state.mkdir()
    tmpfs = ("-t", "tmpfs", "-o", "size=2m", "tmpfs")
    with mounted(state, *tmpfs), Ledger.open(ledger_url(state / "ledger.sqlite3")) as ledger:
        _release(ledger)
        filler = state / "filler"
        with contextlib.suppress(OSError), filler.open("wb") as handle:
            while True:
                handle.write(b"\0" * 65536)
        with pytest.raises(MoaiError) as caught:
            for index in range(200):  # SQLite may fit a few rows in free pages first
                _release(ledger, f"v{index + 2}")
        filler.unlink()
    assert isinstance(caught.value, LedgerWriteError), caught.value
    assert "disk is full" in str(caught.value) and "fix:" in str(caught.value)
