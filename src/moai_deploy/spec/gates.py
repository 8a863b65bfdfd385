"""The `gates:` section: which quality gates run, with what thresholds, required where.

Zero config runs every gate with MoAI-ADK's TRUST 5 numbers; a deploy to `staging` or
`production` requires all of them, other environments treat them as advisory.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, model_validator

from moai_deploy.spec._base import Section
from moai_deploy.spec._types import DnsName, Seconds
from moai_deploy.trace.options import OPTION_HELP

GateName = Literal[
    "ruff",
    "ruff_format",
    "mypy",
    "pytest",
    "bandit",
    "pip_audit",
    "secrets",
    "trust",
    "tags",
    "hadolint",
]
GATE_NAMES: tuple[str, ...] = get_args(GateName)
# The tools the gates provision (pytest runs in the project's own environment instead).
ToolName = Literal["ruff", "mypy", "bandit", "detect-secrets", "pip-audit", "hadolint"]
_TOOL_VERSION = r"^[0-9][0-9A-Za-z.+!-]{0,40}$"
ALL: Literal["all"] = "all"
OnError = Literal["fail", "warn"]
Level = Literal["low", "medium", "high"]


class GateSettings(Section):
    """Settings every gate has."""

    enabled: bool = Field(default=True, description="Run this gate at all.")
    on_error: OnError | None = Field(
        default=None,
        description="When the gate cannot run (tool missing, service unreachable): `fail` "
        "blocks like a failure, `warn` only reports. Default: `warn` for gates that need "
        "the network (pip_audit), `fail` for the others.",
    )
    paths: list[str] | None = Field(
        default=None,
        description="What the gate checks, relative to the project (default: `src` when it "
        "exists, else the project folder; ruff and ruff_format check the whole project).",
    )
    exclude: list[str] = Field(
        default_factory=list,
        description="Globs (relative paths) this gate ignores: left out of its cache key and, "
        "for trust, secrets and hadolint, out of the scan.",
    )
    extra_inputs: list[str] = Field(
        default_factory=list,
        description="More globs whose contents invalidate the cached result (data files the "
        "tests read, ...).",
    )
    args: list[str] = Field(
        default_factory=list,
        description="Extra arguments for the tool (argv, no shell); project files they name "
        "(`--config .config/x.toml`) are part of the cache key.",
    )
    timeout: Seconds = Field(default=900.0, description="Longest the gate may run.")

    def named_paths(self) -> list[str]:
        """Values that may name project files the tool reads (hashed into the cache key)."""
        return list(self.args)


class PytestGateSettings(GateSettings):
    """The tests with coverage (pytest + pytest-cov)."""

    min_coverage: Annotated[float, Field(ge=0, le=100)] = Field(
        default=85.0, description="Total line coverage (percent) the tests must reach."
    )
    coverage_source: list[str] = Field(
        default_factory=list,
        description="Packages or folders measured (`--cov=...`); empty uses coverage's own "
        "configuration.",
    )


class BanditGateSettings(GateSettings):
    """Security lint of the code (bandit)."""

    min_severity: Level = Field(default="low", description="Lowest issue severity reported.")
    min_confidence: Level = Field(default="low", description="Lowest confidence reported.")


class PipAuditGateSettings(GateSettings):
    """Known vulnerabilities in the dependencies (pip-audit)."""

    requirements: list[str] = Field(
        default_factory=list,
        description="Requirement files to audit; empty audits `requirements.txt` when it "
        "exists, else the project's pyproject.toml.",
    )
    service: Literal["pypi", "osv"] = Field(
        default="pypi", description="Vulnerability service pip-audit asks."
    )

    def named_paths(self) -> list[str]:
        return [*super().named_paths(), *self.requirements]


class SecretsGateSettings(GateSettings):
    """Hard-coded secrets (detect-secrets)."""

    baseline: str = Field(
        default=".secrets.baseline",
        description="detect-secrets baseline; secrets listed there are accepted.",
    )

    def named_paths(self) -> list[str]:
        return [*super().named_paths(), self.baseline]


class TrustGateSettings(GateSettings):
    """TRUST 5 Readable: size and complexity limits (lines are physical lines, as `wc -l`)."""

    max_file_lines: Annotated[int, Field(ge=1)] = Field(
        default=300, description="Lines per Python file."
    )
    max_function_lines: Annotated[int, Field(ge=1)] = Field(
        default=50, description="Lines per function, from `def` to its last line."
    )
    max_parameters: Annotated[int, Field(ge=0)] = Field(
        default=5,
        description="Named parameters per function (self/cls, *args, **kwargs not counted).",
    )
    max_complexity: Annotated[int, Field(ge=1)] = Field(
        default=10, description="McCabe cyclomatic complexity per function (as ruff's C901)."
    )


class TagsGateSettings(GateSettings):
    """The TAG chain (`moai-deploy trace`): MoAI-ADK's rules; each flag below is one difference."""

    strict: bool = Field(default=False, description="Warnings count as errors.")
    exact_ignores: bool = Field(default=False, description=OPTION_HELP["exact_ignores"])
    skip_hidden: bool = Field(default=False, description=OPTION_HELP["skip_hidden"])
    separate_nested: bool = Field(default=False, description=OPTION_HELP["separate_nested"])
    skip_binary: bool = Field(default=False, description=OPTION_HELP["skip_binary"])
    file_duplicates: bool = Field(default=False, description=OPTION_HELP["file_duplicates"])
    per_id_orphans: bool = Field(default=False, description=OPTION_HELP["per_id_orphans"])
    declared_specs: bool = Field(default=False, description=OPTION_HELP["declared_specs"])
    frontmatter: bool = Field(default=False, description=OPTION_HELP["frontmatter"])


