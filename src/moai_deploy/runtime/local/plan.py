"""How the local driver turns a workload into a supervisord process (pure)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from moai_deploy.build.pyenv import PythonEnv
from moai_deploy.errors import BadInputError
from moai_deploy.runtime.base import SharedPath

# Variables passed through from the deployer's environment; everything else comes from the spec.
_PASS_THROUGH = ("HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER")
_PYTHON_NAMES = ("python", "python3")


def instance_argv(command: Sequence[str], port: int, env: PythonEnv) -> tuple[str, ...]:
    """The command with `{port}` filled in and the program taken from the release env."""
    argv = [arg.replace("{port}", str(port)) for arg in command]
    program = argv[0]
    if program in _PYTHON_NAMES:
        argv[0] = str(env.python)
    elif "/" not in program and (env.bin_dir / program).is_file():
        argv[0] = str(env.bin_dir / program)
    return tuple(argv)


def process_env(
    python_env: PythonEnv, variables: Mapping[str, str], extra: Mapping[str, str]
) -> dict[str, str]:
    """The full environment of a process: a few of ours, the release env's PATH, the spec's."""
    base = {k: os.environ[k] for k in _PASS_THROUGH if k in os.environ}
    base["PATH"] = os.pathsep.join([str(python_env.bin_dir), os.environ.get("PATH", "")])
    return {**base, "PYTHONUNBUFFERED": "1", **variables, **extra}


def link_shared(workdir: Path, store: Path, shared: Sequence[SharedPath]) -> None:
    """Point each shared path of the release at its persistent copy under `store`. The
    release's own copy seeds the store the first time (a committed `instance/` folder or
    `db.sqlite3`); afterwards the store wins and the release's copy is replaced."""
    for item in shared:
        inside = os.path.normpath(item.path)
        if os.path.isabs(inside) or inside == ".." or inside.startswith("../"):
            raise BadInputError(f"shared path {item.path!r} leaves the release folder")
        target, link = store / item.name, workdir / item.path
        if link.is_symlink():
            if link.resolve() == target.resolve():
                continue
            link.unlink()
        _seed(target, link, item.directory)
        if link.is_dir():
            shutil.rmtree(link)
        elif link.exists():
            link.unlink()
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target, target_is_directory=item.directory)


def _seed(target: Path, release_copy: Path, directory: bool) -> None:
    """Create the persistent copy once, from the release's own when it has one."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if target.exists():
        return
    if directory:
        if release_copy.is_dir() and not release_copy.is_symlink():
            shutil.copytree(release_copy, target, symlinks=True)
        target.mkdir(mode=0o700, exist_ok=True)
    elif release_copy.is_file() and not release_copy.is_symlink():
        shutil.copy2(release_copy, target)
