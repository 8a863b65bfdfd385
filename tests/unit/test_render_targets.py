"""What each target derives from the spec: commands, strategies, sizes, consistency, diffs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from moai_deploy.errors import BadInputError
from moai_deploy.render import _units, render, select_targets
from moai_deploy.render.artifacts import (
    load_release_artifacts,
    store_release_artifacts,
    unified_diff,
)
from moai_deploy.render.consistency import undeclared_differences
from moai_deploy.render.context import build_context
from moai_deploy.spec.loader import load_spec, parse_spec

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "hello-service" / "moai-deploy.yaml"
RICH = ROOT / "tests" / "golden" / "rich" / "moai-deploy.yaml"


def test_container_command_listens_on_every_interface_at_the_container_port() -> None:
    ctx = build_context(load_spec(RICH).spec, "staging", "1")
    assert ctx.command == ("gunicorn", "shop.wsgi:app", "--bind", "0.0.0.0:8080", "--workers", "2")
    hello = build_context(load_spec(EXAMPLE).spec, "staging", "1")
    assert hello.command[hello.command.index("--host") + 1] == "0.0.0.0"
    assert hello.command[hello.command.index("--port") + 1] == "8000"


def test_canary_rollout_follows_the_spec_steps() -> None:
    files = render(load_spec(RICH).spec, "production", "1")
    canary = yaml.safe_load(files["argo-rollouts/rollout.yaml"])["spec"]["strategy"]["canary"]
    weights = [step["setWeight"] for step in canary["steps"] if "setWeight" in step]
    pauses = [step["pause"].get("duration") for step in canary["steps"] if "pause" in step]
    assert weights == [0, 10, 25, 50, 75]  # 0: the smoke test before any traffic
    assert pauses == ["300s", "300s", "600s", None]
    assert canary["analysis"]["templates"] == [{"templateName": "shop-background"}]
    step = yaml.safe_load(files["argo-rollouts/analysistemplate-shop-step-6.yaml"])
    metric = step["spec"]["metrics"][0]
    assert metric["failureCondition"] == "result[0] > 5"
    assert "{{args.canary-hash}}" in metric["provider"]["prometheus"]["query"]
    assert "[60s]" in metric["provider"]["prometheus"]["query"]
    hpa = yaml.safe_load(files["kubernetes/hpa.yaml"])["spec"]
    assert hpa["scaleTargetRef"]["kind"] == "Rollout" and hpa["minReplicas"] == 3


def test_blue_green_rollout_maps_delays_promotion_and_analyses() -> None:
    files = render(load_spec(RICH).spec, "staging", "1")
    blue_green = yaml.safe_load(files["argo-rollouts/rollout.yaml"])["spec"]["strategy"][
        "blueGreen"
    ]
    assert blue_green["scaleDownDelaySeconds"] == 30
    assert blue_green["autoPromotionSeconds"] == 60
    pre = [t["templateName"] for t in blue_green["prePromotionAnalysis"]["templates"]]
    assert pre == ["shop-smoke", "shop-pre-promotion"]
    post = yaml.safe_load(files["argo-rollouts/analysistemplate-shop-post-promotion.yaml"])
    assert post["spec"]["metrics"][0]["successCondition"] == "result[0] <= 0.5"
    deployment = yaml.safe_load(files["kubernetes/deployment.yaml"])
    assert deployment["spec"]["replicas"] == 0  # the Rollout runs its pod template


def test_rolling_environment_is_a_plain_deployment() -> None:
    files = render(load_spec(RICH).spec, "development", "1")
    assert not any(path.startswith("argo-rollouts/") for path in files)
    spec = yaml.safe_load(files["kubernetes/deployment.yaml"])["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 2, "maxUnavailable": 0}
    pod = spec["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 35  # 15 s drain + 20 s stop timeout
    container = pod["containers"][0]
    assert container["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "15"]
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"


def test_compose_development_hot_reloads_the_mounted_source() -> None:
    dev = yaml.safe_load(render(load_spec(RICH).spec, "development", "1")["compose/compose.yaml"])
    app = dev["services"]["app"]
    assert app["command"][-1] == "--reload"
    assert app["volumes"] == [{"type": "bind", "source": ".", "target": "/app"}]
    assert "deploy" not in app
    prod = yaml.safe_load(render(load_spec(RICH).spec, "production", "1")["compose/compose.yaml"])
    deploy = prod["services"]["app"]["deploy"]
    assert deploy["replicas"] == 3 and deploy["resources"]["limits"] == {
        "cpus": "2",
        "memory": "2048M",
    }
    assert prod["services"]["app"]["read_only"] is True


@pytest.mark.parametrize(
    ("cpu", "memory", "expected"),
    [("250m", "256Mi", (256, 512)), ("1", "512Mi", (1024, 2048)), ("2", "5Gi", (2048, 5120))],
)
def test_fargate_size_is_the_smallest_valid_pair(
    cpu: str, memory: str, expected: tuple[int, int]
) -> None:
    assert _units.fargate_size(cpu, memory) == expected


def test_unknown_target_is_bad_input() -> None:
    spec = load_spec(EXAMPLE).spec
    with pytest.raises(BadInputError, match="unknown target"):
        select_targets(spec, ["helm"])
    assert select_targets(spec, ["gitlab-ci", "docker"]) == ["docker", "gitlab-ci"]


def test_consistency_lists_name_based_differences_only() -> None:
    found = undeclared_differences(load_spec(EXAMPLE).spec, "1")
    staging = {d.path: "\n".join(d.diff) for d in found if d.environment == "staging"}
    # Health-check timeouts default by environment name (60/300 s): not declared anywhere.
    assert "+  progressDeadlineSeconds: 300" in staging["kubernetes/deployment.yaml"]
    assert not any(p.startswith(("github-actions/", "gitlab-ci/")) for p in staging)
    text = EXAMPLE.read_text().replace(
        "defaults:\n  replicas: 1", "defaults:\n  health_check_timeout: 60s\n  replicas: 1"
    )
    spec = parse_spec(text, EXAMPLE).spec
    left = {(d.environment, d.path) for d in undeclared_differences(spec, "1")}
    assert all(path == "compose/compose.yaml" for _, path in left)  # accessories by name


def test_release_artifacts_round_trip_and_diff(tmp_path: Path) -> None:
    spec = load_spec(EXAMPLE).spec
    old = render(spec, "production", "v1")
    store_release_artifacts(tmp_path, 7, old)
    assert (tmp_path / "artifacts" / "7" / "manifest.json").is_file()
    assert load_release_artifacts(tmp_path, 7) == old
    new = render(spec, "production", "v2")
    text = unified_diff(old, new, "release-7", "rendered")
    assert "-    image: ghcr.io/moai-adk/hello:v1" in text
    assert "+    image: ghcr.io/moai-adk/hello:v2" in text
    assert unified_diff(old, old, "a", "b") == ""
    with pytest.raises(BadInputError, match="no stored artifacts"):
        load_release_artifacts(tmp_path, 8)
