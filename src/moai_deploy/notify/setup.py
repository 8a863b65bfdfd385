"""Notifiers from the spec's `notifications:` section."""

from __future__ import annotations

from moai_deploy.errors import BadInputError
from moai_deploy.ledger.deliveries import DeliveryLog
from moai_deploy.ledger.store import Ledger
from moai_deploy.notify.base import Notifier
from moai_deploy.spec.models import Spec
from moai_deploy.spec.secrets import SECRET_REF, SecretResolver


def webhook_notifiers(spec: Spec, secrets: SecretResolver, ledger: Ledger) -> list[Notifier]:
    """One WebhookNotifier per webhook; a signing key that is not set is bad input."""
    from moai_deploy.notify.webhook import WebhookNotifier

    log = DeliveryLog(ledger)
    found: list[Notifier] = []
    for webhook in spec.notifications.webhooks:
        key = None
        if webhook.secret is not None:
            match = SECRET_REF.fullmatch(webhook.secret)
            name = match.group(1) if match else webhook.secret
            key = secrets.lookup(name)
            if key is None:
                raise BadInputError(
                    f"notifications.webhooks[{webhook.name}].secret: secret {name} is not set\n"
                    "    fix: export it or add it to the secrets file"
                )
        found.append(WebhookNotifier(webhook, key, log))
    return found
