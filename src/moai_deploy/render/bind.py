"""Inside a container loopback is unreachable from outside: every way a Python web server
is told to listen on loopback becomes 0.0.0.0 (uvicorn/hypercorn/flask `--host`/`-H`,
gunicorn/hypercorn `--bind`/`-b`, waitress `--listen`, Django's `runserver HOST:PORT`),
also inside a `sh -c "..."` script argument."""

from __future__ import annotations

import re

ANY = "0.0.0.0"  # noqa: S104  # nosec B104 - the container is the boundary
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
_HOST_FLAGS = ("--host", "-H", "-h")
_ADDRESS_FLAGS = ("--bind", "-b", "--listen", "runserver")
_LOOPBACK_RE = r"(?:127\.0\.0\.1|localhost|\[::1\]|::1)"
# In a script: `--host 127.0.0.1`, `--host=localhost`, `-b 127.0.0.1:8000`, `runserver ...`.
_IN_SCRIPT = re.compile(
    rf"(?P<flag>(?<![\w-])(?:--host|-H|-h|--bind|-b|--listen|runserver)[= ]+)"
    rf"{_LOOPBACK_RE}(?P<port>:\d+)?(?![\w.])"
)


def public_bind(arg: str, previous: str) -> str:
    """`arg` with a loopback listen address replaced by 0.0.0.0."""
    if previous in _HOST_FLAGS and arg in _LOOPBACK:
        return ANY
    if previous in _ADDRESS_FLAGS:
        host, sep, port = arg.rpartition(":")
        if sep and host in _LOOPBACK and port.isdigit():
            return f"{ANY}:{port}"
    for flag in ("--host=", "--bind=", "--listen="):
        if arg.startswith(flag):
            return flag + public_bind(arg[len(flag) :], flag[:-1])
    if any(c.isspace() for c in arg):
        return _IN_SCRIPT.sub(_script_sub, arg)
    return arg


def _script_sub(match: re.Match[str]) -> str:
    return f"{match.group('flag')}{ANY}{match.group('port') or ''}"


def container_command(command: tuple[str, ...]) -> tuple[str, ...]:
    """Every argument of `command` through `public_bind`."""
    argv = list(command)
    for index, arg in enumerate(argv):
        argv[index] = public_bind(arg, argv[index - 1] if index else "")
    return tuple(argv)
