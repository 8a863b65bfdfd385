"""The release command (Heroku's release phase): once per release, in the new release's
code, environment and secrets, before any new instance starts. A failure fails the
release before anything is switched; the (redacted) output is kept in the ledger.

Rollbacks do not run it: the release rolled back to already ran its own, and its older
code may not know the newer schema (alembic would refuse a revision it has never seen).
"""

from __future__ import annotations

from moai_deploy.errors import ReleaseFailedError
from moai_deploy.ledger.records import ReleaseRecord
from moai_deploy.rollout.context import RolloutContext
from moai_deploy.rollout.workloads import shared_paths, workload_env
from moai_deploy.runtime.base import Artifact, CommandSpec

OUTPUT_LINES_SHOWN = 40  # in the step detail; the ledger's meta keeps up to OUTPUT_KEPT
OUTPUT_KEPT = 64_000


def runs_release_command(ctx: RolloutContext, rollback_of: int | None) -> bool:
    """Whether a release plans the release step (the spec has one; not a rollback)."""
    service = ctx.loaded.spec.service
    return bool(service.release_command or _setup(ctx)) and rollback_of is None


def _setup(ctx: RolloutContext) -> tuple[tuple[str, ...], ...]:
    """`service.setup_command` while the environment has no succeeded release yet."""
    setup = ctx.loaded.spec.service.setup_command
    if not setup or ctx.ledger.live_release(ctx.service, ctx.environment) is not None:
        return ()
    return setup


def _tail(text: str, lines: int) -> str:
    kept = text.strip().splitlines()[-lines:]
    return "\n".join(f"  | {line}" for line in kept)


def run_release_command(ctx: RolloutContext, artifact: Artifact, release: ReleaseRecord) -> str:
    """Run each command of `service.release_command` in order; the step's detail."""
    service = ctx.loaded.spec.service
    env, shared = workload_env(ctx), shared_paths(ctx)
    outputs: list[dict[str, object]] = []
    for index, argv in enumerate((*_setup(ctx), *service.release_command)):
        command = CommandSpec(
            name=f"{ctx.route}-release-{release.id}-{index}",
            service=ctx.service,
            environment=ctx.environment,
            artifact=artifact,
            argv=argv,
            env=env,
            shared=shared,
            timeout=service.release_command_timeout,
        )
        result = ctx.runtime.run_command(command)
        output = ctx.secrets.redact(result.output)[-OUTPUT_KEPT:]
        shown = " ".join(argv)
        outputs.append({"argv": shown, "exit_code": result.exit_code, "output": output})
        ctx.ledger.update_meta(release.id, {"release_command": outputs})
        if result.timed_out or result.exit_code != 0:
            why = (f"timed out after {service.release_command_timeout:g}s" if result.timed_out
                   else f"exited {result.exit_code}")  # fmt: skip
            raise ReleaseFailedError(
                f"release command `{shown}` {why}; nothing was switched\n"
                f"{_tail(output, OUTPUT_LINES_SHOWN)}"
            )
    ran = "; ".join(f"`{o['argv']}`" for o in outputs)
    last_line = next(reversed(str(outputs[-1]["output"]).strip().splitlines()), "")
    return f"ran {ran}" + (f": {last_line[:120]}" if last_line else "")
