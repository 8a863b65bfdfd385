"""After a release: keep the newest snapshots and artifacts (images), prune the rest."""

from __future__ import annotations

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
    for runtime in project.runtimes():
        runtime.prune(project.service, artifacts)
