"""TRUST 5 Readable counted on real source text: file/function lines, parameters, complexity."""

from __future__ import annotations

from pathlib import Path

from moai_deploy.gates.base import GateContext
from moai_deploy.gates.builtin.trust import TrustGate
from moai_deploy.gates.model import GateStatus
from moai_deploy.spec.gates import TrustGateSettings


def _run(tmp_path: Path, source: str, **limits: int) -> list[tuple[int | None, str]]:
    (tmp_path / "mod.py").write_text(source)
    ctx = GateContext(tmp_path, TrustGateSettings(**limits), ("mod.py",), tmp_path)  # type: ignore[arg-type]
    result = TrustGate().run(ctx)
    assert result.status == (GateStatus.FAILED if result.findings else GateStatus.PASSED)
    return [(f.line, f.rule) for f in result.findings]


def _branches(count: int) -> str:
    body = "".join(f"    if n > {i}:\n        n += 1\n" for i in range(count))
    return f"def f(n):\n{body}    return n\n"


def test_complexity_limit_is_inclusive_and_configurable(tmp_path: Path) -> None:
    assert _run(tmp_path, _branches(9)) == []  # complexity 10: allowed
    assert _run(tmp_path, _branches(10)) == [(1, "too-complex")]  # 11
    assert _run(tmp_path, _branches(10), max_complexity=11) == []


def test_parameters_skip_self_and_star_args(tmp_path: Path) -> None:
    source = (
        "class A:\n"
        "    def m(self, a, b, c, d, e, *args, **kwargs):\n        pass\n"
        "    @staticmethod\n"
        "    def s(a, b, c, d, e, f):\n        pass\n"
        "def g(a, b, /, c, *, d, e, f):\n    pass\n"
    )
    assert _run(tmp_path, source) == [(5, "too-many-parameters"), (7, "too-many-parameters")]


def test_function_lines_run_from_def_to_last_line(tmp_path: Path) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(49))
    ok = f"@staticmethod\ndef f():\n{body}"  # 50 lines from `def`, decorator not counted
    assert _run(tmp_path, ok) == []
    assert _run(tmp_path, ok + "    return 1\n") == [(2, "function-too-long")]


def test_file_lines_are_physical_lines(tmp_path: Path) -> None:
    assert _run(tmp_path, "# c\n\n" * 150) == []  # 300 lines, comments and blanks count
    assert _run(tmp_path, "# c\n\n" * 150 + "x = 1\n") == [(1, "file-too-long")]
    assert _run(tmp_path, "x = 1\n" * 20, max_file_lines=10) == [(1, "file-too-long")]


def test_unparsable_file_is_a_finding(tmp_path: Path) -> None:
    assert _run(tmp_path, "def broken(:\n") == [(1, "syntax-error")]
