"""SupervisorRuntime against a real supervisord and real HTTP server processes."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from moai_deploy.errors import BadInputError
from moai_deploy.runtime.base import InstanceState, InstanceStatus, free_port
from moai_deploy.runtime.local import SupervisorRuntime
from moai_deploy.runtime.local.daemon import pid_alive, wait_until
from moai_deploy.runtime.local.process import InstanceSpec

SERVER = """\
import http.server, json, os, signal, sys, threading
env = os.environ
def drain(signum, frame):
    with open(env["DRAIN_FILE"], "w") as handle:
        handle.write("drained")
    os._exit(0)
if env.get("IGNORE_TERM"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
elif env.get("DRAIN_FILE"):
    signal.signal(signal.SIGTERM, drain)
if env.get("CRASH_AFTER"):
    threading.Timer(float(env["CRASH_AFTER"]), os._exit, [3]).start()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        doc = {"env": dict(env), "argv": sys.argv, "cwd": os.getcwd()}
        data = (json.dumps(doc) if self.path == "/env" else env["INSTANCE_NAME"]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(env["PORT"])), Handler).serve_forever()
"""


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    return wait_until(predicate, timeout)


def http_get(url: str) -> httpx.Response:
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        return client.get(url)


def answers(url: str) -> bool:
    try:
        return http_get(url).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "state" / "supervisor"


@pytest.fixture
def runtime(root: Path) -> Iterator[SupervisorRuntime]:
    rt = SupervisorRuntime(root)
    try:
        yield rt
    finally:
        try:
            rt.stop([status.name for status in rt.list()])
        finally:
            rt.daemon.shutdown()  # supervisord stops whatever is left before it exits


@pytest.fixture
def make_spec(tmp_path: Path) -> Callable[..., InstanceSpec]:
    script = tmp_path / "server.py"
    script.write_text(SERVER)

    def make(name: str, stop_timeout: float = 5.0, **env: str) -> InstanceSpec:
        port = free_port()
        # PYTHONCOERCECLOCALE=0: else a C-locale Python adds LC_CTYPE to its own environ.
        full_env = {"PORT": str(port), "INSTANCE_NAME": name, "PYTHONCOERCECLOCALE": "0", **env}
        head, argv = (name, "svc", "prod", "1.0", "blue"), (sys.executable, str(script))
        log = tmp_path / "logs" / f"{name}.log"
        return InstanceSpec(*head, argv, tmp_path, full_env, port, stop_timeout, log)

    return make


def status_of(rt: SupervisorRuntime, name: str) -> InstanceStatus | None:
    return next((s for s in rt.list() if s.name == name), None)


def wait_state(rt: SupervisorRuntime, name: str, state: InstanceState) -> InstanceStatus:
    assert wait_for(lambda: getattr(status_of(rt, name), "state", None) == state), rt.list()
    return next(s for s in rt.list() if s.name == name)


@pytest.mark.slow
def test_instances_run_answer_and_outlive_the_runtime_object(
    runtime: SupervisorRuntime, root: Path, make_spec: Callable[..., InstanceSpec]
) -> None:
    specs = [make_spec("svc-prod-blue-0"), make_spec("svc-prod-blue-1")]
    runtime.start(specs)
    for spec in specs:
        status = wait_state(runtime, spec.name, InstanceState.RUNNING)
        assert status.pid is not None and pid_alive(status.pid)
        assert (status.service, status.environment, status.version) == ("svc", "prod", "1.0")
        assert (status.group, status.port, status.log_file) == ("blue", spec.port, spec.log_file)
        assert wait_for(lambda spec=spec: answers(spec.url))
        assert http_get(spec.url).text == spec.name

    fresh = {s.name: (s.pid, s.state) for s in SupervisorRuntime(root).list()}
    assert fresh == {s.name: (s.pid, s.state) for s in runtime.list()}
    code = (
        "import json, sys; from pathlib import Path;"
        "from moai_deploy.runtime.local import SupervisorRuntime;"
        "print(json.dumps([[s.name, s.pid, s.state.value, s.port]"
        " for s in SupervisorRuntime(Path(sys.argv[1])).list(service='svc')]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(root)], capture_output=True, text=True, check=True
    )
    expected = [[s.name, fresh[s.name][0], "running", s.port] for s in specs]
    assert json.loads(out.stdout) == expected
    assert runtime.list(environment="staging") == []

    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    private = [f"{s.name}{suffix}" for s in specs for suffix in (".conf", ".json")]
    assert {stat.S_IMODE((root / "programs" / f).stat().st_mode) for f in private} == {0o600}


@pytest.mark.slow
def test_env_argv_and_cwd_arrive_exactly(
    runtime: SupervisorRuntime, tmp_path: Path, make_spec: Callable[..., InstanceSpec]
) -> None:
    tricky = {"QUOTES": """both ' and " inside""", "EDGE_QUOTES": '"quoted"', "EMPTY": ""}
    tricky |= {"SINGLE": "'single'", "COMMAS": "a,b=c, d=e", "SPACES": "  padded  "}
    tricky |= {"PERCENT": "100% %(here)s %(ENV_HOME)s %%", "UNICODE": "héllo wörld ☃"}
    tricky |= {"COMMENTS": "x ;not a comment #nor this", "BACKSLASH": "C:\\path\\ \\n"}
    argv_extra = ("two words", 'it\'s "quoted"', "50%", "%(here)s", " #x", ";y", "", "tail ")
    cwd = tmp_path / "work dir 100%"
    cwd.mkdir()
    base = make_spec("svc-prod-blue-0", **tricky)
    spec = replace(base, argv=(*base.argv, *argv_extra), cwd=cwd)
    runtime.start([spec])
    assert wait_for(lambda: answers(spec.url))
    seen = http_get(f"{spec.url}/env").json()
    assert seen["env"] == spec.env  # exactly: nothing added (not even supervisord's vars)
    assert seen["argv"] == list(spec.argv[1:])
    assert seen["cwd"] == str(cwd)
    conf_text = (runtime.root / "programs" / f"{spec.name}.conf").read_text()
    assert "not a comment" not in conf_text  # env lives only in the 0600 spec for launch.py


