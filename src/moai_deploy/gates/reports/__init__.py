"""Gate reports: JSON, JUnit XML, SARIF (security gates), Markdown; the console table."""

from __future__ import annotations

import json
from pathlib import Path

from moai_deploy.gates.model import GateRun
from moai_deploy.gates.reports.junit import junit_xml
from moai_deploy.gates.reports.markdown import markdown
from moai_deploy.gates.reports.sarif import sarif

REPORT_FILES = {
    "json": "gates.json",
    "junit": "gates.junit.xml",
    "sarif": "gates.sarif",
    "markdown": "gates.md",
}


def write_reports(run: GateRun, folder: Path) -> dict[str, Path]:
    """Write every report format into `folder`; returns the paths by format."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = {
        "json": json.dumps(run.to_dict(), indent=2, sort_keys=True) + "\n",
        "junit": junit_xml(run),
        "sarif": json.dumps(sarif(run), indent=2) + "\n",
        "markdown": markdown(run),
    }
    paths = {}
    for kind, text in texts.items():
        path = folder / REPORT_FILES[kind]
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        paths[kind] = path
    return paths


__all__ = ["REPORT_FILES", "junit_xml", "markdown", "sarif", "write_reports"]
