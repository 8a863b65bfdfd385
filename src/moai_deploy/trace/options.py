"""How `trace` reads a project: MoAI-ADK's validator by default, plus named differences.

The default applies the rules of MoAI-ADK's central TAG validator
(`moai_adk/core/tags/validator.py`, v0.22.0, default `ValidationConfig`) as it applies
them, so a MoAI-ADK user sees the same findings in both tools:

- scope: every file under the folder (hidden folders and nested `.moai/` projects too)
  whose extension is py, js, ts, jsx, tsx, md, txt, yml, yaml or json, or that has none;
  a path is skipped when it *contains* `.git`, `node_modules`, `__pycache__`, `.pyc`,
  `.venv` or `venv` anywhere (MoAI-ADK's patterns, matched as substrings of the path
  relative to the traced folder, as `moai-adk validate-tags .` does);
- a SPEC is any `@SPEC:<ID>` tag, wherever it is; every tag counts, `.moai/specs` too;
- a TAG is unique across the codebase: one error per TAG found in more than one place;
- orphans (CODE without TEST, TEST without CODE) are warnings at every location;
- chain rules are per ID (see `rules.py`).

Each knowing difference is one option below (a CLI flag `--<name>` and a `gates.tags`
setting `<name_with_underscores>`); the report names the options that ran.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

MOAI_ADK_MODE = "moai-adk"

OPTION_HELP: dict[str, str] = {
    "exact_ignores": (
        "Skip tool and build folders by whole name (.git, .venv, venv, node_modules, "
        "__pycache__, build, dist, caches, *.egg-info; *.pyc files) instead of MoAI-ADK's "
        "substring match, which also skips .github/, .gitignore and any path containing "
        "'venv'."
    ),
    "skip_hidden": (
        "Skip hidden folders (.claude/, .vscode/, ...) except .github/; in .moai/ read only "
        "specs/ (.moai/memory and .moai/config.json hold examples, not TAGs)."
    ),
    "separate_nested": (
        "A subfolder with its own .moai/ is another project: leave it out (trace it on "
        "its own), so templates, fixtures and examples stay out of this project's chains."
    ),
    "skip_binary": (
        "Skip binary files (a NUL byte in the first 8 KiB) and files over 2 MB (generated or "
        "vendored blobs). MoAI-ADK reads every file of its types, and every file without "
        "an extension, whole."
    ),
    "file_duplicates": (
        "A TAG repeated within one file is an error (at each repeat); the same TAG in "
        "several files is fine (code spans modules). MoAI-ADK: one place per TAG, overall."
    ),
    "per_id_orphans": (
        "One orphan warning (CODE without TEST, TEST without CODE) per ID, at its first "
        "place. MoAI-ADK: one per place."
    ),
    "declared_specs": (
        "A SPEC exists only when .moai/specs/SPEC-<ID>/spec.md declares it; @SPEC tags "
        "outside its own folder and @CODE/@TEST/@DOC tags inside .moai/specs are references, "
        "not counted. MoAI-ADK: any @SPEC tag is a SPEC, every tag counts."
    ),
    "frontmatter": (
        "Also check each spec.md's front matter (MoAI-ADK's SPEC metadata standard), a SPEC "
        "declared twice and depends_on naming an unknown SPEC. MoAI-ADK's validator does not."
    ),
}


@dataclass(frozen=True)
class TraceOptions:
    """All False: MoAI-ADK's validator. Each True is one documented difference."""

    exact_ignores: bool = False
    skip_hidden: bool = False
    separate_nested: bool = False
    skip_binary: bool = False
    file_duplicates: bool = False
    per_id_orphans: bool = False
    declared_specs: bool = False
    frontmatter: bool = False

    @classmethod
    def all(cls) -> TraceOptions:
        """Every difference at once (moai-deploy's own reading of a repository)."""
        return cls(**dict.fromkeys(names(), True))

    @classmethod
    def from_settings(cls, settings: Any) -> TraceOptions:
        """The options set on an object with one attribute per option (gates.tags)."""
        return cls(**{name: bool(getattr(settings, name, False)) for name in names()})

    def with_(self, **changes: bool) -> TraceOptions:
        """A copy with some options changed."""
        return replace(self, **changes)

    @property
    def enabled(self) -> tuple[str, ...]:
        """The options that are on, as CLI flag names (`exact-ignores`, ...)."""
        return tuple(flag(n) for n in names() if getattr(self, n))

    @property
    def mode(self) -> str:
        """`moai-adk`, or `moai-adk+exact-ignores+...` with the differences that ran."""
        return "+".join((MOAI_ADK_MODE, *self.enabled))

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: the mode and every option's value."""
        return {"mode": self.mode, "options": {n: getattr(self, n) for n in names()}}


def names() -> tuple[str, ...]:
    """Option names, in documentation order."""
    return tuple(f.name for f in fields(TraceOptions))


def flag(name: str) -> str:
    """`exact_ignores` -> `exact-ignores` (the CLI flag without its dashes)."""
    return name.replace("_", "-")
