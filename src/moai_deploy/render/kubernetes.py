"""Kubernetes: namespace, config, secret references, workload, service, ingress, scaling, policy.

Blue-green and canary environments are driven by Argo Rollouts (see `argo.py`): their
Deployment keeps 0 replicas and is the pod template the Rollout references, so both
targets always agree on what runs.
"""

from __future__ import annotations

from typing import Any

from moai_deploy.render import _pod
from moai_deploy.render._dump import to_yaml
from moai_deploy.render.context import RenderContext

ROLLOUT_API = "argoproj.io/v1alpha1"


def render(ctx: RenderContext) -> dict[str, str]:
    """One file per object under `kubernetes/`."""
    objects: dict[str, dict[str, Any] | None] = {
        "namespace": namespace(ctx),
        "configmap": configmap(ctx),
        "externalsecret": external_secret(ctx),
        "serviceaccount": service_account(ctx),
        "deployment": deployment(ctx),
        "service": service(ctx, ctx.name),
        "ingress": ingress(ctx),
        "hpa": autoscaler(ctx),
        "pdb": disruption_budget(ctx),
        "networkpolicy": network_policy(ctx),
    }
    return {f"kubernetes/{name}.yaml": to_yaml(obj) for name, obj in objects.items() if obj}


def namespace(ctx: RenderContext) -> dict[str, Any]:
    """The environment's namespace, enforcing the `restricted` Pod Security Standard."""
    labels = {
        **ctx.labels,
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
    }
    labels.pop("app.kubernetes.io/version")
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": ctx.namespace, "labels": labels},
    }


def configmap(ctx: RenderContext) -> dict[str, Any]:
    """Plain environment variables (never secrets)."""
    meta = _pod.metadata(ctx, f"{ctx.name}-config")
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": ctx.plain_env}


def external_secret(ctx: RenderContext) -> dict[str, Any] | None:
    """With a secret store: an ExternalSecret that materialises SERVICE-secrets from it."""
    names = sorted({name for var in ctx.secrets for name in var.names})
    if ctx.targets.secret_store is None or not names:
        return None
    data = [
        {"secretKey": name, "remoteRef": {"key": f"{ctx.name}/{ctx.environment}/{name}"}}
        for name in names
    ]
    return {
        "apiVersion": "external-secrets.io/v1beta1",
        "kind": "ExternalSecret",
        "metadata": _pod.metadata(ctx, ctx.secret_object),
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": ctx.targets.secret_store},
            "target": {"name": ctx.secret_object, "creationPolicy": "Owner"},
            "data": data,
        },
    }


def service_account(ctx: RenderContext) -> dict[str, Any]:
    """A dedicated identity with no API token mounted (least privilege)."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _pod.metadata(ctx, ctx.name),
        "automountServiceAccountToken": False,
    }


def deployment(ctx: RenderContext) -> dict[str, Any]:
    """The workload; scaled to 0 when an Argo Rollout runs its pod template instead."""
    strategy = ctx.env.strategy
    spec: dict[str, Any] = {}
    if ctx.progressive:
        spec["replicas"] = 0
    elif not ctx.autoscaling:  # with an HPA, re-applying must not reset the replica count
        spec["replicas"] = ctx.env.replicas
    spec.update(
        {
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": max(60, round(ctx.env.health_check_timeout)),
            "selector": {"matchLabels": dict(ctx.selector)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {
                    "maxSurge": int(getattr(strategy, "max_surge", 2)),
                    "maxUnavailable": int(getattr(strategy, "max_unavailable", 0)),
                },
            },
            "template": _pod.pod_template(ctx),
        }
    )
    annotations = {"moai-deploy/rollout": "argo-rollouts" if ctx.progressive else "deployment"}
    meta = _pod.metadata(ctx, ctx.name, annotations=annotations)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}


def service(ctx: RenderContext, name: str) -> dict[str, Any]:
    """ClusterIP service on port 80 (the Rollout points it at the active colour)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _pod.metadata(ctx, name),
        "spec": {
            "type": "ClusterIP",
            "selector": dict(ctx.selector),
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def ingress(ctx: RenderContext) -> dict[str, Any] | None:
    """HTTPS entry with cert-manager TLS and per-client rate limits (ingress-nginx)."""
    spec_in = ctx.targets.ingress
    if spec_in.host is None:
        return None
    annotations = {
        "nginx.ingress.kubernetes.io/limit-rps": str(spec_in.rate_limit_rps),
        "nginx.ingress.kubernetes.io/limit-connections": str(spec_in.limit_connections),
        "nginx.ingress.kubernetes.io/proxy-body-size": "8m",
    }
    spec: dict[str, Any] = {"ingressClassName": spec_in.class_name}
    if spec_in.tls:
        annotations["cert-manager.io/cluster-issuer"] = spec_in.cluster_issuer
        annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] = "true"
        spec["tls"] = [{"hosts": [spec_in.host], "secretName": f"{ctx.name}-tls"}]
    backend = {"service": {"name": ctx.name, "port": {"name": "http"}}}
    path = {"path": "/", "pathType": "Prefix", "backend": backend}
    spec["rules"] = [{"host": spec_in.host, "http": {"paths": [path]}}]
    meta = _pod.metadata(ctx, ctx.name, annotations=dict(sorted(annotations.items())))
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


