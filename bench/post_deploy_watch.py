"""Post-deploy watch: from a fault that starts after the switch to the traffic back on the
old version, automatic (the watch reading the rendered alerts) vs the page a human gets.

Run by hand: `python bench/post_deploy_watch.py [--runs 3]`. One scratch copy of the example
under `monitor up` (real Prometheus + Alertmanager; scrape and evaluation every 1 s, rate
over 5 s, HighErrorRate `for: 2s`); each run deploys a blue-green release whose code fails
half of its requests 12 s after it starts (after the switch, inside a 60 s watch), under
keep-alive load through Traefik:

- automatic: from the first failed request the clients saw to the verified routing back
  on the old colour (the `weights` event after the fault);
- baseline, same run: from the same onset to the moment Alertmanager's notification
  reached moai-deploy's receiver, i.e. when an on-call human would be paged (before any
  reaction time of theirs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from _scratch import ENVIRONMENT, edit_environment, make_v2, reopen, url_of

from moai_deploy.cli.demo import find_example, prepare_workspace
from moai_deploy.errors import ReleaseFailedError
from moai_deploy.monitor import stack
from moai_deploy.observe.load import LoadHandle, start_load_in_background
from moai_deploy.pipeline import operations
from moai_deploy.rollout.reporter import RecordingReporter

MONITORING = {
    "scrape_interval": "1s",
    "evaluation_interval": "1s",
    "rate_window": "5s",
    "alerts": {"high_error_rate": {"duration": "2s"}},
    "watch": {"duration": "60s", "poll_interval": "0.5s"},
}
FAULT = {"HELLO_ERROR_RATE": "0.5", "HELLO_FAULT_AFTER": "12"}


def _first_failure(load: LoadHandle, timeout: float = 90) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        failed = load.first_failure()
        if failed is not None:
            return failed
        time.sleep(0.005)
    raise RuntimeError("the fault never became visible")


def _paged(alerts_log: Path, version: str, timeout: float = 90) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = alerts_log.read_text().splitlines() if alerts_log.exists() else []
        for entry in map(json.loads, lines):
            if any(a["labels"].get("version") == version for a in entry["alerts"]):
                return float(entry["received_at"])
        time.sleep(0.05)
    raise RuntimeError("Alertmanager never delivered the alert")


def _deploy(project_dir: Path, version: str, recorder: RecordingReporter) -> None:
    project = reopen(project_dir)
    try:
        operations.deploy(project, ENVIRONMENT, version, recorder)
    except ReleaseFailedError:
        pass  # expected: the watch aborts it
    finally:
        project.close()


def one_run(project_dir: Path, alerts_log: Path, version: str) -> tuple[float, float]:
    project = reopen(project_dir)
    recorder = RecordingReporter()
    load = start_load_in_background(url_of(project), duration=150, concurrency=8)
    worker = threading.Thread(target=_deploy, args=(project_dir, version, recorder))
    worker.start()
    try:
        onset = _first_failure(load)
        worker.join(timeout=150)
        paged = _paged(alerts_log, version)
    finally:
        load.stop()
        load.result(timeout=60)
        project.close()
    back = next(at for at, f in recorder.named("weights") if at > onset)
    return back - onset, paged - onset


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="moai-bench-") as scratch:
        project_dir = prepare_workspace(find_example(None), Path(scratch))
        edit_environment(project_dir, monitoring=MONITORING)
        project = reopen(project_dir)
        operations.deploy(project, ENVIRONMENT, "stable")
        stack.up(project)
        alerts_log = stack.paths_of(project).alerts_log
        make_v2(project_dir)
        edit_environment(project_dir, env=FAULT)
        automatic, paged = [], []
        try:
            for n in range(1, args.runs + 1):
                back, page = one_run(project_dir, alerts_log, f"bad{n}")
                automatic.append(back)
                paged.append(page)
                print(f"run {n}: back on stable {back:.2f}s, paged {page:.2f}s", file=sys.stderr)
        finally:
            stack.down(project)
            operations.down(project, ENVIRONMENT)
            project.close()
    med_auto, med_page = statistics.median(automatic), statistics.median(paged)
    print(f"\n{args.runs} runs, 8 keep-alive clients, 1 s scrape/evaluation, for: 2s; medians:")
    print(f"fault onset -> traffic back on the old colour (watch): {med_auto:.2f} s")
    print(f"fault onset -> Alertmanager page delivered (baseline) : {med_page:.2f} s")
    print(f"ratio watch / page                                    : {med_auto / med_page:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
