"""The Terraform (HCL) of the Cloud Run target, written as text in a fixed order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moai_deploy.render import cloudrun
from moai_deploy.render.context import RenderContext

Literal = Callable[[Any], str]
HEADER = "# Rendered by moai-deploy from moai-deploy.yaml; edit the spec, not this file.\n"


def _block(lines: list[str], indent: int = 0) -> str:
    pad = "  " * indent
    return "\n".join(pad + line if line else "" for line in lines)


def _head(ctx: RenderContext, lit: Literal) -> list[str]:
    cloud = ctx.targets.cloud
    return [
        "terraform {",
        '  required_version = ">= 1.5"',
        "  required_providers {",
        '    google = { source = "hashicorp/google", version = "~> 6.0" }',
        "  }",
        "}",
        "",
        'variable "project_id" {',
        "  type    = string",
        f"  default = {lit(cloud.gcp_project)}",
        "}",
        "",
        'variable "region" {',
        "  type    = string",
        f"  default = {lit(cloud.gcp_region)}",
        "}",
        "",
        'variable "image_tag" {',
        '  description = "Release version (the image tag)."',
        "  type        = string",
        f"  default     = {lit(ctx.version)}",
        "}",
        "",
        'provider "google" {',
        "  project = var.project_id",
        "  region  = var.region",
        "}",
        "",
        'resource "google_service_account" "service" {',
        f"  account_id   = {lit(ctx.instance)}",
        f"  display_name = {lit(f'{ctx.name} ({ctx.environment})')}",
        "}",
        "",
    ]


def _secrets(ctx: RenderContext, lit: Literal) -> list[str]:
    lines: list[str] = []
    for var in ctx.secrets:
        key = var.secret_id.lower()
        lines += [
            f'data "google_secret_manager_secret" "{key}" {{',
            f"  secret_id = {lit(cloudrun.secret_id(ctx, var.secret_id))}",
            "}",
            "",
            f'resource "google_secret_manager_secret_iam_member" "{key}" {{',
            f"  secret_id = data.google_secret_manager_secret.{key}.id",
            '  role      = "roles/secretmanager.secretAccessor"',
            '  member    = "serviceAccount:${google_service_account.service.email}"',
            "}",
            "",
        ]
    return lines


def _env(ctx: RenderContext, lit: Literal) -> list[str]:
    lines: list[str] = []
    for key, value in ctx.plain_env.items():
        if key != ctx.service.port_env:
            lines += ["env {", f"  name  = {lit(key)}", f"  value = {lit(value)}", "}"]
    for var in ctx.secrets:
        ref = var.secret_id.lower()
        lines += [
            "env {",
            f"  name = {lit(var.key)}",
            "  value_source {",
            "    secret_key_ref {",
            f"      secret  = data.google_secret_manager_secret.{ref}.secret_id",
            '      version = "latest"',
            "    }",
            "  }",
            "}",
        ]
    return lines


def _container(ctx: RenderContext, lit: Literal) -> list[str]:
    res = ctx.targets.resources
    startup = max(1, min(120, round(ctx.env.health_check_timeout / 10)))
    probe = [f"    http_get {{ path = {lit(ctx.service.health_path)} }}"]
    return [
        "containers {",
        f'  image   = "{ctx.repository}:${{var.image_tag}}"',
        f"  command = {lit(list(ctx.command[:1]))}",
        f"  args    = {lit(list(ctx.command[1:]))}",
        f"  ports {{ container_port = {ctx.port} }}",
        "  resources {",
        f"    limits = {{ cpu = {lit(res.cpu_limit)}, memory = {lit(res.memory_limit)} }}",
        "  }",
        "  startup_probe {",
        *probe,
        "    period_seconds    = 10",
        f"    failure_threshold = {startup}",
        "  }",
        "  liveness_probe {",
        *probe,
        "    period_seconds = 10",
        "  }",
        *("  " + line for line in _env(ctx, lit)),
        "}",
    ]


def _service(ctx: RenderContext, lit: Literal) -> list[str]:
    scaling = ctx.targets.autoscaling
    depends = ", ".join(
        f"google_secret_manager_secret_iam_member.{var.secret_id.lower()}" for var in ctx.secrets
    )
    return [
        'resource "google_cloud_run_v2_service" "service" {',
        f"  name     = {lit(ctx.instance)}",
        "  location = var.region",
        '  ingress  = "INGRESS_TRAFFIC_ALL"',
        "  template {",
        "    service_account                  = google_service_account.service.email",
        f"    max_instance_request_concurrency = {cloudrun.MAX_CONCURRENCY}",
        f'    timeout                          = "{cloudrun.REQUEST_TIMEOUT}s"',
        "    scaling {",
        f"      min_instance_count = {ctx.min_replicas}",
        f"      max_instance_count = {max(scaling.max_replicas, ctx.min_replicas)}",
        "    }",
        _block(_container(ctx, lit), 2),
        "  }",
        "  traffic {",
        '    type    = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"',
        "    percent = 100",
        "  }",
        *([f"  depends_on = [{depends}]"] if depends else []),
        "}",
        "",
        'resource "google_cloud_run_v2_service_iam_member" "public" {',
        "  name     = google_cloud_run_v2_service.service.name",
        "  location = google_cloud_run_v2_service.service.location",
        '  role     = "roles/run.invoker"',
        '  member   = "allUsers"',
        "}",
        "",
        'output "service_url" {',
        "  value = google_cloud_run_v2_service.service.uri",
        "}",
    ]


def main_tf(ctx: RenderContext, lit: Literal) -> str:
    """The whole main.tf."""
    lines = [*_head(ctx, lit), *_secrets(ctx, lit), *_service(ctx, lit)]
    return HEADER + "\n".join(lines) + "\n"