@pytest.mark.slow
def test_stop_is_graceful_then_kills_after_stop_timeout(
    runtime: SupervisorRuntime, tmp_path: Path, make_spec: Callable[..., InstanceSpec]
) -> None:
    drain = tmp_path / "drained.txt"
    polite = make_spec("svc-prod-blue-0", DRAIN_FILE=str(drain))
    stubborn = make_spec("svc-prod-blue-1", stop_timeout=1.0, IGNORE_TERM="1")
    runtime.start([polite, stubborn])
    pids = [wait_state(runtime, s.name, InstanceState.RUNNING).pid or 0 for s in (polite, stubborn)]
    assert all(wait_for(lambda s=s: answers(s.url), 30.0) for s in (polite, stubborn))

    runtime.stop([polite.name, "no-such-instance"])
    assert drain.read_text() == "drained"
    assert not pid_alive(pids[0])
    assert [s.name for s in runtime.list()] == [stubborn.name]
    assert not (runtime.root / "programs" / f"{polite.name}.conf").exists()

    started = time.monotonic()
    runtime.stop([stubborn.name])
    assert time.monotonic() - started >= 0.9  # SIGTERM was ignored for stop_timeout
    assert not pid_alive(pids[1])
    assert runtime.list() == []


@pytest.mark.slow
def test_stop_runs_stop_timeouts_concurrently(
    runtime: SupervisorRuntime, make_spec: Callable[..., InstanceSpec]
) -> None:
    specs = [make_spec(f"svc-prod-green-{i}", stop_timeout=2.0, IGNORE_TERM="1") for i in range(3)]
    runtime.start(specs)
    pids = [wait_state(runtime, s.name, InstanceState.RUNNING).pid or 0 for s in specs]
    # RUNNING only means "alive for startsecs": on a loaded machine the script may not have
    # installed its SIGTERM handler yet. It serves only after it did.
    assert all(wait_for(lambda s=s: answers(s.url), 30.0) for s in specs)
    started = time.monotonic()
    runtime.stop([s.name for s in specs])
    elapsed = time.monotonic() - started
    assert 1.8 <= elapsed < 4.5, elapsed  # one stop_timeout, not three
    assert not any(pid_alive(pid) for pid in pids)


@pytest.mark.slow
def test_crashing_instance_is_reported_and_ends_crashed(
    runtime: SupervisorRuntime, make_spec: Callable[..., InstanceSpec]
) -> None:
    # At once: well inside startsecs (1 s) even when a loaded machine is slow to start it.
    spec = make_spec("svc-prod-blue-0", CRASH_AFTER="0.01")
    runtime.start([spec])
    crashed = wait_state(runtime, spec.name, InstanceState.CRASHED)
    assert "restarting after crash" in crashed.detail or "gave up" in crashed.detail
    assert str(spec.log_file) in crashed.detail
    # startretries exhausted: supervisord gives up (FATAL) instead of flapping forever.
    assert wait_for(  # three retries with supervisord's growing back-off (1 + 2 + 3 s)
        lambda: "gave up after 3" in getattr(status_of(runtime, spec.name), "detail", ""), 45.0
    )
    final = status_of(runtime, spec.name)
    assert final is not None and final.state == InstanceState.CRASHED and final.pid is None
    assert "Exited too quickly" in final.detail


