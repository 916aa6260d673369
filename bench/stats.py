"""Percentiles and process-tree memory sampling for bench.py (stdlib only)."""

from __future__ import annotations

import os
import threading


def percentile(sorted_values: list[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def percentiles(values: list[float], ps=(50, 95, 99)) -> dict:
    s = sorted(values)
    out = {f"p{p}": round(percentile(s, p), 2) for p in ps}
    out["mean"] = round(sum(s) / len(s), 2) if s else float("nan")
    out["max"] = round(s[-1], 2) if s else float("nan")
    out["n"] = len(s)
    return out


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name may contain spaces and parentheses: split after the last ')'
        rest = stat[stat.rfind(b")") + 2:].split()
        kids.setdefault(int(rest[1]), []).append(int(name))
    return kids


def process_tree(pid: int) -> list[int]:
    kids = _children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, ()))
    return out


#: Bytes in a page, the unit of /proc/PID/statm.
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` in KB, 0 once it is gone.

    From ``statm``, the kernel's running counters.  Not ``smaps_rollup``:
    it walks the process's page tables under its memory-map lock (12 ms for
    a search process with a 1M-article index mapped), and the process's own
    mmap calls wait behind it: sampled every 0.2 s, it would slow the very
    queries being timed.  PSS is only in smaps, so it is not sampled."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * PAGE_BYTES // 1024
    except (OSError, IndexError, ValueError):
        return 0


class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process and all its descendants.

    ru_maxrss only gives the largest single process; with ``--jobs 2`` the
    writer's worker processes run at the same time as their parent, so the
    machine-wide peak is the sum.  Pages the workers share with their parent
    after fork() are counted once per process: the sum errs high.
    """

    def __init__(self, pid: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_rss_kb = 0
        self.peak_procs = 0
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    def sample(self) -> None:
        pids = process_tree(self.pid)
        self.peak_rss_kb = max(self.peak_rss_kb, sum(rss_kb(p) for p in pids))
        self.peak_procs = max(self.peak_procs, len(pids))

    def stop(self) -> dict:
        self._halt.set()
        self.join(5)
        return {"tree_peak_rss_mb": round(self.peak_rss_kb / 1024, 1),
                "tree_peak_processes": self.peak_procs}
