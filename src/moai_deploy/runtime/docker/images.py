"""Images of releases: built from the Dockerfile `render docker` writes, tagged
`<registry>/<repository>:<version>`, pushed, and recorded by digest."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, ImageNotFound, NotFound
from docker.utils import tar

from moai_deploy.errors import ReleaseFailedError
from moai_deploy.render.context import build_context
from moai_deploy.render.docker import DOCKERIGNORE, dockerfile
from moai_deploy.runtime.base import Artifact, ReleaseSource
from moai_deploy.runtime.docker.engine import engine_errors
from moai_deploy.spec.models import Spec

NAME = "docker"
LABEL = "moai-deploy"  # prefix of every label moai-deploy sets
_DOCKERFILE = ".moai-deploy.Dockerfile"
_TAIL = 15


@dataclass(frozen=True)
class ImageBuilder:
    """Builds, pushes and finds the images of one project (`scope`: its state folder)."""

    client: docker.DockerClient
    spec: Spec
    scope: str

    @property
    def repository(self) -> str:
        name = self.spec.docker.repository or self.spec.service.name
        return f"{self.spec.docker.registry}/{name}"

    def dockerfile_text(self, version: str) -> str:
        environment = next(iter(self.spec.environments))
        return dockerfile(build_context(self.spec, environment, version))

    def existing(self, recorded: Artifact | None) -> Artifact | None:
        """`recorded` when its image is still here (or can be pulled by digest)."""
        if recorded is None or recorded.runtime != NAME:
            return None
        image_id = recorded.facts.get("image_id", "")
        for ref in (image_id, recorded.reference):
            if ref and self._present(ref):
                return Artifact(
                    NAME,
                    recorded.reference,
                    recorded.snapshot,
                    f"reused image {recorded.reference}",
                    {**recorded.facts, "image_id": self.client.images.get(ref).id or image_id},
                )
        try:
            self.client.images.pull(recorded.reference)
        except (APIError, NotFound):
            return None
        return self.existing(recorded)

    def _present(self, ref: str) -> bool:
        try:
            self.client.images.get(ref)
        except (ImageNotFound, NotFound):
            return False
        return True

    def build(self, source: ReleaseSource) -> Artifact:
        tag = f"{self.repository}:{source.version}"
        image_id = self._build(source, tag)
        digest = self._push(source.version)
        return Artifact(
            runtime=NAME,
            reference=f"{self.repository}@{digest}",
            snapshot=source.snapshot,
            summary=f"built {tag} ({digest[:19]}), pushed to {self.spec.docker.registry}",
            facts={"image_id": image_id, "tag": tag, "digest": digest},
        )

    def _context(self, source: ReleaseSource) -> io.BytesIO:
        exclude = [p for p in DOCKERIGNORE if p not in ("Dockerfile", ".dockerignore")]
        text = self.dockerfile_text(source.version)
        archive: Any = tar(source.snapshot, exclude=exclude, dockerfile=(_DOCKERFILE, text))
        return io.BytesIO(archive.read())

    def _build(self, source: ReleaseSource, tag: str) -> str:
        base = self.spec.docker.base_image or self.spec.targets.image.base
        log: list[str] = []
        with engine_errors(f"building {tag}"):
            stream = self.client.api.build(
                fileobj=self._context(source),
                custom_context=True,
                dockerfile=_DOCKERFILE,
                tag=tag,
                buildargs={"PYTHON_IMAGE": base, "VERSION": source.version},
                labels=self.labels(source),
                network_mode="host",
                rm=True,
                forcerm=True,
                decode=True,
                timeout=int(self.spec.docker.build_timeout),
            )
            image_id = _follow(stream, log)
        if image_id is None:
            tail = "\n".join(f"  | {line}" for line in log[-_TAIL:])
            raise ReleaseFailedError(f"docker: building {tag} failed:\n{tail}")
        return image_id

    def labels(self, source: ReleaseSource) -> dict[str, str]:
        return {
            f"{LABEL}.scope": self.scope,
            f"{LABEL}.service": source.service,
            f"{LABEL}.version": source.version,
        }

    def _push(self, version: str) -> str:
        registry = self.spec.docker.registry
        with engine_errors(f"pushing to {registry}"):
            stream = self.client.api.push(self.repository, tag=version, stream=True, decode=True)
            digest, error = None, None
            for event in stream:
                error = error or event.get("error")
                digest = event.get("aux", {}).get("Digest", digest)
        if error or digest is None:
            raise ReleaseFailedError(
                f"docker: pushing {self.repository}:{version} to {registry} failed: {error}\n"
                f"    fix: start the registry on {registry} (`moai-deploy doctor` shows how), "
                "or set docker.registry to one you can push to"
            )
        return str(digest)

    def prune(self, service: str, keep: Collection[Artifact]) -> list[str]:
        """Remove this project's images of `service` that no kept artifact uses."""
        wanted = {a.facts.get("image_id") for a in keep} | {a.reference for a in keep}
        removed = []
        filters = {"label": [f"{LABEL}.scope={self.scope}", f"{LABEL}.service={service}"]}
        for image in self.client.images.list(filters=filters):
            if image.id in wanted or any(d in wanted for d in image.attrs.get("RepoDigests", [])):
                continue
            if self.client.containers.list(all=True, filters={"ancestor": image.id or ""}):
                continue  # a container still runs it
            try:
                # Forced: the image has a tag and a digest reference; both go.
                self.client.images.remove(image.id or "", force=True)
            except APIError:
                continue
            removed.append(image.tags[0] if image.tags else image.id or "")
        return removed


def _follow(stream: Iterable[dict[str, Any]], log: list[str]) -> str | None:
    """The built image id, collecting the build output in `log`; None when it failed."""
    image_id = None
    for event in stream:
        if "stream" in event:
            log.extend(line for line in str(event["stream"]).splitlines() if line.strip())
        if "error" in event:
            log.append(str(event["error"]).strip())
            return None
        aux = event.get("aux")
        if isinstance(aux, dict) and "ID" in aux:
            image_id = str(aux["ID"])
    return image_id


def scope_of(state_root: Path) -> str:
    """A short stable id of a state folder: containers and images of two projects never mix."""
    return hashlib.sha256(str(state_root.resolve()).encode()).hexdigest()[:10]
