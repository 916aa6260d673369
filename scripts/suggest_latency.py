"""Latency of the search box's completions and of the search with its
did-you-mean (issue #14, point 2): prints figures, asserts nothing.

    .venv/bin/python scripts/suggest_latency.py INDEX [--queries 300] [--seed 14]

Ordinary queries are one to three consecutive words of headlines picked at
random from the index itself.  Each is searched once to warm the caches,
as a running server's are, then timed through ``Engine.search`` (the
search page's work: ranking, facets, snippets, did-you-mean).  The
completions are timed for every keystroke of the first 100 queries
(each prefix of the text), through ``GET /api/suggest`` in the Flask app
(JSON included) and through ``Engine.complete`` alone.  Wall-clock and
CPU times are both printed: on a machine other processes share, the CPU
time is what compares two runs.

It runs on an older checkout too (PYTHONPATH=that checkout): the
completions are then skipped, so the search can be compared before and
after on the same queries.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from indexer.analysis import find_words
from search.backend import Request
from search.engine import Engine


def sample_queries(engine: Engine, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    searcher = engine.searcher()
    docs = engine.view().live.generation.live_docs
    queries: list[str] = []
    while len(queries) < count:
        headline = searcher.stored_fields(int(rng.choice(docs))).get("headline", "")
        words = [w for w in find_words(headline) if len(w) > 1]
        if words:
            n = rng.randint(1, min(3, len(words)))
            start = rng.randint(0, len(words) - n)
            queries.append(" ".join(words[start:start + n]))
    return queries


def timed(fn, items, clock=time.perf_counter) -> list[float]:
    out = []
    for item in items:
        started = clock()
        fn(item)
        out.append((clock() - started) * 1000)
    return out


def report(label: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    print(f"{label:<40} n={len(ms):>5}  p50 {statistics.median(ms):6.2f} ms  "
          f"p95 {p95:6.2f} ms  max {ms[-1]:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index", type=Path)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    engine = Engine(args.index)
    queries = sample_queries(engine, args.queries, args.seed)
    for q in queries:  # warm: a running server's caches hold the frequent terms
        engine.search(Request(q=q))
    report("search (Engine.search)", timed(lambda q: engine.search(Request(q=q)), queries))
    # CPU time of this thread: what a query costs when other processes share the cores.
    report("search, CPU time (Engine.search)",
           timed(lambda q: engine.search(Request(q=q)), queries, time.thread_time))
    suggested = [(q, engine.search(Request(q=q)).suggestion) for q in queries]
    offered = [(q, s) for q, s in suggested if s]
    print(f"did you mean offered on {len(offered)} of {len(queries)} queries:")
    for q, s in offered[:10]:
        print(f"    {q}  ->  {s}")
    if not hasattr(engine, "complete"):
        print("completions: not in this checkout")
        return
    from web import create_app

    client = create_app(backend=engine).test_client()
    keystrokes = [q[:n] for q in queries[:100] for n in range(1, len(q) + 1)]
    for text in keystrokes:  # warm, as above
        engine.complete(text)
    report("completions (GET /api/suggest)",
           timed(lambda t: client.get("/api/suggest", query_string={"q": t}), keystrokes))
    report("completions (Engine.complete)", timed(engine.complete, keystrokes))
    report("completions, CPU time (GET /api/suggest)",
           timed(lambda t: client.get("/api/suggest", query_string={"q": t}), keystrokes,
                 time.thread_time))


if __name__ == "__main__":
    main()
