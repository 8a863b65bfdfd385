"""Load `moai-deploy.yaml`: parse with ruamel.yaml (for line numbers), validate with pydantic.

Every problem is reported with the file, line, key and a fix; nothing else is touched.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from moai_deploy import paths
from moai_deploy.errors import BadInputError, SpecError, SpecProblem
from moai_deploy.spec import _text, models
from moai_deploy.spec._base import iter_sections
from moai_deploy.spec._safety import risky_settings
from moai_deploy.spec.secrets import check_value

SPEC_FILE_NAME = paths.SPEC_FILE_NAME  # defined in paths so the CLI knows it without models

Loc = tuple[int | str, ...]


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec and where it came from."""

    spec: models.Spec
    path: Path
    digest: str  # sha256 of the validated content, recorded with every release

    @property
    def project_dir(self) -> Path:
        return self.path.parent


def load_spec(path: Path) -> LoadedSpec:
    """Read, parse and validate a spec file; raises SpecError listing every problem."""
    try:
        with path.open("rb") as handle:
            _text.check_size(path, os.fstat(handle.fileno()).st_size)  # before reading it all
            data = handle.read(_text.MAX_SPEC_BYTES + 1)
    except FileNotFoundError:
        raise BadInputError(
            f"{path}: no spec file here\n    fix: run `moai-deploy init` or pass --spec PATH"
        ) from None
    except OSError as exc:
        raise BadInputError(
            f"{path}: cannot read the spec file: {exc.strerror or exc}\n"
            "    fix: check that it is a readable file (not a folder) and its permissions"
        ) from None
    return parse_spec(_text.decode(data, path), path)


def parse_spec(text: str, path: Path) -> LoadedSpec:
    """Validate spec text; `path` is only used in messages and as the project folder."""
    _text.check_text(text, path)
    doc = _parse_yaml(text, path)
    plain = _expand(doc, _text.ValueBudget(path))
    try:
        spec = models.Spec.model_validate(plain)
    except ValidationError as exc:
        raise SpecError([_problem(path, doc, err) for err in exc.errors()]) from None
    problems = [
        SpecProblem(path, _line_of(doc, loc), _dotted(loc), message, fix)
        for loc, message, fix in [
            *_plaintext_secrets(spec),
            *_port_conflicts(spec),
            *_pipeline_environments(spec),
            *risky_settings(spec, path.parent),
        ]
    ]
    if problems:
        raise SpecError(problems)
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True).encode()
    return LoadedSpec(spec, path.resolve(), hashlib.sha256(canonical).hexdigest())


def _parse_yaml(text: str, path: Path) -> CommentedMap:
    yaml = YAML(typ="rt")
    try:
        doc = yaml.load(text)
    except MarkedYAMLError as exc:
        raise SpecError([_yaml_problem(path, exc)]) from None
    except (YAMLError, ValueError, TypeError, RecursionError) as exc:
        raise SpecError([SpecProblem(path, None, "", f"malformed YAML: {exc}", "")]) from None
    if not isinstance(doc, CommentedMap):
        got = "an empty file" if doc is None else "a list" if isinstance(doc, list) else "a value"
        raise SpecError(
            [
                SpecProblem(
                    path,
                    _doc_line(doc),
                    "",
                    f"expected a mapping of settings, got {got}",
                    "start from `moai-deploy init`; the file needs at least `service:` and "
                    "`environments:`",
                )
            ]
        )
    return doc


def _yaml_problem(path: Path, exc: MarkedYAMLError) -> SpecProblem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    context = exc.context or ""
    if exc.context_mark is not None and exc.problem_mark is not None and context:
        context += f" (started on line {exc.context_mark.line + 1})"
    message = " ".join(part for part in (context, exc.problem or "") if part)
    fix = "indent with spaces, not tabs" if "'\\t'" in message else "fix the YAML syntax"
    return SpecProblem(path, line, "", f"malformed YAML: {message}", fix)


def _doc_line(doc: Any) -> int:
    lc = getattr(doc, "lc", None)
    return int(getattr(lc, "line", 0) or 0) + 1


def _expand(doc: CommentedMap, budget: _text.ValueBudget) -> dict[Any, Any]:
    """The document as plain data; each top-level key's line is where a bomb is reported."""
    plain: dict[Any, Any] = {}
    for key, value in doc.items():
        budget.line = doc.lc.key(key)[0] + 1
        plain[_scalar(key)] = _plain(value, budget)
    return plain


