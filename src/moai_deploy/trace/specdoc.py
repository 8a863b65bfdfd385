"""A SPEC document (`.moai/specs/SPEC-<ID>/spec.md`): its identity, and a fast reader.

`summarize` reads only what the report shows (id, version, status, priority, depends_on,
related_specs) with PyYAML's C loader; `frontmatter.read_spec` checks the whole front
matter (with line numbers) and runs only with the `frontmatter` option.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from moai_deploy.trace.model import Finding, SpecInfo

ID_PATTERN = re.compile(r"[A-Z]+(?:-[A-Z]+)*-\d{3}")
# MoAI-ADK writes `author: @Goos` unquoted, which YAML rejects (`@` is reserved). A plain
# scalar can never start with `@`, so quoting such a value changes no valid document.
AT_VALUE = re.compile(r"^(\s*[A-Za-z_][\w-]*:[ \t]+)(@[^\s#\"']*)", re.MULTILINE)
_ID_LINE = re.compile(r"id\s*:")


@dataclass(frozen=True)
class SpecDocument:
    """One parsed spec.md: its identity (None without a usable id) and its problems."""

    path: Path
    info: SpecInfo | None
    lines: dict[str, int]  # front-matter key -> its 1-based line in spec.md
    findings: tuple[Finding, ...]

    @property
    def id_line(self) -> int:
        """Line of `id:` (1, the opening `---`, when there is none)."""
        return self.lines.get("id", 1)


def folder_id(spec_md: Path) -> str | None:
    """The SPEC id a `SPEC-<ID>/spec.md` path implies, if the folder is named that way."""
    name = spec_md.parent.name
    rest = name.removeprefix("SPEC-")
    return rest if rest != name and ID_PATTERN.fullmatch(rest) else None


def quote_at(match: re.Match[str]) -> str:
    """`key: @x` -> `key: "@x"` (for AT_VALUE.sub)."""
    return f'{match.group(1)}"{match.group(2)}"'


def front_matter(text: str) -> list[str] | None:
    """The lines between the opening `---` and the closing `---`/`...`, if both exist."""
    lines = text.removeprefix("\ufeff").splitlines()
    if not lines or lines[0].rstrip() != "---":
        return None
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    return None if end is None else lines[1:end]


def summarize(spec_md: Path, project_dir: Path) -> SpecDocument:
    """The SPEC's identity without checking it (no findings): fast, for the report."""
    import yaml  # PyYAML, imported here: only a scan that has SPECs needs it

    rel = spec_md.relative_to(project_dir)
    head = front_matter(spec_md.read_text(encoding="utf-8", errors="replace"))
    if head is None:
        return SpecDocument(rel, fallback_info(rel), {}, ())
    try:
        data = yaml.load(AT_VALUE.sub(quote_at, "\n".join(head)), Loader=_loader())  # noqa: S506
    except (yaml.YAMLError, ValueError, TypeError):
        data = None
    if not isinstance(data, Mapping):
        return SpecDocument(rel, fallback_info(rel), {}, ())
    line = next((i + 2 for i, text in enumerate(head) if _ID_LINE.match(text)), 1)
    return SpecDocument(rel, spec_info(rel, data), {"id": line}, ())


@cache
def _loader() -> Any:
    """PyYAML's safe loader (its C one when built), keeping dates as text."""
    import yaml

    base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader: Any = type("SpecLoader", (base,), {})
    loader.add_constructor("tag:yaml.org,2002:timestamp", base.construct_yaml_str)
    return loader


def text_of(value: Any) -> str | None:
    """A scalar as text (None for nothing, a list or a mapping)."""
    return None if value is None or isinstance(value, Mapping | list) else str(value)


def spec_info(rel: Path, data: Mapping[str, Any]) -> SpecInfo | None:
    """Identity from front-matter values (the folder's id when `id` is unusable)."""
    declared = data.get("id")
    spec_id = declared if isinstance(declared, str) and ID_PATTERN.fullmatch(declared) else None
    spec_id = spec_id or folder_id(rel)
    if spec_id is None:
        return None
    return SpecInfo(
        id=spec_id,
        version=text_of(data.get("version")),
        status=text_of(data.get("status")),
        priority=text_of(data.get("priority")),
        path=rel,
        depends_on=_ids(data.get("depends_on")),
        related_specs=_ids(data.get("related_specs")),
    )


def fallback_info(rel: Path) -> SpecInfo | None:
    """Identity from the folder name alone (front matter missing or unreadable)."""
    spec_id = folder_id(rel)
    return SpecInfo(spec_id, None, None, None, rel) if spec_id else None


def _ids(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str) and ID_PATTERN.fullmatch(v))