class GatesSpec(Section):
    """Quality gates (lint, types, tests + coverage, security, TRUST 5, TAG chain)."""

    jobs: Annotated[int, Field(ge=1, le=64)] | None = Field(
        default=None, description="Gates run at once (default: the number of cores)."
    )
    tools: dict[ToolName, Annotated[str, Field(pattern=_TOOL_VERSION)]] = Field(
        default_factory=dict,
        description="Tool versions, e.g. {ruff: 0.6.9}. Each tool is provisioned on first "
        "use with uv into its own cached environment (default: the versions moai-deploy "
        "is tested with); mypy and pytest see the project's own environment plus its "
        "dev/test dependencies.",
    )
    required: dict[DnsName, list[GateName | Literal["all"]]] = Field(
        default={"staging": [ALL], "production": [ALL]},
        description="Gates a deploy to each environment requires (`all` = every enabled "
        "gate); unlisted environments run none before a deploy and `moai-deploy gate "
        "--env` shows them as advisory.",
    )
    ruff: GateSettings = Field(default_factory=GateSettings, description="ruff check.")
    ruff_format: GateSettings = Field(
        default_factory=GateSettings, description="ruff format --check."
    )
    mypy: GateSettings = Field(default_factory=GateSettings, description="Type check (mypy).")
    pytest: PytestGateSettings = Field(default_factory=PytestGateSettings)
    bandit: BanditGateSettings = Field(default_factory=BanditGateSettings)
    pip_audit: PipAuditGateSettings = Field(default_factory=PipAuditGateSettings)
    secrets: SecretsGateSettings = Field(default_factory=SecretsGateSettings)
    trust: TrustGateSettings = Field(default_factory=TrustGateSettings)
    tags: TagsGateSettings = Field(default_factory=TagsGateSettings)
    hadolint: GateSettings = Field(
        default_factory=GateSettings, description="Dockerfile lint (only when one exists)."
    )

    @model_validator(mode="after")
    def _required_gates_are_enabled(self) -> GatesSpec:
        for environment, names in self.required.items():
            for name in names:
                if name != ALL and not self.settings(name).enabled:
                    raise ValueError(
                        f"gate {name!r} is required in {environment!r} but disabled; "
                        "enable it or remove it from `required`"
                    )
        return self

    def settings(self, name: str) -> GateSettings:
        """The settings of one gate by name."""
        value = getattr(self, name, None) if name in GATE_NAMES else None
        if not isinstance(value, GateSettings):
            raise KeyError(f"no gate named {name!r}")
        return value

    def required_in(self, environment: str) -> frozenset[str]:
        """The enabled gates a deploy to `environment` requires."""
        names = self.required.get(environment, [])
        enabled = [n for n in GATE_NAMES if self.settings(n).enabled]
        return frozenset(enabled if ALL in names else [n for n in names if n in enabled])
