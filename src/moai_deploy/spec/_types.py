"""Small value types shared by the spec models: durations, names, paths, versions."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,62}$"
_VERSION = re.compile(VERSION_PATTERN)


def parse_duration(value: object) -> object:
    """Accept seconds as a number, or a string like '500ms', '30s', '5m', '1h'."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30, '30s', '5m' or '500ms', got a boolean")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(f"{value!r} is not a duration; use e.g. 30, '30s', '5m' or '500ms'")
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return value


def check_url_path(value: str) -> str:
    if not value.startswith("/") or any(c.isspace() for c in value):
        raise ValueError(f"{value!r} is not a URL path; it must start with '/' and hold no spaces")
    return value


def check_version(value: str) -> str:
    """A release version label: letters, digits, '.', '_', '+', '-'; safe in paths and argv."""
    if not _VERSION.match(value):
        raise ValueError(
            f"{value!r} is not a valid version; use letters, digits, '.', '_', '+' or '-' "
            "(at most 63 characters, starting with a letter or digit)"
        )
    return value


Seconds = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]
UrlPath = Annotated[str, AfterValidator(check_url_path)]
Port = Annotated[int, Field(ge=1, le=65535)]
DnsName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$|^[a-z]$")]
EnvVarName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
Version = Annotated[str, AfterValidator(check_version)]
