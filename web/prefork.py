"""Several server processes on one listening socket (``arshif serve --workers``).

Why: a search is CPU work in Python, and the GIL lets one process use one
core whatever its thread count; so the listening socket is opened once and
each forked worker runs its own waitress server (and its own index searcher
and caches) on it, and the kernel spreads the connections.  Waitress has no
process model of its own, and gunicorn would be a second server to ship.

The parent only supervises:

- a worker that dies is replaced, after a back-off when workers die one
  after another soon after their start (a crash loop must not become a fork
  loop);
- the parent gives up only when workers cannot start at all: several in a
  row died before they were ready to serve, and none is serving.  A worker
  that was ready and then died (killed, out of memory, a crashing request)
  is always replaced: the next one can serve again;
- SIGTERM or SIGINT (Ctrl-C) stops every worker, then the parent;
- workers end when the parent ends, however it ends (``kill -9`` included):
  otherwise they would keep serving unsupervised and hold the port, so that
  a restart fails with "Address already in use".
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from indexer.store import checkpoint

log = logging.getLogger("arshif.serve")

#: Failed starts (a worker that died before it was ready to serve) in a row,
#: with no worker serving, after which the parent stops: the cause (an index
#: that cannot be opened, a broken install) does not go away by retrying.
MAX_FAILED_STARTS = 5
#: Restart back-off: the first replacement starts at once; each further one
#: after a death soon after its start waits twice as long as the last, up to
#: BACKOFF_MAX_S.  A worker that lived STABLE_S or more resets it.
BACKOFF_FIRST_S = 0.1
BACKOFF_MAX_S = 2.0
STABLE_S = 10.0
#: Linux: ask the kernel to send this signal to a worker when its parent dies.
USE_PDEATHSIG = sys.platform.startswith("linux")
PR_SET_PDEATHSIG = 1
_PID = struct.Struct("=i")


def can_fork() -> bool:
    return hasattr(os, "fork")


def cores() -> int:
    """Cores this process may run on (its CPU affinity, where the OS tells)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


@dataclass
class _Worker:
    started: float
    ready: bool = False
    told_to_stop: bool = False


def backoff_s(deaths_in_a_row: int) -> float:
    """Delay before replacing a worker, given the deaths soon after a start
    in a row (this one included)."""
    if deaths_in_a_row <= 1:
        return 0.0
    return min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (deaths_in_a_row - 2))


