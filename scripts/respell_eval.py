"""How well "did you mean" (search/respell.py) respells: prints figures,
asserts nothing.

    .venv/bin/python scripts/respell_eval.py INDEX [--split tune|held-out|all] [--show]

Two sets, in ``scripts/data/`` (a query, the word or query meant, the split):

- ``respell_misspelt.tsv``: real misspellings found in the shared corpora
  (saudinewsnet and ant-multisource), each labelled by reading it with the
  word meant, in the analyzer's normalized spelling (``ديسمير`` ->
  ``ديسمبر``).  *True corrections*: the suggestion is the word meant.
- ``respell_correct.tsv``: ordinary queries, one to three consecutive words
  of headlines picked at random from the index (seeds 14 and 15), correctly
  spelled; the few whose headline itself holds a misspelling carry the
  query meant.  *False positives*: a suggestion on a query that needs none.

Each set is split in two: ``tune`` (what the thresholds were chosen on)
and ``held-out`` (looked at only to measure).  Suggestions are compared in
the analyzer's normalized spelling, so the shown hamza does not matter.
The CPU time of ``Engine.search`` (ranking, facets, snippets and the
did-you-mean) over the ordinary queries is printed too: what a search
costs, before and after a change of the respelling.

It runs on an older checkout too (PYTHONPATH=that checkout), so two
versions are compared on the same sets.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if not os.environ.get("PYTHONPATH"):  # else the checkout it names is measured
    sys.path.insert(0, str(HERE.parent))

from search.backend import Request  # noqa: E402
from search.engine import Engine  # noqa: E402

MISSPELT = HERE / "data" / "respell_misspelt.tsv"
CORRECT = HERE / "data" / "respell_correct.tsv"


def load(path: Path, split: str) -> list[tuple[str, str]]:
    """(query, meant) of one split ('all': both); meant is '' when the
    query needs no respelling."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = [row for row in csv.reader(f, delimiter="\t") if row and not row[0].startswith("#")]
    return [(q, meant) for q, meant, part in rows if split in ("all", part)]


def normalized(engine: Engine, text: str | None) -> str:
    if not text:
        return ""
    analyzer = engine.view().analyzer
    return " ".join(analyzer.analyze_word(word)[0] for word in text.split())


def suggestion(engine: Engine, query: str) -> str | None:
    return engine.search(Request(q=query, highlight=False, facets=False)).suggestion


def score(engine: Engine, rows: list[tuple[str, str]], show: bool) -> tuple[int, int, int]:
    """(needing a respelling: respelt as meant, queries needing one,
    queries needing none that got one) over ``rows``."""
    right = needing = wrong = 0
    for query, meant in rows:
        got = suggestion(engine, query)
        if meant:
            needing += 1
            ok = normalized(engine, got) == normalized(engine, meant)
            right += ok
            if show and not ok:
                print(f"    missed  {query}  ->  {got or '-'}  (meant {meant})")
        elif got:
            wrong += 1
            if show:
                print(f"    wrong   {query}  ->  {got}")
    return right, needing, wrong


def cpu_ms(engine: Engine, queries: list[str]) -> list[float]:
    for q in queries:  # warm, as a running server's caches are
        engine.search(Request(q=q))
    out = []
    for q in queries:
        started = time.thread_time()
        engine.search(Request(q=q))
        out.append((time.thread_time() - started) * 1000)
    return sorted(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index", type=Path)
    parser.add_argument("--split", choices=("tune", "held-out", "all"), default="all")
    parser.add_argument("--show", action="store_true", help="list every miss and false positive")
    parser.add_argument("--no-timing", action="store_true")
    args = parser.parse_args()
    engine = Engine(args.index)
    splits = ("tune", "held-out") if args.split == "all" else (args.split,)
    for split in splits:
        misspelt, correct = load(MISSPELT, split), load(CORRECT, split)
        print(f"[{split}]")
        right, needing, wrong = score(engine, misspelt, args.show)
        print(f"  true corrections: {right} of {needing} misspellings ({right / needing:.0%})")
        typo_right, typos, wrong = score(engine, correct, args.show)
        fine = len(correct) - typos
        print(f"  false positives: {wrong} of {fine} correct queries ({wrong / fine:.1%})")
        if typos:
            print(f"  (ordinary queries with a misspelling: {typo_right} of {typos}"
                  " respelt as meant)")
    if not args.no_timing:
        queries = [q for q, _ in load(CORRECT, "all")]
        ms = cpu_ms(engine, queries)
        print(f"search CPU time over {len(ms)} ordinary queries: p50 {statistics.median(ms):.2f} ms"
              f"  p95 {ms[int(0.95 * len(ms))]:.2f} ms  mean {statistics.fmean(ms):.2f} ms")


if __name__ == "__main__":
    main()
