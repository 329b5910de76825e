"""Signature validation with bounded work: a child process per check, with limits.

pyHanko's validation (the reference path of :func:`medsign.pdf.validate.validate_pdf`)
is pure Python and CPU-bound; on a request thread a hostile file held a server for
minutes and grew it by gigabytes. Here every reference check runs in a child process
forked for it (see :func:`_mp_context`):

- memory: the child's address space is capped (``RLIMIT_AS``, POSIX ``setrlimit``) at
  what it had when it started plus ``memory_bytes``;
- time: the parent kills the child at the time budget; ``RLIMIT_CPU`` is a backstop
  should the parent itself die;
- cancellation: the parent polls ``cancelled`` (the client went away) and kills the
  child at once;
- concurrency: at most ``processes`` children per parent; a request that finds no free
  slot within ``queue_seconds`` is answered with :class:`ServiceBusy` (503).

Files of the shape medsign seals are still checked in the parent by the fast verifier
(:mod:`medsign.pdf.fastverify`: linear, capped by the same field limit, and its cache
of certificate-path results lives there).
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
import resource
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from medsign import errors
from medsign.errors import DomainError, ServiceBusy, VerificationLimit
from medsign.pdf.validate import ValidationReport, validate_pdf

_context_lock = threading.Lock()
_context: Any = None


def _mp_context() -> Any:
    """The ``fork`` context: a child starts with everything already imported and the
    file already in memory (nothing pickled). The child runs only the validator (no
    database, no event loop) and leaves with ``os._exit``, so the parent's threads and
    connections are never used in it. (``forkserver`` would re-run the main script in
    every child: seconds per request, measured with bench/abuse.py.)"""
    global _context
    with _context_lock:
        if _context is None:
            _context = multiprocessing.get_context("fork")
        return _context


@dataclass(frozen=True)
class Limits:
    """The bounds of one validation (settings ``MEDSIGN_VERIFY_*``)."""

    max_signatures: int = 50
    seconds: float = 20.0
    memory_bytes: int = 1024 * 1024 * 1024
    processes: int = 2
    queue_seconds: float = 5.0


class ClientGone(Exception):
    """The client disconnected; the child was killed and nobody waits for an answer."""


def _address_space() -> int:
    """This process's current virtual size in bytes (``/proc/self/statm``, field 1)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _peak_of(pid: int) -> int:
    """Peak resident bytes of a live process (``VmHWM`` in ``/proc/<pid>/status``)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _child(
    conn: Connection,
    data: bytes,
    roots: tuple[bytes, ...],
    issued: bool,
    max_signatures: int,
    memory_bytes: int,
    seconds: float,
    pinned: frozenset[str] = frozenset(),
) -> None:
    """Run in the child: set the limits, validate, send one message back."""
    limit = _address_space() + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cpu = math.ceil(seconds) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    message: tuple[str, Any]
    try:
        certs = [x509.load_der_x509_certificate(r) for r in roots]
        report = validate_pdf(
            data, certs, issued=issued, fast=False, max_signatures=max_signatures, pinned=pinned
        )
        message = ("ok", report)
    except DomainError as exc:
        message = ("error", (type(exc).__name__, exc.detail, exc.extra))
    except MemoryError:
        message = ("memory", None)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    try:
        conn.send((*message, peak))
    except MemoryError:
        conn.send(("memory", None, peak))
    finally:
        conn.close()


def _rebuild(name: str, detail: str, extra: dict[str, Any]) -> DomainError:
    """The child's domain error, as the same class in this process."""
    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, DomainError) and "retry_after" not in extra:
        return cls(detail, **extra)
    return errors.InvalidDocument(detail)


