"""Errors that reach the user, each carrying the exit code the CLI returns for it.

Exit codes: 0 ok, 1 release failed or rolled back, 2 bad input, 3 locked/conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_RELEASE_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_LOCKED = 3


class MoaiError(Exception):
    """Base class for errors shown to the user without a traceback."""

    exit_code = EXIT_RELEASE_FAILED


class BadInputError(MoaiError):
    """The user gave something we cannot act on (exit 2)."""

    exit_code = EXIT_BAD_INPUT


@dataclass(frozen=True)
class SpecProblem:
    """One problem in a spec file: where it is, what is wrong, how to fix it."""

    file: Path
    line: int | None
    key: str
    message: str
    fix: str = ""

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else str(self.file)
        text = f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        return f"{text}\n    fix: {self.fix}" if self.fix else text


class NotFoundError(BadInputError):
    """What was asked for does not exist: unknown environment or release (exit 2, HTTP 404)."""


class ForbiddenError(BadInputError):
    """The actor may not do this (self-approval, a role or scope that does not allow it)."""


class SpecError(BadInputError):
    """The spec file is malformed or invalid; lists every problem found."""

    def __init__(self, problems: list[SpecProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems))


class LockedError(MoaiError):
    """Another rollout holds the lock for this service and environment (exit 3)."""

    exit_code = EXIT_LOCKED


class ReleaseFailedError(MoaiError):
    """The release failed and was stopped or rolled back (exit 1)."""

    exit_code = EXIT_RELEASE_FAILED
