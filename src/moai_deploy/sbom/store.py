"""SBOMs kept with each release (beside its rendered artifacts) and compared between two."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moai_deploy.errors import BadInputError
from moai_deploy.render.artifacts import release_dir
from moai_deploy.sbom.cyclonedx import packages

SBOM_FILE = "sbom.cdx.json"


def sbom_path(state_root: Path, release_id: int) -> Path:
    """Where the SBOM of one release lives."""
    return release_dir(state_root, release_id) / SBOM_FILE


def store_sbom(state_root: Path, release_id: int, bom: dict[str, Any]) -> Path:
    """Write the release's SBOM atomically, readable by its owner only."""
    target = sbom_path(state_root, release_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(bom, indent=2) + "\n")
        Path(tmp).replace(target)  # mkstemp made it 0600
    except BaseException:
        Path(tmp).unlink(missing_ok=True)  # e.g. a full disk: leave no partial file
        raise
    return target


def load_sbom(state_root: Path, release_id: int) -> dict[str, Any]:
    """The SBOM stored with a release; BadInputError when there is none."""
    path = sbom_path(state_root, release_id)
    if not path.is_file():
        raise BadInputError(
            f"release #{release_id} has no stored SBOM\n"
            "    fix: SBOMs are made by `moai-deploy deploy`; releases older than the "
            "feature have none"
        )
    bom: dict[str, Any] = json.loads(path.read_text())
    return bom


@dataclass(frozen=True)
class SbomDiff:
    """Packages added, removed and changed (name -> (old, new)) between two SBOMs."""

    added: dict[str, str] = field(default_factory=dict)
    removed: dict[str, str] = field(default_factory=dict)
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "removed": self.removed,
            "changed": {name: {"from": a, "to": b} for name, (a, b) in self.changed.items()},
        }

    def lines(self) -> list[str]:
        """One line per difference: '+ name version', '- name version', '~ name a -> b'."""
        out = [f"+ {name} {version}" for name, version in self.added.items()]
        out += [f"- {name} {version}" for name, version in self.removed.items()]
        out += [f"~ {name} {a} -> {b}" for name, (a, b) in self.changed.items()]
        return out


def diff_sboms(old: dict[str, Any], new: dict[str, Any]) -> SbomDiff:
    """What changed in the package set from `old` to `new`."""
    before, after = packages(old), packages(new)
    return SbomDiff(
        added={n: v for n, v in after.items() if n not in before},
        removed={n: v for n, v in before.items() if n not in after},
        changed={
            n: (before[n], after[n])
            for n in sorted(before.keys() & after.keys())
            if before[n] != after[n]
        },
    )
