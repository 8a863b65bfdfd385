"""The rendered alerting rules pass `promtool check rules` for every example environment, and
`promtool test rules` shows each of the seed's four alerts firing on synthetic series and
staying silent below its threshold (and before its `for` has elapsed).

promtool is Debian's `prometheus` package (installed by .ci/run).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from moai_deploy.render import render
from moai_deploy.render.artifacts import write_files
from moai_deploy.spec.loader import load_spec

REPO = Path(__file__).parents[2]
SPECS = [
    REPO / "examples" / "hello-service" / "moai-deploy.yaml",
    REPO / "tests" / "golden" / "rich" / "moai-deploy.yaml",
]
LIMIT = 512 * 1024 * 1024  # the example's memory_limit, 512Mi
BASE = {"service": "hello", "environment": "production"}


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool missing: apt-get install prometheus (CI installs it)"
    return found


def _run(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, *args], capture_output=True, text=True, check=False)


def test_promtool_accepts_the_rules_of_every_example_environment(
    tmp_path: Path, promtool: str
) -> None:
    checked = 0
    for spec_path in SPECS:
        spec = load_spec(spec_path).spec
        for environment in spec.environments:
            files = render(spec, environment, "1.4.0", ["prometheus-rules"])
            path = tmp_path / spec_path.parent.name / environment / "rules.yaml"
            write_files(path.parent, {path.name: files["prometheus-rules/rules.yaml"]})
            done = _run(promtool, "check", "rules", str(path))
            assert done.returncode == 0, done.stdout + done.stderr
            assert "SUCCESS: 4 rules found" in done.stdout
            checked += 1
    assert checked >= 7  # 4 example environments + 3 of the rich spec


def _series(name: str, values: str, **labels: str) -> dict[str, str]:
    merged = {**BASE, **labels}
    text = ", ".join(f'{key}="{value}"' for key, value in merged.items())
    return {"series": f"{name}{{{text}}}", "values": values}


def _requests(version: str, ok_per_min: int, errors_per_min: int) -> list[dict[str, str]]:
    common = {"version": version, "method": "GET", "endpoint": "/"}
    return [
        _series("http_requests_total", f"0+{ok_per_min}x30", status="200", **common),
        _series("http_requests_total", f"0+{errors_per_min}x30", status="500", **common),
        # Probes answer 200 all the time: they must not dilute the error rate.
        _series(
            "http_requests_total",
            "0+100000x30",
            version=version,
            method="GET",
            endpoint="/ready",
            status="200",
        ),
    ]


def _latency(version: str, bucket_counts: dict[str, int]) -> list[dict[str, str]]:
    return [
        _series(
            "http_request_duration_seconds_bucket",
            f"0+{count}x30",
            version=version,
            method="GET",
            endpoint="/",
            le=le,
        )
        for le, count in bucket_counts.items()
    ]


def _alert(name: str, at: str, firing: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "eval_time": at,
        "alertname": name,
        "exp_alerts": [{"exp_labels": labels} for labels in firing],
    }


def _labels(severity: str, **extra: str) -> dict[str, str]:
    return {"severity": severity, **BASE, **extra}


def _cases() -> list[dict[str, Any]]:
    error_rate = {
        "interval": "1m",
        # "bad" answers 10 % 5xx (fires), "good" 4 % (silent, below 5 %).
        "input_series": _requests("bad", 540, 60) + _requests("good", 576, 24),
        "alert_rule_test": [
            _alert("HighErrorRate", "4m", []),  # above the threshold, but not for 5m yet
            _alert("HighErrorRate", "15m", [_labels("critical", version="bad")]),
        ],
    }
    latency = {
        "interval": "1m",
        # "slow": every answer between 1 s and 2.5 s (p95 ~2.4 s); "fast": all under 0.5 s.
        "input_series": _latency("slow", {"0.5": 0, "1.0": 0, "2.5": 60, "+Inf": 60})
        + _latency("fast", {"0.5": 60, "1.0": 60, "2.5": 60, "+Inf": 60}),
        "alert_rule_test": [
            _alert("HighLatencyP95", "8m", []),  # not for 10m yet
            _alert("HighLatencyP95", "15m", [_labels("warning", version="slow")]),
        ],
    }
    crash = {
        "interval": "1m",
        # "looping" restarts every 2 minutes; "twice" restarts twice (below 3); "steady" never.
        "input_series": [
            _series(
                "process_start_time_seconds",
                "100 100 220 220 340 340 460 460 580 580",
                version="v2",
                instance="looping",
            ),
            _series(
                "process_start_time_seconds",
                "100 100 220 220 340 340 340 340 340 340",
                version="v2",
                instance="twice",
            ),
            _series("process_start_time_seconds", "100x9", version="v2", instance="steady"),
        ],
        "alert_rule_test": [
            _alert("CrashLooping", "2m", []),
            _alert("CrashLooping", "7m", [_labels("critical", version="v2", instance="looping")]),
        ],
    }
    memory = {
        "interval": "1m",
        "input_series": [
            _series(
                "process_resident_memory_bytes",
                f"{int(LIMIT * 0.95)}x15",
                version="v2",
                instance="hungry",
            ),
            _series(
                "process_resident_memory_bytes",
                f"{int(LIMIT * 0.85)}x15",
                version="v2",
                instance="modest",
            ),
        ],
        "alert_rule_test": [
            _alert("HighMemoryUsage", "3m", []),  # not for 5m yet
            _alert("HighMemoryUsage", "10m", [_labels("warning", version="v2", instance="hungry")]),
        ],
    }
    return [error_rate, latency, crash, memory]


def _without_annotations(rules_text: str) -> str:
    # The unit tests check which alerts fire with which labels; annotations are templates
    # checked by `promtool check rules` above.
    doc = yaml.safe_load(rules_text)
    for group in doc["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    return yaml.safe_dump(doc, sort_keys=False)


def test_each_alert_fires_above_its_threshold_and_stays_silent_below(
    tmp_path: Path, promtool: str
) -> None:
    spec = load_spec(SPECS[0]).spec
    rules = render(spec, "production", "1.4.0", ["prometheus-rules"])["prometheus-rules/rules.yaml"]
    (tmp_path / "rules.yaml").write_text(_without_annotations(rules))
    tests = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": _cases()}
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
    done = _run(promtool, "test", "rules", str(tmp_path / "tests.yaml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


def test_promtool_fails_when_an_expected_alert_does_not_fire(tmp_path: Path, promtool: str) -> None:
    # The harness can fail: the "good" version (4 % errors) must not be reported as firing.
    spec = load_spec(SPECS[0]).spec
    rules = render(spec, "production", "1.4.0", ["prometheus-rules"])["prometheus-rules/rules.yaml"]
    (tmp_path / "rules.yaml").write_text(_without_annotations(rules))
    case = _cases()[0]
    case["alert_rule_test"] = [
        _alert("HighErrorRate", "15m", [_labels("critical", version="good")])
    ]
    tests = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": [case]}
    (tmp_path / "tests.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
    done = _run(promtool, "test", "rules", str(tmp_path / "tests.yaml"))
    assert done.returncode != 0
    assert 'version="bad"' in done.stdout + done.stderr  # what fired instead


def test_thresholds_come_from_the_spec(tmp_path: Path, promtool: str) -> None:
    spec = load_spec(SPECS[0]).spec
    overlay = spec.environments["production"].model_copy(
        update={
            "monitoring": spec.monitoring.model_validate(
                {"alerts": {"high_error_rate": {"threshold": 0.01, "duration": "1m"}}}
            )
        }
    )
    custom = spec.model_copy(update={"environments": {**spec.environments, "production": overlay}})
    rules = yaml.safe_load(
        render(custom, "production", "1", ["prometheus-rules"])["prometheus-rules/rules.yaml"]
    )["groups"][0]["rules"]
    by_name = {rule["alert"]: rule for rule in rules}
    assert by_name["HighErrorRate"]["expr"].endswith("> 0.01")
    assert by_name["HighErrorRate"]["for"] == "1m"
    assert by_name["HighLatencyP95"]["for"] == "10m"  # the rest keeps the seed's values
