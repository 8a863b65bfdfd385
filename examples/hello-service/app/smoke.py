"""Smoke test run by `moai-deploy ship` against a freshly deployed environment.

Reads the environment's URL from MOAI_DEPLOY_URL; exits 0 when /health and / answer.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request


def main() -> int:
    base = os.environ.get("MOAI_DEPLOY_URL", "http://127.0.0.1:8081")
    if not base.startswith(("http://", "https://")):
        print(f"MOAI_DEPLOY_URL must be an http(s) URL, got {base!r}")
        return 2
    for path in ("/health", "/"):
        # The scheme is checked above: no file:// or custom scheme reaches urlopen.
        with urllib.request.urlopen(base + path, timeout=5) as response:  # nosec B310
            if response.status != 200:
                print(f"{path}: HTTP {response.status}")
                return 1
    with urllib.request.urlopen(base + "/", timeout=5) as response:  # nosec B310
        print(f"smoke ok: version {json.load(response).get('version')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
