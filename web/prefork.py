"""Several server processes on one listening socket (``arshif serve --workers``).

Why: a search is CPU work in Python, and the GIL lets one process use one
core whatever its thread count; so the listening socket is opened once and
each forked worker runs its own waitress server (and its own index searcher
and caches) on it, and the kernel spreads the connections.  Waitress has no
process model of its own, and gunicorn would be a second server to ship.

The parent only supervises: it restarts a worker that dies, and stops them
all on SIGTERM or SIGINT (Ctrl-C).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable

log = logging.getLogger("arshif.serve")

#: A worker that dies sooner than this after its start counts as failing;
#: after MAX_QUICK_DEATHS of those in a row the parent gives up.
QUICK_DEATH_S = 5.0
MAX_QUICK_DEATHS = 5


def can_fork() -> bool:
    return hasattr(os, "fork")


def cores() -> int:
    """Cores this process may run on (its CPU affinity, where the OS tells)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def run_workers(serve: Callable[[], None], workers: int) -> int:
    """Run ``serve`` in ``workers`` forked processes until told to stop.

    ``serve`` runs in the child and must build everything it needs there
    (app, engine, server): file handles and threads do not survive a fork.
    Returns the exit status for the command.
    """
    started: dict[int, float] = {}
    stopping = False
    quick_deaths = 0

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            code = 0
            try:
                serve()
            except KeyboardInterrupt:
                pass
            except BaseException:  # report, then leave without cleanup
                log.exception("worker %d failed", os.getpid())
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        started[pid] = time.monotonic()

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(started):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    for _ in range(workers):
        spawn()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while started:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        born = started.pop(pid, None)
        if born is None or stopping:
            continue
        quick_deaths = quick_deaths + 1 if time.monotonic() - born < QUICK_DEATH_S else 0
        if quick_deaths >= MAX_QUICK_DEATHS:
            log.error("workers keep failing at start; stopping")
            stop(signal.SIGTERM, None)
            return 1
        log.warning("worker %d exited (%d); starting another", pid,
                    os.waitstatus_to_exitcode(status))
        spawn()
    return 0
