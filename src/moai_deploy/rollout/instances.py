"""Turn an environment's config into the runtime's instance specs (pure)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from moai_deploy.build.pyenv import PythonEnv
from moai_deploy.runtime.base import InstanceSpec
from moai_deploy.spec.models import ServiceSpec

# Variables passed through from the deployer's environment; everything else comes from the spec.
_PASS_THROUGH = ("HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER")
_PYTHON_NAMES = ("python", "python3")


def instance_argv(command: Sequence[str], port: int, env: PythonEnv) -> tuple[str, ...]:
    """The command with `{port}` filled in and the program taken from the release env."""
    argv = [arg.replace("{port}", str(port)) for arg in command]
    program = argv[0]
    if program in _PYTHON_NAMES:
        argv[0] = str(env.python)
    elif "/" not in program and (env.bin_dir / program).is_file():
        argv[0] = str(env.bin_dir / program)
    return tuple(argv)


def other_group(group: str | None) -> str:
    """The idle colour: green when blue is live, else blue."""
    return "green" if group == "blue" else "blue"


def instance_name(service: str, environment: str, group: str, index: int) -> str:
    return f"{service}-{environment}-{group}-{index}"


@dataclass(frozen=True)
class GroupPlan:
    """What every instance of one group (one version in one environment) shares."""

    service: ServiceSpec
    environment: str
    version: str
    group: str
    workdir: Path
    env: Mapping[str, str] = field(repr=False)  # resolved: may hold secrets
    python_env: PythonEnv
    log_dir: Path

    def instance_env(self, name: str, port: int) -> dict[str, str]:
        base = {k: os.environ[k] for k in _PASS_THROUGH if k in os.environ}
        base["PATH"] = os.pathsep.join([str(self.python_env.bin_dir), os.environ.get("PATH", "")])
        return {
            **base,
            "PYTHONUNBUFFERED": "1",
            **self.env,
            self.service.port_env: str(port),
            "MOAI_DEPLOY_VERSION": self.version,
            "MOAI_DEPLOY_ENVIRONMENT": self.environment,
            "MOAI_DEPLOY_INSTANCE": name,
        }


def build_instances(
    plan: GroupPlan, ports: Sequence[int], first_index: int = 0
) -> list[InstanceSpec]:
    """One InstanceSpec per port, numbered from `first_index`."""
    specs = []
    for index, port in enumerate(ports, start=first_index):
        name = instance_name(plan.service.name, plan.environment, plan.group, index)
        specs.append(
            InstanceSpec(
                name=name,
                service=plan.service.name,
                environment=plan.environment,
                version=plan.version,
                group=plan.group,
                argv=instance_argv(plan.service.command, port, plan.python_env),
                cwd=plan.workdir,
                env=plan.instance_env(name, port),
                port=port,
                stop_timeout=plan.service.stop_timeout,
                log_file=plan.log_dir / f"{name}.log",
            )
        )
    return specs
