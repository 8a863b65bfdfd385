"""Every broken spec fails with exit 2, naming the file, the line and the key."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from moai_deploy.cli.main import run
from moai_deploy.errors import EXIT_BAD_INPUT, BadInputError, SpecError
from moai_deploy.spec.loader import load_spec, parse_spec

BAD_SPECS = sorted((Path(__file__).parent.parent / "fixtures" / "bad_specs").glob("*.yaml"))
_EXPECT = re.compile(r"^# expect: line=(\d+) key=(\S*)$", re.M)


def _expectation(path: Path) -> tuple[int, str]:
    match = _EXPECT.search(path.read_bytes().decode(errors="replace"))
    assert match, f"{path.name} lacks an '# expect:' header"
    return int(match.group(1)), match.group(2)


def test_there_are_at_least_45_broken_inputs() -> None:
    assert len(BAD_SPECS) + len(GENERATED) >= 45


@pytest.mark.parametrize("path", BAD_SPECS, ids=lambda p: p.stem)
def test_broken_spec_names_line_and_key(path: Path) -> None:
    line, key = _expectation(path)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    error = caught.value
    assert error.exit_code == EXIT_BAD_INPUT
    first = error.problems[0]
    assert first.line == line, str(error)
    if key:
        assert any(p.key == key for p in error.problems), str(error)
    rendered = str(error)
    assert f"{path.name}:{line}" in rendered
    assert first.message
    assert first.fix, rendered


@pytest.mark.parametrize("path", BAD_SPECS, ids=lambda p: p.stem)
def test_broken_spec_through_the_cli_exits_2_with_line_key_fix_and_no_state(
    path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    line, key = _expectation(path)
    spec = tmp_path / "moai-deploy.yaml"
    shutil.copy(path, spec)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MOAI_DEPLOY_STATE", raising=False)
    for args in (["validate"], ["deploy", "development", "--version", "v1"]):
        code, err = _run_cli(capsys, monkeypatch, args)
        assert code == 2, err
        assert f"moai-deploy.yaml:{line}" in err
        assert f": {key}: " in err if key else True
        assert "fix:" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == [spec]  # nothing written


def _run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> tuple[int, str]:
    monkeypatch.setattr("sys.argv", ["moai-deploy", *args])
    with pytest.raises(SystemExit) as exited:
        run()
    _, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), " ".join(err.split())


# Inputs no fixture file can hold (a 2 MB file, a file that is binary from its first byte).
GENERATED = {
    "oversized": (b"# filler\n" * 220_000, None, "the limit is 1 MB"),
    "binary_png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 1, "not UTF-8 text"),
    "binary_zeros": (b"service:\n" + bytes(64), 2, "control character U+0000"),
}


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_broken_input_is_bad_input_with_a_fix(tmp_path: Path, name: str) -> None:
    data, line, message = GENERATED[name]
    path = tmp_path / "moai-deploy.yaml"
    path.write_bytes(data)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    first = caught.value.problems[0]
    assert (first.line, first.file) == (line, path)
    assert message in first.message and first.fix
    assert list(tmp_path.iterdir()) == [path]


def test_alias_bomb_is_rejected_in_under_a_second_and_100_mb() -> None:
    code = (
        "import resource, sys, time\n"
        "from pathlib import Path\n"
        "from moai_deploy.errors import SpecError\n"
        "from moai_deploy.spec.loader import load_spec\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "start = time.process_time()\n"
        "try:\n"
        "    load_spec(Path(sys.argv[1]))\n"
        "except SpecError as exc:\n"
        "    assert 'expands to more than' in str(exc)\n"
        "else:\n"
        "    raise SystemExit('accepted')\n"
        "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before\n"
        "print(time.process_time() - start, grown / 1024)\n"
    )
    for name in ("alias_bomb.yaml", "alias_bomb_mappings.yaml"):
        bomb = BAD_SPECS[0].parent / name
        out = subprocess.run(
            [sys.executable, "-c", code, str(bomb)], capture_output=True, text=True, check=True
        )
        cpu_seconds, grown_mb = map(float, out.stdout.split())
        # CPU time, not wall time: a loaded machine must not make this flaky.
        assert cpu_seconds < 1.0 and grown_mb < 100, (name, cpu_seconds, grown_mb)


def test_an_oversized_spec_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "moai-deploy.yaml"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB that cost nothing to write
    start = time.process_time()
    with pytest.raises(SpecError, match=r"50\.0 MB; the limit is 1 MB"):
        load_spec(path)
    assert time.process_time() - start < 0.5


def test_opt_ins_accept_public_host_privileged_port_and_outside_secrets(tmp_path: Path) -> None:
    text = (
        "service: {name: hello, command: python -m app}\n"
        "environments: {production: {port: 80}}\n"
        "traffic: {host: 0.0.0.0, public: true, allow_privileged_ports: true}\n"
        "secrets_file: /run/secrets/hello.env\n"
        "secrets_outside_project: true\n"
    )
    loaded = parse_spec(text, tmp_path / "moai-deploy.yaml")
    assert loaded.spec.traffic.host == "0.0.0.0"
    assert loaded.spec.port_of("production") == 80


@pytest.mark.parametrize(
    ("name", "fix_fragment"),
    [
        ("unknown_key.yaml", "did you mean `replicas`"),
        ("plaintext_secret.yaml", "${secret:DB_PASSWORD}"),
        ("plaintext_dsn.yaml", "${secret:NAME}"),
        ("duplicate_port.yaml", "its own `port`"),
        ("missing_service.yaml", "add `service:`"),
    ],
)
def test_errors_carry_a_fix(name: str, fix_fragment: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(BAD_SPECS[0].parent / name)
    assert fix_fragment in str(caught.value)


def test_missing_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="moai-deploy init"):
        load_spec(tmp_path / "moai-deploy.yaml")


def test_secret_values_never_echoed_in_errors() -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(BAD_SPECS[0].parent / "plaintext_secret.yaml")
    assert "hunter2" not in str(caught.value)
    with pytest.raises(SpecError) as caught:
        load_spec(BAD_SPECS[0].parent / "plaintext_dsn.yaml")
    assert "s3cret" not in str(caught.value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises_anything_but_spec_errors(text: str) -> None:
    try:
        parse_spec(text, Path("fuzz.yaml"))
    except BadInputError as exc:
        assert exc.exit_code == EXIT_BAD_INPUT
        assert str(exc)


_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
_keys = st.sampled_from(
    [
        "service",
        "name",
        "command",
        "environments",
        "defaults",
        "env",
        "port",
        "replicas",
        "strategy",
        "type",
        "blue_green",
        "x",
        "development",
        "scale_down_delay",
        "releases",
    ]
)
_tree = st.recursive(
    _leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(_keys, children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_keys, _tree, max_size=5))
def test_arbitrary_yaml_documents_never_traceback(
    tmp_path_factory: pytest.TempPathFactory, data: dict[str, object]
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "moai-deploy.yaml"
    with path.open("w") as handle:
        YAML(typ="safe").dump(data, handle)
    try:
        load_spec(path)
    except BadInputError as exc:
        assert exc.exit_code == EXIT_BAD_INPUT
