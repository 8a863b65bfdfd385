"""Names of groups and instances (pure)."""

from __future__ import annotations


def other_group(group: str | None) -> str:
    """The idle colour: green when blue is live, else blue."""
    return "green" if group == "blue" else "blue"


def instance_name(service: str, environment: str, group: str, index: int) -> str:
    return f"{service}-{environment}-{group}-{index}"
