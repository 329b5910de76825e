"""Running the outbox worker deterministically inside a test."""

from __future__ import annotations

from medsign.jobs.handlers import build_handlers
from medsign.jobs.worker import run_one
from medsign.runtime import Runtime


def drain(rt: Runtime, limit: int = 100) -> int:
    """Run due jobs until none is left; return how many ran."""
    handlers = build_handlers(rt)
    count = 0
    while count < limit and run_one(rt, handlers):
        count += 1
    return count
