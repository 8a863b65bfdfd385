"""What the engine hands the runtime: workloads of one group, with their environment split
into plain and secret parts (pure, apart from resolving secrets)."""

from __future__ import annotations

import re

from moai_deploy.ledger.records import ReleaseRecord
from moai_deploy.rollout.context import RolloutContext
from moai_deploy.rollout.instances import instance_name
from moai_deploy.runtime.base import Artifact, SharedPath, WorkloadEnv, WorkloadSpec
from moai_deploy.spec.secrets import references


def workload_env(ctx: RolloutContext) -> WorkloadEnv:
    """The environment's variables, resolved; those that reference a secret kept apart."""
    templates = ctx.config.env
    resolved = ctx.secrets.resolve(templates)
    secret_keys = {key for key, value in templates.items() if references([value])}
    names = references(templates.values())
    return WorkloadEnv(
        plain={k: v for k, v in resolved.items() if k not in secret_keys},
        secret={k: v for k, v in resolved.items() if k in secret_keys},
        secrets={name: ctx.secrets.lookup(name) or "" for name in names},
    )


def shared_path(text: str) -> SharedPath:
    """A spec entry as the runtime's SharedPath: `instance/` a folder, `db.sqlite3` a file
    (a trailing '/' or no suffix means a folder)."""
    path = text.strip().strip("/")
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", path).strip("-.") or "shared"
    directory = text.strip().endswith("/") or "." not in path.rsplit("/", 1)[-1]
    return SharedPath(name=name, path=path, directory=directory)


def shared_paths(ctx: RolloutContext) -> tuple[SharedPath, ...]:
    """The release's persistent paths (`service.shared_paths`), one store per environment."""
    return tuple(shared_path(text) for text in ctx.loaded.spec.service.shared_paths)


def group_workloads(
    ctx: RolloutContext,
    artifact: Artifact,
    release: ReleaseRecord,
    group: str,
    indexes: range,
) -> list[WorkloadSpec]:
    """One workload per index of `group`, all running `artifact` for `release`."""
    env = workload_env(ctx)
    return [
        WorkloadSpec(
            name=instance_name(ctx.service, ctx.environment, group, index),
            service=ctx.service,
            environment=ctx.environment,
            version=release.version,
            group=group,
            artifact=artifact,
            env=env,
            shared=shared_paths(ctx),
            release=release.id,
        )
        for index in indexes
    ]
