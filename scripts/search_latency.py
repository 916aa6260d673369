"""The search box's latency over an index: p50 and p95 of ``Engine.search``.

    .venv/bin/python scripts/search_latency.py INDEX --make QUERIES.tsv [--n 100]
    .venv/bin/python scripts/search_latency.py INDEX --queries QUERIES.tsv

``--make`` writes queries taken from the index's headlines (articles chosen
by sorted id with a fixed seed, so two indexes of the same archive give the
same queries): one word, two to four words, a two-word phrase, and words
sorted by date.  ``--queries`` runs them through the search box's work (top
10, highlighted snippets, facets, stories) after one untimed pass, and
prints the percentiles per kind.  docs/stories.md has the figures with and
without stories.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from search.backend import Request
from search.engine import Engine

_WORD = re.compile(r"[\u0621-\u064a]{3,}")


def make(engine: Engine, n: int, seed: int) -> list[tuple[str, str, str]]:
    searcher = engine.searcher()
    headlines = sorted((fields["id"], fields.get("headline", ""))
                       for _, fields in searcher.iter_docs())
    rng = random.Random(seed)
    rng.shuffle(headlines)
    queries = []
    for _, headline in headlines:
        words = _WORD.findall(headline)
        if len(words) < 4:
            continue
        start = rng.randrange(len(words) - 3)
        queries += [("word1", rng.choice(words), "relevance"),
                    ("words2_4", " ".join(words[start:start + rng.randint(2, 4)]), "relevance"),
                    ("phrase2", f'"{words[start]} {words[start + 1]}"', "relevance"),
                    ("newest", " ".join(words[start:start + 2]), "newest")]
        if len(queries) >= 4 * n:
            break
    return queries


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def run(engine: Engine, queries: list[tuple[str, str, str]]) -> dict[str, list[float]]:
    for _, q, sort in queries:  # untimed: fills the caches, as a serving process has them
        engine.search(Request(q=q, sort=sort))
    times: dict[str, list[float]] = {}
    for kind, q, sort in queries:
        started = time.perf_counter()
        engine.search(Request(q=q, sort=sort))
        elapsed = (time.perf_counter() - started) * 1000
        times.setdefault(kind, []).append(elapsed)
        times.setdefault("all", []).append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("index", type=Path)
    parser.add_argument("--make", type=Path, help="write queries from the index's headlines")
    parser.add_argument("--queries", type=Path, help="time these queries")
    parser.add_argument("--n", type=int, default=100, help="headlines to take queries from")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    engine = Engine(args.index)
    if args.make:
        lines = [f"{kind}\t{q}\t{sort}" for kind, q, sort in make(engine, args.n, args.seed)]
        args.make.write_text("\n".join(lines) + "\n", "utf-8")
        print(f"{len(lines)} queries -> {args.make}")
        return
    queries = [tuple(line.split("\t")) for line in args.queries.read_text("utf-8").splitlines()
               if line.strip()]
    for kind, values in run(engine, queries).items():
        print(f"{kind:10} n={len(values):4}  p50 {percentile(values, 50):6.1f} ms  "
              f"p95 {percentile(values, 95):6.1f} ms")


if __name__ == "__main__":
    main()
