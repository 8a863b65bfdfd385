"""Base images for machines that cannot pull from a registry, built locally and cached by tag.

The Python base is a Debian `debootstrap --variant=minbase` root filesystem with python3,
python3-venv and ca-certificates (plus the host's CA bundle, so builds trust what the host
trusts, e.g. a TLS-inspecting proxy), imported with `docker import`. Built once per machine
(~95 s, ~260 MB); `docker image rm TAG` forces a rebuild. Needs root and debootstrap.

    python -m moai_deploy.runtime.docker.base_image [TAG]
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import docker
from docker.errors import ImageNotFound

from moai_deploy.errors import BadInputError, ReleaseFailedError
from moai_deploy.spec.docker import LOCAL_PYTHON_BASE

SUITE = "bookworm"
PACKAGES = ("python3", "python3-venv", "ca-certificates")
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
FALLBACK_MIRROR = "http://deb.debian.org/debian"


def debian_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian archive URI this host's apt uses (deb822 `URIs:` or one-line `deb`)."""
    files = sorted((sources / "sources.list.d").glob("*.sources"))
    files += sorted((sources / "sources.list.d").glob("*.list"))
    files.append(sources / "sources.list")
    for path in files:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for uri in re.findall(r"^URIs:\s*(\S+)", text, re.MULTILINE) + re.findall(
            r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)", text, re.MULTILINE
        ):
            if "/debian" in uri and "security" not in uri:
                return str(uri).rstrip("/")
    return FALLBACK_MIRROR


def has_image(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except ImageNotFound:
        return False
    return True


def ensure_python_base(client: docker.DockerClient, tag: str = LOCAL_PYTHON_BASE) -> bool:
    """Build and import the Python base image unless `tag` exists; True when it was built."""
    if has_image(client, tag):
        return False
    if shutil.which("debootstrap") is None:
        raise BadInputError(
            f"base image {tag} is missing and debootstrap is not installed\n"
            "    fix: `apt-get install debootstrap` (as root), or set docker.base_image to an "
            "image you can pull"
        )
    with tempfile.TemporaryDirectory(prefix="moai-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        _run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                SUITE,
                str(rootfs),
                debian_mirror(),
            ],
            "debootstrap",
        )
        if HOST_CA_BUNDLE.is_file():
            shutil.copyfile(HOST_CA_BUNDLE, rootfs / "etc/ssl/certs/ca-certificates.crt")
        shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
        archive = Path(tmp) / "rootfs.tar"
        _run(["tar", "-C", str(rootfs), "-cf", str(archive), "."], "tar")
        repository, _, version = tag.rpartition(":")
        client.api.import_image_from_file(str(archive), repository=repository, tag=version)
    return True


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=1800)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-10:])
        raise ReleaseFailedError(f"building the base image: {what} failed:\n{tail}")


def main(argv: list[str]) -> int:
    from moai_deploy.runtime.docker.engine import connect

    tag = argv[0] if argv else LOCAL_PYTHON_BASE
    built = ensure_python_base(connect(), tag)
    print(f"{tag}: {'built' if built else 'present'}")
    return 0


if __name__ == "__main__":  # pragma: no cover - the README's recipe, run by hand or by CI
    sys.exit(main(sys.argv[1:]))
