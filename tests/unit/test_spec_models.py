"""The spec's merge rules, defaults, secrets and schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from moai_deploy.errors import BadInputError
from moai_deploy.spec.loader import load_spec, parse_spec
from moai_deploy.spec.resolve import resolve_environment
from moai_deploy.spec.schema import spec_json_schema
from moai_deploy.spec.secrets import SecretResolver, check_value, read_secrets_file

EXAMPLE = Path(__file__).parents[2] / "examples" / "hello-service" / "moai-deploy.yaml"

SPEC = """
service:
  name: hello
  command: python -m uvicorn app:app --port {port}
defaults:
  replicas: 2
  env: {LOG_LEVEL: INFO, DB_PASSWORD: "${secret:DB_PASSWORD}"}
  strategy: {type: blue_green, scale_down_delay: 45s, smoke_paths: [/]}
environments:
  development: {env: {LOG_LEVEL: DEBUG}, strategy: {type: blue_green, scale_down_delay: 0}}
  staging: {}
  production: {replicas: 3, port: 9000, health_check_timeout: 15m}
  qa: {}
"""


def _spec():  # type: ignore[no-untyped-def]
    return parse_spec(SPEC, Path("moai-deploy.yaml")).spec


def test_overlay_merges_env_and_strategy_fields() -> None:
    dev = resolve_environment(_spec(), "development")
    assert dev.env == {"LOG_LEVEL": "DEBUG", "DB_PASSWORD": "${secret:DB_PASSWORD}"}
    assert dev.strategy.scale_down_delay == 0
    assert dev.strategy.smoke_paths == ("/",)  # kept from defaults
    assert dev.replicas == 2


def test_health_timeouts_follow_the_seed_per_environment() -> None:
    spec = _spec()
    assert resolve_environment(spec, "development").health_check_timeout == 60
    assert resolve_environment(spec, "staging").health_check_timeout == 300
    assert resolve_environment(spec, "production").health_check_timeout == 900  # overlay 15m
    assert resolve_environment(spec, "qa").health_check_timeout == 300


def test_ports_default_per_environment_and_are_distinct() -> None:
    spec = _spec()
    ports = {name: spec.port_of(name) for name in spec.environments}
    assert ports == {"development": 8080, "staging": 8081, "production": 9000, "qa": 8083}


def test_command_string_is_split_without_a_shell() -> None:
    spec = _spec()
    assert spec.service.command == ("python", "-m", "uvicorn", "app:app", "--port", "{port}")


def test_unknown_environment_is_bad_input_listing_known_ones() -> None:
    with pytest.raises(BadInputError, match="development, staging, production, qa"):
        resolve_environment(_spec(), "prod")


def test_config_output_masks_secret_references() -> None:
    shown = resolve_environment(_spec(), "staging").to_dict(masked=True)
    assert shown["env"]["DB_PASSWORD"].startswith("********")


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("DB_PASSWORD", "${secret:DB_PASSWORD}", True),
        ("DB_PASSWORD", "hunter2", False),
        ("AWS_SECRET_ACCESS_KEY", "abc", False),
        ("GITHUB_TOKEN", "ghp_x", False),
        ("API_KEY", "${secret:API_KEY}", True),
        ("DATABASE_URL", "postgresql://app:${secret:PW}@db/app", True),
        ("DATABASE_URL", "postgresql://app:pw@db/app", False),  # pragma: allowlist secret
        ("DATABASE_URL", "postgresql://db/app", True),
        ("LOG_LEVEL", "INFO", True),
        ("GREETING", "${secrets:X}", False),
    ],
)
def test_plaintext_secret_rules(key: str, value: str, allowed: bool) -> None:
    assert (check_value(key, value) is None) is allowed


def test_resolver_prefers_environment_then_file_and_redacts(tmp_path: Path) -> None:
    secrets_file = tmp_path / ".secrets.env"
    fake = 'DB_PASSWORD="from-file-pw"\nexport API_KEY=file-key\n'  # pragma: allowlist secret
    content = "# comment\n" + fake
    secrets_file.write_text(content)
    resolver = SecretResolver(secrets_file, environ={"API_KEY": "env-key-value"})
    env = resolver.resolve({"A": "${secret:DB_PASSWORD}", "B": "k=${secret:API_KEY}"})
    assert env == {"A": "from-file-pw", "B": "k=env-key-value"}
    assert resolver.redact("boom from-file-pw and env-key-value") == "boom ******** and ********"


def test_missing_secret_names_it_and_the_fix(tmp_path: Path) -> None:
    resolver = SecretResolver(tmp_path / ".secrets.env", environ={})
    with pytest.raises(BadInputError, match="MISSING_ONE") as caught:
        resolver.resolve({"X": "${secret:MISSING_ONE}"})
    assert ".secrets.env" in str(caught.value)


def test_secrets_file_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / ".secrets.env"
    path.write_text("GOOD=1\nthis is not a pair\n")
    with pytest.raises(BadInputError, match=r"\.secrets\.env:2"):
        read_secrets_file(path)


def test_schema_describes_every_section() -> None:
    schema = spec_json_schema()
    assert set(schema["required"]) == {"service", "environments"}
    assert "blue_green" in str(schema)
    assert schema["$defs"]["ServiceSpec"]["properties"]["command"]["description"]


def test_example_spec_is_valid_and_stable() -> None:
    first = load_spec(EXAMPLE)
    assert first.digest == load_spec(EXAMPLE).digest
    assert set(first.spec.environments) >= {"development", "staging", "production"}


def test_merged_strategy_keeps_nested_analysis_as_models() -> None:
    text = """
service: {name: hello, command: python -m app}
defaults:
  strategy: {type: blue_green, scale_down_delay: 10s}
environments:
  production:
    strategy:
      type: blue_green
      post_promotion_analysis: {metrics: [{template: success-rate, count: 3}]}
"""
    strategy = resolve_environment(parse_spec(text, Path("x.yaml")).spec, "production").strategy
    assert strategy.scale_down_delay == 10  # from defaults
    analysis = strategy.post_promotion_analysis  # type: ignore[union-attr]
    assert analysis is not None and analysis.resolved()[0].count == 3
