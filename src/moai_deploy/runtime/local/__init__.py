"""Run instances on this host under a per-state-folder supervisord."""

from moai_deploy.runtime.local.supervisor_runtime import SupervisorRuntime

__all__ = ["SupervisorRuntime"]
