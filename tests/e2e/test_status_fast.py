"""`moai-deploy status` on its light path (no SQLAlchemy, spec models or httpx) shows exactly
what the full path shows, with a release live, instances running and the router serving,
on either router (the default one does not matter here)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from moai_deploy.pipeline import operations
from moai_deploy.pipeline.project import Project
from moai_deploy.pipeline.status_fast import FACTS_FILE
from moai_deploy.runtime.base import InstanceState
from moai_deploy.runtime.local.daemon import wait_until

from .conftest import ENV, ROUTERS

# Run `status` in a child and report which modules it loaded (on stderr's last line).
PROBE = textwrap.dedent(
    """
    import atexit, json, sys
    atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))
    sys.argv = ["moai-deploy", *sys.argv[1:]]
    from moai_deploy.cli.main import run
    run()
    """
)
LIGHT_PATH_NEVER_LOADS = ("sqlalchemy", "alembic", "httpx", "ruamel", "moai_deploy.spec.models")


def _status(project_dir: Path, *args: str) -> tuple[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "status", *args],
        cwd=project_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, json.loads(done.stderr.strip().splitlines()[-1])


def _heavy(modules: list[str]) -> list[str]:
    return [
        m for m in modules if any(m == h or m.startswith(h + ".") for h in LIGHT_PATH_NEVER_LOADS)
    ]


@pytest.mark.parametrize("router", ROUTERS)
def test_light_status_shows_what_the_full_path_shows(project_dir: Path, router: str) -> None:
    project = Project.open(project_dir / "moai-deploy.yaml")
    try:
        operations.deploy(project, ENV, "v1")
        # Compare the paths on a steady state: supervisord says STARTING for an instance's
        # first second (startsecs), so two runs astride it differ in the state column.
        instances = project.runtime_for(ENV).list
        assert wait_until(
            lambda: all(i.state is InstanceState.RUNNING for i in instances(project.service, ENV)),
            10,
        )
    finally:
        project.close()
    facts = project_dir / ".moai-deploy" / FACTS_FILE
    for args in ([ENV], [ENV, "--json"], []):
        facts.unlink(missing_ok=True)
        full, full_modules = _status(project_dir, *args)
        assert "sqlalchemy" in full_modules and facts.is_file()  # the full path wrote the facts
        light, light_modules = _status(project_dir, *args)
        assert not _heavy(light_modules), _heavy(light_modules)
        assert light == full
    [shown] = json.loads(_status(project_dir, ENV, "--json")[0])
    assert shown["live"]["version"] == "v1" and shown["router"] == "serving"
    assert [i["ready"] for i in shown["instances"]] == [True, True]
    assert sum(shown["weights"].values()) == 100


def test_a_changed_spec_takes_the_full_path_again(project_dir: Path) -> None:
    _status(project_dir, ENV)  # full path: creates the ledger, writes the facts
    assert not _heavy(_status(project_dir, ENV)[1])
    spec = project_dir / "moai-deploy.yaml"
    spec.write_text(spec.read_text() + "\n# edited\n")
    output, modules = _status(project_dir, ENV)
    assert "moai_deploy.spec.models" in modules  # validated again, then remembered
    again, modules = _status(project_dir, ENV)
    assert again == output and not _heavy(modules)
