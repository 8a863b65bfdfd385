"""The base of every spec section: strict (unknown keys are errors) and immutable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A part of the spec; unknown keys are rejected so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def iter_sections(
    model: type[BaseModel], path: str = "", stack: tuple[type[BaseModel], ...] = ()
) -> Iterator[tuple[str, type[BaseModel]]]:
    """Every model reachable from `model`, with each dotted path where it appears."""
    if model in stack:
        return
    yield path or "(top level)", model
    for name, info in model.model_fields.items():
        child_path = f"{path}.{name}" if path else name
        if _is_mapping(info.annotation):
            child_path += ".NAME"
        for child in _models_in(info.annotation):
            yield from iter_sections(child, child_path, (*stack, model))


def sections(model: type[BaseModel]) -> list[tuple[list[str], type[BaseModel]]]:
    """Each reachable model once, with every path it appears at (first-seen order)."""
    found: dict[type[BaseModel], list[str]] = {}
    for path, child in iter_sections(model):
        found.setdefault(child, []).append(path)
    return [(paths, child) for child, paths in found.items()]


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in get_args(annotation):
        yield from _models_in(arg)


def _is_mapping(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is dict:
        return True
    return any(_is_mapping(arg) for arg in get_args(annotation))
