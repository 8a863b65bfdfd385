"""Rollback time: from a canary's fault onset to 0 % canary traffic, automatic vs manual.

Run by hand: `python bench/rollback_time.py [--runs 5]`. Each run deploys a canary (20 %)
whose code starts failing every request a few seconds after it starts
(HELLO_FAULT_AFTER), under keep-alive load through Traefik:

- automatic: background analysis, success rate, 1 s interval, failure limit 1 (so the
  second failed measurement decides); measured from the first failed request the
  clients saw to the verified routing with 0 % canary, and from the deciding measurement
  to that verified routing;
- baseline, same run: a perfect operator who runs `abort` the instant the first failure
  is seen (no human reaction time at all); measured the same way.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from _scratch import ENVIRONMENT, edit_environment, make_v2, reopen, url_of

from moai_deploy.cli.demo import find_example, prepare_workspace
from moai_deploy.errors import ReleaseFailedError
from moai_deploy.observe.load import LoadHandle, start_load_in_background
from moai_deploy.pipeline import control, operations
from moai_deploy.rollout.reporter import RecordingReporter

FAULT = {"HELLO_ERROR_RATE": "1", "HELLO_FAULT_AFTER": "6"}


def _canary(with_analysis: bool) -> dict[str, object]:
    strategy: dict[str, object] = {
        "type": "canary",
        "steps": [{"set_weight": 20}, {"pause": {"duration": "60s"}}],
    }
    if with_analysis:
        metric = {"template": "success-rate", "interval": "1s", "failure_limit": 1}
        strategy["analysis"] = {"metrics": [metric]}
    return strategy


def _first_failure(load: LoadHandle, timeout: float = 60) -> float:
    """Wall time of the first failed request, watched live."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        failed = load.first_failure()
        if failed is not None:
            return failed
        time.sleep(0.005)
    raise RuntimeError("the fault never became visible")


def _switched_back(recorder: RecordingReporter) -> float:
    return next(at for at, f in recorder.named("weights") if len(f["weights"]) == 1)


def one_run(project_dir: Path, version: str, automatic: bool) -> tuple[float, float | None]:
    project = reopen(project_dir)
    recorder = RecordingReporter()
    load = start_load_in_background(url_of(project), duration=120, concurrency=8)
    worker = threading.Thread(target=_deploy, args=(project_dir, version, recorder))
    worker.start()
    try:
        onset = _first_failure(load)
        if not automatic:
            control.abort(project, ENVIRONMENT)
        worker.join(timeout=120)
    finally:
        load.stop()
        load.result(timeout=30)
        project.close()
    back = _switched_back(recorder)
    decided = [at for at, f in recorder.named("measurement") if f["phase"] == "failed"]
    return back - onset, (back - decided[-1]) if automatic and decided else None


def _deploy(project_dir: Path, version: str, recorder: RecordingReporter) -> None:
    project = reopen(project_dir)
    try:
        operations.deploy(project, ENVIRONMENT, version, recorder)
    except ReleaseFailedError:
        pass  # expected: the canary is aborted
    finally:
        project.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="moai-bench-") as scratch:
        project_dir = prepare_workspace(find_example(None), Path(scratch))
        project = reopen(project_dir)
        operations.deploy(project, ENVIRONMENT, "stable")
        make_v2(project_dir)
        auto, decision, manual = [], [], []
        try:
            for n in range(1, args.runs + 1):
                edit_environment(project_dir, strategy=_canary(True), env=FAULT)
                onset_to_zero, decided_to_zero = one_run(project_dir, f"a{n}", automatic=True)
                auto.append(onset_to_zero)
                decision.append(decided_to_zero or 0.0)
                edit_environment(project_dir, strategy=_canary(False), env=FAULT)
                manual.append(one_run(project_dir, f"m{n}", automatic=False)[0])
                print(
                    f"run {n}: automatic {auto[-1]:.2f}s (decision->switch "
                    f"{decision[-1]:.2f}s), manual abort {manual[-1]:.2f}s",
                    file=sys.stderr,
                )
        finally:
            operations.down(project, ENVIRONMENT)
            project.close()
    med_auto, med_manual = statistics.median(auto), statistics.median(manual)
    print(f"\n{args.runs} runs, 1 s interval, failure limit 1, 8 keep-alive clients; medians:")
    print(f"fault onset -> 0% canary, automatic analysis : {med_auto:.2f} s (target < 3 s)")
    print(
        f"decision -> verified switch                   : "
        f"{statistics.median(decision):.2f} s (target < 0.5 s)"
    )
    print(f"fault onset -> 0% canary, instant manual abort: {med_manual:.2f} s (baseline)")
    print(f"ratio automatic / instant manual              : {med_auto / med_manual:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
