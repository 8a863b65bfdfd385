"""schemathesis against the server's own OpenAPI document: no 500 on any endpoint.

Runs in-process over ASGI with an admin token (so the fuzzer reaches the operations, not
only the authorization check), then with no token. schemathesis' pytest plugin does not
work with this pytest yet, so each operation's strategy is driven by hypothesis directly.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from moai_deploy.server.api import create_app
from moai_deploy.server.auth import Authenticator, FailedLogins
from moai_deploy.service import ControlService

# CI runs the same examples every time (a flaky test is a failing test); set
# MOAI_FUZZ_RANDOM=1 to explore new ones, MOAI_FUZZ_EXAMPLES=N for more of them.
DERANDOMIZE = os.environ.get("MOAI_FUZZ_RANDOM") != "1"
EXAMPLES = int(os.environ.get("MOAI_FUZZ_EXAMPLES", "30"))


def _fuzz(schema: Any, headers: dict[str, str], examples: int) -> list[str]:
    """Every operation with `examples` generated cases; the labels of those that failed."""
    failed: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=DERANDOMIZE,
        )
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        try:
            run()
        except Exception as exc:
            failed.append(f"{operation.label}: {exc}")
    return failed


def test_no_server_error_on_any_endpoint(service: ControlService, tokens: dict[str, str]) -> None:
    # A limiter that never trips, so random bad tokens do not lock the fuzzer out.
    auth = Authenticator(service.project().ledger, FailedLogins(limit=10**9))
    app = create_app(service, auth, live_samples=False)
    app.state.stream_max_seconds = 0.2
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    labels = [r.ok().label for r in schema.get_all_operations()]
    assert "POST /api/v1/environments/{environment}/deploy" in labels and len(labels) >= 20
    failures = _fuzz(schema, {"Authorization": f"Bearer {tokens['admin']}"}, EXAMPLES)
    failures += _fuzz(schema, {}, 5)
    assert failures == []