@pytest.mark.slow
def test_instance_crashing_after_startup_is_restarted_then_given_up(
    root: Path, runtime: SupervisorRuntime, make_spec: Callable[..., InstanceSpec]
) -> None:
    budgeted = SupervisorRuntime(root, restart_limit=1, restart_window=60.0)
    spec = make_spec("svc-prod-blue-0", CRASH_AFTER="1.6")  # outlives startsecs=1
    budgeted.start([spec])
    first = wait_state(runtime, spec.name, InstanceState.RUNNING).pid
    assert wait_for(
        lambda: getattr(status_of(runtime, spec.name), "pid", None) not in (None, first)
    )
    assert "restarted 1 times" in wait_state(runtime, spec.name, InstanceState.RUNNING).detail
    assert wait_for(lambda: "gave up" in getattr(status_of(runtime, spec.name), "detail", ""), 5.0)
    final = status_of(runtime, spec.name)
    assert final is not None and final.state == InstanceState.CRASHED and final.pid is None
    assert "gave up after 1 restarts" in final.detail
    info = lambda: runtime.daemon.rpc().supervisor.getProcessInfo(spec.name)  # noqa: E731
    assert wait_for(lambda: info()["statename"] == "FATAL")  # no longer retried by supervisord
    assert "not restarting it again" in spec.log_file.read_text()


@pytest.mark.slow
def test_shutdown_if_idle_and_listing_without_daemon(
    runtime: SupervisorRuntime, make_spec: Callable[..., InstanceSpec]
) -> None:
    spec = make_spec("svc-prod-blue-0")
    runtime.start([spec])
    wait_state(runtime, spec.name, InstanceState.RUNNING)
    daemon_pid = int(runtime.daemon.pidfile.read_text())
    runtime.shutdown_if_idle()  # not idle: keeps running
    assert pid_alive(daemon_pid) and runtime.daemon.is_running()

    runtime.stop([spec.name])
    runtime.shutdown_if_idle()
    assert not pid_alive(daemon_pid) and not runtime.daemon.socket.exists()
    assert runtime.list() == []
    assert not runtime.daemon.socket.exists()  # listing did not start supervisord


@pytest.mark.slow
def test_dead_daemon_is_reported_and_replaced(
    runtime: SupervisorRuntime, make_spec: Callable[..., InstanceSpec]
) -> None:
    old = make_spec("svc-prod-blue-0")
    runtime.start([old])
    instance_pid = wait_state(runtime, old.name, InstanceState.RUNNING).pid or 0
    daemon_pid = int(runtime.daemon.pidfile.read_text())
    for pid in (daemon_pid, instance_pid):  # like a reboot: everything dies, files stay
        os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not pid_alive(daemon_pid) and not pid_alive(instance_pid))
    assert runtime.daemon.socket.exists()  # stale

    [gone] = runtime.list()
    assert (gone.name, gone.state, gone.pid) == (old.name, InstanceState.STOPPED, None)
    assert "not running" in gone.detail and not runtime.daemon.is_running()

    new = make_spec("svc-prod-green-0")
    runtime.start([new])
    assert wait_for(lambda: answers(new.url))
    states = {s.name: s.state for s in runtime.list()}
    assert states[old.name] == InstanceState.STOPPED  # not resurrected on its own
    assert int(runtime.daemon.pidfile.read_text()) != daemon_pid


def test_unrepresentable_input_is_rejected_before_anything_runs(
    root: Path, make_spec: Callable[..., InstanceSpec]
) -> None:
    rt = SupervisorRuntime(root)
    base = make_spec("svc-prod-blue-0")
    argv = (*base.argv, "line\nbreak")
    for change in ({"name": "a b"}, {"argv": argv}, {"cwd": Path("/a ;b")}):
        with pytest.raises(BadInputError):
            rt.start([replace(base, **change)])
    with pytest.raises(BadInputError):
        rt.start([base, base])
    assert not rt.daemon.is_running()
    assert list((root / "programs").glob("*.conf")) == []


@pytest.mark.slow
def test_instances_outliving_a_killed_supervisord_are_listed_running_and_stopped_by_pid(
    runtime: SupervisorRuntime, root: Path, make_spec: Callable[..., InstanceSpec]
) -> None:
    specs = [make_spec("svc-prod-blue-0"), make_spec("svc-prod-blue-1")]
    runtime.start(specs)
    pids = [wait_state(runtime, s.name, InstanceState.RUNNING).pid or 0 for s in specs]
    assert all(wait_for(lambda s=s: answers(s.url), 30.0) for s in specs)
    daemon_pid = int((root / "supervisord.pid").read_text())
    os.kill(daemon_pid, signal.SIGKILL)
    assert wait_for(lambda: not pid_alive(daemon_pid))
    # The instances keep serving; the runtime sees them by pid, not as "stopped".
    assert all(answers(s.url) for s in specs)
    listed = {s.name: (s.state, s.pid) for s in SupervisorRuntime(root).list()}
    assert listed == {s.name: (InstanceState.RUNNING, p) for s, p in zip(specs, pids, strict=True)}
    # A new start brings a new supervisord up; the orphans stay visible until stopped.
    third = make_spec("svc-prod-green-0")
    runtime.start([third])
    wait_state(runtime, third.name, InstanceState.RUNNING)
    assert {s.name for s in runtime.list() if s.state is InstanceState.RUNNING} == {
        specs[0].name,
        specs[1].name,
        third.name,
    }
    runtime.stop([s.name for s in specs])
    assert not any(pid_alive(pid) for pid in pids)
    assert [s.name for s in runtime.list()] == [third.name]
