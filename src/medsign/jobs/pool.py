"""The process pool of CPU-bound jobs (sealing, evidence): one process per core.

PDF signing and RFC 3161 stamping are pure-Python CPU work; threads would take turns
on one core (the GIL). Each child builds its own :class:`~medsign.runtime.Runtime` (its
own engine and connections) once, from the parent's settings, in the initializer. The
children are started by ``forkserver`` (``spawn`` where it does not exist), never by a
plain ``fork`` of a parent that has live threads and database connections.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import select
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from medsign.jobs.outbox import JobCall
from medsign.jobs.running import Handler, Outcome, backoff, execute
from medsign.runtime import Runtime
from medsign.settings import Settings

_child: tuple[Runtime, dict[str, Handler]] | None = None


def _exit_with(parent: int) -> None:
    """End this child the moment ``parent`` is gone (killed with SIGKILL, out of memory).

    The pool's children are the forkserver's, not the parent's, so the kernel's
    parent-death signal never reaches them; and each holds both ends of the executor's
    call queue and the forkserver's liveness pipe, so without this they would wait for
    work forever, holding memory and database connections. A job running then is left
    to its lease, as when the whole worker dies (the job runs again elsewhere).
    """
    try:
        handle = os.pidfd_open(parent)  # Linux 5.3+: readable once the process ends
    except (AttributeError, OSError):
        handle = None
    if handle is not None:
        select.select([handle], [], [])
    else:
        while True:
            time.sleep(1.0)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                break
            except PermissionError:  # pragma: no cover - a pid reused by another user
                break
    os._exit(1)


def _init_child(settings: Settings, parent: int) -> None:
    """Build the child's runtime and handlers once. The parent decides when to stop:
    SIGINT/SIGTERM sent to the whole process group must not kill a job half-way; a
    parent that is gone ends the child (:func:`_exit_with`)."""
    global _child
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(parent,), name="parent-watch", daemon=True).start()
    from medsign.jobs.handlers import build_handlers  # handlers import the features

    rt = Runtime.build(settings)
    atexit.register(rt.close)
    _child = (rt, build_handlers(rt))


def _run_in_child(call: JobCall) -> Outcome:
    assert _child is not None, "the pool initializer did not run"
    rt, handlers = _child
    return execute(rt, handlers.get(call.kind), call)


def default_processes() -> int:
    """As many processes as cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def processes_for(settings: Settings) -> int:
    """The size of the pool ``settings`` ask for (``MEDSIGN_WORKER_PROCESSES``)."""
    if settings.worker_processes is None:
        return default_processes()
    return settings.worker_processes


class CpuPool:
    """Runs jobs in child processes; ``run`` blocks the calling worker thread."""

    def __init__(self, settings: Settings, processes: int) -> None:
        self.settings = settings
        self.processes = processes
        self._lock = threading.Lock()
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=context,
            initializer=_init_child,
            initargs=(self.settings, os.getpid()),
        )

    def run(self, call: JobCall) -> Outcome:
        """Run ``call`` in a child and return its outcome. A child that died (killed,
        out of memory) breaks the whole executor: a new one is made and the job retried
        after a short backoff (it runs at most once at a time: the lease still holds)."""
        executor = self._executor
        try:
            return executor.submit(_run_in_child, call).result()
        except BrokenProcessPool:
            with self._lock:
                if self._executor is executor:
                    self._executor = self._new_executor()
            return Outcome("the job's process died", backoff(1.0, call.attempt))

    def shutdown(self) -> None:
        """Wait for running jobs, then stop the children."""
        self._executor.shutdown(wait=True, cancel_futures=True)
