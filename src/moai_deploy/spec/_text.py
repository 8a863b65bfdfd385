"""Checks on the raw spec before YAML sees it: size, encoding, control bytes, nesting depth.

Each failure names the file and, where there is one, the line, with a fix; none of them
lets a hostile file make the loader hang, eat memory or overflow the stack.
"""

from __future__ import annotations

import re
from pathlib import Path

from moai_deploy.errors import SpecError, SpecProblem

MAX_SPEC_BYTES = 1024 * 1024  # a real spec is a few KB
MAX_DEPTH = 64  # indentation columns + flow brackets + compact "- " items on one line
MAX_VALUES = 50_000  # values after alias expansion (a spec has a few hundred)
# YAML allows tab, LF, CR and printable characters; anything else means binary data.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TEXT_FIX = "save the spec as plain UTF-8 text (is this the right file?)"


def _fail(path: Path, line: int | None, message: str, fix: str) -> SpecError:
    return SpecError([SpecProblem(path, line, "", message, fix)])


def check_size(path: Path, size: int) -> None:
    """SpecError when the spec is larger than MAX_SPEC_BYTES."""
    if size > MAX_SPEC_BYTES:
        raise _fail(
            path,
            None,
            f"the spec is {size / 1024 / 1024:.1f} MB; the limit is "
            f"{MAX_SPEC_BYTES // 1024 // 1024} MB",
            "a spec holds settings, not data: keep it to the keys `moai-deploy schema` lists",
        )


def decode(data: bytes, path: Path) -> str:
    """The spec's text; SpecError (with the line) for invalid UTF-8."""
    check_size(path, len(data))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start : exc.start + 1].hex()
        raise _fail(path, line, f"not UTF-8 text (byte 0x{byte} on this line)", _TEXT_FIX) from None


def check_text(text: str, path: Path) -> None:
    """SpecError for size, control characters or nesting deeper than MAX_DEPTH."""
    check_size(path, len(text.encode("utf-8", errors="replace")))
    bad = _CONTROL.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        code = f"U+{ord(bad.group()):04X}"
        raise _fail(path, line, f"control character {code} (binary data?)", _TEXT_FIX)
    for number, line_text in enumerate(text.splitlines(), start=1):
        if _depth(line_text) > MAX_DEPTH:
            raise _fail(
                path,
                number,
                f"nested more than {MAX_DEPTH} levels deep",
                "a spec needs a handful of levels: flatten this value",
            )


def _depth(line: str) -> int:
    """A bound on how deep `line` nests: its indentation, compact "- " items, flow depth."""
    stripped = line.lstrip(" ")
    depth = len(line) - len(stripped)
    while stripped.startswith("- "):
        depth += 2
        stripped = stripped[2:].lstrip(" ")
    deepest = level = 0
    quote = ""
    for index, char in enumerate(stripped):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or stripped[index - 1] in " \t"):
            break
        elif char in "[{":
            level += 1
            deepest = max(deepest, level)
        elif char in "]}":
            level -= 1
    return depth + deepest


class ValueBudget:
    """Counts values while the document is expanded: aliases may not multiply it."""

    def __init__(self, path: Path, limit: int = MAX_VALUES) -> None:
        self.path = path
        self.left = limit
        self.line: int | None = None  # line of the top-level key being expanded

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise _fail(
                self.path,
                self.line,
                f"the document expands to more than {MAX_VALUES:,} values (nested YAML aliases?)",
                "do not nest aliases (*name) of collections inside each other; write the "
                "values out",
            )
