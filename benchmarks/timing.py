"""Timing a function in this process: the least of several runs, on the clock a benchmark names."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def best_of(fn: Callable[[], Any], repeat: int, clock: Callable[[], float] = time.process_time) -> tuple[float, Any]:
    """(the shortest of `repeat` runs of `fn` in seconds of `clock`, what the last run returned). CPU time by
    default; time.perf_counter for wall time."""
    times, value = [], None
    for _ in range(repeat):
        start = clock()
        value = fn()
        times.append(clock() - start)
    return min(times), value
