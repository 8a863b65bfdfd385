"""Prometheus file_sd target files: one per environment with its running instances, one for
the router (Traefik or HAProxy). Rewritten atomically; Prometheus notices the change by
itself (inotify)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from moai_deploy import paths
from moai_deploy.runtime.base import InstanceStatus

ROUTER_TARGETS = "router-{environment}.json"  # one router per environment


def write_private(path: Path, text: str) -> None:
    """`paths.write_private`, its folder created (0700) first."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths.write_private(path, text)


def instance_entries(instances: Iterable[InstanceStatus]) -> list[dict[str, Any]]:
    """file_sd entries of the running instances, labelled as the alerting rules expect."""
    entries = []
    for item in instances:
        if not item.state.alive:  # STARTING too: supervisord's first second, already serving
            continue
        labels = {
            "service": item.service,
            "environment": item.environment,
            "version": item.version,
            "group": item.group,
            "instance_name": item.name,
        }
        entries.append({"targets": [urlsplit(item.url).netloc], "labels": labels})
    return sorted(entries, key=lambda e: str(e["labels"]["instance_name"]))


def write_environment_targets(
    targets_dir: Path, environment: str, instances: Iterable[InstanceStatus]
) -> int:
    """Rewrite one environment's target file; how many targets it holds."""
    entries = instance_entries(instances)
    write_private(targets_dir / f"instances-{environment}.json", json.dumps(entries, indent=2))
    return len(entries)


def write_router_target(
    targets_dir: Path, service: str, environment: str, metrics_url: str | None
) -> None:
    """The environment's router's own metrics endpoint (none while it does not run)."""
    entries = []
    if metrics_url:
        labels = {"service": service, "environment": environment}
        entries.append({"targets": [urlsplit(metrics_url).netloc], "labels": labels})
    path = targets_dir / ROUTER_TARGETS.format(environment=environment)
    write_private(path, json.dumps(entries, indent=2))
