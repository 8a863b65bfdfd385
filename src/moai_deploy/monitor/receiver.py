"""moai-deploy's Alertmanager webhook receiver: each notification becomes one JSON line in
the stack's alert log (STATE/monitor/alerts.jsonl, 0600), and each alert in it an
`alert_firing` / `alert_resolved` notification to the spec's webhooks (`notifications:`,
signed and retried like every other notification).

Run by `monitor up` as `python -m moai_deploy.monitor.receiver --port P --out FILE --spec SPEC`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from moai_deploy.notify.base import Notification, Notifier

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


def notifications(entry: dict[str, Any]) -> list[Notification]:
    """One notification per alert of a recorded Alertmanager notification."""
    found = []
    for alert in entry["alerts"]:
        labels, notes = alert["labels"], alert["annotations"]
        state = "resolved" if alert.get("status") == "resolved" else "firing"
        summary = notes.get("summary") or labels.get("alertname", "alert")
        found.append(
            Notification(
                event=f"alert_{state}",
                service=str(labels.get("service", "")),
                environment=labels.get("environment"),
                version=labels.get("version"),
                actor="alertmanager",
                message=f"{labels.get('alertname', 'alert')}: {summary}",
            )
        )
    return found


def _payload(request: BaseHTTPRequestHandler) -> dict[str, Any] | None:
    """The JSON object a POST carries, or None when it is not one (or too large)."""
    length = int(request.headers.get("Content-Length") or 0)
    if not 0 < length <= MAX_BODY:
        return None
    try:
        payload = json.loads(request.rfile.read(length))
    except json.JSONDecodeError:
        return None
    return payload if isinstance(payload, dict) else None


def make_handler(
    out: Path, notifiers: list[Notifier] | None = None
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._reply(200 if self.path == "/health" else 404)

        def do_POST(self) -> None:
            payload = _payload(self) if self.path == "/alerts" else None
            if payload is None:
                self._reply(400)
                return
            entry = record(out, payload)
            for notification in notifications(entry):
                for notifier in notifiers or []:
                    notifier.notify(notification)  # queued: never blocks Alertmanager
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
    parser.add_argument("--spec", type=Path, default=None, help="Send alerts to its webhooks.")
    args = parser.parse_args(argv)
    notifiers = _notifiers(args.spec) if args.spec else []
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args.out, notifiers))
    server.serve_forever()


def _notifiers(spec_path: Path) -> list[Notifier]:
    from moai_deploy.notify.setup import webhook_notifiers
    from moai_deploy.pipeline.project import Project

    project = Project.open(spec_path)  # kept open: the receiver lives as long as the stack
    return webhook_notifiers(project.loaded.spec, project.secrets(), project.ledger)


if __name__ == "__main__":
    main()
