"""A local image registry (Debian's `docker-registry`, distribution 2.x) on 127.0.0.1, for
the demo, the tests and machines without one: its config is written to a file, its storage
is a folder of the caller's choosing. The engine pushes to 127.0.0.x without TLS."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from moai_deploy.errors import BadInputError
from moai_deploy.runtime.base import free_port

CONFIG = """\
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


def find_registry_binary() -> str:
    found = shutil.which("docker-registry") or shutil.which("registry")
    if found is None:
        raise BadInputError(
            "no local registry program found\n"
            "    fix: `apt-get install docker-registry` (Debian), or set docker.registry to a "
            "registry you can push to"
        )
    return found


def is_up(address: str, timeout: float = 2.0) -> bool:
    """True when a registry answers its API root on `address` (host:port)."""
    try:
        response = httpx.get(f"http://{address}/v2/", timeout=timeout)
    except httpx.HTTPError:
        return False
    return response.status_code in (200, 401)


@dataclass
class LocalRegistry:
    """One registry process; `stop()` ends it (its storage stays for the caller to remove)."""

    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> LocalRegistry:
        storage = self.folder / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        config = self.folder / "config.yml"
        config.write_text(CONFIG.format(storage=storage, port=self.port))
        log = (self.folder / "registry.log").open("ab")
        self.process = subprocess.Popen(
            [find_registry_binary(), "serve", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not is_up(self.address):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = (self.folder / "registry.log").read_text(errors="replace")[-800:]
                raise BadInputError(f"the local registry did not start on {self.address}:\n{tail}")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
