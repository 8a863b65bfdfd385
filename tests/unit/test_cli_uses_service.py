"""The CLI's commands reach the operations through the service layer the server uses
(`moai_deploy.service`), never the pipeline's operation modules themselves: one place
runs `deploy`, `lock release` or `token revoke`, whoever asked."""

from __future__ import annotations

import ast
from pathlib import Path

import moai_deploy.cli

CLI = Path(moai_deploy.cli.__file__).parent
# What the server's API offers as operations; the CLI asks ControlService for them.
OPERATION_MODULES = {
    "moai_deploy.pipeline.control",
    "moai_deploy.pipeline.approvals",
    "moai_deploy.pipeline.access",
    "moai_deploy.pipeline.ship",
    "moai_deploy.ledger.locks",
    "moai_deploy.ledger.events",
    "moai_deploy.ledger.approvals",
    "moai_deploy.ledger.pipelines",
}
ALLOWED_FROM_OPERATIONS = {"DeployOptions"}  # a value the caller fills in, not an operation
OWN_WORLD = {"demo.py", "demo_docker.py"}  # the demo drives a scratch project of its own


def _imports(path: Path) -> list[tuple[str, set[str]]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, {a.name for a in node.names}))
            found.extend((f"{node.module}.{a.name}", set()) for a in node.names)
        elif isinstance(node, ast.Import):
            found.extend((a.name, set()) for a in node.names)
    return found


def test_cli_commands_run_operations_through_the_service_layer() -> None:
    offending = []
    for path in sorted(CLI.glob("*.py")):
        if path.name in OWN_WORLD:
            continue
        for module, names in _imports(path):
            if module in OPERATION_MODULES:
                offending.append(f"{path.name}: {module}")
            if module == "moai_deploy.pipeline.operations" and names - ALLOWED_FROM_OPERATIONS:
                offending.append(f"{path.name}: {module} {sorted(names)}")
            if module == "moai_deploy.pipeline" and names & {"operations", "control", "access"}:
                offending.append(f"{path.name}: {module} {sorted(names)}")
    assert offending == []
    uses = [p.name for p in CLI.glob("*.py") if "local_service(" in p.read_text()]
    assert {"main.py", "ops.py", "control.py", "logs.py"} <= set(uses)
