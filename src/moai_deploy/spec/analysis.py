"""Analysis definitions: the metrics a canary or blue-green release is judged by."""

from __future__ import annotations

from moai_deploy.spec._base import Section


class AnalysisSpec(Section):
    """Metrics, their conditions and how often they are measured."""