def autoscaler(ctx: RenderContext) -> dict[str, Any] | None:
    """autoscaling/v2 HPA: CPU and memory targets; fast scale-up, slow scale-down."""
    if not ctx.autoscaling:
        return None
    scaling = ctx.targets.autoscaling
    target = (
        {"apiVersion": ROLLOUT_API, "kind": "Rollout", "name": ctx.name}
        if ctx.progressive
        else {"apiVersion": "apps/v1", "kind": "Deployment", "name": ctx.name}
    )
    metrics = [
        _utilization("cpu", scaling.cpu_utilization),
        _utilization("memory", scaling.memory_utilization),
    ]
    behavior = {
        "scaleDown": {
            "stabilizationWindowSeconds": 300,
            "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}],
        },
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "policies": [
                {"type": "Percent", "value": 100, "periodSeconds": 30},
                {"type": "Pods", "value": 2, "periodSeconds": 60},
            ],
            "selectPolicy": "Max",
        },
    }
    spec = {
        "scaleTargetRef": target,
        "minReplicas": ctx.min_replicas,
        "maxReplicas": max(scaling.max_replicas, ctx.min_replicas),
        "metrics": metrics,
        "behavior": behavior,
    }
    meta = _pod.metadata(ctx, ctx.name)
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": meta,
        "spec": spec,
    }


def _utilization(resource: str, percent: int) -> dict[str, Any]:
    target = {"type": "Utilization", "averageUtilization": percent}
    return {"type": "Resource", "resource": {"name": resource, "target": target}}


def disruption_budget(ctx: RenderContext) -> dict[str, Any]:
    """Voluntary disruptions (node drains) take at most one pod at a time."""
    spec = {"maxUnavailable": 1, "selector": {"matchLabels": dict(ctx.selector)}}
    meta = _pod.metadata(ctx, ctx.name)
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta,
        "spec": spec,
    }


def network_policy(ctx: RenderContext) -> dict[str, Any]:
    """Inbound only from the ingress controller (and metrics scraping); outbound only to the
    declared dependencies and DNS."""
    http = [{"protocol": "TCP", "port": "http"}]
    sources = [ctx.targets.ingress.controller_namespace, ctx.targets.monitoring_namespace]
    ingress_rules = [
        {
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}],
            "ports": http,
        }
        for ns in dict.fromkeys(sources)
    ]
    if getattr(ctx.env.strategy, "smoke_paths", ()):
        smoke = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": f"{ctx.name}-smoke"}}}
        ingress_rules.append({"from": [smoke], "ports": http})
    dns = {
        "to": [
            {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                },
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }
    egress = [dns, *(_egress_rule(dep.name, dep.port, dep.cidr) for dep in ctx.targets.egress)]
    spec = {
        "podSelector": {"matchLabels": dict(ctx.selector)},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": ingress_rules,
        "egress": egress,
    }
    meta = _pod.metadata(ctx, ctx.name)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta,
        "spec": spec,
    }


def _egress_rule(name: str, port: int, cidr: str | None) -> dict[str, Any]:
    peer = (
        {"ipBlock": {"cidr": cidr}}
        if cidr
        else {"podSelector": {"matchLabels": {"app.kubernetes.io/name": name}}}
    )
    return {"to": [peer], "ports": [{"protocol": "TCP", "port": port}]}
