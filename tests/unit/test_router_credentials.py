"""The owner's router password: created once, 0600, the same for every concurrent caller."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

from moai_deploy.traffic.credentials import METRICS_USER, owner_credentials


def test_the_password_is_created_once_private_and_shared_by_concurrent_callers(
    tmp_path: Path,
) -> None:
    path = tmp_path / "router" / "metrics.password"
    results: list[tuple[str, str]] = []
    start = threading.Barrier(8)

    def create() -> None:
        start.wait()
        results.append(owner_credentials(path))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1
    user, password = results[0]
    assert user == METRICS_USER and len(password) >= 32
    assert path.read_text() == password
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["metrics.password"]  # no temp left
    assert owner_credentials(path) == (user, password)


def test_an_empty_password_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "metrics.password"
    path.write_text("")  # an older version's crash between creating and writing it
    _, password = owner_credentials(path)
    assert password and path.read_text() == password
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
