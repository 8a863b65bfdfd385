"""Docker Compose: one file per environment, the app plus its declared accessories.

Secrets are never written: each `${secret:NAME}` becomes compose interpolation
`${NAME:?...}`, filled from the shell or `--env-file .secrets.env` when compose runs.
"""

from __future__ import annotations

from typing import Any

from moai_deploy.render import _units
from moai_deploy.render._dump import to_yaml
from moai_deploy.render.context import RenderContext, SecretVar
from moai_deploy.render.docker import healthcheck_argv
from moai_deploy.spec.secrets import SECRET_REF
from moai_deploy.spec.targets import Accessory

NGINX_CONFIG = "nginx-conf"


def render(ctx: RenderContext) -> dict[str, str]:
    """`compose/compose.yaml`: the app, its accessories, volumes and proxy config."""
    return {"compose/compose.yaml": _header(ctx) + to_yaml(document(ctx))}


def _header(ctx: RenderContext) -> str:
    return (
        "# Rendered by moai-deploy from moai-deploy.yaml; edit the spec, not this file.\n"
        "# Run from the project folder:\n"
        f"#   docker compose --project-directory . --env-file .secrets.env "
        f"-f rendered/{ctx.environment}/compose/compose.yaml up\n"
    )


def document(ctx: RenderContext) -> dict[str, Any]:
    """The compose document: app service, accessories, named volumes."""
    services: dict[str, Any] = {"app": app_service(ctx)}
    volumes: dict[str, Any] = {}
    for name, accessory in ctx.accessories.items():
        services[name] = accessory_service(ctx, name, accessory)
        volumes.update({volume: {} for volume in sorted(accessory.volumes)})
    doc: dict[str, Any] = {"name": ctx.instance, "services": services}
    if volumes:
        doc["volumes"] = dict(sorted(volumes.items()))
    if any(accessory.proxy for accessory in ctx.accessories.values()):
        # Inline content keeps the file self-contained; `$$` is compose's literal `$`.
        doc["configs"] = {NGINX_CONFIG: {"content": nginx_conf(ctx).replace("$", "$$")}}
    return doc


def _interpolate(value: str) -> str:
    """Escape compose's own `$`, and turn secret references into required variables."""
    parts = SECRET_REF.split(value)  # literal, name, literal, name, ..., literal
    for index, part in enumerate(parts):
        if index % 2:
            parts[index] = f"${{{part}:?set {part} in the environment or the --env-file}}"
        else:
            parts[index] = part.replace("$", "$$")
    return "".join(parts)


def _environment(plain: dict[str, str], secrets: tuple[SecretVar, ...]) -> dict[str, str]:
    values = {key: _interpolate(value) for key, value in plain.items()}
    values.update({var.key: _interpolate(var.template) for var in secrets})
    return dict(sorted(values.items()))


def _hardening() -> dict[str, Any]:
    return {
        "user": "1000:1000",
        "read_only": True,
        "tmpfs": ["/tmp"],  # noqa: S108  # nosec B108 - read_only needs a private tmpfs
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
    }


def app_service(ctx: RenderContext) -> dict[str, Any]:
    """The app: dev builds and hot-reloads the mounted source; others run the pushed image."""
    service: dict[str, Any] = {"image": ctx.image}
    command = list(ctx.command)
    if ctx.targets.hot_reload:
        target = ctx.targets.image.dockerfile
        service["build"] = {"context": ".", "dockerfile": target, "target": "runtime"}
        service["volumes"] = [{"type": "bind", "source": ".", "target": "/app"}]
        command = [*command, "--reload"] if "--reload" not in command else command
    else:
        service.update(_hardening())
    service["command"] = command
    service["environment"] = _environment(ctx.plain_env, ctx.secrets)
    if any(accessory.proxy for accessory in ctx.accessories.values()):
        service["expose"] = [str(ctx.port)]  # reached through the proxy only
    else:
        service["ports"] = [f"127.0.0.1:{ctx.env.port}:{ctx.port}"]
    waits = {
        n: {"condition": "service_healthy"} for n, a in ctx.accessories.items() if a.healthcheck
    }
    if waits:
        service["depends_on"] = waits
    service["healthcheck"] = _app_healthcheck(ctx)
    service["restart"] = "unless-stopped" if ctx.targets.hot_reload else "on-failure"
    if not ctx.targets.hot_reload:
        service["deploy"] = _deploy(ctx)
    return service


