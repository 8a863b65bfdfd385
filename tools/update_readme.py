"""Regenerate the README's spec reference from the models (`make readme`)."""

from __future__ import annotations

from pathlib import Path

from moai_deploy.spec.reference import BEGIN, END, markdown_reference

README = Path(__file__).parents[1] / "README.md"

text = README.read_text()
start, end = text.index(BEGIN), text.index(END) + len(END) + 1
README.write_text(text[:start] + markdown_reference() + text[end:])
