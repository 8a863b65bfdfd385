"""Fault injection against the real data plane: the e2e fixtures (a scratch copy of the
example service, everything stopped after), plus helpers to break things on purpose."""

from __future__ import annotations

from ..e2e.conftest import ENV, edit_spec, make_v2, project, project_dir, reopen, router

__all__ = ["ENV", "edit_spec", "make_v2", "project", "project_dir", "reopen", "router"]
