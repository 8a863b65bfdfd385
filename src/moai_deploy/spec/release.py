"""Release-time keys of the service: the release command, hooks around a release, and the
paths that persist across releases."""

from __future__ import annotations

import shlex
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from moai_deploy.spec._base import Section
from moai_deploy.spec._types import Seconds


def split_commands(value: Any) -> Any:
    """One command (a string, or an argv list of strings) or several (a list whose items
    are argv lists or strings) -> a tuple of argv tuples. Never run through a shell."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return (tuple(value),) if value else ()
    if not isinstance(value, list | tuple):
        return value
    return tuple(_split(item) for item in value)


def _split(item: Any) -> Any:
    if not isinstance(item, str):
        return item
    try:
        return shlex.split(item)
    except ValueError as exc:
        raise ValueError(f"cannot split command {item!r}: {exc}") from exc


def _non_empty(commands: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
    for argv in commands:
        if not argv or not argv[0].strip():
            raise ValueError("a command is empty; give the program to run, e.g. 'python -m app'")
    return commands


Commands = Annotated[
    tuple[tuple[str, ...], ...], BeforeValidator(split_commands), AfterValidator(_non_empty)
]


def check_shared_path(value: str) -> str:
    """A relative path inside the release, without '..'; a trailing '/' marks a folder."""
    parts = [p for p in value.strip().split("/") if p]
    if value.startswith("/") or not parts or ".." in parts or parts == ["."]:
        raise ValueError(
            f"{value!r} is not a path inside the release; use a relative path like "
            "'instance/' or 'db.sqlite3', without '..'"
        )
    return value.strip()


SharedPathText = Annotated[str, AfterValidator(check_shared_path)]


class HooksSpec(Section):
    """Commands run on the deploying machine around a release, in the project folder, with
    the release's facts in MOAI_DEPLOY_* variables (service, environment, version,
    release id, commit, strategy, status, url). argv lists, never a shell."""

    pre_deploy: Commands = Field(
        default=(), description="Before the release starts; a failure stops the deploy."
    )
    post_deploy: Commands = Field(
        default=(), description="After the release succeeded (a failure is reported only)."
    )
    on_failure: Commands = Field(
        default=(), description="After the release failed or was rolled back (reported only)."
    )
    timeout: Seconds = Field(default=300.0, description="Longest one hook command may run.")
