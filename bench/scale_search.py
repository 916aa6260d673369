"""Search latencies of arshif and Lucene on one size of the scale bench.

Usage (bench/scale.py does this): ``python bench/scale_search.py PARAMS.json RESULT.json``

Runs in its own process, so that its memory is a serving process's memory:
arshif's ``Engine`` is opened in-process, the Lucene harness runs as a child
JVM (``LuceneBench serve``) that answers "run FROM TO" requests and times each
query itself (the pipe is not in its figures).  Three runners take turns in
blocks of queries, in rotating order, as bench/workers.py does with two: Lucene
ranked top 100, arshif ranked top 100 (``Engine.ranked_ids``, or
``Engine.search`` without snippets and facets when a filter or sort is set),
and arshif's search box (``Engine.search``: top 10, snippets, facets).  Each
block thus sees the same minute of a shared machine on every runner.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

RUNNERS = ("lucene", "ranked", "searchbox")
#: Untimed passes before timing: the JVM compiles hot code only after
#: thousands of calls, so Lucene gets two; arshif's caches fill in one.
WARM_PASSES = {"lucene": 2, "ranked": 1, "searchbox": 1}
_MAPPING = re.compile(r"^[0-9a-f]+-[0-9a-f]+ ")


def mapped_rss_kb(pid: int | str, prefix: str) -> dict:
    """Resident memory of ``pid``, total and in file mappings under ``prefix``
    (the index: pages the kernel can drop and re-read; the rest is what
    serving really holds)."""
    total = under = 0
    current = ""
    with open(f"/proc/{pid}/smaps") as fh:
        for line in fh:
            if _MAPPING.match(line):
                parts = line.split(None, 5)
                current = parts[5].strip() if len(parts) > 5 else ""
            elif line.startswith("Rss:"):
                kb = int(line.split()[1])
                total += kb
                if current.startswith(prefix):
                    under += kb
    return {"rss_mb": round(total / 1024, 1), "index_mapped_mb": round(under / 1024, 1),
            "beyond_index_mb": round((total - under) / 1024, 1)}


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


class Arshif:
    """arshif's two modes over one index, opened once."""

    def __init__(self, home: str):
        t0 = time.perf_counter()
        from search.backend import Request
        from search.engine import Engine
        self.Request = Request
        self.engine = Engine(Path(home))
        self.engine.searcher()
        self.open_ms = round((time.perf_counter() - t0) * 1000, 1)

    def ranked(self, q: dict) -> int:
        """The ids of the top 100 by the search box's ranking (filters and
        sort included), as Lucene's side reads its top 100's ids."""
        return len(self.engine.ranked_ids(self.request(q), 100))

    def searchbox(self, q: dict) -> int:
        """What the search page does: top 10, highlighted snippets, facets."""
        return self.engine.search(self.request(q, per_page=10)).total

    def request(self, q: dict, **kw):
        return self.Request(q=q["q"], sort=q["sort"], date_from=_day(q["date_from"]),
                            date_to=_day(q["date_to"]),
                            sources=(q["source"],) if q["source"] else (), **kw)


class Lucene:
    """The LuceneBench serve child process."""

    def __init__(self, cmd: list[str]):
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     encoding="utf-8")
        self.ready = json.loads(self.proc.stdout.readline() or "{}")
        if not self.ready.get("ready"):
            raise RuntimeError(f"the Lucene harness did not start: {self.ready}")

    def run(self, lo: int, hi: int) -> dict:
        self.proc.stdin.write(f"run {lo} {hi}\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait(30)


def timed(fn, queries: list[dict], lo: int, hi: int) -> dict:
    """Wall and process-CPU time of ``fn`` per query, in ms, and its hit counts."""
    out: dict = {"ms": [], "cpu_ms": [], "hits": []}
    for q in queries[lo:hi]:
        t0, c0 = time.perf_counter(), time.process_time()
        hits = fn(q)
        out["ms"].append(round((time.perf_counter() - t0) * 1000, 3))
        out["cpu_ms"].append(round((time.process_time() - c0) * 1000, 3))
        out["hits"].append(hits)
    return out


def run_passes(queries: list[dict], arshif: Arshif, lucene: Lucene, repeats: int,
               block: int) -> dict:
    """Untimed passes (WARM_PASSES), then ``repeats`` timed passes in blocks;
    returns per runner the kind, times and hits of every query run."""
    calls = {"lucene": lucene.run,
             "ranked": lambda lo, hi: timed(arshif.ranked, queries, lo, hi),
             "searchbox": lambda lo, hi: timed(arshif.searchbox, queries, lo, hi)}
    blocks = [(lo, min(lo + block, len(queries))) for lo in range(0, len(queries), block)]
    for name in RUNNERS:
        for _ in range(WARM_PASSES[name]):
            for lo, hi in blocks:
                calls[name](lo, hi)
    out = {name: {"kind": [], "ms": [], "cpu_ms": [], "hits": []} for name in RUNNERS}
    for rep in range(repeats):
        for b, (lo, hi) in enumerate(blocks):
            turn = (b + rep) % len(RUNNERS)
            for name in RUNNERS[turn:] + RUNNERS[:turn]:
                got = calls[name](lo, hi)
                rec = out[name]
                rec["kind"] += [q["kind"] for q in queries[lo:hi]]
                for key in ("ms", "cpu_ms", "hits"):
                    rec[key] += got[key]
    return out


def main(argv: list[str]) -> int:
    p = json.loads(Path(argv[0]).read_text("utf-8"))
    queries = p["queries"]
    arshif = Arshif(p["arshif_home"])
    lucene = Lucene(p["lucene_cmd"])
    try:
        timings = run_passes(queries, arshif, lucene, p["repeats"], p["block"])
        memory = {"arshif": mapped_rss_kb("self", str(Path(p["arshif_home"]).resolve())),
                  "lucene": mapped_rss_kb(lucene.proc.pid, str(Path(p["lucene_index"]).resolve()))}
    finally:
        lucene.close()
    result = {"timings": timings, "memory": memory, "arshif_open_ms": arshif.open_ms,
              "lucene_open_ms": lucene.ready.get("open_ms"),
              "lucene_directory": lucene.ready.get("directory"),
              "lucene_docs": lucene.ready.get("docs")}
    Path(argv[1]).write_text(json.dumps(result), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
