"""JSON Schema of the spec, generated from the pydantic models."""

from __future__ import annotations

from typing import Any

from moai_deploy.spec.models import Spec


def spec_json_schema() -> dict[str, Any]:
    """The schema editors use for completion and validation of moai-deploy.yaml."""
    schema = Spec.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "moai-deploy.yaml"
    return schema
