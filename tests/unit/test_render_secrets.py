"""No secret value ever reaches a rendered file; every target references secrets instead."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from moai_deploy.render import render
from moai_deploy.spec.loader import load_spec

RICH = Path(__file__).parents[2] / "tests" / "golden" / "rich" / "moai-deploy.yaml"
SECRETS = {
    "DB_PASSWORD": "pw-Zq8!vT3#leak-check",  # pragma: allowlist secret
    "SECRET_KEY": "sk-4f9a1c7e2b-never-rendered",  # pragma: allowlist secret
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The rich spec in a project whose environment and secrets file hold real values."""
    spec = tmp_path / "moai-deploy.yaml"
    spec.write_text(RICH.read_text())
    (tmp_path / ".secrets.env").write_text("".join(f"{k}={v}\n" for k, v in SECRETS.items()))
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return spec


def test_no_secret_value_appears_in_any_rendered_file(project: Path) -> None:
    spec = load_spec(project).spec
    rendered = {env: render(spec, env, "1.4.0") for env in spec.environments}
    total = sum(len(files) for files in rendered.values())
    assert total > 50  # every target of every environment was rendered
    for env, files in rendered.items():
        for path, text in files.items():
            for value in SECRETS.values():
                assert value not in text, f"{env}/{path} leaks a secret value"
                assert value[:8] not in text, f"{env}/{path} leaks part of a secret value"


def test_kubernetes_reads_secrets_by_reference_and_composes_with_env_expansion() -> None:
    files = render(load_spec(RICH).spec, "production", "1.4.0")
    pod = yaml.safe_load(files["kubernetes/deployment.yaml"])["spec"]["template"]["spec"]
    env = {item["name"]: item for item in pod["containers"][0]["env"]}
    assert env["SECRET_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "shop-secrets",
        "key": "SECRET_KEY",
    }
    assert env["DATABASE_URL"]["value"] == "postgresql://shop:$(DB_PASSWORD)@postgres:5432/shop"
    names = [item["name"] for item in pod["containers"][0]["env"]]
    assert names.index("DB_PASSWORD") < names.index("DATABASE_URL")  # defined before use
    config = yaml.safe_load(files["kubernetes/configmap.yaml"])["data"]
    assert "SECRET_KEY" not in config and "DATABASE_URL" not in config
    external = yaml.safe_load(files["kubernetes/externalsecret.yaml"])
    keys = [item["remoteRef"]["key"] for item in external["spec"]["data"]]
    assert keys == ["shop/production/DB_PASSWORD", "shop/production/SECRET_KEY"]


def test_cloud_targets_reference_their_secret_managers() -> None:
    files = render(load_spec(RICH).spec, "production", "1.4.0")
    task = json.loads(files["ecs/task-definition.json"])
    secrets = {s["name"]: s["valueFrom"] for s in task["containerDefinitions"][0]["secrets"]}
    prefix = "arn:aws:secretsmanager:eu-west-1:210987654321:secret:shop/production/"
    assert secrets == {"DATABASE_URL": prefix + "DATABASE_URL", "SECRET_KEY": prefix + "SECRET_KEY"}
    plain = {e["name"] for e in task["containerDefinitions"][0]["environment"]}
    assert plain.isdisjoint(secrets)
    arm = json.loads(files["aci/azuredeploy.json"])
    assert arm["parameters"]["secretSecretKey"]["type"] == "securestring"
    variables = arm["resources"][0]["properties"]["containers"][0]["properties"]
    secure = {
        v["name"]: v["secureValue"] for v in variables["environmentVariables"] if "secureValue" in v
    }
    assert secure["SECRET_KEY"] == "[parameters('secretSecretKey')]"
    run = yaml.safe_load(files["cloudrun/service.yaml"])
    env = run["spec"]["template"]["spec"]["containers"][0]["env"]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in env if "valueFrom" in e}
    assert refs["SECRET_KEY"] == {"name": "shop-production-SECRET_KEY", "key": "latest"}
    assert "secret_key_ref" in files["cloudrun/main.tf"]


def test_compose_interpolates_secrets_at_run_time_and_escapes_literal_dollars() -> None:
    files = render(load_spec(RICH).spec, "staging", "1.4.0")
    app = yaml.safe_load(files["compose/compose.yaml"])["services"]["app"]["environment"]
    assert app["SECRET_KEY"].startswith("${SECRET_KEY:?")
    assert app["DATABASE_URL"].startswith("postgresql://shop:${DB_PASSWORD:?")
    assert app["PRICE_TEMPLATE"] == "cost: $$(amount) $$USD"


def test_ci_pipelines_pass_secrets_from_the_ci_store_by_name() -> None:
    files = render(load_spec(RICH).spec, "production", "1.4.0")
    workflow = yaml.safe_load(files["github-actions/.github/workflows/moai-deploy.yml"])
    step = workflow["jobs"]["deploy-production"]["steps"][-1]
    assert step["run"] == 'moai-deploy deploy production --version "$VERSION"'
    assert step["env"]["DB_PASSWORD"] == "${{ secrets.DB_PASSWORD }}"
