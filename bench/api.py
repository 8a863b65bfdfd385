"""The control plane under load: status reads during a canary, and SSE fan-out.

Run by hand: `python bench/api.py [--clients 50] [--seconds 10] [--subscribers 100]`.
A real `moai-deploy server` process serves a scratch copy of the example service.

- status: GET /api/v1/environments/demo (live status: runtime, router, readiness probes)
  from `--clients` concurrent keep-alive clients (each connected, one untimed request,
  before the clock starts) for `--seconds`, first with nothing
  happening (the baseline, same run), then while a canary walks 25 % -> 50 % -> 100 %
  under traffic; prints p50/p99 of each and the ratio;
- fan-out: `--subscribers` SSE streams on /api/v1/events; 20 events appended to the
  ledger 0.25 s apart; latency from append to arrival at every subscriber (median and
  p99), against the same with one subscriber (the baseline).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _scratch import ENVIRONMENT, edit_environment, make_v2, reopen, url_of

from moai_deploy.cli.demo import find_example, prepare_workspace
from moai_deploy.ledger.events import EventLog
from moai_deploy.ledger.tokens import Role
from moai_deploy.observe.load import start_load_in_background
from moai_deploy.pipeline import operations
from moai_deploy.pipeline.access import create_token
from moai_deploy.runtime.base import free_port


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


# One TLS context for every client: httpx builds one per client otherwise (tenths of a
# second of CPU each, blocking the event loop), which the first version of this bench
# measured as the server's latency (p50 7 s with 50 clients).
_TLS = ssl.create_default_context()


def _client(base: str, token: str, timeout: float) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.AsyncClient(base_url=base, headers=headers, timeout=timeout, verify=_TLS)


async def _status_load(base: str, token: str, clients: int, seconds: float) -> list[float]:
    latencies: list[float] = []
    pool = [_client(base, token, 30) for _ in range(clients)]  # made before the clock starts
    path = f"/api/v1/environments/{ENVIRONMENT}"
    # each client's connection is open before the clock starts (steady state, not set-up)
    await asyncio.gather(*(http.get(path) for http in pool))
    deadline = time.monotonic() + seconds

    async def client(http: httpx.AsyncClient) -> None:
        try:
            while time.monotonic() < deadline:
                start = time.perf_counter()
                response = await http.get(path)
                response.raise_for_status()
                latencies.append(time.perf_counter() - start)
        finally:
            await http.aclose()

    await asyncio.gather(*(client(http) for http in pool))
    return latencies


async def _fan_out(
    base: str, token: str, subscribers: int, log: EventLog, release: int
) -> list[float]:
    arrivals: dict[int, list[float]] = {}
    sent: dict[int, float] = {}
    ready = asyncio.Event()
    connected = 0

    async def subscriber() -> None:
        nonlocal connected
        async with (
            _client(base, token, 60) as http,
            http.stream("GET", "/api/v1/events") as stream,
        ):
            connected += 1
            if connected == subscribers:
                ready.set()
            async for line in stream.aiter_lines():
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    if event["kind"] == "bench":
                        arrivals.setdefault(event["id"], []).append(time.time())
                        if event["data"].get("last"):
                            return

    tasks = [asyncio.create_task(subscriber()) for _ in range(subscribers)]
    await asyncio.wait_for(ready.wait(), 60)
    await asyncio.sleep(1.0)  # every stream is past its first poll
    for n in range(20):
        appended = await asyncio.to_thread(log.append, release, "bench", {"n": n, "last": n == 19})
        sent[appended.id] = time.time()
        await asyncio.sleep(0.25)
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    return [at - sent[i] for i, times in arrivals.items() for at in times]


def _server(spec: Path, port: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "moai_deploy", "server", "--port", str(port), "--spec", str(spec)]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def _wait_job(base: str, headers: dict[str, str], job: int | None) -> None:
    """Let the canary finish before the server stops (bounded)."""
    deadline = time.monotonic() + 180
    while job is not None and time.monotonic() < deadline:
        state = httpx.get(f"{base}/api/v1/jobs/{job}", headers=headers, timeout=30).json()
        if state["state"] != "running":
            print(f"canary release: {state['state']}")
            return
        time.sleep(0.5)


def _report(name: str, base: list[float], loaded: list[float], unit: float = 1000.0) -> None:
    b50, b99 = statistics.median(base) * unit, _pct(base, 99) * unit
    l50, l99 = statistics.median(loaded) * unit, _pct(loaded, 99) * unit
    print(f"{name}: baseline p50 {b50:.1f} ms p99 {b99:.1f} ms (n={len(base)}); "
          f"measured p50 {l50:.1f} ms p99 {l99:.1f} ms (n={len(loaded)}); "
          f"p99 ratio {l99 / b99:.2f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--subscribers", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project_dir = prepare_workspace(find_example(None), Path(tmp))
        project = reopen(project_dir)
        operations.deploy(project, ENVIRONMENT, "v1")
        token = create_token(project, "bench", Role.ADMIN, None)[0]
        canary = {"type": "canary", "scale_down_delay": "0s", "steps": [
            {"set_weight": 25}, {"pause": {"duration": "4s"}},
            {"set_weight": 50}, {"pause": {"duration": "4s"}}]}  # fmt: skip
        edit_environment(project_dir, strategy=canary)
        make_v2(project_dir)
        port = free_port()
        server = _server(project_dir / "moai-deploy.yaml", port)
        base = f"http://127.0.0.1:{port}"
        load = start_load_in_background(url_of(project), duration=120, concurrency=4)
        try:
            idle = asyncio.run(_status_load(base, token, args.clients, args.seconds))
            headers = {"Authorization": f"Bearer {token}"}
            started = httpx.post(
                f"{base}/api/v1/environments/{ENVIRONMENT}/deploy",
                json={"version": "v2"},
                headers=headers,
                timeout=60,
            )
            started.raise_for_status()
            job = started.json()["id"] if started.status_code == 202 else None
            during = asyncio.run(_status_load(base, token, args.clients, args.seconds))
            _report(f"status reads, {args.clients} clients, canary running", idle, during)
            release = project.ledger.list_releases(project.service, ENVIRONMENT, limit=1)[0].id
            log = EventLog(project.ledger)
            one = asyncio.run(_fan_out(base, token, 1, log, release))
            many = asyncio.run(_fan_out(base, token, args.subscribers, log, release))
            _report(f"SSE append->arrival, {args.subscribers} subscribers vs 1", one, many)
            print(f"SSE deliveries: {len(many)} of {20 * args.subscribers} expected")
            _wait_job(base, headers, job)
        finally:
            load.stop()
            report = load.result(timeout=60)
            print(
                f"service traffic during the bench: {report.total} requests, {report.failed} failed"
            )
            server.terminate()
            server.wait(30)
            for environment in project.loaded.spec.environments:
                operations.down(reopen(project_dir), environment)
            project.close()


if __name__ == "__main__":
    main()
