"""Spec sections of the control plane: approvals per environment, notifications."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, field_validator

from moai_deploy.spec._base import Section
from moai_deploy.spec._types import DnsName, Seconds
from moai_deploy.spec.secrets import SECRET_REF

NotifyEvent = Literal[
    "started",
    "waiting_for_approval",
    "approved",
    "promoted",
    "paused",
    "aborted",
    "failed",
    "rolled_back",
    "succeeded",
    "pipeline_started",
    "pipeline_succeeded",
    "pipeline_failed",
    "alert_firing",
    "alert_resolved",
]
NOTIFY_EVENTS: tuple[NotifyEvent, ...] = get_args(NotifyEvent)


class ApprovalsSpec(Section):
    """People who must approve a release before it starts (not the one who deployed it)."""

    required: Annotated[int, Field(ge=1, le=10)] = Field(
        default=1, description="Approvals needed, from distinct approvers other than the deployer."
    )
    expiry: Seconds | None = Field(
        default=None,
        description="An approval older than this no longer counts (unset: never expires).",
    )


class WebhookSpec(Section):
    """An HTTP endpoint told about release and pipeline transitions."""

    name: DnsName = Field(description="Name shown in the delivery log.")
    url: str = Field(description="http(s) URL the notification is POSTed to.")
    secret: str | None = Field(
        default=None,
        description="HMAC-SHA256 signing key, as a ${secret:NAME} reference; the signature is "
        "sent as `X-Moai-Signature: sha256=HEX` over `TIMESTAMP.BODY`.",
    )
    format: Literal["json", "slack"] = Field(
        default="json", description="`slack`: a Slack-compatible `{text, blocks}` payload."
    )
    events: tuple[NotifyEvent, ...] = Field(
        default=NOTIFY_EVENTS, description="Which transitions to send (default: all)."
    )
    attempts: Annotated[int, Field(ge=1, le=10)] = Field(
        default=4, description="Tries per notification (retried with exponential backoff)."
    )
    backoff: Seconds = Field(default=0.5, description="Wait before the first retry; doubles.")
    timeout: Seconds = Field(default=5.0, description="Per-request timeout.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or any(c.isspace() for c in value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("secret")
    @classmethod
    def _secret_reference(cls, value: str | None) -> str | None:
        if value is not None and not SECRET_REF.fullmatch(value):
            raise ValueError("the signing key must be a ${secret:NAME} reference, not a value")
        return value


class NotificationsSpec(Section):
    """Where release and pipeline transitions are sent."""

    webhooks: tuple[WebhookSpec, ...] = Field(default=(), description="Webhooks, in order.")
