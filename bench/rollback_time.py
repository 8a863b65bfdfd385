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

A run whose release does not end within its deadline is aborted, reported and left out
of the medians; whatever happens, the bench ends with no release in progress, no lock
held, and nothing running (instances, supervisord, Traefik).
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
from moai_deploy.errors import MoaiError, ReleaseFailedError
from moai_deploy.ledger import locks
from moai_deploy.observe.load import LoadHandle, start_load_in_background
from moai_deploy.pipeline import control, operations
from moai_deploy.pipeline.project import Project
from moai_deploy.rollout.lock import actor
from moai_deploy.rollout.reporter import RecordingReporter

RUN_DEADLINE = 120.0  # seconds a release gets to end by itself before the bench aborts it

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


def _switched_back(recorder: RecordingReporter) -> float | None:
    return next((at for at, f in recorder.named("weights") if len(f["weights"]) == 1), None)


def one_run(project_dir: Path, version: str, automatic: bool) -> tuple[float, float | None] | None:
    """(fault onset -> 0 % canary, decision -> verified switch), or None if it never ended."""
    project = reopen(project_dir)
    recorder = RecordingReporter()
    load = start_load_in_background(url_of(project), duration=RUN_DEADLINE, concurrency=8)
    worker = threading.Thread(target=_deploy, args=(project_dir, version, recorder))
    worker.start()
    stuck = False
    try:
        onset = _first_failure(load)
        if not automatic:
            control.abort(project, ENVIRONMENT)
        worker.join(timeout=RUN_DEADLINE)
    finally:
        load.stop()
        load.result(timeout=30)
        stuck = worker.is_alive()
        if stuck:  # abort it, so no release, lock or instance stays behind
            print(f"  {version}: not finished after {RUN_DEADLINE:g}s, aborting", file=sys.stderr)
            _abort_quietly(project)
            worker.join(timeout=60)
        project.close()
    back = _switched_back(recorder)
    if back is None or stuck:  # the bench's own abort is not the measured reaction
        return None
    decided = [at for at, f in recorder.named("measurement") if f["phase"] == "failed"]
    return back - onset, (back - decided[-1]) if automatic and decided else None


def _abort_quietly(project: Project) -> None:
    try:
        control.abort(project, ENVIRONMENT)
    except MoaiError as exc:
        print(f"  abort: {exc}", file=sys.stderr)


def _clean_up(project_dir: Path) -> None:
    """No release in progress, no lock, nothing running."""
    project = reopen(project_dir)
    try:
        if project.ledger.in_progress(project.service, ENVIRONMENT):
            _abort_quietly(project)
        held = locks.current(project.ledger, project.service, ENVIRONMENT)
        if held is not None and held.holder_alive() is not True:
            locks.force_release(project.ledger, project.service, ENVIRONMENT)
        operations.down(project, ENVIRONMENT, operations.DeployOptions(lock_wait=60))
    finally:
        project.close()
    print(f"cleaned up: no release in progress, no lock, nothing running ({actor()})")


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
        try:
            project = reopen(project_dir)
            try:
                operations.deploy(project, ENVIRONMENT, "stable")
            finally:
                project.close()
            make_v2(project_dir)
            auto, decision, manual = _measure(project_dir, args.runs)
        finally:
            _clean_up(project_dir)
    if not auto or not manual:
        print("no run finished: no figures", file=sys.stderr)
        return 1
    _report(args.runs, auto, decision, manual)
    return 0


def _measure(project_dir: Path, runs: int) -> tuple[list[float], list[float], list[float]]:
    auto: list[float] = []
    decision: list[float] = []
    manual: list[float] = []
    for n in range(1, runs + 1):
        edit_environment(project_dir, strategy=_canary(True), env=FAULT)
        automatic = one_run(project_dir, f"a{n}", automatic=True)
        if automatic is not None:
            auto.append(automatic[0])
            decision.append(automatic[1] or 0.0)
        edit_environment(project_dir, strategy=_canary(False), env=FAULT)
        by_hand = one_run(project_dir, f"m{n}", automatic=False)
        if by_hand is not None:
            manual.append(by_hand[0])
        shown = "did not finish" if automatic is None else f"{automatic[0]:.2f}s"
        by_hand_shown = "did not finish" if by_hand is None else f"{by_hand[0]:.2f}s"
        print(f"run {n}: automatic {shown}, manual {by_hand_shown}", file=sys.stderr)
    return auto, decision, manual


def _report(runs: int, auto: list[float], decision: list[float], manual: list[float]) -> None:
    med_auto, med_manual = statistics.median(auto), statistics.median(manual)
    print(f"\n{runs} runs ({len(auto)} automatic and {len(manual)} manual finished), 1 s")
    print("interval, failure limit 1, 8 keep-alive clients; medians:")
    print(f"fault onset -> 0% canary, automatic analysis : {med_auto:.2f} s (target < 3 s)")
    print(
        f"decision -> verified switch                   : "
        f"{statistics.median(decision):.2f} s (target < 0.5 s)"
    )
    print(f"fault onset -> 0% canary, instant manual abort: {med_manual:.2f} s (baseline)")
    print(f"ratio automatic / instant manual              : {med_auto / med_manual:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
