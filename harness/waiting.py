"""Poll for a condition, bounded in time: the one wait loop the tests and the benchmark share."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(check: Callable[[], object], *, timeout: float, interval: float = 0.02) -> bool:
    """Call check() until it is true or timeout seconds pass; return whether it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return bool(check())
