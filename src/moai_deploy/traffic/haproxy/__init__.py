"""HAProxy as the traffic router: one process per state folder, driven by its runtime API."""

from moai_deploy.traffic.haproxy.process import HaproxyProcess, find_haproxy_binary
from moai_deploy.traffic.haproxy.router import HaproxyRouter

__all__ = ["HaproxyProcess", "HaproxyRouter", "find_haproxy_binary"]
