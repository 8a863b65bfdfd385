"""`moai-deploy init`: read the project (app, server, dependencies, health, release work,
persistent paths, the variables its code reads) and write a commented spec that deploys.

Detection lives here, one module per question; the CLI only calls `write_spec`.
"""

from __future__ import annotations

from pathlib import Path

from moai_deploy.errors import BadInputError
from moai_deploy.init.project import Detection, detect_project
from moai_deploy.paths import SPEC_FILE_NAME, STATE_DIR_NAME

__all__ = ["Detection", "detect_project", "ensure_gitignored", "write_spec"]


def ensure_gitignored(directory: Path, entries: list[str]) -> list[str]:
    """Append the entries .gitignore lacks; the ones added."""
    path = directory / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    present = {line.strip().rstrip("/") for line in text.splitlines()}
    missing = [
        e for e in entries if e.rstrip("/") not in present and f"/{e}".rstrip("/") not in present
    ]
    if missing:
        prefix = "" if not text or text.endswith("\n") else "\n"
        block = "# moai-deploy: state and secrets stay out of git\n" + "\n".join(missing) + "\n"
        path.write_text(text + prefix + block, encoding="utf-8")
    return missing


def write_spec(directory: Path, *, force: bool = False) -> tuple[Path, Detection]:
    """Write the spec into `directory` (refuses to overwrite unless `force`) and keep the
    state folder and the secrets file out of git."""
    from moai_deploy.init.spec_text import render_spec
    from moai_deploy.spec.loader import parse_spec

    if not directory.is_dir():
        raise BadInputError(f"{directory}: not a folder")
    target = directory / SPEC_FILE_NAME
    if target.exists() and not force:
        raise BadInputError(f"{target} already exists\n    fix: pass --force to overwrite it")
    detection = detect_project(directory)
    text = render_spec(detection)
    loaded = parse_spec(text, target)  # what we write must validate
    target.write_text(text, encoding="utf-8")
    ensure_gitignored(directory, [f"{STATE_DIR_NAME}/", loaded.spec.secrets_file])
    return target, detection
