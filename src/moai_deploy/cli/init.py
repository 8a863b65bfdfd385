"""`moai-deploy init`: a commented spec for the project, with its app detected when possible."""

from __future__ import annotations

import re
from pathlib import Path

from moai_deploy.errors import BadInputError
from moai_deploy.spec.loader import SPEC_FILE_NAME, parse_spec

_SKIP = {".git", ".venv", "venv", "node_modules", ".moai-deploy", "__pycache__", ".tox"}
_ASGI = re.compile(r"^(\w+)\s*=\s*(FastAPI|Starlette|Quart|get_asgi_application)\(", re.M)
_WSGI = re.compile(r"^(\w+)\s*=\s*(Flask|get_wsgi_application)\(", re.M)

TEMPLATE = """\
# moai-deploy.yaml: one spec for every release of {name}.
# Reference: `moai-deploy schema` prints the JSON Schema; README "Spec reference".
spec_version: 1

service:
  name: {name}
  # argv of one instance; never run through a shell. {{port}} is the instance's port.
  command: {command}
  port_env: PORT            # the port is also passed in this variable
  health_path: /health      # liveness
  ready_path: /ready        # readiness: 2xx before traffic is switched
  metrics_path: /metrics    # Prometheus
  stop_timeout: 30s         # SIGTERM, then SIGKILL after this

# Shared by every environment; each environment below overrides what it declares.
defaults:
  replicas: 1
  env:
    LOG_LEVEL: INFO
    # Secrets are references only, resolved at deploy time from the process
    # environment or the secrets file (.secrets.env, keep it out of git):
    # DATABASE_URL: postgresql://app:${{secret:DB_PASSWORD}}@127.0.0.1:5432/app
  strategy:
    type: blue_green
    scale_down_delay: 30s   # old colour kept this long for instant rollback
    smoke_paths: [/]        # must answer 2xx on every new instance before the switch

environments:
  development:
    port: 8080              # Traefik listens here for this environment
    env: {{LOG_LEVEL: DEBUG}}
    strategy: {{type: blue_green, scale_down_delay: 0s}}
    health_check_timeout: 60s
  staging:
    port: 8081
    replicas: 2
    health_check_timeout: 300s
  production:
    port: 8082
    replicas: 3
    env: {{LOG_LEVEL: WARNING}}
    strategy: {{type: blue_green, scale_down_delay: 5m}}
    health_check_timeout: 600s

releases:
  keep: 5                   # release snapshots kept; older ones are pruned

# Quality gates (`moai-deploy gate`): advisory in development, required before staging
# and production deploys (a failing required gate refuses the deploy; --force --reason
# overrides, audited).
gates:
  required:
    development: []
    staging: [all]
    production: [all]
"""


def detect_app(directory: Path) -> tuple[str, str]:
    """(command, what was detected) for the first ASGI/WSGI app found in the project."""
    for path in sorted(directory.rglob("*.py")):
        if _SKIP.intersection(path.relative_to(directory).parts):
            continue
        text = path.read_text(errors="replace")
        module = ".".join(path.relative_to(directory).with_suffix("").parts)
        if match := _ASGI.search(text):
            return (
                f"python -m uvicorn {module}:{match.group(1)} --host 127.0.0.1 --port {{port}}",
                f"ASGI app {module}:{match.group(1)}",
            )
        if match := _WSGI.search(text):
            return (
                f"python -m gunicorn {module}:{match.group(1)} --bind 127.0.0.1:{{port}}",
                f"WSGI app {module}:{match.group(1)}",
            )
    return "python -m app --port {port}", "no ASGI/WSGI app found: edit `command`"


def write_spec(directory: Path, *, force: bool = False) -> tuple[Path, str]:
    """Write the spec into `directory`; refuses to overwrite unless `force`."""
    if not directory.is_dir():
        raise BadInputError(f"{directory}: not a folder")
    target = directory / SPEC_FILE_NAME
    if target.exists() and not force:
        raise BadInputError(f"{target} already exists\n    fix: pass --force to overwrite it")
    name = re.sub(r"[^a-z0-9-]+", "-", directory.resolve().name.lower()).strip("-") or "app"
    if not name[0].isalpha():
        name = f"app-{name}"
    command, detected = detect_app(directory)
    text = TEMPLATE.format(name=name[:40].rstrip("-"), command=command)
    parse_spec(text, target)  # what we write must validate
    target.write_text(text)
    return target, detected
