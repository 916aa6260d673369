"""A search process's memory over many distinct queries (issue #16, point 7).

    .venv/bin/python scripts/memory_bound.py INDEX [--queries 100000] [--every 10000]

Runs distinct queries (one to three words taken from the index's own
headlines, in random combinations, some of them misspelt) through
``Engine.search`` (the search page's work: ranking, facets, highlighted
snippets, did-you-mean) in one process, and prints its resident memory
every ``--every`` queries, beside the bounds that hold it: the term cache
(``search.generation.CACHE_BYTES``) and the analyzer's word cache
(``indexer.analysis.MAX_CACHED_WORDS`` words).
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from indexer.analysis import MAX_CACHED_WORDS, find_words
from search import generation
from search.backend import Request
from search.budget import QueryTooCostly
from search.engine import Engine


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def vocabulary(engine: Engine, articles: int, rng: random.Random) -> list[str]:
    searcher = engine.searcher()
    n = searcher.doc_count_all()
    words: set[str] = set()
    for docnum in rng.sample(range(n), min(articles, n)):
        fields = searcher.stored_fields(docnum)
        words.update(w for w in find_words(fields.get("headline", "")) if len(w) > 2)
    return sorted(words)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("index", type=Path)
    ap.add_argument("--queries", type=int, default=100_000)
    ap.add_argument("--every", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    engine = Engine(args.index)
    words = vocabulary(engine, 20_000, rng)
    print(f"{len(words):,} headline words; term cache {generation.CACHE_BYTES / 2**20:,.0f} MB, "
          f"word cache {MAX_CACHED_WORDS:,} words; start {rss_mb():,.0f} MB", flush=True)
    seen: set[str] = set()
    started = time.perf_counter()
    refused = 0
    print("| queries | RSS MB | term cache MB | seconds |\n|---:|---:|---:|---:|")
    while len(seen) < args.queries:
        picked = rng.sample(words, rng.choice((1, 2, 2, 3)))
        if rng.random() < 0.02:  # a misspelling: did-you-mean runs
            w = picked[0]
            i = rng.randrange(len(w))
            picked[0] = w[:i] + w[i + 1:] + rng.choice("ابتثجحخ")
        q = " ".join(picked)
        if q in seen:
            continue
        seen.add(q)
        try:
            engine.search(Request(q=q))
        except QueryTooCostly:
            refused += 1
        if len(seen) % args.every == 0:
            gen = engine.view().gen
            print(f"| {len(seen):,} | {rss_mb():,.0f} | {gen.cached_bytes / 2**20:,.0f} | "
                  f"{time.perf_counter() - started:,.0f} |", flush=True)
    print(f"refused: {refused}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