def _app_healthcheck(ctx: RenderContext) -> dict[str, Any]:
    start = max(10, round(ctx.env.health_check_timeout))
    return {
        "test": ["CMD", *healthcheck_argv(ctx, ctx.service.ready_path)],
        "interval": "10s",
        "timeout": "5s",
        "retries": 3,
        "start_period": f"{start}s",
    }


def _deploy(ctx: RenderContext) -> dict[str, Any]:
    res = ctx.targets.resources
    return {
        "replicas": ctx.env.replicas,
        "update_config": {
            "parallelism": 1,
            "delay": "10s",
            "order": "start-first",
            "failure_action": "rollback",
            "monitor": "30s",
        },
        "rollback_config": {"parallelism": 1, "order": "start-first"},
        "restart_policy": {"condition": "on-failure", "max_attempts": 5, "window": "120s"},
        "resources": {
            "limits": {"cpus": _units.cores(res.cpu_limit), "memory": _mb(res.memory_limit)},
            "reservations": {
                "cpus": _units.cores(res.cpu_request),
                "memory": _mb(res.memory_request),
            },
        },
    }


def _mb(memory: str) -> str:
    return f"{_units.mebibytes(memory)}M"


def accessory_service(ctx: RenderContext, name: str, accessory: Accessory) -> dict[str, Any]:
    """A side service with its named volumes; ports published on loopback only if asked."""
    service: dict[str, Any] = {"image": accessory.image}
    if accessory.command:
        service["command"] = [_interpolate(arg) for arg in accessory.command]
    if accessory.env:
        env = {k: v for k, v in accessory.env.items() if not SECRET_REF.search(v)}
        secrets = tuple(SecretVar(k, v) for k, v in accessory.env.items() if k not in env)
        service["environment"] = _environment(env, secrets)
    if accessory.volumes:
        service["volumes"] = [
            {"type": "volume", "source": volume, "target": path}
            for volume, path in sorted(accessory.volumes.items())
        ]
    if accessory.proxy:
        service["configs"] = [{"source": NGINX_CONFIG, "target": "/etc/nginx/nginx.conf"}]
        service["depends_on"] = {"app": {"condition": "service_healthy"}}
    service.update(_accessory_ports(ctx, accessory))
    if accessory.healthcheck:
        service["healthcheck"] = {
            "test": ["CMD", *(_interpolate(arg) for arg in accessory.healthcheck)],
            "interval": "5s",
            "timeout": "3s",
            "retries": 10,
        }
    service["restart"] = "unless-stopped"
    return service


def _accessory_ports(ctx: RenderContext, accessory: Accessory) -> dict[str, Any]:
    if accessory.proxy and accessory.ports:
        return {"ports": [f"{ctx.env.port}:{accessory.ports[0]}"]}
    if accessory.publish and accessory.ports:
        return {"ports": [f"127.0.0.1:{port}:{port}" for port in accessory.ports]}
    if accessory.ports:
        return {"expose": [str(port) for port in accessory.ports]}
    return {}


def nginx_conf(ctx: RenderContext) -> str:
    """Reverse proxy to the app with forwarded headers and the same per-IP limits."""
    ingress = ctx.targets.ingress
    listen = next(
        (acc.ports[0] for acc in ctx.accessories.values() if acc.proxy and acc.ports), 8080
    )
    return (
        "worker_processes auto;\n"
        "pid /tmp/nginx.pid;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        "    limit_req_zone $binary_remote_addr zone=per_ip:10m "
        f"rate={ingress.rate_limit_rps}r/s;\n"
        "    limit_conn_zone $binary_remote_addr zone=conn_ip:10m;\n"
        "    upstream app {\n"
        f"        server app:{ctx.port};\n"
        "        keepalive 32;\n"
        "    }\n"
        "    server {\n"
        f"        listen {listen};\n"
        "        server_tokens off;\n"
        "        location / {\n"
        f"            limit_req zone=per_ip burst={ingress.rate_limit_rps} nodelay;\n"
        f"            limit_conn conn_ip {ingress.limit_connections};\n"
        "            proxy_http_version 1.1;\n"
        '            proxy_set_header Connection "";\n'
        "            proxy_set_header Host $host;\n"
        "            proxy_set_header X-Real-IP $remote_addr;\n"
        "            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "            proxy_set_header X-Forwarded-Proto $scheme;\n"
        "            proxy_pass http://app;\n"
        "        }\n"
        "    }\n"
        "}\n"
    )
