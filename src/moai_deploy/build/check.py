"""Before any instance starts: is the service's command runnable in the built environment?

A missing server (`gunicorn` not installed) or an app module that is not importable
(`myapp.wsgi` misspelt, or the code in another folder) fails the build with the reason and
the fix, instead of crash-looping instances afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from moai_deploy.build.pyenv import PythonEnv
from moai_deploy.errors import ReleaseFailedError

# Servers whose positional `module:attr` argument names the app.
SERVERS = frozenset({"gunicorn", "uvicorn", "hypercorn", "granian", "waitress-serve", "daphne"})
_TARGET = re.compile(r"^([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*):[A-Za-z_][\w.]*(?:\(.*\))?$")
_PYTHON_NAMES = ("python", "python3")
_PACKAGES = {"waitress-serve": "waitress"}  # script -> the distribution that installs it

# Runs in the release environment: which of the dotted module names cannot be found. The
# modules are located, not imported (importing could need the release's secrets).
_FIND_MODULES = """
import importlib.util, os, sys
sys.path[:0] = [os.getcwd(), *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
def found(name):
    head, *rest = name.split(".")
    try:
        spec = importlib.util.find_spec(head)
    except (ImportError, ValueError):
        return False
    places = list(spec.submodule_search_locations or []) if spec else []
    if spec is None:
        return False
    for part in rest:
        nxt = [os.path.join(p, part) for p in places if os.path.isdir(os.path.join(p, part))]
        if not nxt and not any(os.path.isfile(os.path.join(p, part + ".py")) for p in places):
            return False
        places = nxt
    return True
print("\\n".join(n for n in sys.argv[1:] if not found(n)))
"""


def modules_of(command: Sequence[str]) -> tuple[str | None, list[str]]:
    """(the script the command runs, which must be installed, or None; the modules it loads)."""
    program = Path(command[0]).name
    args = list(command[1:])
    if program in _PYTHON_NAMES:
        if len(args) < 2 or args[0] != "-m":
            return None, []  # a script file: the snapshot has it or the command says so
        server, rest, script, modules = args[1], args[2:], None, [args[1]]
    else:
        server, rest, script, modules = program, args, program, []
    if server in SERVERS:
        modules += [m.group(1) for a in rest if (m := _TARGET.match(a.strip("'\"")))]
    return script, modules


def _installed(env: PythonEnv, script: str) -> bool:
    return (env.bin_dir / script).is_file() or shutil.which(script) is not None


def check_command(
    env: PythonEnv, workdir: Path, command: Sequence[str], pythonpath: str | None = None
) -> None:
    """Raise ReleaseFailedError when the command's program or app module is missing
    (`pythonpath`: the service's PYTHONPATH, relative to its workdir)."""
    script, modules = modules_of(command)
    if script is not None and "/" not in command[0] and not _installed(env, script):
        package = _PACKAGES.get(script, script)
        raise ReleaseFailedError(
            f"`{script}` (the service's command) is not installed in the release "
            f"environment\n    fix: add {package} to the project's dependencies"
        )
    if not modules:
        return
    child_env = {**os.environ, "PYTHONPATH": pythonpath or ""}
    done = subprocess.run(
        [str(env.python), "-c", _FIND_MODULES, *modules],
        cwd=workdir, env=child_env, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    missing = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or missing:
        what = ", ".join(missing) or done.stderr.strip()[-300:]
        raise ReleaseFailedError(
            f"the service's command loads {what}, which is not importable in the release "
            f"environment from {workdir.name}/\n"
            "    fix: add the package that provides it to the dependencies, or correct "
            "`service.command` / `service.workdir`"
        )
