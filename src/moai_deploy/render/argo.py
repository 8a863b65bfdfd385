"""Argo Rollouts: a Rollout (blue-green or canary) plus its AnalysisTemplates and services.

The Rollout references the Kubernetes target's Deployment (`workloadRef`) for its pod
template, and translates the same strategy block the local runtime executes: scale-down
delay, auto-promotion, smoke paths and analyses for blue-green; weights, pauses and
analyses for canary. Rolling environments need no Rollout and render nothing here.
"""

from __future__ import annotations

from typing import Any

from moai_deploy.render import _argo_analysis as analysis
from moai_deploy.render._dump import to_yaml
from moai_deploy.render.context import RenderContext
from moai_deploy.render.kubernetes import service

Files = dict[str, dict[str, Any]]


def render(ctx: RenderContext) -> dict[str, str]:
    """`argo-rollouts/*.yaml` for blue-green and canary environments."""
    if not ctx.progressive:
        return {}
    objects: Files = {}
    if ctx.strategy_type == "canary":
        strategy = _canary(ctx, objects)
        extra = service(ctx, f"{ctx.name}-canary")
    else:
        strategy = _blue_green(ctx, objects)
        extra = service(ctx, f"{ctx.name}-preview")
    objects[f"service-{extra['metadata']['name'].removeprefix(ctx.name + '-')}"] = extra
    objects["rollout"] = rollout(ctx, strategy)
    return {f"argo-rollouts/{name}.yaml": to_yaml(obj) for name, obj in sorted(objects.items())}


def rollout(ctx: RenderContext, strategy: dict[str, Any]) -> dict[str, Any]:
    """The Rollout: the Deployment's pod template, driven by `strategy`."""
    spec: dict[str, Any] = {}
    if not ctx.autoscaling:
        spec["replicas"] = ctx.env.replicas
    spec.update(
        {
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": dict(ctx.selector)},
            "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": ctx.name},
            "progressDeadlineSeconds": max(60, round(ctx.env.health_check_timeout)),
            "progressDeadlineAbort": True,
            "strategy": strategy,
        }
    )
    meta = {"name": ctx.name, "namespace": ctx.namespace, "labels": dict(ctx.labels)}
    return {"apiVersion": analysis.API, "kind": "Rollout", "metadata": meta, "spec": spec}


def _smoke(ctx: RenderContext, objects: Files, target_service: str) -> list[str]:
    paths = list(getattr(ctx.env.strategy, "smoke_paths", ()))
    if not paths:
        return []
    name = f"{ctx.name}-smoke"
    objects[f"analysistemplate-{name}"] = analysis.smoke_template(ctx, name, target_service, paths)
    return [name]


def _template(ctx: RenderContext, objects: Files, suffix: str, block: Any) -> list[str]:
    if block is None:
        return []
    name = f"{ctx.name}-{suffix}"
    objects[f"analysistemplate-{name}"] = analysis.analysis_template(ctx, name, block)
    return [name]


def _blue_green(ctx: RenderContext, objects: Files) -> dict[str, Any]:
    strategy = ctx.env.strategy
    preview = f"{ctx.name}-preview"
    spec: dict[str, Any] = {"activeService": ctx.name, "previewService": preview}
    auto = getattr(strategy, "auto_promote", True)
    if isinstance(auto, bool):
        spec["autoPromotionEnabled"] = auto
    else:
        spec["autoPromotionSeconds"] = max(1, round(float(auto)))
    spec["scaleDownDelaySeconds"] = round(float(getattr(strategy, "scale_down_delay", 30.0)))
    pre = _smoke(ctx, objects, preview)
    pre += _template(
        ctx, objects, "pre-promotion", getattr(strategy, "pre_promotion_analysis", None)
    )
    if pre:
        spec["prePromotionAnalysis"] = analysis.template_ref(pre)
    post = _template(
        ctx, objects, "post-promotion", getattr(strategy, "post_promotion_analysis", None)
    )
    if post:
        spec["postPromotionAnalysis"] = analysis.template_ref(post)
    return {"blueGreen": spec}


def _canary(ctx: RenderContext, objects: Files) -> dict[str, Any]:
    strategy = ctx.env.strategy
    spec: dict[str, Any] = {"canaryService": f"{ctx.name}-canary", "stableService": ctx.name}
    if ctx.targets.ingress.host:
        # Weighted routing through the ingress controller, instead of by replica count.
        spec["trafficRouting"] = {"nginx": {"stableIngress": ctx.name}}
        spec["scaleDownDelaySeconds"] = round(float(getattr(strategy, "scale_down_delay", 30.0)))
    background = _template(ctx, objects, "background", getattr(strategy, "analysis", None))
    if background:
        spec["analysis"] = {**analysis.template_ref(background), "startingStep": 1}
    steps: list[dict[str, Any]] = []
    smoke = _smoke(ctx, objects, f"{ctx.name}-canary")
    if smoke:
        steps += [{"setWeight": 0}, {"analysis": analysis.template_ref(smoke)}]
    raw = strategy.effective_steps() if hasattr(strategy, "effective_steps") else ()
    for index, step in enumerate(raw):
        steps.append(_step(ctx, objects, index, step))
    spec["steps"] = steps
    return {"canary": spec}


def _step(ctx: RenderContext, objects: Files, index: int, step: Any) -> dict[str, Any]:
    """set_weight / pause / analysis, read generically from the spec's step models."""
    if getattr(step, "set_weight", None) is not None:
        return {"setWeight": int(step.set_weight)}
    pause = getattr(step, "pause", None)
    if pause is not None:
        duration = getattr(pause, "duration", None)
        return {"pause": {"duration": f"{round(float(duration))}s"} if duration else {}}
    names = _template(ctx, objects, f"step-{index + 1}", getattr(step, "analysis", None))
    return {"analysis": analysis.template_ref(names)}
