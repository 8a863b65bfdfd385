"""JUnit XML for CI systems: one test suite, one test case per gate."""

from __future__ import annotations

# Building XML, never parsing it: the standard library's writer is safe for that.
from xml.etree.ElementTree import Element, SubElement, tostring  # nosec B405

from moai_deploy.gates.model import GateOutcome, GateRun, GateStatus


def junit_xml(run: GateRun) -> str:
    """The run as a JUnit XML document; a blocking gate is a failure, an error an error."""
    suite = Element(
        "testsuite",
        name="moai-deploy gates",
        tests=str(len(run.outcomes)),
        failures=str(sum(o.result.status == GateStatus.FAILED for o in run.outcomes)),
        errors=str(sum(o.result.status == GateStatus.ERROR for o in run.outcomes)),
        skipped=str(sum(o.result.status == GateStatus.SKIPPED for o in run.outcomes)),
        time=f"{run.duration:.3f}",
        timestamp=run.started_at.isoformat(),
    )
    for outcome in run.outcomes:
        _case(suite, outcome)
    return tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _case(suite: Element, outcome: GateOutcome) -> None:
    result = outcome.result
    case = SubElement(
        suite,
        "testcase",
        classname="moai-deploy.gates",
        name=result.gate,
        time=f"{result.duration:.3f}",
    )
    policy = "required" if outcome.required else "advisory"
    body = "\n".join(f"{f.where}: {f.rule}: {f.message}" for f in result.findings) or result.note
    if result.status == GateStatus.FAILED:
        node = SubElement(case, "failure", message=f"{len(result.findings)} finding(s), {policy}")
        node.text = body
    elif result.status == GateStatus.ERROR:
        node = SubElement(case, "error", message=result.note or "the gate could not run")
        node.text = f"on_error: {outcome.on_error}, {policy}"
    elif result.status == GateStatus.SKIPPED:
        SubElement(case, "skipped", message=result.note)
    if result.report_path:
        SubElement(case, "system-out").text = f"raw report: {result.report_path}"
