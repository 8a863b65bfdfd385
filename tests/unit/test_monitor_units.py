"""The monitoring stack's pure parts: configuration, target files, the receiver, the watch plan."""

from __future__ import annotations

import json
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import yaml

from moai_deploy.monitor import alerts as prom_alerts
from moai_deploy.monitor import config, receiver, targets
from moai_deploy.monitor.config import StackPaths, StackPorts
from moai_deploy.monitor.stack import StackState
from moai_deploy.rollout.plan import Situation, Step
from moai_deploy.rollout.watch import with_watch
from moai_deploy.runtime.base import InstanceState, InstanceStatus
from moai_deploy.spec.loader import load_spec
from moai_deploy.spec.models import Spec

EXAMPLE = Path(__file__).parents[2] / "examples" / "hello-service" / "moai-deploy.yaml"
PORTS = StackPorts(prometheus=19090, alertmanager=19093, receiver=19099)


def _spec(**demo_monitoring: object) -> Spec:
    data = load_spec(EXAMPLE).spec.model_dump(mode="json", exclude_unset=True)
    data["environments"]["demo"]["monitoring"] = demo_monitoring
    return Spec.model_validate(data)


def test_prometheus_config_scrapes_the_router_and_instances_with_the_shortest_intervals(
    tmp_path: Path,
) -> None:
    spec = _spec(scrape_interval="1s", evaluation_interval="2s")
    paths = StackPaths(tmp_path, tmp_path / "moai-deploy.yaml")
    doc = yaml.safe_load(config.prometheus_config(spec, paths, PORTS))
    assert doc["global"]["scrape_interval"] == "1s"
    assert doc["global"]["evaluation_interval"] == "2s"
    assert doc["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "127.0.0.1:19093"
    ]
    jobs = {job["job_name"]: job for job in doc["scrape_configs"]}
    routers = {f"router-{env}" for env in spec.environments}  # one router per environment
    assert set(jobs) == {*routers, "hello-instances"}
    assert not any("basic_auth" in jobs[name] for name in routers)  # no credentials given
    auth = {"demo": ("moai-deploy", tmp_path / "pw")}  # demo's router is an HAProxy
    secured = yaml.safe_load(config.prometheus_config(spec, paths, PORTS, auth))
    by_name = {job["job_name"]: job for job in secured["scrape_configs"]}
    assert by_name["router-demo"]["basic_auth"] == {
        "username": "moai-deploy",
        "password_file": str(tmp_path / "pw"),
    }
    assert by_name["router-demo"]["file_sd_configs"][0]["files"] == [
        str(tmp_path / "targets" / "router-demo.json")
    ]
    assert "basic_auth" not in by_name["router-staging"]
    assert jobs["hello-instances"]["metrics_path"] == "/metrics"
    assert jobs["hello-instances"]["file_sd_configs"][0]["files"] == [
        str(tmp_path / "targets" / "instances-*.json")
    ]
    assert doc["rule_files"] == [str(tmp_path / "rules" / "*.yaml")]


def test_alertmanager_delivers_everything_to_the_receiver() -> None:
    doc = yaml.safe_load(config.alertmanager_config(_spec(evaluation_interval="1s"), PORTS))
    hook = doc["receivers"][0]["webhook_configs"][0]
    assert hook == {"url": "http://127.0.0.1:19099/alerts", "send_resolved": True}
    assert doc["route"]["group_wait"] == "1s"
    assert "version" in doc["route"]["group_by"]


def test_one_rules_file_per_environment() -> None:
    files = config.rule_files(_spec())
    assert sorted(files) == ["demo.yaml", "development.yaml", "production.yaml", "staging.yaml"]
    assert "HighErrorRate" in files["demo.yaml"]


def _instance(name: str, state: InstanceState, port: int) -> InstanceStatus:
    return InstanceStatus(
        name=name,
        service="hello",
        environment="demo",
        version="v2",
        group="green",
        url=f"http://127.0.0.1:{port}",
        state=state,
        port=port,
    )