def run_workers(serve: Callable[[Callable[[], None]], None], workers: int) -> int:
    """Run ``serve`` in ``workers`` forked processes until told to stop.

    ``serve(ready)`` runs in the child and must build everything it needs
    there (app, engine, server: file handles and threads do not survive a
    fork), call ``ready()`` once it can serve, then serve until it ends.
    Returns the exit status for the command: 0 when stopped by a signal, 1
    when workers could not start.
    """
    parent = os.getpid()
    # Signals only set flags; the loop below acts on them.  Python runs a
    # handler between bytecodes of the main thread and retries an
    # interrupted select() on its own, so the C-level handler's byte on
    # this "wakeup" pipe is what wakes the loop.
    wake_r, wake_w = os.pipe()
    ready_r, ready_w = os.pipe()  # workers write their pid here once ready
    life_r, life_w = (None, None) if USE_PDEATHSIG else os.pipe()
    for fd in (wake_r, wake_w, ready_r):
        os.set_blocking(fd, False)
    signalled: set[int] = set()
    alive: dict[int, _Worker] = {}
    due: list[float] = []  # when to start the next replacements
    failed_starts = deaths_in_a_row = 0
    status = 0

    def on_signal(signum, frame) -> None:
        signalled.add(signum)

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:
            _worker(serve, parent, ready_w, life_r,
                    close=[fd for fd in (wake_r, wake_w, ready_r, life_w) if fd is not None])
        alive[pid] = _Worker(time.monotonic())

    handlers = {s: signal.signal(s, on_signal)
                for s in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT)}
    old_wakeup = signal.set_wakeup_fd(wake_w)
    try:
        for _ in range(workers):
            spawn()
        while alive or due:  # due: replacements still to start (every worker may be dead)
            now = time.monotonic()
            if due and not (signal.SIGTERM in signalled or signal.SIGINT in signalled):
                timeout = max(0.0, min(due) - now)
            else:
                timeout = None
            select.select([wake_r, ready_r], [], [], timeout)
            with contextlib.suppress(BlockingIOError):
                while os.read(wake_r, 512):
                    pass
            stopping = signal.SIGTERM in signalled or signal.SIGINT in signalled
            if stopping:
                due.clear()
                for pid, w in alive.items():
                    if not w.told_to_stop:
                        w.told_to_stop = True
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGTERM)
            dead = _reap()
            # Read after reaping: a dead worker's "ready" was written before
            # it died, so it is in the pipe by now.
            for pid in _read_pids(ready_r):
                if pid in alive:
                    alive[pid].ready = True
                    failed_starts = 0
            now = time.monotonic()
            for pid, code in dead:
                w = alive.pop(pid, None)
                if w is None or stopping:
                    continue
                deaths_in_a_row = deaths_in_a_row + 1 if now - w.started < STABLE_S else 1
                delay = backoff_s(deaths_in_a_row)
                if w.ready:
                    log.warning("worker %d exited (%d) after it served; starting another%s",
                                pid, code, f" in {delay:.1f} s" if delay else "")
                else:
                    failed_starts += 1
                    log.error("worker %d exited (%d) before it was ready to serve", pid, code)
                due.append(now + delay)
            if stopping:
                continue
            if failed_starts >= MAX_FAILED_STARTS and not any(w.ready for w in alive.values()):
                log.error("workers cannot start (%d failed starts in a row); stopping",
                          failed_starts)
                status = 1
                signalled.add(signal.SIGTERM)
                os.write(wake_w, b"\0")
                continue
            for when in sorted(due):
                if when <= now:
                    due.remove(when)
                    spawn()
        return status
    finally:
        signal.set_wakeup_fd(old_wakeup)
        for s, h in handlers.items():
            signal.signal(s, h)
        for fd in (wake_r, wake_w, ready_r, ready_w, life_r, life_w):
            if fd is not None:
                os.close(fd)


def _reap() -> list[tuple[int, int]]:
    out = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        out.append((pid, os.waitstatus_to_exitcode(status)))
    return out


def _read_pids(fd: int) -> list[int]:
    data = b""
    with contextlib.suppress(BlockingIOError):
        while chunk := os.read(fd, 4096):
            data += chunk
    # Each write is 4 bytes, below PIPE_BUF: written and read whole.
    return [p for (p,) in _PID.iter_unpack(data[: len(data) // 4 * 4])]


def _worker(serve, parent: int, ready_w: int, life_r: int | None, close: list[int]) -> None:
    """The child side of a fork: never returns."""
    code = 0
    try:
        signal.set_wakeup_fd(-1)  # the parent's pipe: a worker's signals are its own
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for fd in close:
            os.close(fd)
        checkpoint("worker-start")  # tests: the parent may die right here
        _die_with_parent(parent, life_r)

        def ready() -> None:
            with contextlib.suppress(OSError):
                os.write(ready_w, _PID.pack(os.getpid()))

        serve(ready)
    except KeyboardInterrupt:
        pass
    except BaseException:  # report, then leave without cleanup
        log.exception("worker %d failed", os.getpid())
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _die_with_parent(parent: int, life_r: int | None) -> None:
    """Make this worker end when ``parent`` ends.

    On Linux the kernel does it (PR_SET_PDEATHSIG): it works whatever the
    worker is doing, even deep in a search that holds the GIL, where a
    watching thread could not run.  The signal is SIGKILL: nobody is left to
    answer to.  The kernel sends it when the *thread* that forked the worker
    ends; the parent forks from its main thread, which lives as long as it.
    Elsewhere a thread waits for the end of a pipe whose only writer is the
    parent: the kernel closes it when the parent dies.
    """
    if USE_PDEATHSIG:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        # The parent may have died before prctl took effect: then nothing
        # will send the signal, and the worker has been given to another
        # process (init, or a subreaper: not necessarily pid 1), so compare
        # with the parent's own pid.
        if os.getppid() != parent:
            os._exit(1)
        return

    def watch() -> None:
        # Returns b"" at once if the parent died before this started: no race.
        while os.read(life_r, 1):
            pass
        os._exit(1)

    threading.Thread(target=watch, name="arshif-parent-watch", daemon=True).start()
