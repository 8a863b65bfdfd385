"""The CLI answers at once: `--help`, `--version` and every command's `--help` import
neither the database layer nor the spec models nor a provider (see cli/main.py for the
pattern: heavy imports go inside the command's body)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from moai_deploy.ledger._engine import MIGRATIONS_DIR, script_heads

# Modules whose import costs tenths of a second; none may load before a command runs.
# (pydantic itself is typer's own dependency; the spec models are the cost.)
HEAVY = (
    "sqlalchemy",
    "alembic",
    "httpx",
    "ruamel",
    "yaml",
    "moai_deploy.ledger",
    "moai_deploy.spec",
    "moai_deploy.pipeline",
    "moai_deploy.service",
    "moai_deploy.rollout",
    "moai_deploy.runtime",
    "moai_deploy.traffic",
    "moai_deploy.gates",
    "moai_deploy.render",
)

PROBE = textwrap.dedent(
    """
    import json, sys
    from moai_deploy.cli.main import app

    def names(group, prefix=()):
        for name, command in sorted(getattr(group, "commands", {}).items()):
            yield (*prefix, name)
            yield from names(command, (*prefix, name))

    import typer.main
    calls = [["--help"], ["--version"]]
    calls += [[*path, "--help"] for path in names(typer.main.get_command(app))]
    for argv in calls:
        try:
            app(argv, prog_name="moai-deploy")
        except SystemExit as exc:
            assert exc.code in (0, None), (argv, exc.code)
    print(json.dumps({"calls": calls, "modules": sorted(sys.modules)}))
    """
)


def test_help_and_version_import_no_heavy_module() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert ["deploy", "--help"] in result["calls"]
    assert ["lock", "status", "--help"] in result["calls"]
    loaded = [m for m in result["modules"] if any(m == h or m.startswith(h + ".") for h in HEAVY)]
    assert not loaded, (
        f"`moai-deploy --help` imported {loaded[:8]}: import them inside the command's "
        "body, not at module level (see the docstring of moai_deploy/cli/main.py)"
    )


def test_script_heads_agree_with_alembic() -> None:
    # The ledger skips alembic when the database is at these heads: they must be alembic's.
    from alembic.script import ScriptDirectory

    from moai_deploy.ledger._engine import alembic_config

    expected = frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())
    assert (MIGRATIONS_DIR / "versions").is_dir()
    assert script_heads() == expected
