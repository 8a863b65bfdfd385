"""Render supervisord config files that survive its INI parser, `%` expansion and shlex."""

from __future__ import annotations

import math
import re
import string
from collections.abc import Sequence
from pathlib import Path

from moai_deploy.errors import BadInputError
from moai_deploy.runtime.local.process import InstanceSpec

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_SAFE_CHARS = frozenset(string.ascii_letters + string.digits + "_-./:,=+@")
_LINE_BREAKS = ("\n", "\r", "\0")
# The INI parser treats `;` or `#` after whitespace as an inline comment.
_INLINE_COMMENT = re.compile(r"\s[;#]")

# Restart policy (see also launch.py):
# - autostart=false: a freshly (re)started supervisord, e.g. after a reboot, must not resurrect
#   old instances on its own (their ports may be reused); start() starts them explicitly.
# - autorestart=true: an instance that dies unexpectedly is restarted (self-healing); while it
#   waits it is BACKOFF (reported CRASHED "restarting after crash (n)").
# - startsecs=1, startretries=2: an instance that dies within 1 s of every spawn is given up
#   after 2 retries (FATAL -> CRASHED). Crashes after a longer run are bounded by launch.py
#   (restart_limit restarts per restart_window), which then fails fast and lands in FATAL too.
# Instance and daemon logs rotate by size: at most (1 + LOG_BACKUPS) * LOG_MAX_BYTES each.
# umask=077 makes them (and whatever the instances write) private to the owner.
LOG_MAX_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 2

_PROGRAM_TEMPLATE = """\
; managed by moai-deploy; metadata in {name}.json
[program:{name}]
command={command}
directory={directory}
autostart=false
autorestart=true
startsecs=1
startretries=2
stopsignal=TERM
stopwaitsecs={stopwaitsecs}
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile={log_file}
stdout_logfile_maxbytes={log_max_bytes}
stdout_logfile_backups={log_backups}
"""

_DAEMON_TEMPLATE = """\
; managed by moai-deploy
[unix_http_server]
file={socket}
chmod=0700

[supervisord]
umask=077
logfile={root}/supervisord.log
logfile_maxbytes={log_max_bytes}
logfile_backups={log_backups}
pidfile={root}/supervisord.pid
childlogdir={root}
directory={root}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{socket}

[include]
files = programs/*.conf
"""


def _reject(what: str, why: str) -> BadInputError:
    return BadInputError(f"{what} cannot be handed to supervisord: {why}")


def ini_text(value: str, what: str) -> str:
    """A plain INI value that supervisord reads back unchanged (`%` escaped)."""
    if any(c in value for c in _LINE_BREAKS):
        raise _reject(what, "it contains a line break or NUL")
    if value != value.strip():
        raise _reject(what, "it starts or ends with whitespace")
    if _INLINE_COMMENT.search(value):
        raise _reject(what, "it has ';' or '#' after whitespace")
    escaped = value.replace("%", "%%")
    if "%(here)s" in escaped:  # supervisord substitutes this before `%` expansion
        raise _reject(what, "it contains '%(here)s'")
    return escaped


def _quote_arg(arg: str) -> str:
    # Backslash-escape every unsafe char (not shlex.quote): then no whitespace is ever directly
    # followed by `;`/`#` (inline comment) and `(` never follows `%` (here-expansion).
    if not arg:
        return "''"
    return "".join(c if c in _SAFE_CHARS else "\\" + c for c in arg)


def command_text(argv: Sequence[str]) -> str:
    """A `command=` value that supervisord's shlex.split turns back into exactly `argv`."""
    for arg in argv:
        if any(c in arg for c in _LINE_BREAKS):
            raise _reject("an argv item", "it contains a line break or NUL")
    text = " ".join(_quote_arg(arg) for arg in argv)
    if text[-1].isspace():  # the INI parser strips the value; an empty quote protects `\ `
        text += "''"
    return text.replace("%", "%%")


def program_conf(spec: InstanceSpec, launch_argv: Sequence[str]) -> str:
    """The `[program:<name>]` file for one instance; `launch_argv` runs the exec wrapper."""
    if not NAME_RE.fullmatch(spec.name):
        raise _reject(f"instance name {spec.name!r}", "use letters, digits, '_', '.', '-'")
    if not spec.argv:
        raise _reject(f"instance {spec.name!r}", "its argv is empty")
    return _PROGRAM_TEMPLATE.format(
        name=spec.name,
        command=command_text([*launch_argv, *spec.argv]),
        directory=ini_text(str(spec.cwd.absolute()), "the working directory"),
        stopwaitsecs=max(1, math.ceil(spec.stop_timeout)),  # supervisord wants whole seconds
        log_file=ini_text(str(spec.log_file.absolute()), "the log file path"),
        log_max_bytes=LOG_MAX_BYTES,
        log_backups=LOG_BACKUPS,
    )


def daemon_conf(root: Path, socket: Path) -> str:
    """The main supervisord.conf; programs are included from `root/programs/*.conf`."""
    return _DAEMON_TEMPLATE.format(
        root=ini_text(str(root), "the state folder"),
        socket=ini_text(str(socket), "the socket path"),
        log_max_bytes=LOG_MAX_BYTES,
        log_backups=LOG_BACKUPS,
    )
