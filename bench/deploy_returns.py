"""When does `deploy` give the caller back: locally vs through a server.

Run by hand: `python bench/deploy_returns.py [--delay 30s]`. A scratch copy of the
example service, blue-green with `scale_down_delay` DELAY (the default 30 s), 2 replicas:
v1 is deployed, then v2 with `moai-deploy deploy` on this machine (the baseline, which
waits the old colour's delay), then v3 with `moai-deploy --server URL deploy` (which
returns once v3 is live). Prints, for each, the seconds until the command returned and
until the switch was verified (the `set_weight` step's end in the ledger).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _scratch import ENVIRONMENT, edit_environment, make_v2, reopen

from moai_deploy.cli.demo import find_example, prepare_workspace
from moai_deploy.ledger import locks
from moai_deploy.ledger.tokens import Role
from moai_deploy.pipeline import operations
from moai_deploy.pipeline.access import create_token

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.e2e.server_process import CLI, running_server  # the tests' server helper


def _timed(project_dir: Path, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(seconds until the command returned, seconds until the switch was verified)."""
    started = time.time()
    subprocess.run([CLI, *args], cwd=project_dir, env={**os.environ, **env}, check=True)
    returned = time.time() - started
    project = reopen(project_dir)
    try:
        release = project.ledger.list_releases(project.service, ENVIRONMENT, 1)[0]
        switch = next(s for s in project.ledger.steps(release.id) if s.kind == "set_weight")
        assert switch.finished_at is not None
        return returned, switch.finished_at.timestamp() - started
    finally:
        project.close()


def _until_unlocked(project_dir: Path) -> None:
    project = reopen(project_dir)
    try:
        while locks.current(project.ledger, project.service, ENVIRONMENT) is not None:
            time.sleep(0.5)
    finally:
        project.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay", default="30s", help="scale_down_delay of the old colour")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        project_dir = prepare_workspace(find_example(None), Path(scratch))
        edit_environment(
            project_dir, strategy={"type": "blue_green", "scale_down_delay": args.delay}
        )
        project = reopen(project_dir)
        try:
            operations.deploy(project, ENVIRONMENT, "v1")
            token, _ = create_token(project, "bench", Role.DEPLOYER, None)
        finally:
            project.close()
        make_v2(project_dir)
        rows = [("local", *_timed(project_dir, ["deploy", ENVIRONMENT, "--version", "v2"], {}))]
        with running_server(project_dir / "moai-deploy.yaml") as url:
            remote = [
                "--server",
                url,
                "deploy",
                ENVIRONMENT,
                "--version",
                "v3",
                "--lock-wait",
                "2m",
            ]
            rows.append(("server", *_timed(project_dir, remote, {"MOAI_DEPLOY_TOKEN": token})))
            _until_unlocked(project_dir)  # the server still scales v2's colour down
        project = reopen(project_dir)
        try:
            operations.down(project, ENVIRONMENT)
        finally:
            project.close()
    print(f"\nblue-green, scale_down_delay {args.delay}, load average {os.getloadavg()[0]:.2f}")
    print("| deploy | returned after s | switch verified at s |\n|---|---|---|")
    for name, returned, switch in rows:
        print(f"| {name} | {returned:.1f} | {switch:.1f} |")


if __name__ == "__main__":
    main()
