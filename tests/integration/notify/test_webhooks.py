"""Webhooks against a real local HTTP receiver that checks the HMAC signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from moai_deploy.ledger.deliveries import DeliveryLog
from moai_deploy.ledger.store import Ledger, ledger_url
from moai_deploy.notify.base import Notification
from moai_deploy.notify.webhook import WebhookNotifier
from moai_deploy.spec.control import WebhookSpec

KEY = "test-signing-key-0123456789"  # pragma: allowlist secret


class Receiver:
    """Answers 500 to the first `fail` requests, then 200; keeps what it verified."""

    def __init__(self, fail: int, key: str = KEY) -> None:
        self.fail, self.key = fail, key
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers["X-Moai-Timestamp"]
                expected = (
                    "sha256="
                    + hmac.new(
                        receiver.key.encode(), stamp.encode() + b"." + body, hashlib.sha256
                    ).hexdigest()
                )
                valid = hmac.compare_digest(expected, self.headers.get("X-Moai-Signature", ""))
                receiver.requests.append(
                    {"valid": valid, "body": json.loads(body), "headers": dict(self.headers)}
                )
                failing = len(receiver.requests) <= receiver.fail
                self.send_response(401 if not valid else 500 if failing else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = Ledger.open(ledger_url(tmp_path / "ledger.sqlite3"))
    yield opened
    opened.close()


def _notification() -> Notification:
    return Notification("succeeded", "hello", "production", release_id=None, version="v2")


def test_a_receiver_that_fails_twice_gets_the_delivery_on_the_third_try(ledger: Ledger) -> None:
    receiver = Receiver(fail=2)
    try:
        spec = WebhookSpec(name="ops", url=receiver.url, backoff=0.05, attempts=4)
        notifier = WebhookNotifier(spec, KEY, DeliveryLog(ledger))
        notifier.notify(_notification())
        notifier.close(timeout=30)
    finally:
        receiver.close()
    assert len(receiver.requests) == 3 and all(r["valid"] for r in receiver.requests)
    assert receiver.requests[2]["body"]["event"] == "succeeded"
    ids = {r["headers"]["X-Moai-Delivery"] for r in receiver.requests}
    assert len(ids) == 1  # one delivery, three attempts
    attempts = sorted(DeliveryLog(ledger).list("hello"), key=lambda a: a.attempt)
    assert [(a.attempt, a.status_code, a.ok) for a in attempts] == [
        (1, 500, False),
        (2, 500, False),
        (3, 200, True),
    ]
    payloads = json.dumps([r["body"] for r in receiver.requests]) + json.dumps(
        [a.to_dict() for a in attempts]
    )
    assert KEY not in payloads  # never the key in a payload or the delivery log


def test_a_wrong_key_is_refused_by_the_receiver_and_recorded(ledger: Ledger) -> None:
    receiver = Receiver(fail=0, key="the-receiver-expects-another-key")
    try:
        spec = WebhookSpec(name="ops", url=receiver.url, backoff=0.01, attempts=2)
        assert not WebhookNotifier(spec, KEY, DeliveryLog(ledger)).deliver(_notification())
    finally:
        receiver.close()
    assert [r["valid"] for r in receiver.requests] == [False, False]
    assert [a.status_code for a in DeliveryLog(ledger).list("hello")] == [401, 401]


def test_slack_payload_and_event_filter(ledger: Ledger) -> None:
    receiver = Receiver(fail=0)
    try:
        spec = WebhookSpec(
            name="slack", url=receiver.url, format="slack", events=("succeeded",), backoff=0.01
        )
        notifier = WebhookNotifier(spec, KEY, DeliveryLog(ledger))
        notifier.notify(Notification("started", "hello", "production"))  # filtered out
        notifier.notify(_notification())
        notifier.close(timeout=30)
    finally:
        receiver.close()
    assert len(receiver.requests) == 1
    body = receiver.requests[0]["body"]
    assert body["text"] == "[hello/production] v2: succeeded"
    assert body["blocks"][0]["text"]["type"] == "mrkdwn"


def test_an_unreachable_receiver_is_retried_then_recorded_as_failed(ledger: Ledger) -> None:
    from moai_deploy.runtime.base import free_port

    spec = WebhookSpec(
        name="gone", url=f"http://127.0.0.1:{free_port()}/", backoff=0.01, attempts=3, timeout=1
    )
    slept: list[float] = []
    notifier = WebhookNotifier(spec, None, DeliveryLog(ledger), sleep=slept.append)
    assert not notifier.deliver(_notification())
    notifier.close(timeout=5)
    assert slept == [0.01, 0.02]  # exponential backoff between the three tries
    assert [a.error for a in DeliveryLog(ledger).list("hello")] == ["ConnectError"] * 3
