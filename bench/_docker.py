"""`bench/zero_downtime.py --runtime docker`: moai-deploy's blue-green on the Docker runtime
vs the seed's way, `docker-compose up -d` with a new image tag (which recreates the
container), on the same image pair, in the same run, under the same keep-alive load.

Both sides run one container of the example service and switch between v1 and v2. Ours is
a blue-green `deploy` of the v1 or v2 commit (its build step is a layer-cache hit of the
same image content, then a push; both count in its wall time) measured through Traefik;
compose's service is published on its own 127.0.0.1 port and measured there, its two
images built beforehand (the same v1 and v2 images ours deployed first). Per method, the
median over the rounds of: failed requests during the switch, requests during the switch,
and the wall time of the deploy command.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _scratch import ENVIRONMENT, edit_environment, make_v2, reopen, url_of

from moai_deploy.cli.demo import find_example, prepare_workspace
from moai_deploy.cli.demo_docker import docker_demo, remove_images, use_docker
from moai_deploy.observe.load import start_load_in_background
from moai_deploy.pipeline import operations
from moai_deploy.runtime.base import Artifact, free_port

STEADY = 2.0
COMPOSE = """\
services:
  hello:
    image: ${{IMAGE}}
    ports: ["127.0.0.1:{port}:8000"]
    read_only: true
    tmpfs: [/tmp]
    stop_grace_period: 15s
"""


@dataclass
class Switch:
    failed: int
    total: int
    wall: float


def _measure(url: str, concurrency: int, action: object) -> Switch:
    load = start_load_in_background(url, duration=600.0, concurrency=concurrency)
    time.sleep(STEADY)
    start, began = load.elapsed(), time.monotonic()
    action()  # type: ignore[operator]
    wall = time.monotonic() - began
    end = load.elapsed() + 0.5
    time.sleep(STEADY)
    load.stop()
    report = load.result(timeout=30)
    return Switch(report.failures_between(start, end), len(report.between(start, end)), wall)


def _compose(folder: Path, image: str) -> None:
    done = subprocess.run(
        ["docker-compose", "-p", "moai-bench", "up", "-d"],
        cwd=folder,
        env={**os.environ, "IMAGE": image},
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"docker-compose up -d failed:\n{done.stderr[-2000:]}")


def _wait(url: str, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} never answered")


def _summary(name: str, rounds: list[Switch]) -> str:
    failed = statistics.median(r.failed for r in rounds)
    total = statistics.median(r.total for r in rounds)
    wall = statistics.median(r.wall for r in rounds)
    return f"{name:<34} failed {failed:>6.0f} of {total:>6.0f}   deploy wall {wall:6.1f} s"


def run(rounds: int, concurrency: int) -> int:
    with tempfile.TemporaryDirectory(prefix="moai-bench-docker-") as scratch:
        workspace = Path(scratch)
        project_dir = prepare_workspace(find_example(None), workspace)
        with docker_demo(workspace) as (registry, base):
            use_docker(project_dir, ENVIRONMENT, registry, base)
            edit_environment(project_dir, replicas=1)
            project = reopen(project_dir)
            compose_dir = workspace / "compose"
            try:
                images = _image_pair(project_dir)
                ours, theirs = _rounds(project_dir, compose_dir, images, rounds, concurrency)
            finally:
                subprocess.run(
                    ["docker-compose", "-p", "moai-bench", "down"],
                    cwd=compose_dir,
                    capture_output=True,
                    check=False,
                )
                operations.down(project, ENVIRONMENT)
                remove_images(project)
                project.close()
    print(f"\ndocker runtime, {rounds} rounds, {concurrency} keep-alive clients, medians:")
    print(_summary("moai-deploy blue-green deploy", ours))
    print(_summary("docker-compose up -d (new tag)", theirs))
    ratio = statistics.median(r.wall for r in ours) / statistics.median(r.wall for r in theirs)
    print(f"wall time ratio moai-deploy / docker-compose: {ratio:.2f}")
    return 0


def _git(project_dir: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(project_dir), *args], check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def _image_pair(project_dir: Path) -> tuple[str, str]:
    """Deploy v1 and v2; their two images, tagged for compose."""
    project = reopen(project_dir)
    try:
        ids = []
        for version in ("v1", "v2"):
            if version == "v2":
                make_v2(project_dir)
            _git(project_dir, "tag", version)
            release = operations.deploy(project, ENVIRONMENT, version)
            artifact = Artifact.recorded(project.ledger.get_release(release.id).meta)
            assert artifact is not None
            tag = f"moai-bench/hello:{version}"
            subprocess.run(["docker", "tag", artifact.facts["image_id"], tag], check=True)
            ids.append(tag)
        return ids[0], ids[1]
    finally:
        project.close()


def _rounds(
    project_dir: Path, compose_dir: Path, images: tuple[str, str], rounds: int, concurrency: int
) -> tuple[list[Switch], list[Switch]]:
    port = free_port()
    compose_dir.mkdir()
    (compose_dir / "docker-compose.yml").write_text(COMPOSE.format(port=port))
    compose_url = f"http://127.0.0.1:{port}/"
    _compose(compose_dir, images[0])
    _wait(compose_url)
    ours: list[Switch] = []
    theirs: list[Switch] = []
    for number in range(rounds * 2):
        target = ("v1", "v2")[(number + 1) % 2]
        _git(project_dir, "checkout", "-q", target)
        project = reopen(project_dir)
        try:
            version = f"{target}-{number}"
            deploy = lambda p=project, v=version: operations.deploy(p, ENVIRONMENT, v)  # noqa: E731
            ours.append(_measure(url_of(project), concurrency, deploy))
        finally:
            project.close()
        image = images[(number + 1) % 2]
        theirs.append(_measure(compose_url, concurrency, lambda i=image: _compose(compose_dir, i)))
        _wait(compose_url)
    return ours, theirs
