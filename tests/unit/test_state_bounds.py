"""State stays bounded: stored artifacts pruned with their releases, logs rotated by size."""

from __future__ import annotations

from pathlib import Path

from moai_deploy.pipeline.prune import prune_release_logs
from moai_deploy.render.artifacts import prune_release_artifacts, store_release_artifacts
from moai_deploy.runtime.local.conf import LOG_BACKUPS, LOG_MAX_BYTES, daemon_conf


def test_artifacts_of_releases_not_kept_are_removed(tmp_path: Path) -> None:
    for release_id in range(1, 8):
        store_release_artifacts(tmp_path, release_id, {"Dockerfile": f"FROM x:{release_id}\n"})
    (tmp_path / "artifacts" / "notes").mkdir()  # not a release folder: left alone
    assert prune_release_artifacts(tmp_path, {5, 6, 7, 2}) == [1, 3, 4]
    left = sorted(p.name for p in (tmp_path / "artifacts").iterdir())
    assert left == ["2", "5", "6", "7", "notes"]
    assert prune_release_artifacts(tmp_path / "nowhere", set()) == []


def test_supervisord_rotates_its_logs_and_runs_instances_private(tmp_path: Path) -> None:
    text = daemon_conf(tmp_path, tmp_path / "s.sock")
    assert "umask=077" in text
    assert f"logfile_maxbytes={LOG_MAX_BYTES}" in text and f"logfile_backups={LOG_BACKUPS}" in text


def test_instance_logs_of_releases_not_kept_are_removed(tmp_path: Path) -> None:
    for environment, release in (("staging", 1), ("staging", 2), ("production", 3)):
        folder = tmp_path / environment / f"release-{release}"
        folder.mkdir(parents=True)
        (folder / "hello-green-0.log").write_text("GET / 200\n" * 100)
        (folder / "hello-green-0.log.1").write_text("GET / 200\n" * 100)
    (tmp_path / "moai-deploy.jsonl").write_text("{}\n")  # the action log stays

    assert prune_release_logs(tmp_path, kept={2, 3}) == 1
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("*/release-*")) == [
        "production/release-3",
        "staging/release-2",
    ]
    assert (tmp_path / "moai-deploy.jsonl").exists()
