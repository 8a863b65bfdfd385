"""SPEC/TAG traceability: MoAI-ADK's SPEC front matter and @TAG chain rules, and which
SPECs each release carries and each environment runs."""

from moai_deploy.trace.live import LiveSpec, LiveView, SpecChange, diff_specs, live_specs
from moai_deploy.trace.model import Chain, Finding, Location, SpecInfo, TraceReport
from moai_deploy.trace.scan import release_specs, scan

__all__ = [
    "Chain",
    "Finding",
    "LiveSpec",
    "LiveView",
    "Location",
    "SpecChange",
    "SpecInfo",
    "TraceReport",
    "diff_specs",
    "live_specs",
    "release_specs",
    "scan",
]
