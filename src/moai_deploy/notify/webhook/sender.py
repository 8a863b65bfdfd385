"""A webhook notifier: a queue and one worker thread per webhook, so a slow or failing
receiver never holds up a rollout. Every attempt is recorded in the ledger.

Signature: `X-Moai-Signature: sha256=HEX` where HEX is HMAC-SHA256(key, TIMESTAMP + "." +
BODY) and TIMESTAMP is the `X-Moai-Timestamp` header (seconds), so a receiver can refuse
replays. The key never appears in a payload, a header or the ledger.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from moai_deploy.ledger.deliveries import DeliveryAttempt, DeliveryLog
from moai_deploy.notify.base import Notification
from moai_deploy.spec.control import WebhookSpec

_STOP = object()


def sign(key: str, timestamp: str, body: bytes) -> str:
    """The signature header value for `body` sent at `timestamp`."""
    digest = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def payload(spec: WebhookSpec, notification: Notification) -> dict[str, Any]:
    """JSON payload, or Slack's `{text, blocks}` shape."""
    if spec.format == "json":
        return notification.to_dict()
    return {
        "text": notification.summary(),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": notification.summary()}}],
    }


class WebhookNotifier:
    """Delivers to one webhook in the background, `spec.attempts` tries with backoff."""

    def __init__(
        self,
        spec: WebhookSpec,
        key: str | None,
        log: DeliveryLog,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.spec = spec
        self._key = key
        self._log = log
        self._sleep = sleep
        self._queue: queue.Queue[object] = queue.Queue()
        self._client = httpx.Client(timeout=spec.timeout)
        self._thread = threading.Thread(
            target=self._work, name=f"moai-webhook-{spec.name}", daemon=True
        )
        self._thread.start()

    def notify(self, notification: Notification) -> None:
        if notification.event in self.spec.events:
            self._queue.put(notification)

    def close(self, timeout: float) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._client.close()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, Notification):
                self.deliver(item)

    def deliver(self, notification: Notification) -> bool:
        """Send with retries; True once the receiver answered 2xx."""
        body = json.dumps(payload(self.spec, notification), sort_keys=True).encode()
        delivery = uuid.uuid4().hex
        wait = self.spec.backoff
        for attempt in range(1, self.spec.attempts + 1):
            status, error = self._post(body, notification.event, delivery)
            ok = status is not None and 200 <= status < 300
            self._record(notification, delivery, attempt, status, error)
            if ok:
                return True
            if attempt < self.spec.attempts:
                self._sleep(wait)
                wait *= 2
        return False

    def _post(self, body: bytes, event: str, delivery: str) -> tuple[int | None, str | None]:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "moai-deploy",
            "X-Moai-Event": event,
            "X-Moai-Delivery": delivery,
            "X-Moai-Timestamp": timestamp,
        }
        if self._key:
            headers["X-Moai-Signature"] = sign(self._key, timestamp, body)
        try:
            response = self._client.post(self.spec.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, type(exc).__name__
        return response.status_code, None if response.is_success else response.text[:200]

    def _record(
        self,
        notification: Notification,
        delivery: str,
        attempt: int,
        status: int | None,
        error: str | None,
    ) -> None:
        ok = status is not None and 200 <= status < 300
        self._log.record(
            DeliveryAttempt(
                delivery_id=delivery,
                webhook=self.spec.name,
                event=notification.event,
                service=notification.service,
                environment=notification.environment,
                release_id=notification.release_id,
                attempt=attempt,
                status_code=status,
                ok=ok,
                error=error,
            )
        )
