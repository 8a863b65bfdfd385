"""After a release: keep the newest snapshots, artifacts (images) and instance logs, prune
the rest."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from moai_deploy.build.snapshot import prune_snapshots
from moai_deploy.pipeline.project import Project
from moai_deploy.render.artifacts import prune_release_artifacts
from moai_deploy.runtime.base import Artifact


def prune_releases(project: Project) -> None:
    """Keep the newest snapshots and artifacts (`releases.keep` per environment), never one
    a live or unfinished release uses (a pruned snapshot is rebuilt from its commit)."""
    keep = project.loaded.spec.releases.keep
    protected: set[Path] = set()
    artifacts: list[Artifact] = []
    kept: set[int] = set()  # releases whose rendered artifacts stay
    for environment in project.loaded.spec.environments:
        live = project.ledger.live_release(project.service, environment)
        running = project.ledger.in_progress(project.service, environment)
        newest = project.ledger.list_releases(project.service, environment, limit=keep)
        for release in [live, *running]:
            if release is not None and release.artifact:
                protected.add(Path(release.artifact).resolve())
        for release in [live, *running, *newest]:
            kept |= {release.id} if release is not None else set()
            found = Artifact.recorded(release.meta) if release is not None else None
            artifacts += [found] if found is not None else []
    prune_snapshots(project.layout.releases, keep, protected)
    prune_release_artifacts(project.layout.root, kept)
    prune_release_logs(project.layout.logs, kept)
    for runtime in project.runtimes():
        runtime.prune(project.service, artifacts)


_RELEASE_LOGS = re.compile(r"^release-(\d+)$")


def prune_release_logs(logs: Path, kept: set[int]) -> int:
    """Remove the instance log folders (`logs/ENV/release-N/`) of releases not in `kept`;
    how many. Without this they add up: one folder per release, each as large as the
    requests its instances logged."""
    removed = 0
    for folder in logs.glob("*/release-*"):
        match = _RELEASE_LOGS.match(folder.name)
        if match and folder.is_dir() and int(match[1]) not in kept:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
