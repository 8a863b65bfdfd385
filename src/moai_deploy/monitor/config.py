"""The stack's configuration files, rendered from the spec (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moai_deploy.monitor.targets import ROUTER_TARGETS
from moai_deploy.render import render
from moai_deploy.render._alerts import duration
from moai_deploy.render._dump import to_yaml
from moai_deploy.spec.models import Spec

RULES_FILE = "prometheus-rules/rules.yaml"


@dataclass(frozen=True)
class StackPorts:
    """Where each part of the stack listens (127.0.0.1 only)."""

    prometheus: int
    alertmanager: int
    receiver: int


@dataclass(frozen=True)
class StackPaths:
    """Every file and folder of the stack, under STATE/monitor."""

    root: Path
    spec: Path  # the project's spec (the receiver sends alerts to its webhooks)

    @property
    def state_file(self) -> Path:
        return self.root / "stack.json"

    @property
    def prometheus_config(self) -> Path:
        return self.root / "prometheus.yml"

    @property
    def alertmanager_config(self) -> Path:
        return self.root / "alertmanager.yml"

    @property
    def rules(self) -> Path:
        return self.root / "rules"

    @property
    def targets(self) -> Path:
        return self.root / "targets"

    @property
    def alerts_log(self) -> Path:
        """What the receiver got from Alertmanager, one JSON object per notification."""
        return self.root / "alerts.jsonl"

    def data(self, part: str) -> Path:
        return self.root / "data" / part

    def log(self, part: str) -> Path:
        return self.root / f"{part}.log"


def intervals(spec: Spec) -> tuple[float, float]:
    """(scrape, evaluation) interval of the one Prometheus: the shortest any environment asks."""
    settings = [spec.monitoring_of(env) for env in spec.environments]
    return (
        min(m.scrape_interval for m in settings),
        min(m.evaluation_interval for m in settings),
    )


def rule_files(spec: Spec, version: str = "local") -> dict[str, str]:
    """The rendered rules file of every environment, by file name."""
    return {
        f"{env}.yaml": render(spec, env, version, ["prometheus-rules"])[RULES_FILE]
        for env in spec.environments
    }


def prometheus_config(
    spec: Spec,
    paths: StackPaths,
    ports: StackPorts,
    router_auth: Mapping[str, tuple[str, Path] | None] | None = None,
) -> str:
    """Prometheus scraping every environment's router and every instance; `router_auth`:
    environment -> the (user, password file) its router's metrics want (both routers')."""
    scrape, evaluation = intervals(spec)
    file_sd = {"refresh_interval": duration(max(scrape, 1.0))}
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": duration(scrape),
            "scrape_timeout": duration(max(0.5, min(scrape, 10.0))),
            "evaluation_interval": duration(evaluation),
        },
        "rule_files": [str(paths.rules / "*.yaml")],
        "alerting": {
            "alertmanagers": [
                {"static_configs": [{"targets": [f"127.0.0.1:{ports.alertmanager}"]}]}
            ]
        },
        "scrape_configs": [
            *(
                {
                    "job_name": f"router-{env}",
                    "file_sd_configs": [{"files": [str(paths.targets / target)], **file_sd}],
                    **_basic_auth((router_auth or {}).get(env)),
                }
                for env in spec.environments
                for target in [ROUTER_TARGETS.format(environment=env)]
            ),
            {
                "job_name": f"{spec.service.name}-instances",
                "metrics_path": spec.service.metrics_path,
                "file_sd_configs": [
                    {"files": [str(paths.targets / "instances-*.json")], **file_sd}
                ],
            },
        ],
    }
    return to_yaml(config)


def _basic_auth(auth: tuple[str, Path] | None) -> dict[str, Any]:
    if auth is None:
        return {}
    return {"basic_auth": {"username": auth[0], "password_file": str(auth[1])}}


def alertmanager_config(spec: Spec, ports: StackPorts) -> str:
    """Every alert to moai-deploy's receiver; grouped per alert, service, env and version."""
    _, evaluation = intervals(spec)
    config = {
        "route": {
            "receiver": "moai-deploy",
            "group_by": ["alertname", "service", "environment", "version"],
            "group_wait": duration(min(30.0, evaluation)),
            "group_interval": duration(max(1.0, min(300.0, evaluation * 5))),
            "repeat_interval": "4h",
        },
        "receivers": [
            {
                "name": "moai-deploy",
                "webhook_configs": [
                    {"url": f"http://127.0.0.1:{ports.receiver}/alerts", "send_resolved": True}
                ],
            }
        ],
    }
    return to_yaml(config)
