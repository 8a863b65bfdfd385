"""How an error reaches the user: one line (and its fix) on stderr, the documented exit code,
no traceback (used by the console-script entry point, cli/main.py's `run`)."""

from __future__ import annotations

import errno
import sys
from typing import NoReturn

from moai_deploy.cli.output import err_console

_OS_FIXES = {
    errno.ENOSPC: "free space on that filesystem; the next command reconciles the ledger",
    errno.EROFS: "make the state folder writable (read-only commands work as is)",
    errno.EACCES: "check the owner and permissions of that path",
    errno.EDQUOT: "free space within your disk quota",
}


def os_error_text(exc: OSError) -> str:
    """An OSError as the user reads it: what, where, and the fix."""
    where = f": {exc.filename}" if exc.filename else ""
    fix = _OS_FIXES.get(exc.errno or 0, "check that path and retry")
    return f"{exc.strerror or exc}{where}\n    fix: {fix}"


def fail(message: str, code: int) -> NoReturn:
    """Print `message` as an error and exit with `code`."""
    err_console.print("[red]error:[/]", end=" ")
    # soft_wrap: never break a line (a path, a command to copy) at the console's width
    err_console.print(message, highlight=False, markup=False, soft_wrap=True)
    sys.exit(code)
