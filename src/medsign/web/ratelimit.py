"""A per-client token bucket for the public endpoints (in-process; one per app).

Each client address gets ``rate`` requests per minute with bursts up to ``rate``;
beyond that :class:`~medsign.errors.TooManyRequests` (429 with ``Retry-After``,
RFC 9110 §10.2.3; RFC 6585 §4). Several processes each keep their own buckets,
which multiplies the allowance by the number of processes: good enough to stop
code guessing (40-bit codes) without a shared store.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from fastapi import Request

from medsign.errors import TooManyRequests

_MAX_CLIENTS = 50_000


class TokenBucket:
    """Buckets keyed by client address."""

    def __init__(self, rate_per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(max(1, rate_per_minute))
        self.per_second = self.capacity / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> None:
        """Spend one token for ``client`` or raise :class:`TooManyRequests`."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.per_second)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                wait = math.ceil((1.0 - tokens) / self.per_second)
                raise TooManyRequests(
                    f"Too many verification requests from your address; try again in {wait} s.",
                    retry_after=wait,
                )
            if len(self._buckets) >= _MAX_CLIENTS and client not in self._buckets:
                self._prune(now)
            self._buckets[client] = (tokens - 1.0, now)

    def _prune(self, now: float) -> None:
        full = [
            k
            for k, (tok, last) in self._buckets.items()
            if tok + (now - last) * self.per_second >= self.capacity
        ]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= _MAX_CLIENTS:
            self._buckets.clear()


_create_lock = threading.Lock()


def verify_limit(request: Request) -> None:
    """FastAPI dependency: one token from the verification bucket of this client."""
    from medsign.web.deps import runtime

    state = request.app.state
    bucket = getattr(state, "verify_bucket", None)
    if bucket is None:
        with _create_lock:
            bucket = getattr(state, "verify_bucket", None)
            if bucket is None:
                bucket = TokenBucket(runtime(request).settings.verify_rate_per_minute)
                state.verify_bucket = bucket
    client = request.client.host if request.client is not None else "unknown"
    bucket.take(client)
