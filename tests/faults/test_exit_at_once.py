"""A version whose processes exit at once fails as soon as the runtime gives up on them."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from moai_deploy.errors import ReleaseFailedError
from moai_deploy.pipeline import operations

from .conftest import ENV, edit_spec, reopen

pytestmark = pytest.mark.slow


def _commit_broken_app(project_dir: Path) -> None:
    main = project_dir / "app" / "main.py"
    main.write_text(main.read_text() + '\nraise SystemExit("boom: this version cannot start")\n')
    subprocess.run(["git", "-C", str(project_dir), "commit", "-qam", "broken"], check=True)


# One strategy in CI (each run costs tens of seconds); all three wait in the same place
# (await_ready -> health.wait_ready), checked by hand with the other two as well.
STRATEGIES = {"blue_green": {"type": "blue_green", "scale_down_delay": "0s"}}


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_a_version_that_exits_at_once_fails_long_before_the_health_timeout(
    project_dir: Path, strategy: str
) -> None:
    edit_spec(project_dir, ENV, health_check_timeout="300s", strategy=STRATEGIES[strategy])
    project = reopen(project_dir)
    try:
        operations.deploy(project, ENV, "v1")
        _commit_broken_app(project_dir)
        started = time.monotonic()
        with pytest.raises(ReleaseFailedError) as failed:
            operations.deploy(project, ENV, "v2")
        elapsed = time.monotonic() - started
        # supervisord gives up after startretries quick crashes (a few seconds); the health
        # timeout is 300 s. Generous bound for a loaded machine, far below the timeout.
        assert elapsed < 60, elapsed
        assert "boom: this version cannot start" in str(failed.value)
        url = f"http://127.0.0.1:{project.loaded.spec.port_of(ENV)}/"
        assert httpx.get(url, timeout=5).json()["version"] == "1.0.0"
        print(f"exit-at-once version failed after {elapsed:.1f}s (health timeout 300 s)")
    finally:
        project.close()
