"""A Prometheus server as a metric provider (PromQL over its HTTP API)."""

from moai_deploy.analysis.prometheus.provider import PrometheusMetricProvider

__all__ = ["PrometheusMetricProvider"]
