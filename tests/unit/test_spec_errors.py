"""Every broken spec fails with exit 2, naming the file, the line and the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from moai_deploy.errors import EXIT_BAD_INPUT, BadInputError, SpecError
from moai_deploy.spec.loader import load_spec, parse_spec

BAD_SPECS = sorted((Path(__file__).parent.parent / "fixtures" / "bad_specs").glob("*.yaml"))
_EXPECT = re.compile(r"^# expect: line=(\d+) key=(\S*)$", re.M)


def _expectation(path: Path) -> tuple[int, str]:
    match = _EXPECT.search(path.read_text())
    assert match, f"{path.name} lacks an '# expect:' header"
    return int(match.group(1)), match.group(2)


def test_there_are_at_least_15_broken_specs() -> None:
    assert len(BAD_SPECS) >= 15


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
