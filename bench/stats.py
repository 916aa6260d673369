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


def rss_pss_kb(pid: int) -> tuple[int, int]:
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


class TreeSampler(threading.Thread):
    """Samples the summed RSS and PSS of a process and all its descendants.

    ru_maxrss only gives the largest single process; with ``--jobs 2`` the
    writer's worker processes run at the same time as their parent, so the
    machine-wide peak is the sum.  PSS splits pages shared after fork() fairly
    between the processes; summed RSS would count them twice.
    """

    def __init__(self, pid: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_rss_kb = 0
        self.peak_pss_kb = 0
        self.peak_procs = 0
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            pids = process_tree(self.pid)
            rss = pss = 0
            for p in pids:
                r, s = rss_pss_kb(p)
                rss += r
                pss += s
            self.peak_rss_kb = max(self.peak_rss_kb, rss)
            self.peak_pss_kb = max(self.peak_pss_kb, pss)
            self.peak_procs = max(self.peak_procs, len(pids))
            self._halt.wait(self.interval)

    def stop(self) -> dict:
        self._halt.set()
        self.join(5)
        return {"tree_peak_rss_mb": round(self.peak_rss_kb / 1024, 1),
                "tree_peak_pss_mb": round(self.peak_pss_kb / 1024, 1),
                "tree_peak_processes": self.peak_procs}
