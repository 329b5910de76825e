"""Running one handler and turning what happened into an outcome the worker records.

Kept apart from the worker loop so a child process of the CPU pool
(:mod:`medsign.jobs.pool`) runs a job exactly as a worker thread does and sends back
only a small picklable :class:`Outcome`, never an exception object.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from medsign.errors import DomainError
from medsign.jobs.outbox import JobCall
from medsign.notify.ports import DeliveryError
from medsign.runtime import Runtime

log = logging.getLogger("medsign.worker")

Handler = Callable[[Runtime, JobCall], None]


@dataclass(frozen=True)
class Outcome:
    """How a run ended: ``error`` None is success; ``retry_in`` None with an error is
    final (the job is dead-lettered), else the job runs again that many seconds later."""

    error: str | None = None
    retry_in: float | None = None


def backoff(base: float, attempts: int) -> float:
    """Exponential backoff with full jitter: ``base * 2**(attempts-1)``, jittered ±50 %."""
    delay: float = base * 2.0 ** max(attempts - 1, 0)
    return min(delay, 3600.0) * (0.5 + random.random())  # noqa: S311 - jitter, not crypto


def execute(rt: Runtime, handler: Handler | None, call: JobCall) -> Outcome:
    """Run ``handler`` for ``call``; a delivery failure retries with the webhook backoff
    when the channel says it may, a refusal is final, a crash retries soon."""
    if handler is None:
        return Outcome(f"no handler for {call.kind}")
    try:
        handler(rt, call)
    except DeliveryError as exc:
        log.warning("job %s (%s) delivery failed: %s", call.id, call.kind, exc)
        retry = backoff(rt.settings.webhook_backoff, call.attempt) if exc.retryable else None
        return Outcome(str(exc), retry)
    except DomainError as exc:
        log.warning("job %s (%s) refused: %s", call.id, call.kind, exc.detail)
        return Outcome(exc.detail)
    except Exception as exc:
        log.exception("job %s (%s) failed", call.id, call.kind)
        return Outcome(f"{type(exc).__name__}: {exc}", backoff(1.0, call.attempt))
    return Outcome()
