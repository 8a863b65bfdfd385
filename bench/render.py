"""Rendering cost: every target for 3 environments of 100 generated services.

Run by hand: `python bench/render.py [--services 100] [--runs 5]`. Prints the median wall
time over the runs (without tracing), the files and bytes produced, and the peak Python
heap during one traced run (tracemalloc) plus the process's max RSS.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
import tracemalloc
from pathlib import Path

from moai_deploy.render import render
from moai_deploy.spec import models
from moai_deploy.spec.loader import parse_spec

STRATEGIES = (
    "{type: rolling, max_surge: 2, max_unavailable: 0}",
    "{type: blue_green, scale_down_delay: 5m, smoke_paths: [/health]}",
    "{type: canary, step_weight: 25, step_pause: 5m, analysis: {metrics: "
    "[{template: success-rate}, {template: p95-latency}]}}",
)


def service_spec(index: int) -> models.Spec:
    """A realistic spec: secrets, overlays, one of the three strategies in production."""
    text = f"""
service:
  name: svc-{index:03d}
  command: python -m uvicorn app.main:app --host 127.0.0.1 --port {{port}}
defaults:
  replicas: 2
  env:
    LOG_LEVEL: INFO
    DATABASE_URL: "postgresql://svc:${{secret:DB_PASSWORD}}@postgres:5432/svc{index}"
    API_TOKEN: "${{secret:API_TOKEN}}"
environments:
  development: {{port: {9000 + index}, replicas: 1, targets: {{hot_reload: true}}}}
  staging: {{port: {10000 + index}, targets: {{ingress: {{host: svc{index}.staging.example.com}}}}}}
  production:
    port: {11000 + index}
    replicas: {3 + index % 4}
    strategy: {STRATEGIES[index % 3]}
    targets:
      autoscaling: {{enabled: true, max_replicas: {10 + index % 5}}}
      ingress: {{host: svc{index}.example.com}}
targets:
  image: {{repository: ghcr.io/acme/svc-{index:03d}}}
  egress: [{{name: postgres, port: 5432}}]
  accessories:
    postgres:
      image: postgres:16-alpine
      ports: [5432]
      volumes: {{pg: /var/lib/postgresql/data}}
  cloud: {{aws_account_id: "123456789012", gcp_project: acme-{index}}}
"""
    return parse_spec(text, Path(f"svc-{index}/moai-deploy.yaml")).spec


def render_all(specs: list[models.Spec]) -> tuple[int, int]:
    """Render every target of every environment; (files, bytes)."""
    files = size = 0
    for spec in specs:
        for environment in spec.environments:
            rendered = render(spec, environment, "1.0.0")
            files += len(rendered)
            size += sum(len(text) for text in rendered.values())
    return files, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    specs = [service_spec(i) for i in range(args.services)]
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        files, size = render_all(specs)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    render_all(specs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    renders = len(specs) * 3
    median = statistics.median(times)
    print(f"{args.services} services x 3 environments = {renders} renders, all targets")
    print(f"files: {files}, bytes: {size}")
    print(
        f"wall time: median {median:.2f} s over {args.runs} runs "
        f"(min {min(times):.2f}, max {max(times):.2f}); {median / renders * 1000:.1f} ms per render"
    )
    print(f"peak Python heap while rendering: {peak / 2**20:.1f} MiB; max RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
