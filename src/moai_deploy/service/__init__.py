"""The operations of one project, by name: the one layer the CLI and the server both use.

`moai-deploy deploy staging` on this machine and `POST /api/v1/environments/staging/deploy`
on a server run the same `ControlService.deploy`; only how the answer is shown differs.
No web framework here (the CLI loads this without FastAPI), and nothing at import time
beyond the project itself: each operation imports what it drives.
"""

from moai_deploy.service.control import ControlService, GateOptions

__all__ = ["ControlService", "GateOptions"]
