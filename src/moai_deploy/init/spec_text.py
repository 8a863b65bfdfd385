"""The commented spec `init` writes: every detected choice is stated with its reason."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence

from moai_deploy.init.project import Detection
from moai_deploy.init.release import is_secret_name

FAST_GATES = ("ruff", "secrets")
ENVIRONMENTS = (("development", 1, "DEBUG"), ("staging", 2, None), ("production", 3, "WARNING"))


def _flow(items: Sequence[object]) -> str:
    """A YAML flow sequence (JSON is valid YAML and quotes what needs quoting)."""
    return json.dumps(list(items))


def _comment(text: str) -> list[str]:
    return textwrap.wrap(text, 92, initial_indent="#   ", subsequent_indent="#       ")


def _header(d: Detection) -> list[str]:
    lines = [f"# moai-deploy.yaml for {d.name}, written by `moai-deploy init` from the project:"]
    facts = [
        f"app: {d.app.describe() if d.app else 'none found'}",
        f"dependencies: {d.manager}",
        f"health: {d.health.reason}",
        *d.notes,
        *d.release.notes,
    ]
    for fact in facts:
        lines += _comment(fact)
    lines += [
        "# Reference: README.md, `Spec reference`; `moai-deploy schema` prints the JSON Schema.",
        "spec_version: 1",
        "",
    ]
    return lines


def _service(d: Detection) -> list[str]:
    h = d.health
    lines = [
        "service:",
        f"  name: {d.name}",
        "  # argv of one instance, never run through a shell; {port} is the instance's port.",
        f"  command: {_flow(d.command)}",
        "  port_env: PORT          # the port is also passed in this variable",
        f"  health_path: {h.health_path}",
        f"  ready_path: {h.ready_path}",
        f'  ready_status: "{h.ready_status}"' + ("" if h.ready_status == "2xx" else
                                                "   # any answer below 500 counts as up"),
        "  stop_timeout: 30s       # SIGTERM, then SIGKILL after this",
    ]  # fmt: skip
    if d.extra_requirements:
        lines.append("  # No server among the project's dependencies: releases get this one.")
        lines.append(f"  extra_requirements: {_flow(d.extra_requirements)}")
    if d.dev_only:
        modules = ", ".join(d.dev_only)
        lines.append(f"  # The settings load {modules}, which only the dev dependencies provide.")
        lines.append("  dev_dependencies: true")
    commands = d.release.commands
    lines.append("  # Once per release, in the new release's code, environment and secrets,")
    lines.append("  # before any new instance starts; a failure leaves the old version serving.")
    if len(commands) == 1:
        lines.append(f"  release_command: {_flow(commands[0])}")
    elif commands:
        lines.append("  release_command:")
        lines += [f"    - {_flow(argv)}" for argv in commands]
    else:
        lines.append('  # release_command: ["python", "-m", "myapp.migrate"]')
    if d.release.setup:
        lines.append("  # On an environment's first release only, before release_command.")
        lines.append(f"  setup_command: {_flow(d.release.setup[0])}")
    lines.append("  # Kept across releases and rollbacks (one folder per environment).")
    shared = d.release.shared_paths
    lines.append(f"  shared_paths: {_flow(shared)}" if shared else '  # shared_paths: ["uploads/"]')
    lines += [
        "  # Commands run here around a release (argv lists; MOAI_DEPLOY_* variables):",
        "  # hooks:",
        '  #   post_deploy: [["python", "scripts/notify.py"]]',
        "",
    ]
    return lines


def _defaults(d: Detection) -> list[str]:
    lines = ["defaults:", "  replicas: 1", "  env:", "    LOG_LEVEL: INFO"]
    lines += [f"    {name}: {json.dumps(value)}" for name, value in d.env.items()]
    secrets = [n for n in d.optional_env if is_secret_name(n)]
    for name in [*d.required_env, *secrets]:
        kind = "a secret" if is_secret_name(name) else "required by the code"
        lines.append(f"    {name}: ${{secret:{name}}}   # {kind}: its value in .secrets.env")
    others = [n for n in d.optional_env if n not in secrets]
    if others:
        lines.append(f"    # read by the code with a default: {', '.join(others[:12])}")
    smoke = [] if d.health.ready_path == d.health.health_path else [d.health.ready_path]
    lines += [
        "  strategy:",
        "    type: blue_green",
        "    scale_down_delay: 30s  # the old colour stays this long for an instant rollback",
        f"    smoke_paths: {_flow(smoke)}",
        "",
    ]
    return lines


def _environments(d: Detection) -> list[str]:
    lines = ["environments:"]
    for (name, replicas, level), port in zip(ENVIRONMENTS, d.ports, strict=False):
        lines += [f"  {name}:", f"    port: {port}             # free when init ran"]
        if replicas > 1:
            lines.append(f"    replicas: {replicas}")
        if level:
            lines.append(f"    env: {{LOG_LEVEL: {level}}}")
    lines += ["", "releases:", "  keep: 5", ""]
    return lines


def _gates(d: Detection) -> list[str]:
    lines = [
        "# Quality gates (`moai-deploy gate`; tools are provisioned on first use). A deploy",
        f"# requires the fast ones ({', '.join(FAST_GATES)}) in staging and all of them in",
        "# production; development only reports. --force --reason overrides (audited).",
        "gates:",
        "  required:",
        "    development: []",
        f"    staging: {_flow(FAST_GATES)}",
        '    production: ["all"]',
    ]
    if d.test_dirs:
        excluded = [f"{folder}/**" for folder in d.test_dirs]
        lines += [
            "  # Test credentials are fake ones; scan them too by removing this line.",
            f"  secrets: {{exclude: {_flow(excluded)}}}",
        ]
    return lines


def render_spec(d: Detection) -> str:
    """The spec text for a detected project."""
    parts = [*_header(d), *_service(d), *_defaults(d), *_environments(d), *_gates(d)]
    return "\n".join(parts) + "\n"
