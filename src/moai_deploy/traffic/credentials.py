"""The owner's credentials for a router's metrics (and Traefik's API): basic auth, one random
password per router folder, kept in a 0600 file that only the owner's tools read.

Both routers use the same user and file name, so every client (the rollout's checks, the
analysis, `monitor up`'s Prometheus) finds them the same way. The password is created once,
atomically: two CLI runs starting at the same moment agree on it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
import tempfile
from pathlib import Path

METRICS_USER = "moai-deploy"
PASSWORD_FILE = "metrics.password"  # noqa: S105  # nosec B105 - a file name


def read_password(path: Path) -> str:
    """The password in `path` ("" when there is none yet)."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


def owner_credentials(path: Path) -> tuple[str, str]:
    """(user, password) kept in `path`, the password created (0600) on first use."""
    password = read_password(path)
    if password:
        return METRICS_USER, password
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(24))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # fails if another run created it first: theirs wins
        except FileExistsError:
            if not read_password(path):  # an empty file (a crash mid-write in an old version)
                os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return METRICS_USER, read_password(path)


def htpasswd_line(user: str, password: str) -> str:
    """`user:{SHA}...`, an htpasswd entry Traefik's basicAuth checks.

    Unsalted SHA-1 is enough here: the password is 192 random bits (no dictionary to try, no
    guess to speed up), and Traefik checks it on every API call and scrape, where bcrypt
    would cost milliseconds each. The file holding it is 0600 anyway.
    """
    digest = hashlib.sha1(password.encode()).digest()  # noqa: S324  # nosec B324
    return f"{user}:{{SHA}}{base64.b64encode(digest).decode()}"
