"""The runtime seam: the registry picks drivers by the spec's name, and the local driver
meets the protocol (artifact, workloads with split secrets, logs, one-off commands, shared
paths) with a real supervisord and real processes."""

from __future__ import annotations

import sys
import typing
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from moai_deploy.paths import StateLayout
from moai_deploy.rollout.health import wait_ready
from moai_deploy.runtime import registry
from moai_deploy.runtime.base import (
    Artifact,
    CommandSpec,
    ReleaseSource,
    SharedPath,
    WorkloadEnv,
    WorkloadSpec,
)
from moai_deploy.runtime.local.driver import LocalRuntime
from moai_deploy.spec.models import RuntimeName, Spec

SERVER = """\
import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (os.environ.get("GREETING", "") + "|" + os.environ.get("TOKEN", "")).encode()
        self.send_response(200); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a):
        pass
print("serving", flush=True)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""


def _spec(command: list[str]) -> Spec:
    return Spec.model_validate(
        {
            "service": {"name": "svc", "command": command, "python": sys.executable},
            "environments": {"dev": {}},
        }
    )


def test_registry_knows_every_runtime_name_the_spec_allows() -> None:
    assert registry.names() == sorted(typing.get_args(RuntimeName))
    with pytest.raises(KeyError, match="unknown runtime 'nomad'"):
        registry.create("nomad", typing.cast(registry.RuntimeSettings, None))


def test_runtime_key_is_set_in_defaults_and_overridden_per_environment() -> None:
    from moai_deploy.spec.resolve import resolve_environment

    spec = Spec.model_validate(
        {
            "service": {"name": "svc", "command": "python -m app"},
            "defaults": {"runtime": "docker"},
            "environments": {"dev": {"runtime": "local"}, "prod": {}},
        }
    )
    assert resolve_environment(spec, "dev").runtime == "local"
    assert resolve_environment(spec, "prod").runtime == "docker"
    plain = Spec.model_validate(
        {"service": {"name": "s", "command": "x"}, "environments": {"a": {}}}
    )
    assert resolve_environment(plain, "a").runtime == "local"


def test_artifact_round_trips_through_ledger_meta(tmp_path: Path) -> None:
    artifact = Artifact("docker", "reg/svc@sha256:ab", tmp_path, "built", {"tag": "reg/svc:v1"})
    assert Artifact.from_meta(artifact.to_meta()) == artifact
    assert Artifact.from_meta({"runtime": "local"}) is None


@pytest.fixture
def local(tmp_path: Path) -> Iterator[tuple[LocalRuntime, Path]]:
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    (snapshot / "server.py").write_text(SERVER)
    settings = registry.RuntimeSettings(
        spec=_spec(["python", "server.py"]),
        project_dir=tmp_path,
        layout=StateLayout(tmp_path / "state"),
        cache_dir=tmp_path / "cache",
    )
    runtime = registry.create("local", settings)
    assert isinstance(runtime, LocalRuntime)
    try:
        yield runtime, snapshot
    finally:
        runtime.stop([i.name for i in runtime.list()])
        runtime.supervisor.daemon.shutdown()


@pytest.mark.slow
def test_local_driver_runs_a_workload_reports_its_endpoint_and_logs(
    local: tuple[LocalRuntime, Path],
) -> None:
    runtime, snapshot = local
    artifact = runtime.prepare(ReleaseSource("svc", "v1", snapshot))
    assert artifact.runtime == "local" and artifact.summary.startswith("using interpreter")
    env = WorkloadEnv(plain={"GREETING": "hi"}, secret={"TOKEN": "s3cret-value"})
    workload = WorkloadSpec("svc-dev-blue-0", "svc", "dev", "v1", "blue", artifact, env)
    runtime.start([workload])

    def listed() -> list[typing.Any]:
        return runtime.list("svc", "dev")

    assert wait_ready(listed, "/", timeout=30) == []
    (status,) = listed()
    assert status.url == f"http://127.0.0.1:{status.port}" and status.version == "v1"
    assert httpx.get(status.url, timeout=5).text == "hi|s3cret-value"
    assert "serving" in runtime.logs(status.name)
    runtime.stop([status.name])
    assert runtime.list("svc") == []


@pytest.mark.slow
def test_local_driver_runs_one_off_commands_with_shared_paths(
    local: tuple[LocalRuntime, Path],
) -> None:
    runtime, snapshot = local
    artifact = runtime.prepare(ReleaseSource("svc", "v1", snapshot))
    code = "import os; open('media/up.txt', 'a').write('x'); print(os.environ['GREETING'])"
    command = CommandSpec(
        name="svc-dev-release-1",
        service="svc",
        environment="dev",
        artifact=artifact,
        argv=("python", "-c", code),
        env=WorkloadEnv(plain={"GREETING": "migrated"}),
        shared=(SharedPath("media", "media"),),
    )
    result = runtime.run_command(command)
    assert (result.exit_code, result.output.strip()) == (0, "migrated")
    again = runtime.run_command(command)
    assert again.exit_code == 0
    store = runtime.settings.layout.root / "shared" / "dev" / "media" / "up.txt"
    assert store.read_text() == "xx"  # the second run wrote to the same persistent folder
    assert (snapshot / "media").is_symlink()

    failing = runtime.run_command(
        CommandSpec("c", "svc", "dev", artifact, ("python", "-c", "raise SystemExit(3)"))
    )
    assert failing.exit_code == 3
    slow = runtime.run_command(
        CommandSpec(
            "c", "svc", "dev", artifact, ("python", "-c", "import time; time.sleep(30)"), timeout=1
        )
    )
    assert slow.timed_out
    missing = runtime.run_command(CommandSpec("c", "svc", "dev", artifact, ("no-such-program",)))
    assert missing.exit_code == 127 and "no-such-program" in missing.output
