"""Session-wide guard: the run fails if a process started by the tests outlives them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .leaks import kill, wait_for_no_leaks

LEAK_GRACE_SECONDS = 10.0


@pytest.fixture(scope="session", autouse=True)
def _no_leaked_processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Set up first, torn down last: after every other fixture stopped what it started."""
    base = tmp_path_factory.getbasetemp()
    yield
    leaks = wait_for_no_leaks(base, LEAK_GRACE_SECONDS)
    if leaks:
        kill(leaks)  # they run from this session's temp folder: started by these tests
        listed = "\n".join(f"  {leak.describe()}" for leak in leaks)
        pytest.fail(f"{len(leaks)} process(es) started by the tests were still running:\n{listed}")