class IsolatedValidator:
    """Validates PDFs within :class:`Limits`; one per web process."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._running = 0
        self.children: set[int] = set()  # pids of the children alive now
        self.last_child_peak = 0  # peak resident bytes of the latest child (bench/abuse.py)

    @property
    def running(self) -> int:
        """Children alive right now."""
        with self._lock:
            return self._running

    def _try_take(self) -> bool:
        with self._lock:
            if self._running >= self.limits.processes:
                return False
            self._running += 1
            return True

    def _give_back(self) -> None:
        with self._lock:
            self._running -= 1

    async def _slot(self) -> None:
        deadline = time.monotonic() + self.limits.queue_seconds
        while not self._try_take():
            if time.monotonic() > deadline:
                raise ServiceBusy(
                    "Every verification slot is busy; try again in a few seconds.",
                    retry_after=max(1, math.ceil(self.limits.seconds / 4)),
                    limit="verify_processes",
                )
            await asyncio.sleep(0.05)

    async def validate(
        self,
        data: bytes,
        trust_roots: Sequence[x509.Certificate],
        *,
        issued: bool = False,
        cancelled: Callable[[], Awaitable[bool]] | None = None,
        pinned: frozenset[str] = frozenset(),
    ) -> ValidationReport:
        """The report on ``data``; :class:`VerificationLimit` over a bound,
        :class:`ServiceBusy` when no slot frees up, :class:`ClientGone` on ``cancelled``.
        ``pinned``: as :func:`medsign.pdf.validate.validate_pdf` (always the pyHanko path)."""
        from medsign.pdf.fastverify import fast_validate

        if not pinned:
            quick = await asyncio.to_thread(
                fast_validate,
                data,
                trust_roots,
                issued=issued,
                max_fields=self.limits.max_signatures,
            )
            if quick is not None:
                return quick
        roots = tuple(c.public_bytes(serialization.Encoding.DER) for c in trust_roots)
        await self._slot()
        try:
            return await self._in_child(data, roots, issued, cancelled, pinned)
        finally:
            self._give_back()

    async def _in_child(
        self,
        data: bytes,
        roots: tuple[bytes, ...],
        issued: bool,
        cancelled: Callable[[], Awaitable[bool]] | None,
        pinned: frozenset[str] = frozenset(),
    ) -> ValidationReport:
        lim = self.limits
        ctx = _mp_context()
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_child,
            args=(
                child,
                data,
                roots,
                issued,
                lim.max_signatures,
                lim.memory_bytes,
                lim.seconds,
                pinned,
            ),
            daemon=True,
        )
        await asyncio.to_thread(proc.start)
        child.close()
        self.children.add(proc.pid)
        try:
            message = await self._wait(parent, proc, cancelled)
        finally:
            if proc.is_alive():
                proc.kill()
            await asyncio.to_thread(proc.join, 5)
            self.children.discard(proc.pid)
            parent.close()
        kind, payload, self.last_child_peak = message
        if kind == "ok":
            report: ValidationReport = payload
            return report
        if kind == "error":
            raise _rebuild(*payload)
        raise VerificationLimit(
            "Checking this file needed more memory than one request may use "
            f"({lim.memory_bytes // (1024 * 1024)} MB, MEDSIGN_VERIFY_MEMORY_MB).",
            limit="verify_memory_mb",
        )

    async def _wait(
        self,
        conn: Connection,
        proc: Any,
        cancelled: Callable[[], Awaitable[bool]] | None,
    ) -> tuple[str, Any, int]:
        deadline = time.monotonic() + self.limits.seconds
        step = 0.002
        while True:
            if conn.poll():
                try:
                    message: tuple[str, Any, int] = conn.recv()
                except EOFError:  # the child died without an answer (killed by a limit)
                    return ("memory", None, 0)
                return message
            if not proc.is_alive() and not conn.poll():
                return ("memory", None, 0)
            if time.monotonic() > deadline:
                self.last_child_peak = _peak_of(proc.pid)
                proc.kill()
                raise VerificationLimit(
                    f"Checking this file takes longer than {self.limits.seconds:g} s, the "
                    "limit for one request (MEDSIGN_VERIFY_TIME_LIMIT_SECONDS).",
                    limit="verify_time_limit_seconds",
                )
            if cancelled is not None and await cancelled():
                self.last_child_peak = _peak_of(proc.pid)
                proc.kill()
                raise ClientGone("the client disconnected")
            await asyncio.sleep(step)
            step = min(step * 2, 0.05)
