"""The command line against a running `moai-deploy server` (`--server URL`).

The same verbs as on this machine, over /api/v1: the server runs them through the
service layer the local CLI runs too (`service/control.py`), as the token's owner, so
its audit log names them.
The server's answers become the CLI's exit codes: 400/401/403/404 and a refused body
exit 2, 409 exits 3, a failed release exits 1. The token never appears in any output.

Loaded only when a command runs with a server (httpx is not imported for `--help`).
"""

from __future__ import annotations

import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from moai_deploy.errors import (
    EXIT_BAD_INPUT,
    EXIT_LOCKED,
    EXIT_RELEASE_FAILED,
    BadInputError,
    MoaiError,
)

DEFAULT_TOKEN_FILE = Path("~/.config/moai-deploy/token")
POLL = 0.3  # seconds between two looks at a running job
DEFAULT = object()  # "the client's own timeout"
EXIT_INTERRUPTED = 130  # as a shell reports a command ended by Ctrl-C
_FIX = {
    401: "pass a live token: --token-file PATH (mode 0600), MOAI_DEPLOY_TOKEN or --token",
    403: "use a token whose role (and environment scope) allows this",
    404: "check the name (`moai-deploy --server URL status` lists the environments)",
    409: "wait for it to finish, or retry with --lock-wait DURATION",
    429: "wait a minute, then retry with a valid token",
}
_EXIT_OF_STATUS = {400: EXIT_BAD_INPUT, 401: EXIT_BAD_INPUT, 403: EXIT_BAD_INPUT}
_EXIT_OF_STATUS |= {404: EXIT_BAD_INPUT, 409: EXIT_LOCKED, 429: EXIT_BAD_INPUT}


class RemoteError(MoaiError):
    """What the server refused or what failed there, with the CLI's exit code for it."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def read_token(token: str | None, token_file: Path | None) -> str:
    """The API token: given, else from the token file (which must be private to its owner)."""
    if token:
        return token.strip()
    explicit = token_file is not None
    path = (token_file or DEFAULT_TOKEN_FILE).expanduser()
    if not path.is_file():
        if explicit:
            raise BadInputError(f"--token-file {path}: no such file")
        raise BadInputError(
            "the server needs an API token\n    fix: `moai-deploy token create NAME --role ROLE` "
            f"on the server's machine, then put it in {DEFAULT_TOKEN_FILE} (chmod 600), "
            "MOAI_DEPLOY_TOKEN or --token-file PATH"
        )
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise BadInputError(
            f"{path}: the token file is readable by others (mode {stat.S_IMODE(mode):o})\n"
            f"    fix: chmod 600 {path}"
        )
    value = path.read_text().strip()
    if not value:
        raise BadInputError(f"{path}: the token file is empty")
    return value


def _message(response: httpx.Response) -> tuple[str, int | None]:
    """The server's error text and, for a job that failed, the exit code it reported."""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase, None
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        job = data.get("job")
        code = job.get("exit_code") if isinstance(job, dict) else None
        return data["error"], code if isinstance(code, int) else None
    if isinstance(data, dict) and isinstance(data.get("detail"), list):  # a refused body
        problems = [
            f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}"
            for d in data["detail"]
            if isinstance(d, dict)
        ]
        return "the server refused the request: " + "; ".join(problems), EXIT_BAD_INPUT
    return str(data)[:500], None


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    text, code = _message(response)
    status = response.status_code
    if code is None:
        code = _EXIT_OF_STATUS.get(status, EXIT_RELEASE_FAILED)
    fix = _FIX.get(status)
    if fix and "fix:" not in text:
        text += f"\n    fix: {fix}"
    raise RemoteError(f"{text} (server: HTTP {status})", code)


def _failed_job(response: httpx.Response) -> dict[str, Any] | None:
    """The job a refused long operation carries (it failed within the server's wait)."""
    if response.status_code < 400:
        return None
    try:
        job = response.json().get("job")
    except (ValueError, AttributeError):
        return None
    return job if isinstance(job, dict) else None


class RemoteControl:
    """The operations of `service/control.py`, asked of a server over HTTP."""

    def __init__(self, url: str, token: str, transport: httpx.BaseTransport | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise BadInputError(f"--server {url!r}: not an http(s) URL\n    fix: http://HOST:PORT")
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url + "/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(30.0, connect=5.0),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, path: str, check: bool = True, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise RemoteError(
                f"cannot reach the server at {self.url}: {type(exc).__name__}: {exc}\n"
                "    fix: start it (`moai-deploy server`) or check --server / MOAI_DEPLOY_SERVER",
                EXIT_BAD_INPUT if isinstance(exc, httpx.ConnectError) else EXIT_RELEASE_FAILED,
            ) from None
        if check:
            _raise_for(response)
        return response

    def get(self, path: str, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        return self._send("GET", path, params=query).json()

    def post(self, path: str, body: dict[str, Any] | None = None, timeout: object = DEFAULT) -> Any:
        """POST `body`; `timeout=None` waits as long as the server works on it."""
        extra: dict[str, Any] = {} if timeout is DEFAULT else {"timeout": timeout}
        return self._send("POST", path, json=body, **extra).json()

    def delete(self, path: str) -> Any:
        return self._send("DELETE", path).json()

    def run(
        self,
        path: str,
        body: dict[str, Any],
        *,
        leave_at: frozenset[str] = frozenset(),
        progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Start a long operation and follow its job until it is done, or until its phase
        is one of `leave_at` (the server carries the rest: e.g. `live`, `waiting`)."""
        try:
            return self._follow(path, body, leave_at, progress)
        except KeyboardInterrupt:  # the caller leaves (even mid-request): the work is the server's
            raise RemoteError(
                "stopped following; the server carries the operation on\n"
                f"    see: moai-deploy --server {self.url} status (or history)",
                EXIT_INTERRUPTED,
            ) from None

    def _follow(
        self,
        path: str,
        body: dict[str, Any],
        leave_at: frozenset[str],
        progress: Callable[[dict[str, Any]], None] | None,
    ) -> dict[str, Any]:
        response = self._send("POST", path, check=False, json={**body, "wait": False})
        failed = _failed_job(response)
        if failed is not None and progress is not None:
            progress(failed)  # what the release did before it failed, then the error
        _raise_for(response)
        job: dict[str, Any] = response.json()
        while True:
            if progress is not None:
                progress(job)
            if job["state"] == "failed":
                code = job.get("exit_code") or EXIT_RELEASE_FAILED
                raise RemoteError(str(job.get("error")), int(code))
            if job["state"] == "succeeded" or job.get("phase") in leave_at:
                return job
            time.sleep(POLL)
            job = self.get(f"/jobs/{job['id']}")


def connect(url: str, token: str | None, token_file: Path | None) -> RemoteControl:
    """A client for `url` with the token given (--token, MOAI_DEPLOY_TOKEN) or from the file."""
    return RemoteControl(url, read_token(token, token_file))
