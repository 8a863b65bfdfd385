"""`moai-deploy server`: the app under uvicorn."""

from __future__ import annotations

from pathlib import Path

from moai_deploy.server.api import create_app
from moai_deploy.service import ControlService


def serve(spec: Path, host: str, port: int) -> None:
    """Run the control plane until interrupted."""
    import uvicorn

    service = ControlService(spec)
    app = create_app(service)
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
    finally:
        service.close()
