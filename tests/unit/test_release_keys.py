"""The release-time spec keys: release_command and hooks as argv lists, shared paths as
folders or files inside the release, and the local runtime's links to their store."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from moai_deploy.errors import BadInputError, SpecError
from moai_deploy.rollout.health import smoke_test, wait_ready
from moai_deploy.rollout.workloads import shared_path
from moai_deploy.runtime.base import InstanceState, InstanceStatus, SharedPath
from moai_deploy.runtime.local.plan import link_shared
from moai_deploy.spec.loader import parse_spec

BASE = "service:\n  name: app\n  command: python -m app\n{extra}environments:\n  staging: {{}}\n"


def spec(extra: str) -> object:
    return parse_spec(BASE.format(extra=extra), Path("moai-deploy.yaml")).spec.service


def test_release_command_forms() -> None:
    assert spec("  release_command: python manage.py migrate\n").release_command == (  # type: ignore[attr-defined]
        ("python", "manage.py", "migrate"),
    )
    one = spec('  release_command: ["alembic", "upgrade", "head"]\n')
    assert one.release_command == (("alembic", "upgrade", "head"),)  # type: ignore[attr-defined]
    many = spec("  release_command:\n    - [python, manage.py, migrate]\n    - python x.py\n")
    assert many.release_command == (("python", "manage.py", "migrate"), ("python", "x.py"))  # type: ignore[attr-defined]
    hooks = spec("  hooks:\n    post_deploy: [[curl, -fsS, http://x]]\n").hooks  # type: ignore[attr-defined]
    assert hooks.post_deploy == (("curl", "-fsS", "http://x"),) and hooks.pre_deploy == ()


@pytest.mark.parametrize("bad", ['["/etc/passwd"]', '["../up"]', '["."]', '["a/../../b"]'])
def test_shared_paths_stay_inside_the_release(bad: str) -> None:
    with pytest.raises(SpecError, match="shared_paths"):
        spec(f"  shared_paths: {bad}\n")


def test_an_empty_release_command_is_refused() -> None:
    with pytest.raises(SpecError, match="release_command"):
        spec('  release_command: [[""]]\n')


def test_shared_path_kinds() -> None:
    assert shared_path("instance/") == SharedPath("instance", "instance", directory=True)
    assert shared_path("db.sqlite3") == SharedPath("db.sqlite3", "db.sqlite3", directory=False)
    assert shared_path("media/uploads") == SharedPath("media-uploads", "media/uploads")


def test_links_seed_the_store_once_then_every_release_shares_it(tmp_path: Path) -> None:
    store = tmp_path / "store"
    paths = (shared_path("instance/"), shared_path("db.sqlite3"))
    first, second = tmp_path / "r1", tmp_path / "r2"
    for release in (first, second):
        (release / "instance").mkdir(parents=True)
        (release / "instance" / "config.py").write_text(f"from {release.name}\n")
        (release / "db.sqlite3").write_text(f"db of {release.name}\n")
    link_shared(first, store, paths)
    link_shared(second, store, paths)
    for release in (first, second):
        assert (release / "instance").is_symlink() and (release / "db.sqlite3").is_symlink()
        assert (release / "instance" / "config.py").read_text() == "from r1\n"
        assert (release / "db.sqlite3").read_text() == "db of r1\n"
    (second / "instance" / "upload.bin").write_text("x")
    assert (first / "instance" / "upload.bin").is_file()
    link_shared(first, store, paths)  # idempotent
    with pytest.raises(BadInputError, match="leaves the release"):
        link_shared(first, store, (SharedPath("x", "../x"),))


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/":
            self.send_response(302)
            self.send_header("Location", "/login")
        elif self.path == "/plain":  # Django's SECURE_SSL_REDIRECT on a plain-HTTP port
            self.send_response(301)
            self.send_header("Location", "https://127.0.0.1:1/plain")
        else:
            self.send_response(401 if self.path == "/login" else 500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[InstanceStatus]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    port = httpd.server_address[1]
    yield InstanceStatus("a-0", "a", "staging", "v1", "blue", f"http://127.0.0.1:{port}",
                         InstanceState.RUNNING, port)  # fmt: skip
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_below_500_follows_redirects_and_accepts_4xx(server: InstanceStatus) -> None:
    assert wait_ready(lambda: [server], "/", 0.5, accept="<500") == []
    assert smoke_test([server], ["/"], accept="<500") == []
    failures = wait_ready(lambda: [server], "/", 0.3)
    assert failures and "HTTP 302" in failures[0].reason  # 2xx only: a redirect is not ready
    assert "HTTP 500" in smoke_test([server], ["/boom"], accept="<500")[0].reason
    assert smoke_test([server], ["/plain"], accept="<500") == []  # not followed off-origin
