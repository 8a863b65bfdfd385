"""The `pipeline:` section: the seed's flow from one command (`moai-deploy ship`).

Each stage deploys one environment (its required gates, build and approvals included),
then runs its test commands against that environment's URL; a failure stops the pipeline
and rolls that stage back.
"""

from __future__ import annotations

import shlex
from typing import Annotated, Any

from pydantic import Field, field_validator

from moai_deploy.spec._base import Section
from moai_deploy.spec._types import DnsName, Seconds


class TestCommand(Section):
    """A command run against the stage's environment (`MOAI_DEPLOY_URL` holds its URL)."""

    name: DnsName = Field(description="Shown in the pipeline's record, e.g. `integration`.")
    command: tuple[str, ...] = Field(
        description="argv list, or a string split like a shell would (never run by a shell)."
    )
    timeout: Seconds = Field(default=300.0, description="Fails the stage when exceeded.")

    @field_validator("command", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(shlex.split(value))
        return value

    @field_validator("command")
    @classmethod
    def _non_empty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("command is empty; give the program to run")
        return value


class PipelineStage(Section):
    """Deploy one environment, then test it."""

    environment: DnsName = Field(description="The environment this stage deploys.")
    tests: tuple[TestCommand, ...] = Field(
        default=(), description="Run after the deploy, in order."
    )


class PipelineSpec(Section):
    """Stages in order (the seed: staging with integration/e2e/smoke tests, then production
    with its approvals and a smoke test)."""

    stages: Annotated[tuple[PipelineStage, ...], Field(min_length=1)] = Field(
        description="Each stage's environment and tests."
    )
