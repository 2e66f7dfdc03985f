"""Poll for a condition, bounded in time, and time an action: the waits the tests and the benchmark share."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar


def wait_for(check: Callable[[], object], *, timeout: float, interval: float = 0.02) -> bool:
    """Call check() until it is true or timeout seconds pass; return whether it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return bool(check())


T = TypeVar("T")


def timed(action: Callable[[], T]) -> tuple[T, float]:
    """Run action and return its result with the seconds it took."""
    start = time.monotonic()
    result = action()
    return result, time.monotonic() - start