def _plain(node: Any, budget: _text.ValueBudget) -> Any:
    """ruamel's round-trip nodes as plain dicts, lists and scalars (tags dropped)."""
    budget.spend()
    if isinstance(node, dict):
        return {_scalar(k): _plain(v, budget) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(item, budget) for item in node]
    return _scalar(node)


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return str(value)


def _problem(path: Path, doc: CommentedMap, err: ErrorDetails) -> SpecProblem:
    loc = tuple(err["loc"])
    key = _dotted(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        name = str(loc[-1])
        close = difflib.get_close_matches(name, _all_field_names(), n=1)
        fix = f"did you mean `{close[0]}`?" if close else "remove it (see `moai-deploy schema`)"
        return SpecProblem(path, _line_of(doc, loc), key, "unknown key", fix)
    if kind == "missing":
        return SpecProblem(
            path, _line_of(doc, loc) or 1, key, "required key is missing", f"add `{loc[-1]}:`"
        )
    message = err["msg"].removeprefix("Value error, ")
    fix = _fix_for(kind)
    if kind in ("value_error", "assertion_error"):
        # Our validators say "what is wrong; how to fix it".
        message, _, own_fix = message.partition("; ")
        fix = own_fix or fix
    elif "input" in err:
        message += f" (got {_short(err['input'])})"
    return SpecProblem(path, _line_of(doc, loc), key, message, fix)


_FIXES = {
    "string_pattern_mismatch": "rename it to match the pattern (see `moai-deploy schema`)",
    "dict_type": "write a mapping (`key: value` lines) here",
    "model_type": "write a mapping of settings (`key: value` lines) here",
    "model_attributes_type": "write a mapping of settings (`key: value` lines) here",
    "literal_error": "use one of the allowed values",
}


def _fix_for(kind: str) -> str:
    if kind in _FIXES:
        return _FIXES[kind]
    if kind.startswith(("greater_than", "less_than", "too_long", "too_short")):
        return "use a value inside the allowed range"
    if kind.startswith("union_tag"):
        return "use one of the allowed values"
    return "change the value to the expected type (see `moai-deploy schema`)"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _dotted(loc: Loc) -> str:
    """The user's key path: pydantic's union tags and list indexes left out."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int) or part == "[key]" or _is_union_tag(str(part), parts):
            continue
        parts.append(str(part))
    return ".".join(parts) or "(top level)"


def _is_union_tag(part: str, before: list[str]) -> bool:
    if before and before[-1] == "strategy" and part in ("blue_green", "canary", "rolling"):
        return True
    # Members of untagged unions appear by class name (TemplateRef) or validator label.
    return (part[:1].isupper() and any(c.islower() for c in part)) or "[" in part


def _line_of(doc: CommentedMap, loc: Loc) -> int | None:
    """1-based line of the deepest part of `loc` present in the YAML document."""
    node: Any = doc
    line: int | None = None
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
    return line


def _all_field_names() -> list[str]:
    names: set[str] = set()
    for _, model in iter_sections(models.Spec):
        names.update(model.model_fields)
    return sorted(names)


Finding = tuple[Loc, str, str]  # where, what is wrong, how to fix it


def _plaintext_secrets(spec: models.Spec) -> Iterator[Finding]:
    overlays: list[tuple[Loc, models.EnvironmentOverlay]] = [(("defaults",), spec.defaults)]
    overlays += [(("environments", name), o) for name, o in spec.environments.items()]
    for prefix, overlay in overlays:
        for key, value in (overlay.env or {}).items():
            problem = check_value(key, value)
            if problem is not None:
                yield (*prefix, "env", key), problem.message, problem.fix


def _port_conflicts(spec: models.Spec) -> Iterator[Finding]:
    seen: dict[int, str] = {}
    for name in spec.environments:
        port = spec.port_of(name)
        if port in seen:
            yield (
                ("environments", name, "port"),
                f"port {port} is already used by environment {seen[port]!r}",
                "give each environment its own `port`",
            )
        seen[port] = name


def _pipeline_environments(spec: models.Spec) -> Iterator[Finding]:
    stages = spec.pipeline.stages if spec.pipeline is not None else ()
    for index, stage in enumerate(stages):
        if stage.environment not in spec.environments:
            yield (
                ("pipeline", "stages", index, "environment"),
                f"unknown environment {stage.environment!r}",
                "use one of: " + ", ".join(spec.environments),
            )


def spec_line(path: Path, loc: Loc) -> int | None:
    """The line of `loc` in the spec file at `path` (None if unreadable): for checks made
    after loading, e.g. a port another program holds."""
    try:
        doc = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError, ValueError):
        return None
    return _line_of(doc, loc) if isinstance(doc, CommentedMap) else None
