"""Soak: dozens of releases under continuous load; the state folder's size after each one.

Run by hand: `python bench/soak.py [--releases 30] [--concurrency 4] [--router haproxy]`.
A scratch copy of the example service is released again and again (a new commit each time,
blue-green, 2 instances) while keep-alive clients load it. After every release the state
folder is measured (bytes on disk, by part). Everything but the ledger must stay under
BOUND_MB: rotated router logs, rotated instance logs, `releases.keep` snapshots and stored
artifacts are all bounded, whatever the number of releases or requests. The ledger keeps
the whole history on purpose; its growth per release is printed. Exit 1 if the bound is
exceeded or a request failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _scratch import ENVIRONMENT, reopen, url_of

from moai_deploy.cli.demo import find_example, prepare_workspace
from moai_deploy.observe.load import start_load_in_background
from moai_deploy.pipeline import operations

MB = 1024 * 1024
# Router: access and own log, 2 x 10 MB each (the rotated copy included); instances: 3 x
# 5 MB per instance log, 2 live + 2 of the previous colour; snapshots and artifacts:
# releases.keep (5) x ~1 MB measured; 10 MB of slack for sockets, state and lock files.
BOUND_MB = 40 + 4 * 15 + 5 + 10


def disk_usage(root: Path) -> dict[str, int]:
    """Bytes on disk under `root`, by top-level entry (the ledger's files as "ledger")."""
    parts: dict[str, int] = {}
    for path in root.rglob("*"):
        try:
            info = path.lstat()
        except OSError:
            continue  # removed while we walked
        if not path.is_file() or path.is_symlink():
            continue
        top = path.relative_to(root).parts[0]
        key = "ledger" if top.startswith("ledger.sqlite3") else top
        parts[key] = parts.get(key, 0) + info.st_blocks * 512
    return parts


def _largest(root: Path, count: int = 8) -> None:
    """The biggest files on disk (what a growing part is made of)."""
    sizes = []
    for path in root.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                sizes.append((path.lstat().st_blocks * 512, path.relative_to(root)))
        except OSError:
            continue
    print(
        "largest files: "
        + ", ".join(f"{p} {b / MB:.1f} MB" for b, p in sorted(sizes)[-count:][::-1])
    )


def _commit(project_dir: Path, number: int) -> None:
    (project_dir / "SOAK").write_text(f"{number}\n")
    for args in (["add", "SOAK"], ["commit", "-qm", f"soak release {number}"]):
        subprocess.run(["git", "-C", str(project_dir), *args], check=True)


def _use_router(project_dir: Path, router: str) -> None:
    spec = project_dir / "moai-deploy.yaml"
    spec.write_text(spec.read_text() + f"\ntraffic:\n  router: {router}\n")
    subprocess.run(["git", "-C", str(project_dir), "commit", "-qam", router], check=True)


def soak(releases: int, concurrency: int, router: str | None) -> int:
    with tempfile.TemporaryDirectory(prefix="moai-soak-") as tmp:
        project_dir = prepare_workspace(find_example(None), Path(tmp))
        if router:
            _use_router(project_dir, router)
        project = reopen(project_dir)
        state, url = project.layout.root, url_of(project)
        chosen = project.loaded.spec.traffic.router
        project.close()
        print(f"router {chosen}, state folder {state}, bound {BOUND_MB} MB (ledger apart)")
        print(
            f"{'release':>7} {'requests':>9} {'failed':>6} {'state MB':>8} {'ledger KB':>9}  parts"
        )
        worst, requests, failed = 0, 0, 0
        ledger_sizes = []
        try:
            for number in range(1, releases + 1):
                _commit(project_dir, number)
                # Under load from the second release on (the first has nothing to serve yet).
                load = start_load_in_background(url, duration=3600, concurrency=concurrency)
                if number == 1:
                    load.stop()
                project = reopen(project_dir)
                try:
                    operations.deploy(project, ENVIRONMENT, f"soak-{number}")
                finally:
                    project.close()
                    load.stop()
                    report = load.result(timeout=60)
                    if number > 1:
                        requests, failed = requests + report.total, failed + report.failed
                parts = disk_usage(state)
                ledger = parts.pop("ledger", 0)
                ledger_sizes.append(ledger)
                total = sum(parts.values())
                worst = max(worst, total)
                biggest = ", ".join(
                    f"{k} {v / MB:.1f}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1])[:4]
                )
                print(
                    f"{number:>7} {requests:>9} {failed:>6} {total / MB:>8.1f} "
                    f"{ledger / 1024:>9.0f}  {biggest}"
                )
                sys.stdout.flush()
        finally:
            _largest(state)
            project = reopen(project_dir)
            try:
                operations.down(project, ENVIRONMENT)
            finally:
                project.close()
        growth = (ledger_sizes[-1] - ledger_sizes[0]) / max(1, len(ledger_sizes) - 1) / 1024
        ok = worst <= BOUND_MB * MB and failed == 0
        print(
            f"\n{releases} releases, {requests} requests ({failed} failed): state folder "
            f"at most {worst / MB:.1f} MB without the ledger (bound {BOUND_MB} MB: "
            f"{'kept' if ok else 'EXCEEDED'}); ledger {ledger_sizes[-1] / 1024:.0f} KB, "
            f"+{growth:.1f} KB per release"
        )
        return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--router", choices=("traefik", "haproxy"), default=None)
    args = parser.parse_args()
    os.environ.pop("MOAI_DEPLOY_STATE", None)  # the scratch copy's own state folder
    started = time.monotonic()
    code = soak(args.releases, args.concurrency, args.router)
    print(f"took {time.monotonic() - started:.0f}s")
    sys.exit(code)


if __name__ == "__main__":
    main()
