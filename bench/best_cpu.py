"""The best round's CPU time of a bench part: a busy machine slows some rounds, never speeds one up."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_ms(run: Callable[[], object], calls: int, repeat: int) -> float:
    """The least process CPU of `repeat` calls of `run`, in ms per one of its `calls`."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return 1000 * best / max(1, calls)
