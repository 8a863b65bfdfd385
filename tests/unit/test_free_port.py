"""Ports moai-deploy chooses (instances, tests) come from below the ephemeral range.

A port from `bind(0)` lies in the range the kernel takes outgoing connections' local ports
from; with health checks and clients opening connections all the time, such a port was
seen taken between its choice and the router's bind ("already in use by another program",
tests/faults/test_router_faults.py on a loaded machine)."""

from __future__ import annotations

import socket

from moai_deploy.runtime.base import _ephemeral_start, free_port


def test_free_ports_are_distinct_bindable_and_below_the_ephemeral_range() -> None:
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(10000 <= p < _ephemeral_start() for p in ports), ports
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports[0]))  # free indeed


def test_a_taken_port_is_never_handed_out() -> None:
    held = []
    for _ in range(50):
        sock = socket.socket()
        sock.bind(("127.0.0.1", free_port()))
        held.append(sock)
    taken = {s.getsockname()[1] for s in held}
    try:
        assert not taken & {free_port() for _ in range(200)}
    finally:
        for sock in held:
            sock.close()
