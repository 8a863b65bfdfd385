"""The fixture project seeded with one fault per gate: exactly those gates fail, each
naming the file and line; a second run comes from the cache; the ledger keeps the run."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from moai_deploy.cli.gates import register
from moai_deploy.gates.release import check_release_gates, record_gate_run, refusal_message
from moai_deploy.ledger.gate_store import GateStore
from moai_deploy.ledger.store import Ledger, LedgerError, ledger_url
from moai_deploy.paths import StateLayout
from moai_deploy.spec.loader import load_spec

FIXTURE = Path(__file__).parents[1] / "fixtures" / "faulty_project"
FAILING = {"ruff", "ruff_format", "mypy", "pytest", "secrets", "trust", "tags"}
PASSING = {"bandit", "hadolint", "pip_audit"}  # pip_audit: an empty requirements.txt
# (file, line, rule) each failing gate must report; nothing else at error level.
EXPECTED = {
    "ruff": {("src/faulty/lint_error.py", 3, "F401")},
    "ruff_format": {("src/faulty/drift.py", 3, "format")},
    "mypy": {("src/faulty/typed.py", 6, "return-value")},
    "pytest": {
        ("tests/test_calc.py", 11, "test-failure"),
        (None, None, "coverage"),
        ("src/faulty/calc.py", 16, "coverage"),
    },
    "secrets": {("src/faulty/credentials.py", 4, "AWS Access Key")},
    "trust": {
        ("src/faulty/big.py", 1, "file-too-long"),
        ("src/faulty/params.py", 4, "too-many-parameters"),
        ("src/faulty/branchy.py", 4, "too-complex"),
    },
    "tags": {
        (".moai/specs/SPEC-NOTE-001/spec.md", 1, "frontmatter-field-missing"),
        ("src/faulty/calc.py", 14, "duplicate-tag"),
    },
}


def materialize(dest: Path) -> Path:
    spec = importlib.util.spec_from_file_location("faulty_materialize", FIXTURE / "materialize.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result: Path = module.materialize(dest)
    return result


def gate_cli(*args: str) -> tuple[int, str]:
    app = typer.Typer(add_completion=False)
    register(app)

    @app.callback()
    def _root() -> None:
        """moai-deploy (test)."""

    result = CliRunner().invoke(app, ["gate", *args])
    return result.exit_code, result.stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MOAI_DEPLOY_STATE", raising=False)
        mp.delenv("MOAI_DEPLOY_DB", raising=False)
        yield materialize(tmp_path_factory.mktemp("faulty"))


@pytest.fixture(scope="module")
def cold_run(project: Path) -> dict[str, Any]:
    code, out = gate_cli("--spec", str(project / "moai-deploy.yaml"), "--json", "--no-cache")
    assert code == 1, out
    data: dict[str, Any] = json.loads(out)
    return data


def _gates(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["gate"]: g for g in run["gates"]}


@pytest.mark.slow
def test_exactly_the_seeded_gates_fail_naming_file_and_line(cold_run: dict[str, Any]) -> None:
    gates = _gates(cold_run)
    assert {n for n, g in gates.items() if g["status"] == "failed"} == FAILING
    assert {n for n, g in gates.items() if g["status"] == "passed"} == PASSING
    assert set(cold_run["blocking"]) == FAILING
    for name, expected in EXPECTED.items():
        errors = {
            (f["file"], f["line"], f["rule"])
            for f in gates[name]["findings"]
            if f["severity"] == "error"
        }
        assert errors == expected, name
    assert "60.0% covered" in gates["pytest"]["note"]
    trust = {f["rule"]: f["message"] for f in gates["trust"]["findings"]}
    assert (
        "complexity 15" in trust["too-complex"]
        and "has 7 parameters" in trust["too-many-parameters"]
    )
    assert "400 lines" in trust["file-too-long"]
    assert gates["tags"]["note"].endswith("mode moai-adk+frontmatter")  # gates.tags in its spec
    orphan = [f for f in gates["tags"]["findings"] if f["rule"] == "code-without-spec"]
    assert [(f["file"], f["line"], f["severity"]) for f in orphan] == [
        ("src/faulty/params.py", 1, "warning")  # MoAI-ADK: CODE without SPEC is a warning
    ]
    for name in FAILING - {"tags", "trust"}:
        assert Path(gates[name]["report_path"]).is_file(), name


@pytest.mark.slow
def test_reports_and_ledger_record_the_run(project: Path, cold_run: dict[str, Any]) -> None:
    reports = project / ".moai-deploy" / "reports"
    junit = (reports / "gates.junit.xml").read_text()
    assert junit.count("<failure") == len(FAILING)
    sarif = json.loads((reports / "gates.sarif").read_text())
    assert {r["tool"]["driver"]["name"] for r in sarif["runs"]} == {"bandit", "secrets",
                                                                    "pip_audit"}  # fmt: skip
    layout = StateLayout.for_project(project)
    with Ledger.open(ledger_url(layout.ledger_db)) as ledger:
        (stored,) = GateStore(ledger).list_runs("faulty")
        assert stored.passed is False
        assert {o.result.gate for o in stored.blocking} == FAILING
        assert stored.outcome("mypy").result.findings[0].line == 6


@pytest.mark.slow
def test_unchanged_tree_comes_from_cache_and_a_fix_reruns(
    project: Path, cold_run: dict[str, Any]
) -> None:
    spec = str(project / "moai-deploy.yaml")
    code, out = gate_cli("--spec", spec, "--json")
    warm = _gates(json.loads(out))
    assert code == 1
    assert {n for n, g in warm.items() if g["cached"]} == FAILING | PASSING
    assert {n: g["status"] for n, g in warm.items()} == {
        n: g["status"] for n, g in _gates(cold_run).items()
    }
    typed = project / "src" / "faulty" / "typed.py"
    seeded = typed.read_text()
    typed.write_text(seeded.replace("return str(result)", "return result"))
    try:
        code, out = gate_cli("--spec", spec, "--json", "--only", "mypy", "--only", "bandit")
    finally:
        typed.write_text(seeded)  # the other tests expect the seeded fault
    again = _gates(json.loads(out))
    assert (again["mypy"]["status"], again["mypy"]["cached"]) == ("passed", False)
    assert again["bandit"]["cached"] is False  # its inputs (*.py) changed too
    assert code == 0


@pytest.mark.slow
def test_environment_decides_what_blocks(project: Path, cold_run: dict[str, Any]) -> None:
    spec = str(project / "moai-deploy.yaml")
    code, out = gate_cli("--spec", spec, "--json", "--env", "development", "--only", "ruff")
    assert code == 0 and json.loads(out)["gates"][0]["required"] is False
    code, _ = gate_cli("--spec", spec, "--env", "staging", "--only", "ruff")
    assert code == 1


@pytest.mark.slow
def test_release_gate_check_reuses_cache_and_links_to_release(
    project: Path, cold_run: dict[str, Any]
) -> None:
    loaded = load_spec(project / "moai-deploy.yaml")
    layout = StateLayout.for_project(project)
    assert check_release_gates(project, loaded.spec, "development", layout).outcomes == []
    run = check_release_gates(project, loaded.spec, "production", layout)
    assert not run.passed and {o.result.gate for o in run.blocking} >= {"ruff", "trust"}
    assert all(o.result.cached for o in run.outcomes if o.result.status != "skipped")
    assert (layout.root / "reports" / "production" / "gates.json").is_file()
    message = refusal_message(run)
    assert "src/faulty/lint_error.py:3: F401" in message and "--force --reason" in message
    with Ledger.open(ledger_url(layout.ledger_db)) as ledger:
        release = ledger.create_release(
            service="faulty", environment="production", version="v1", commit_sha=None,
            spec_hash=loaded.digest, artifact=None, strategy="blue_green", deployed_by="t",
        )  # fmt: skip
        run_id = record_gate_run(ledger, run, "faulty", release.id)
        (linked,) = GateStore(ledger).for_release(release.id)
        assert linked.run_id == run_id and linked.environment == "production"
        assert [o.result.gate for o in linked.outcomes] == [o.result.gate for o in run.outcomes]
        with pytest.raises(LedgerError, match="no release with id 999"):
            GateStore(ledger).link_to_release(run_id, 999)


def test_bad_input_exits_2(tmp_path: Path) -> None:
    spec = materialize(tmp_path) / "moai-deploy.yaml"
    assert gate_cli("--spec", str(spec), "--only", "flake8")[0] == 2
    assert gate_cli("--spec", str(spec), "--env", "qa")[0] == 2
    assert gate_cli("--spec", str(tmp_path / "missing.yaml"))[0] == 2
