"""Load `moai-deploy.yaml`: parse with ruamel.yaml (for line numbers), validate with pydantic.

Every problem is reported with the file, line, key and a fix; nothing else is touched.
"""

from __future__ import annotations

import difflib
import hashlib
import json
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
from moai_deploy.spec import models
from moai_deploy.spec._base import iter_sections
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
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInputError(
            f"{path}: no spec file here\n    fix: run `moai-deploy init` or pass --spec PATH"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{path}: cannot read the spec file: {exc}") from None
    return parse_spec(text, path)


def parse_spec(text: str, path: Path) -> LoadedSpec:
    """Validate spec text; `path` is only used in messages and as the project folder."""
    doc = _parse_yaml(text, path)
    try:
        spec = models.Spec.model_validate(_plain(doc))
    except ValidationError as exc:
        raise SpecError([_problem(path, doc, err) for err in exc.errors()]) from None
    problems = [
        SpecProblem(path, _line_of(doc, loc), _dotted(loc), message, fix)
        for loc, message, fix in [*_plaintext_secrets(spec), *_port_conflicts(spec)]
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
    return SpecProblem(path, line, "", f"malformed YAML: {message}", "fix the YAML syntax")


def _doc_line(doc: Any) -> int:
    lc = getattr(doc, "lc", None)
    return int(getattr(lc, "line", 0) or 0) + 1


def _plain(node: Any) -> Any:
    """ruamel's round-trip nodes as plain dicts, lists and scalars (tags dropped)."""
    if isinstance(node, dict):
        return {_scalar(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
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
    if kind not in ("value_error", "assertion_error") and "input" in err:
        message += f" (got {_short(err['input'])})"
    return SpecProblem(path, _line_of(doc, loc), key, message, _fix_for(kind))


def _fix_for(kind: str) -> str:
    if kind.startswith(("int_", "float_", "bool_", "string_")):
        return "change the value to the expected type"
    if kind.startswith(("greater_than", "less_than")):
        return "use a value inside the allowed range"
    if kind == "literal_error" or kind.startswith("union_tag"):
        return "use one of the allowed values"
    return ""


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
