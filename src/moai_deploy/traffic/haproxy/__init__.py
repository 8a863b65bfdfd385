"""HAProxy as the traffic router: supervised (active + warm standby), driven by its runtime API."""

from moai_deploy.traffic.haproxy.process import HaproxyProcess
from moai_deploy.traffic.haproxy.program import find_haproxy_binary
from moai_deploy.traffic.haproxy.router import HaproxyRouter

__all__ = ["HaproxyProcess", "HaproxyRouter", "find_haproxy_binary"]
