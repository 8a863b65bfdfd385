"""Deterministic serialisation: YAML and JSON with a fixed key order and quoting.

Dicts keep the order the renderers build them in (the conventional order of each format,
e.g. apiVersion, kind, metadata, spec), so the same input always gives the same bytes.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

# Strings a YAML 1.1 or 1.2 reader could take for something else (a number, a bool, an
# octal) are quoted: Kubernetes reads YAML 1.1, GitHub and GitLab read YAML 1.2.
_AMBIGUOUS = re.compile(
    r"^(?:[-+]?[0-9_.:]+(?:[eE][-+]?[0-9]+)?|0[xXoObB][0-9a-fA-F_]+|[-+]?\.(?:inf|Inf|INF)"
    r"|\.(?:nan|NaN|NAN)|y|Y|n|N|yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE"
    r"|on|On|ON|off|Off|OFF|null|Null|NULL|~|)$"
)


# libyaml's emitter when available (about 10x faster), else the pure-Python one.
_Base: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_Base):  # type: ignore[valid-type,misc]
    """SafeDumper that keeps the built key order and never writes &anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True  # shared sub-objects are written out in full, never as &anchors


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    if _AMBIGUOUS.match(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="'")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _represent_str)


def to_yaml(data: Any) -> str:
    """One YAML document."""
    text: str = yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096, indent=2
    )
    return text


def to_yaml_documents(documents: list[Any]) -> str:
    """Several YAML documents in one stream, separated by `---`."""
    return "---\n".join(to_yaml(doc) for doc in documents)


def to_json(data: Any) -> str:
    """Pretty JSON with a trailing newline; key order as built."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
