"""Secret references (`${secret:NAME}`): finding plaintext secrets, resolving, redacting.

A spec never holds a secret value. Values that look like secrets must be references,
resolved at deploy time from the process environment or the secrets file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from moai_deploy.errors import BadInputError

SECRET_REF = re.compile(r"\$\{secret:([A-Za-z_][A-Za-z0-9_]*)\}")
_ANY_REF = re.compile(r"\$\{([^}]*)\}?")
_SECRET_KEY = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|KEY|CREDENTIAL|PRIVATE", re.IGNORECASE)
# scheme://user:password@host: the password part must be a reference.  # pragma: allowlist secret
_DSN_CREDENTIALS = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/:@\s]*:([^@\s]+)@")
MASK = "********"


@dataclass(frozen=True)
class PlaintextSecret:
    """A value in the spec that must be a secret reference but is not."""

    key: str
    message: str
    fix: str


def check_value(key: str, value: str) -> PlaintextSecret | None:
    """Why `key: value` is not allowed in a spec, or None when it is fine."""
    for match in _ANY_REF.finditer(value):
        if not SECRET_REF.fullmatch(match.group(0)):
            return PlaintextSecret(
                key,
                f"malformed reference {match.group(0)!r}",
                "write references as ${secret:NAME} with NAME made of letters, digits and '_'",
            )
    dsn = _DSN_CREDENTIALS.match(value)
    if dsn and not SECRET_REF.fullmatch(dsn.group(1)):
        return PlaintextSecret(
            key,
            "connection string holds a plaintext password",
            "replace the password with ${secret:NAME} and put NAME in the secrets file",
        )
    if _SECRET_KEY.search(key) and value and not SECRET_REF.search(value):
        return PlaintextSecret(
            key,
            "looks like a secret but holds a plaintext value",
            f"use `{key}: ${{secret:{key}}}` and set {key} in the secrets file or environment",
        )
    return None


def references(values: Iterable[str]) -> list[str]:
    """Every secret name referenced by `values`, sorted, without duplicates."""
    return sorted({name for value in values for name in SECRET_REF.findall(value)})


def read_secrets_file(path: Path) -> dict[str, str]:
    """Parse a KEY=value file (comments with #, optional quotes); missing file = empty."""
    if not path.is_file():
        return {}
    result: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key.strip()):
            raise BadInputError(f"{path}:{number}: expected KEY=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        result[key.strip()] = value
    return result


class SecretResolver:
    """Resolves `${secret:NAME}` from the process environment, then the secrets file."""

    def __init__(self, secrets_file: Path, environ: Mapping[str, str] | None = None) -> None:
        self._file = secrets_file
        self._environ = os.environ if environ is None else environ
        self._from_file: dict[str, str] | None = None
        self.resolved: dict[str, str] = {}

    def lookup(self, name: str) -> str | None:
        if name in self._environ:
            return self._environ[name]
        if self._from_file is None:
            self._from_file = read_secrets_file(self._file)
        return self._from_file.get(name)

    def resolve(self, env: Mapping[str, str]) -> dict[str, str]:
        """`env` with every reference replaced; raises BadInputError naming missing secrets."""
        missing = [name for name in references(env.values()) if self.lookup(name) is None]
        if missing:
            raise BadInputError(
                f"secret(s) not set: {', '.join(missing)}\n"
                f"    fix: export them in the environment or add NAME=value lines to {self._file}"
            )

        def substitute(match: re.Match[str]) -> str:
            value = self.lookup(match.group(1)) or ""
            self.resolved[match.group(1)] = value
            return value

        return {key: SECRET_REF.sub(substitute, value) for key, value in env.items()}

    def redact(self, text: str) -> str:
        """`text` with every resolved secret value replaced by a mask."""
        for value in sorted(self.resolved.values(), key=len, reverse=True):
            if len(value) >= 4:
                text = text.replace(value, MASK)
        return text
