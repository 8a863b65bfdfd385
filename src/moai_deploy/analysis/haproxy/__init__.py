"""HAProxy as a metric provider and sample source: its per-request JSON log."""

from moai_deploy.analysis.haproxy.log import LogWindow, RequestLog
from moai_deploy.analysis.haproxy.provider import HaproxyMetricProvider

__all__ = ["HaproxyMetricProvider", "LogWindow", "RequestLog"]
