"""GitLab CI: quality gates, build, scan, push, staging, manually approved production.

`when: manual` with `allow_failure: false` holds the pipeline at production until someone
allowed to deploy to the (protected) environment starts the job.
"""

from __future__ import annotations

from typing import Any

from moai_deploy.render import _pipeline
from moai_deploy.render._dump import to_yaml
from moai_deploy.render.context import RenderContext

PATH = "gitlab-ci/.gitlab-ci.yml"
DOCKER = "docker:27"
TRIVY = "aquasec/trivy:0.57.1"
ON_BRANCH = '$CI_COMMIT_BRANCH == "{branch}"'


def render(ctx: RenderContext) -> dict[str, str]:
    """`.gitlab-ci.yml`, under the path GitLab reads it from."""
    secrets = sorted({name for stage in _pipeline.stages(ctx) for name in stage.secrets})
    variables = [*secrets, "REGISTRY_USER", "REGISTRY_PASSWORD"]
    return {PATH: _pipeline.header(ctx, variables) + to_yaml(pipeline(ctx))}


def _docker_job(stage: str, script: list[str], branch_rule: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "stage": stage,
        "image": DOCKER,
        "services": [f"{DOCKER}-dind"],
        "variables": {"DOCKER_TLS_CERTDIR": "/certs"},
        "rules": branch_rule,
        "script": script,
    }


def _deploy(stage: _pipeline.Stage, previous: str, rule: dict[str, Any]) -> dict[str, Any]:
    environment: dict[str, str] = {"name": stage.environment}
    if stage.url:
        environment["url"] = stage.url
    return {
        "extends": ".moai-deploy",
        "stage": stage.environment,
        "needs": [previous],
        "environment": environment,
        "resource_group": stage.environment,
        "rules": [rule],
        "script": [f'moai-deploy deploy {stage.environment} --version "$VERSION"'],
    }


def _image_jobs(ctx: RenderContext, on_branch: list[dict[str, Any]]) -> dict[str, Any]:
    """Build, scan the saved image (HIGH/CRITICAL fail the job), and only then push it."""
    registry = _pipeline.registry(ctx)
    login = (
        'echo "$REGISTRY_PASSWORD" | docker login --username "$REGISTRY_USER" '
        f"--password-stdin {registry}"
    )
    build = (
        f"docker build --file {ctx.targets.image.dockerfile} "
        '--build-arg VERSION="$VERSION" --tag "$IMAGE:$VERSION" .'
    )
    scan = (
        f"trivy image --input image.tar --severity {_pipeline.SCAN_SEVERITY} "
        "--ignore-unfixed --exit-code 1 --no-progress"
    )
    save = 'docker save --output image.tar "$IMAGE:$VERSION"'
    push = [login, "docker load --input image.tar", 'docker push "$IMAGE:$VERSION"']
    return {
        "build": {
            **_docker_job("build", [build, save], on_branch),
            "artifacts": {"paths": ["image.tar"], "expire_in": "1 day"},
        },
        "scan": {
            "stage": "scan",
            "image": {"name": TRIVY, "entrypoint": [""]},
            "needs": ["build"],
            "rules": on_branch,
            "script": [scan],
        },
        "publish": {**_docker_job("publish", push, on_branch), "needs": ["build", "scan"]},
    }


def pipeline(ctx: RenderContext) -> dict[str, Any]:
    """The whole pipeline document."""
    on_branch = [{"if": ON_BRANCH.format(branch=ctx.targets.ci.branch)}]
    stages = _pipeline.stages(ctx)
    doc: dict[str, Any] = {
        "stages": ["quality", "build", "scan", "publish", *(s.environment for s in stages)],
        "workflow": {
            "rules": [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}, *on_branch],
        },
        "variables": {"IMAGE": ctx.repository, "VERSION": "$CI_COMMIT_SHORT_SHA"},
        "default": {"interruptible": True},
        ".moai-deploy": {
            "image": f"python:{ctx.targets.ci.python_version}-slim",
            "before_script": [f'python -m pip install "{ctx.targets.ci.install}"'],
        },
        "quality": {"extends": ".moai-deploy", "stage": "quality", "script": ["moai-deploy gate"]},
        **_image_jobs(ctx, on_branch),
    }
    previous = "publish"
    for index, stage in enumerate(stages):
        manual = index == len(stages) - 1 and stage.environment == ctx.targets.ci.production
        rule = (
            {**on_branch[0], "when": "manual", "allow_failure": False} if manual else on_branch[0]
        )
        doc[f"deploy-{stage.environment}"] = _deploy(stage, previous, rule)
        previous = f"deploy-{stage.environment}"
    return doc
