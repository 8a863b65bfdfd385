"""SPEC/TAG traceability: MoAI-ADK's TAG rules (and SPEC front matter), and which SPECs
each release carries and each environment runs.

The scanner loads with the package; the live views (`live`, which needs the ledger) load
on first use, so `moai-deploy trace` does not import the ledger to scan.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from moai_deploy.trace.model import Chain, Finding, Location, SpecInfo, TraceReport
from moai_deploy.trace.options import TraceOptions
from moai_deploy.trace.scan import release_specs, scan

if TYPE_CHECKING:
    from moai_deploy.trace.live import LiveSpec, LiveView, SpecChange, diff_specs, live_specs

_LIVE = frozenset({"LiveSpec", "LiveView", "SpecChange", "diff_specs", "live_specs"})

__all__ = [
    "Chain",
    "Finding",
    "LiveSpec",
    "LiveView",
    "Location",
    "SpecChange",
    "SpecInfo",
    "TraceOptions",
    "TraceReport",
    "diff_specs",
    "live_specs",
    "release_specs",
    "scan",
]


def __getattr__(name: str) -> Any:
    if name not in _LIVE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module("moai_deploy.trace.live"), name)
