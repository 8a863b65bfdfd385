"""Which SPECs are live in an environment, since when, and what a promotion would change.

Reads the ledger only: each release stores the SPECs of its snapshot in `meta["specs"]`
(`[{"id", "version", "status"}]`, see `release_specs`).

Definitions:
- The environment's *live timeline* is every release that went live there, ordered by
  `finished_at` (the moment it took the traffic): releases that succeeded, plus releases
  now `rolled_back` that a succeeded-then-live rollback release names in `rollback_of`
  (they were live before being rolled back). It ends with `Ledger.live_release`.
- A SPEC version is *live since* the `finished_at` of the earliest release of the unbroken
  run, ending at the live release, of timeline releases that all carry that SPEC id at
  that version. A release in between without it (or at another version, or that recorded
  no SPECs) breaks the run; failed or aborted releases never took traffic, so they don't.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from moai_deploy.ledger.models import ReleaseStatus
from moai_deploy.ledger.records import ReleaseRecord
from moai_deploy.ledger.store import Ledger

ChangeKind = Literal["added", "removed", "changed", "unchanged"]
_ALL = 1_000_000  # list_releases needs a limit; a service's whole history fits under it
_WENT_LIVE = frozenset({ReleaseStatus.SUCCEEDED.value, ReleaseStatus.ROLLED_BACK.value})


@dataclass(frozen=True)
class LiveSpec:
    """One SPEC carried by an environment's live release."""

    id: str
    version: str | None
    status: str | None
    release_id: int
    release_version: str
    commit: str | None
    live_since: datetime | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (`live_since` as ISO 8601)."""
        return {
            "id": self.id,
            "version": self.version,
            "status": self.status,
            "release_id": self.release_id,
            "release_version": self.release_version,
            "commit": self.commit,
            "live_since": self.live_since.isoformat() if self.live_since else None,
        }


@dataclass(frozen=True)
class LiveView:
    """An environment's live release and the SPECs it carries."""

    environment: str
    release: ReleaseRecord | None
    specs: tuple[LiveSpec, ...]

    @property
    def recorded(self) -> bool:
        """False when the live release stored no SPEC list (made before tracing, or none)."""
        return self.release is not None and isinstance(self.release.meta.get("specs"), list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        release = self.release
        return {
            "environment": self.environment,
            "release": release.id if release else None,
            "version": release.version if release else None,
            "commit": release.commit_sha if release else None,
            "specs_recorded": self.recorded,
            "specs": [s.to_dict() for s in self.specs],
        }


@dataclass(frozen=True)
class SpecChange:
    """One SPEC id compared between the source and the target environment."""

    id: str
    change: ChangeKind
    source: dict[str, Any] | None  # {"version", "status"} live in the source, if any
    target: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {"id": self.id, "change": self.change, "source": self.source, "target": self.target}


def specs_of(release: ReleaseRecord) -> dict[str, dict[str, Any]]:
    """`meta["specs"]` by id; malformed entries are ignored."""
    entries = release.meta.get("specs")
    if not isinstance(entries, list):
        return {}
    return {
        str(e["id"]): {"version": e.get("version"), "status": e.get("status")}
        for e in entries
        if isinstance(e, dict) and e.get("id")
    }


def live_timeline(ledger: Ledger, service: str, environment: str) -> list[ReleaseRecord]:
    """Releases that went live in the environment, oldest first, ending with the live one."""
    live = ledger.live_release(service, environment)
    if live is None:
        return []
    history = ledger.list_releases(service, environment, limit=_ALL)
    rolled_back_from = {
        r.rollback_of for r in history if r.rollback_of is not None and r.status in _WENT_LIVE
    }
    went_live = [
        r
        for r in history
        if r.finished_at is not None
        and (
            r.status == ReleaseStatus.SUCCEEDED
            or (r.status == ReleaseStatus.ROLLED_BACK and r.id in rolled_back_from)
        )
    ]
    went_live.sort(key=lambda r: (r.finished_at, r.id))
    cut = next((i for i, r in enumerate(went_live) if r.id == live.id), len(went_live) - 1)
    return went_live[: cut + 1]


def live_since(timeline: list[ReleaseRecord], spec_id: str, version: str | None) -> datetime | None:
    """Start of the unbroken run of live releases carrying `spec_id` at `version`."""
    since: datetime | None = None
    for release in reversed(timeline):
        entry = specs_of(release).get(spec_id)
        if entry is None or entry.get("version") != version:
            break
        since = release.finished_at
    return since


def live_specs(ledger: Ledger, service: str, environment: str) -> LiveView:
    """The SPECs live in `environment`, each with its release, commit and live-since time."""
    timeline = live_timeline(ledger, service, environment)
    if not timeline:
        return LiveView(environment, None, ())
    live = timeline[-1]
    specs = tuple(
        LiveSpec(
            id=spec_id,
            version=entry.get("version"),
            status=entry.get("status"),
            release_id=live.id,
            release_version=live.version,
            commit=live.commit_sha,
            live_since=live_since(timeline, spec_id, entry.get("version")),
        )
        for spec_id, entry in sorted(specs_of(live).items())
    )
    return LiveView(environment, live, specs)


def diff_specs(source: LiveView, target: LiveView) -> list[SpecChange]:
    """What promoting `source`'s live release into `target` would add, remove or change.

    `changed` means the version or the status differs; sorted by id.
    """
    have = {s.id: {"version": s.version, "status": s.status} for s in target.specs}
    want = {s.id: {"version": s.version, "status": s.status} for s in source.specs}
    changes: list[SpecChange] = []
    for spec_id in sorted(have.keys() | want.keys()):
        new, old = want.get(spec_id), have.get(spec_id)
        kind: ChangeKind
        if old is None:
            kind = "added"
        elif new is None:
            kind = "removed"
        else:
            kind = "unchanged" if new == old else "changed"
        changes.append(SpecChange(spec_id, kind, new, old))
    return changes
