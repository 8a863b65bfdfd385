"""The seed's hand-written artifacts, measured with the validators our renders must pass.

Run by hand: `python bench/seed_artifacts.py [SEED] [--schemas DIR]`. Extracts every
artifact block of the seed guide (Dockerfile, compose, Kubernetes, ECS, CloudFormation,
Cloud Run, Terraform, ARM, GitHub workflows, GitLab CI), validates each with the same
validators as `tests/integration/test_render_validators.py`, and prints which fail and why.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path

from moai_deploy.render.artifacts import write_files
from moai_deploy.render.validate import validate_trees

REPO = Path(__file__).parents[1]
SEED = REPO / ".." / "shared" / "seed" / "000_8a3051bbe67d4aa4.txt"
SCHEMAS = REPO / ".." / "shared" / "schemas" / "argo-rollouts"
BLOCK = re.compile(r"```(\w+)\n(.*?)(?:\n```|\Z)", re.DOTALL)
FIRST_COMMENT = re.compile(r"^#\s*(\S+)")


def target_path(language: str, body: str) -> str | None:
    """Where a block goes in a render tree (so the same validator routing applies)."""
    if language == "dockerfile":
        return "docker/Dockerfile"
    if language == "json":
        doc = json.loads(body)
        return "ecs/task-definition.json" if "family" in doc else "aci/azuredeploy.json"
    named = FIRST_COMMENT.match(body)
    name = named.group(1) if named else ""
    routes = (
        ("docker-compose", "compose/"),
        ("k8s/", "kubernetes/"),
        (".github/workflows/", "github-actions/"),
        ("cloudformation/", "ecs/"),
        ("gcloud/", "cloudrun/"),
        ("terraform/", "cloudrun/"),
        (".gitlab-ci", "gitlab-ci/"),
    )
    for marker, folder in routes:
        if marker in name:
            return folder + name.rsplit("/", 1)[-1]
    return None  # mermaid diagrams, the shell script


def extract(seed: Path) -> dict[str, str]:
    """Artifact blocks of the seed by render-tree path."""
    files: dict[str, str] = {}
    for match in BLOCK.finditer(seed.read_text(encoding="utf-8")):
        path = target_path(match.group(1), match.group(2))
        if path:
            files[path] = match.group(2).rstrip("\n") + "\n"
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("seed", nargs="?", type=Path, default=SEED)
    parser.add_argument("--schemas", type=Path, default=SCHEMAS)
    args = parser.parse_args()
    files = extract(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_files(root, files)
        problems = validate_trees([root], args.schemas.resolve())
        failing = {str(Path(p).relative_to(root)): found for p, found in problems.items() if found}
    for path in sorted(files):
        mark = "FAIL" if path in failing else "ok  "
        print(f"{mark} {path}")
        for message in failing.get(path, [])[:6]:
            print(f"       {message[:160]}")
    print(f"\nseed artifacts failing their validators: {len(failing)} of {len(files)}")


if __name__ == "__main__":
    main()
