"""Where the `uv` binary is: the one installed with moai-deploy (the `uv` PyPI package puts
it beside the interpreter), else the one on PATH."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from moai_deploy.errors import ReleaseFailedError


def uv_binary() -> str:
    """The uv executable moai-deploy builds environments with."""
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.is_file() else shutil.which("uv")
    if found is None:
        raise ReleaseFailedError(
            "uv not found\n    fix: reinstall moai-deploy with its dependencies "
            "(pip install moai-deploy)"
        )
    return found
