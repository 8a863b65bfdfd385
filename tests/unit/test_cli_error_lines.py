"""Error messages are never wrapped at the console's width: a path or a command in them
can be copied from a log or a CI transcript (stderr is not a terminal there)."""

from __future__ import annotations

import pytest

from moai_deploy.cli.exits import fail


def test_a_long_error_line_stays_one_line_off_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = "/tmp/" + "/".join(f"folder-{i}" for i in range(20)) + "/.moai-deploy/watchdog.log"
    with pytest.raises(SystemExit) as exited:
        fail(f"the router is down\n    fix: see {path}", 1)
    assert exited.value.code == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["error: the router is down", f"    fix: see {path}"]
