"""Traefik as a metric provider (its Prometheus endpoint) and sample source (its access log)."""

from moai_deploy.analysis.traefik.access_log import AccessLogSamples
from moai_deploy.analysis.traefik.provider import TraefikMetricProvider

__all__ = ["AccessLogSamples", "TraefikMetricProvider"]
