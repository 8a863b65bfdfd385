"""moai-deploy's Alertmanager webhook receiver: each notification becomes one JSON line in
the stack's alert log (STATE/monitor/alerts.jsonl, 0600).

Run by `monitor up` as `python -m moai_deploy.monitor.receiver --port P --out FILE`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MAX_BODY = 1024 * 1024


def record(out: Path, payload: dict[str, Any]) -> dict[str, Any]:
    """Append the notification's essentials to `out`; what was written."""
    entry = {
        "received_at": time.time(),
        "status": payload.get("status"),
        "receiver": payload.get("receiver"),
        "alerts": [
            {
                "status": alert.get("status"),
                "labels": alert.get("labels", {}),
                "annotations": alert.get("annotations", {}),
                "startsAt": alert.get("startsAt"),
            }
            for alert in payload.get("alerts", [])
            if isinstance(alert, dict)
        ],
    }
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")
    return entry


def make_handler(out: Path) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._reply(200 if self.path == "/health" else 404)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if self.path != "/alerts" or not 0 < length <= MAX_BODY:
                self._reply(400)
                return
            try:
                payload = json.loads(self.rfile.read(length))
            except json.JSONDecodeError:
                self._reply(400)
                return
            if not isinstance(payload, dict):
                self._reply(400)
                return
            record(out, payload)
            self._reply(200)

        def _reply(self, code: int) -> None:
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return  # requests are in the alert log; nothing else to say

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args.out))
    server.serve_forever()


if __name__ == "__main__":
    main()
