"""Router supervision, for any router process that takes its listening sockets from us.

A small watchdog process per router (`watchdog.py`) owns the service ports: it binds them
(SO_REUSEPORT, steered by a classic BPF program to the oldest listener), hands them to the
router by systemd socket activation (LISTEN_FDS), keeps a warm standby router on the same
ports, and restarts whichever dies. Because the kernel steers new connections to the oldest
live listener, the standby takes over the moment the active router dies, with its routes
already loaded; a fresh standby receives nothing until it is the oldest.

`RouterProgram` says what to run; `Supervisor` (client side) starts, queries and stops it.
"""

from moai_deploy.traffic.supervise.client import Supervisor, SupervisorState
from moai_deploy.traffic.supervise.program import Generation, ListenSpec, RouterProgram

__all__ = ["Generation", "ListenSpec", "RouterProgram", "Supervisor", "SupervisorState"]
