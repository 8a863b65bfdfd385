"""The Dockerfile's dependency step: requirements*.txt, PEP 621 pyproject.toml, Poetry
(poetry.lock) or uv (uv.lock), picked by what the build context holds (or named by
`targets.image.dependencies`). A fixed POSIX sh script; no spec value is interpolated
into it except validated file names and versions."""

from __future__ import annotations

from moai_deploy.spec.targets import ImageSpec

UV = "uv pip install --python /opt/venv/bin/python --no-cache"
# Lock files first: they pin exactly what the project's own tool would install.
_BRANCHES = (
    ("uv.lock", "UV_PROJECT_ENVIRONMENT=/opt/venv uv sync --frozen --no-dev --no-install-project"),
    ("poetry.lock", "{poetry}"),
    ("requirements.txt", f"{UV} --requirement requirements.txt"),
    ("pyproject.toml", f"{UV} --requirement pyproject.toml"),
)


def _poetry(image: ImageSpec) -> str:
    return (
        f"uv pip install --python /opt/tools/bin/python --no-cache poetry=={image.poetry_version}"
        " && VIRTUAL_ENV=/opt/venv POETRY_VIRTUALENVS_CREATE=false"
        " poetry install --only main --no-root --no-interaction"
    )


def copy_sources(image: ImageSpec) -> str:
    """What the dependency layer copies: only dependency files, so code changes reuse it."""
    if image.dependencies == "auto":
        return "COPY pyproject.toml* poetry.lock* uv.lock* requirements*.txt ./"
    if image.dependencies in ("uv.lock", "poetry.lock"):
        return f"COPY pyproject.toml {image.dependencies} ./"
    return f"COPY {image.dependencies} ./"


def install_lines(image: ImageSpec) -> list[str]:
    """The RUN instruction (as Dockerfile lines) that fills /opt/venv."""
    poetry = _poetry(image)
    if image.dependencies != "auto":
        for marker, command in _BRANCHES:
            if image.dependencies == marker:
                return [f"RUN {command.format(poetry=poetry)}"]
        return [f"RUN {UV} --requirement {image.dependencies}"]
    lines = ["RUN set -eu; \\"]
    for number, (marker, command) in enumerate(_BRANCHES):
        keyword = "if" if number == 0 else "elif"
        lines += [
            f"    {keyword} [ -f {marker} ]; then \\",
            f"        {command.format(poetry=poetry)}; \\",
        ]
    lines += [
        "    else echo 'no requirements.txt, pyproject.toml, poetry.lock, uv.lock' >&2; \\",
        "        exit 1; \\",
        "    fi",
    ]
    return lines
