"""Token buckets keyed by API token (in-process, one per app).

Each key may spend ``quota`` requests per ``window`` seconds, with bursts up to
``quota``; the bucket refills continuously at ``quota / window`` per second. Several
processes each keep their own buckets (the allowance multiplies by the number of
processes), which is enough to protect one process from a runaway integration.

:meth:`TokenBuckets.take` reports what the draft-ietf-httpapi-ratelimit-headers fields
need: the quota, what remains and when the bucket is full again.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_KEYS = 100_000


@dataclass(frozen=True)
class Decision:
    """The outcome of one request against a bucket."""

    allowed: bool
    quota: int
    window: int
    remaining: int
    reset: int  # seconds until the bucket is full again
    retry_after: int  # seconds until one request is allowed (0 when allowed)


class TokenBuckets:
    """Buckets keyed by an opaque string (the keyed hash of an API token)."""

    def __init__(
        self, quota: int, window: int = 60, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.quota = max(1, quota)
        self.window = max(1, window)
        self.rate = self.quota / self.window
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> Decision:
        """Spend one request for ``key`` if the bucket allows it."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.quota), now))
            tokens = min(float(self.quota), tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            if len(self._buckets) >= MAX_KEYS and key not in self._buckets:
                self._buckets.clear()  # crude but bounded: everyone starts full again
            self._buckets[key] = (tokens, now)
        retry = 0 if allowed else math.ceil((1.0 - tokens) / self.rate)
        return Decision(
            allowed=allowed,
            quota=self.quota,
            window=self.window,
            remaining=int(tokens),
            reset=math.ceil((self.quota - tokens) / self.rate),
            retry_after=retry,
        )
