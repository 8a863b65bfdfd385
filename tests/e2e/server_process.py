"""A real `moai-deploy server` process for tests that drive it over HTTP or through the CLI
(`--server URL`), and the CLI itself run as a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from moai_deploy.runtime.base import free_port

CLI = str(Path(sys.executable).with_name("moai-deploy"))


@contextmanager
def running_server(
    spec: Path, env: Mapping[str, str] | None = None, log: Path | None = None
) -> Iterator[str]:
    """Serve `spec` on a free loopback port until the block ends; yields the base URL."""
    port = free_port()
    out = open(log or spec.parent / f"server-{port}.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [CLI, "server", "--spec", str(spec), "--port", str(port)],
        cwd=spec.parent,
        env={**os.environ, **(env or {})},
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited {process.returncode}: see {out.name}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer in 60 s: see {out.name}")
            time.sleep(0.2)
        yield url
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        out.close()


def cli(
    *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`moai-deploy ARGS` with `env` added to this process's environment."""
    return subprocess.run(
        [CLI, *args],
        env={**os.environ, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
