"""Webhooks: HMAC-SHA256-signed JSON (or Slack-compatible) POSTs, retried, each recorded."""

from moai_deploy.notify.webhook.sender import WebhookNotifier, sign

__all__ = ["WebhookNotifier", "sign"]