def test_target_files_list_running_instances_with_rule_labels(tmp_path: Path) -> None:
    found = [
        _instance("hello-demo-green-1", InstanceState.RUNNING, 4002),
        _instance("hello-demo-green-0", InstanceState.STARTING, 4001),  # its first second
        _instance("hello-demo-blue-0", InstanceState.CRASHED, 4000),
        _instance("hello-demo-blue-1", InstanceState.STOPPING, 4003),
    ]
    assert targets.write_environment_targets(tmp_path, "demo", found) == 2
    entries = json.loads((tmp_path / "instances-demo.json").read_text())
    assert [e["targets"] for e in entries] == [["127.0.0.1:4001"], ["127.0.0.1:4002"]]
    assert entries[0]["labels"] == {
        "service": "hello",
        "environment": "demo",
        "version": "v2",
        "group": "green",
        "instance_name": "hello-demo-green-0",
    }
    assert (tmp_path / "instances-demo.json").stat().st_mode & 0o077 == 0
    targets.write_router_target(tmp_path, "hello", "demo", None)
    assert json.loads((tmp_path / "router-demo.json").read_text()) == []
    targets.write_router_target(tmp_path, "hello", "demo", "http://127.0.0.1:8899/metrics")
    (entry,) = json.loads((tmp_path / "router-demo.json").read_text())
    assert entry == {
        "targets": ["127.0.0.1:8899"],
        "labels": {"service": "hello", "environment": "demo"},
    }


def test_stack_state_round_trips_and_tolerates_garbage(tmp_path: Path) -> None:
    state = StackState(PORTS, {"prometheus": 11})
    path = tmp_path / "stack.json"
    path.write_text(state.to_json())
    assert StackState.load(path) == state
    path.write_text("{not json")
    assert StackState.load(path) is None
    assert StackState.load(tmp_path / "missing.json") is None


def test_receiver_records_alertmanager_notifications(tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver.make_handler(out))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        payload = {
            "status": "firing",
            "receiver": "moai-deploy",
            "alerts": [{"status": "firing", "labels": {"alertname": "HighErrorRate"}}],
        }
        assert httpx.post(f"{base}/alerts", json=payload).status_code == 200
        assert httpx.post(f"{base}/alerts", content=b"[1]").status_code == 400
        assert httpx.post(f"{base}/alerts", content=b"{nope").status_code == 400
        assert httpx.post(f"{base}/other", json=payload).status_code == 400
        assert httpx.get(f"{base}/health").status_code == 200
        assert httpx.get(f"{base}/nothing").status_code == 404
    finally:
        server.shutdown()
        server.server_close()
    entries = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(entries) == 1 and entries[0]["status"] == "firing"
    assert entries[0]["alerts"][0]["labels"] == {"alertname": "HighErrorRate"}
    assert out.stat().st_mode & 0o077 == 0


class _Ctx:
    def __init__(self, spec: Spec) -> None:
        self.loaded = type("Loaded", (), {"spec": spec})()
        self.environment = "demo"


def test_watch_is_planned_right_before_promote_only_when_it_can_roll_back() -> None:
    steps = [Step("build", "b"), Step("set_weight", "w", weight=100), Step("promote", "p")]
    ctx = _Ctx(_spec(watch={"duration": "5m"}))
    with_stable = Situation(replicas=2, has_stable=True)
    planned = with_watch(steps, ctx, with_stable)  # type: ignore[arg-type]
    assert [s.kind for s in planned] == ["build", "set_weight", "watch", "promote"]
    assert planned[2].duration == 300.0
    first = Situation(replicas=2, has_stable=False)
    assert with_watch(steps, ctx, first) == steps  # type: ignore[arg-type]
    in_window = Situation(replicas=2, has_stable=True, skip_analysis=True)
    assert with_watch(steps, ctx, in_window) == steps  # type: ignore[arg-type]
    off = _Ctx(_spec())
    assert with_watch(steps, off, with_stable) == steps  # type: ignore[arg-type]


def test_alert_queries_fail_clearly_when_prometheus_is_not_there() -> None:
    with pytest.raises(prom_alerts.PrometheusQueryError, match="did not answer"):
        prom_alerts.alerts("http://127.0.0.1:9", "hello", "demo")


class _Collect:
    def __init__(self) -> None:
        self.sent: list[object] = []

    def notify(self, notification: object) -> None:
        self.sent.append(notification)

    def close(self, timeout: float) -> None:
        return None


def test_each_delivered_alert_becomes_a_notification(tmp_path: Path) -> None:
    collect = _Collect()
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver.make_handler(tmp_path / "a", [collect]))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    labels = {"alertname": "HighErrorRate", "service": "hello", "environment": "demo"}
    payload = {
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {**labels, "version": "v3"},
                "annotations": {"summary": "5xx share above 5%"},
            },
            {"status": "resolved", "labels": labels, "annotations": {}},
        ],
    }
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
        assert httpx.post(url, json=payload).status_code == 200
    finally:
        server.shutdown()
        server.server_close()
    events = [(n.event, n.version, n.message) for n in collect.sent]  # type: ignore[attr-defined]
    assert events == [
        ("alert_firing", "v3", "HighErrorRate: 5xx share above 5%"),
        ("alert_resolved", None, "HighErrorRate: HighErrorRate"),
    ]
