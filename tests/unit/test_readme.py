"""The README's spec reference is the one generated from the models."""

from __future__ import annotations

from pathlib import Path

from moai_deploy.spec.reference import BEGIN, END, markdown_reference

README = Path(__file__).parents[2] / "README.md"


def test_readme_spec_reference_is_current() -> None:
    text = README.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:end] + "\n" == markdown_reference(), (
        "README spec reference is stale: regenerate with `moai-deploy schema --markdown`"
    )


def test_readme_names_the_two_commands() -> None:
    text = README.read_text()
    assert "make demo" in text and "make test" in text
