"""Listening sockets for the watchdog: shared service ports steered to the oldest listener."""

from __future__ import annotations

import ctypes
import errno
import socket
import struct

SO_ATTACH_REUSEPORT_CBPF = 51  # linux/asm-generic/socket.h
_BPF_RET_K = 0x06  # BPF_RET | BPF_K: return the constant k
BACKLOG = 4096


def _steer_to_oldest(sock: socket.socket) -> None:
    """Attach `return 0` to the socket's reuseport group: every new connection goes to the
    group's first listener (the oldest one still open), never to a warming standby."""
    program = ctypes.create_string_buffer(struct.pack("HBBI", _BPF_RET_K, 0, 0, 0))
    fprog = struct.pack("HxxxxxxQ", 1, ctypes.addressof(program))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, fprog)


def listen(host: str, port: int, *, shared: bool) -> socket.socket:
    """A listening TCP socket; `shared` ones join the port's reuseport group."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if shared:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
        if shared:
            _steer_to_oldest(sock)
    except BaseException:
        sock.close()
        raise
    return sock


def port_in_use(host: str, port: int) -> bool:
    """Whether something listens on host:port (a bind without SO_REUSEPORT fails)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as exc:
        return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    finally:
        probe.close()
    return False
