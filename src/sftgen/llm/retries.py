"""When a request is sent again: which statuses retry, the jittered backoff, and what a request waited."""

from __future__ import annotations

import random
from dataclasses import dataclass

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
RETRY_AFTER_CAP_S = 120.0
"""The longest wait a Retry-After header gets per retry; a longer one is named in the item's error."""
UNUSABLE_AFTER = 6
"""Attempts in a row, over all concurrent requests, that fail because the server is unusable before the
run stops: a few, so that a dead server costs one wave of requests, not one request per item."""


@dataclass
class Backoff:
    base_s: float = 0.5
    max_s: float = 30.0

    def delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max, base * 2^attempt)], so retries of many requests spread out."""
        return random.uniform(0, min(self.max_s, self.base_s * (2**attempt)))


@dataclass
class RetryWaits:
    """How long one request waited between its attempts, and the longest Retry-After it was asked for
    beyond the cap: both go into its error, so a capped wait is not hidden."""

    waited_s: float = 0.0
    longest_asked_s: float = 0.0

    def note(self, cap_s: float) -> str:
        if self.longest_asked_s <= cap_s:
            return ""
        return (f"; the server asked to wait {self.longest_asked_s:g} s (Retry-After) and sftgen waits at most "
                f"{cap_s:g} s per retry: it waited {self.waited_s:.0f} s in all")
