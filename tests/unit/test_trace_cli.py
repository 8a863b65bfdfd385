"""`moai-deploy trace` (the scan): exit codes, rich and JSON output."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from moai_deploy.cli.trace import register
from moai_deploy.trace import scan
from moai_deploy.trace.render import print_report

FIXTURES = Path(__file__).parent.parent / "fixtures"
HELLO = Path(__file__).parent.parent.parent / "examples" / "hello-service"


def trace(*args: str) -> tuple[int, str]:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["trace", *args])
    return result.exit_code, result.output


@pytest.fixture
def multi(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / "trace_multi", tmp_path / "shop"))


def test_errors_exit_1_and_every_chain_and_finding_is_printed(multi: Path) -> None:
    code, out = trace("--spec", str(multi), "--all-differences")
    assert code == 1
    assert "trace failed (moai-adk+exact-ignores+" in out
    assert "5 SPEC(s), 8 chain(s); 4 error(s), 6 warning(s), 1 info(s)" in out
    assert "CODE  src/shop/auth.py:1, src/shop/session.py:1" in out
    assert "LEGACY-001  (no SPEC)" in out
    assert ".moai/specs/SPEC-CART-001/spec.md:1  [frontmatter-field-missing]" in out
    assert "src/shop/cart.py:8  [duplicate-tag]" in out


def test_default_mode_is_moai_adks(multi: Path) -> None:
    code, out = trace("--spec", str(multi))
    assert code == 1
    assert out.startswith("mode moai-adk: MoAI-ADK's validator rules; differences: none;")
    assert "trace failed (moai-adk): 5 SPEC(s), 8 chain(s); 6 error(s), 6 warning(s)" in out
    assert "[frontmatter-" not in out  # front matter is checked only with --frontmatter


def test_json_output_is_the_report(multi: Path) -> None:
    (multi / "moai-deploy.yaml").write_text("# the scan traces this file's folder\n")
    code, out = trace("--json", "--spec", str(multi / "moai-deploy.yaml"), "--all-differences")
    assert code == 1
    data = json.loads(out)
    assert data["passed"] is False and data["counts"] == {"error": 4, "warning": 6, "info": 1}
    assert {f["rule"] for f in data["findings"]} >= {"duplicate-tag", "code-without-spec"}
    assert data["mode"].startswith("moai-adk+exact-ignores") and all(data["options"].values())


def test_warnings_pass_unless_strict(tmp_path: Path) -> None:
    (tmp_path / "moai-deploy.yaml").write_text("# not read by the scan\n")
    (tmp_path / "app.py").write_text("# @" + "CODE:SOLO-001\n")  # no TEST, no SPEC
    assert trace("--spec", str(tmp_path / "moai-deploy.yaml"))[0] == 0
    code, out = trace("--strict", "--spec", str(tmp_path / "moai-deploy.yaml"))
    assert code == 1 and "trace failed (moai-adk, strict)" in out and "code-without-test" in out


def test_hello_service_passes() -> None:
    code, out = trace("--spec", str(HELLO))
    assert code == 0 and "trace passed" in out and "HELLO-001  v0.1.0  completed  high" in out


def test_no_specs_is_said_and_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # default: the current folder
    code, out = trace()
    assert code == 0 and "no .moai/specs/SPEC-*/spec.md" in out


def test_a_missing_path_is_bad_input(tmp_path: Path) -> None:
    code, out = trace("--spec", str(tmp_path / "missing.yaml"))
    assert code == 2 and "no such file or folder" in " ".join(out.split())
    code, _ = trace("--env", "production", "--spec", str(tmp_path))  # no moai-deploy.yaml there
    assert code == 2


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_colours_and_no_color_turns_them_off(
    multi: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = scan(multi)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    coloured = _Terminal()
    print_report(report, coloured)
    assert "\x1b[" in coloured.getvalue() and "trace failed (moai-adk)" in coloured.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    plain = _Terminal()
    print_report(report, plain)
    assert "\x1b[" not in plain.getvalue()
    assert plain.getvalue().splitlines()[0].startswith("mode moai-adk: MoAI-ADK's validator")
