"""GitHub Actions: quality gates, build, scan, push, staging, approved production.

Production's manual approval is GitHub's: the `production` environment's required
reviewers (set them to two, as the seed asks) hold the job until approved.
"""

from __future__ import annotations

from typing import Any

from moai_deploy.render import _pipeline
from moai_deploy.render._dump import to_yaml
from moai_deploy.render.context import RenderContext

PATH = "github-actions/.github/workflows/moai-deploy.yml"
RUNNER = "ubuntu-24.04"
CHECKOUT = {"uses": "actions/checkout@v4", "with": {"persist-credentials": False}}


def render(ctx: RenderContext) -> dict[str, str]:
    """The workflow file, under the path GitHub reads it from."""
    secrets = sorted({name for stage in _pipeline.stages(ctx) for name in stage.secrets})
    registry = _pipeline.registry(ctx)
    extra = [] if registry == "ghcr.io" else ["REGISTRY_USERNAME", "REGISTRY_PASSWORD"]
    return {PATH: _pipeline.header(ctx, secrets + extra) + to_yaml(workflow(ctx))}


def _setup(ctx: RenderContext) -> list[dict[str, Any]]:
    return [
        CHECKOUT,
        {
            "uses": "actions/setup-python@v5",
            "with": {"python-version": ctx.targets.ci.python_version},
        },
        {"name": "Install moai-deploy", "run": f'python -m pip install "{ctx.targets.ci.install}"'},
    ]


def _login(ctx: RenderContext) -> dict[str, Any]:
    registry = _pipeline.registry(ctx)
    if registry == "ghcr.io":
        token = "${{ secrets.GITHUB_TOKEN }}"  # noqa: S105  # nosec B105 - a reference
        creds = {"username": "${{ github.actor }}", "password": token}
    else:
        creds = {
            "username": "${{ secrets.REGISTRY_USERNAME }}",
            "password": "${{ secrets.REGISTRY_PASSWORD }}",  # nosec B105 - a reference
        }
    return {"uses": "docker/login-action@v3", "with": {"registry": registry, **creds}}


def _build(ctx: RenderContext) -> dict[str, Any]:
    image = "${{ env.IMAGE }}:${{ steps.version.outputs.version }}"
    steps = [
        CHECKOUT,
        {
            "id": "version",
            "name": "Version = short commit sha",
            "run": 'echo "version=${GITHUB_SHA::7}" >> "$GITHUB_OUTPUT"',
        },
        {"uses": "docker/setup-buildx-action@v3"},
        {
            "name": "Build",
            "uses": "docker/build-push-action@v6",
            "with": {
                "context": ".",
                "file": ctx.targets.image.dockerfile,
                "build-args": "VERSION=${{ steps.version.outputs.version }}",
                "tags": image,
                "load": True,
                "push": False,
            },
        },
        {
            "name": "Scan (HIGH/CRITICAL vulnerabilities block the release)",
            "uses": "aquasecurity/trivy-action@0.28.0",
            "with": {
                "image-ref": image,
                "severity": _pipeline.SCAN_SEVERITY,
                "ignore-unfixed": True,
                "exit-code": "1",
            },
        },
        _login(ctx),
        {
            "name": "Push",
            "run": 'docker push "$IMAGE:$VERSION"',
            "env": {"VERSION": "${{ steps.version.outputs.version }}"},
        },
    ]
    return {
        "name": "Build, scan, push",
        "needs": "quality",
        "if": "github.event_name == 'push'",
        "runs-on": RUNNER,
        "timeout-minutes": 30,
        "permissions": {"contents": "read", "packages": "write"},
        "outputs": {"version": "${{ steps.version.outputs.version }}"},
        "steps": steps,
    }


def _deploy(ctx: RenderContext, stage: _pipeline.Stage, needs: list[str]) -> dict[str, Any]:
    env = {"VERSION": "${{ needs.build.outputs.version }}"}
    env.update({name: f"${{{{ secrets.{name} }}}}" for name in stage.secrets})
    environment: dict[str, str] = {"name": stage.environment}
    if stage.url:
        environment["url"] = stage.url
    deploy = {
        "name": f"moai-deploy deploy {stage.environment}",
        "run": f'moai-deploy deploy {stage.environment} --version "$VERSION"',
        "env": env,
    }
    return {
        "name": f"Deploy to {stage.environment}",
        "needs": needs,
        "runs-on": RUNNER,
        "timeout-minutes": 60,
        "environment": environment,
        "concurrency": {"group": f"deploy-{stage.environment}", "cancel-in-progress": False},
        "steps": [*_setup(ctx), deploy],
    }


def workflow(ctx: RenderContext) -> dict[str, Any]:
    """The whole workflow document."""
    branch = ctx.targets.ci.branch
    jobs: dict[str, Any] = {
        "quality": {
            "name": "Quality gates",
            "runs-on": RUNNER,
            "timeout-minutes": 30,
            "steps": [
                *_setup(ctx),
                {
                    "name": "Gates: lint, types, tests, security, TRUST 5, TAGs",
                    "run": "moai-deploy gate",
                },
            ],
        },
        "build": _build(ctx),
    }
    needs = ["build"]
    for stage in _pipeline.stages(ctx):
        job_id = f"deploy-{stage.environment}"
        jobs[job_id] = _deploy(ctx, stage, list(needs))
        needs = ["build", job_id]
    return {
        "name": f"{ctx.name}: gate, build, deploy",
        "on": {"push": {"branches": [branch]}, "pull_request": {"branches": [branch]}},
        "permissions": {"contents": "read"},
        "concurrency": {
            "group": "${{ github.workflow }}-${{ github.ref }}",
            "cancel-in-progress": False,
        },
        "env": {"IMAGE": ctx.repository},
        "jobs": jobs,
    }
