"""EXPERIMENT, not part of bench.py: term-at-a-time BM25F over cached numpy arrays.

Feasibility check for docs/performance.md (recommendation S1): read each query
term's postings once through Whoosh's public reader API, keep them as numpy
arrays, and score a query with vectorized BM25F plus Whoosh's coordination
bonus (OrGroup.factory(0.9)), facets with ``np.bincount``.  Compares its top 10
with ``Engine.ranked_ids`` and prints latencies with a cold and a warm cache.

Needs numpy, which is NOT a project dependency (it is in the dev venv through
the eval extras).  Usage, on an index the bench kept (``--keep``):

    .venv/bin/python bench/proto_taat.py --index /tmp/benchrun/full/arshif-j1 \
        --queries /tmp/benchrun/full/queries.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

try:
    import numpy as np
except ImportError:  # pragma: no cover
    raise SystemExit("proto_taat.py needs numpy (pip install numpy); bench.py does not")

from search.engine import BM25_B, BM25_K1, Engine
from search.query import DEFAULT_FIELD_BOOSTS, OR_BONUS, positive_terms


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--queries", type=Path, required=True)
    args = ap.parse_args()
    qs = [q for q in json.loads(args.queries.read_text("utf-8"))
          if q["kind"] in ("word1", "words2_4", "words6plus")]
    engine = Engine(args.index)
    searcher = engine.searcher()
    reader = searcher.reader()
    n_docs = reader.doc_count_all()
    fields = {f: b for f, b in DEFAULT_FIELD_BOOSTS.items() if f in reader.schema}
    t0 = time.perf_counter()
    lens = {f: np.array([reader.doc_field_length(i, f, 0) or 0 for i in range(n_docs)],
                        dtype=np.float64) for f in fields}
    avg = {f: max(float(lens[f].mean()), 1e-9) for f in fields}
    col = reader.column_reader("source")
    values = [col[i] for i in range(n_docs)]
    codes = {v: k for k, v in enumerate(sorted(set(values)))}
    source = np.array([codes[v] for v in values], dtype=np.int32)
    print(f"start-up (field lengths, facet codes): {time.perf_counter() - t0:.2f} s")
    cache: dict = {}

    def postings(field: str, text: str):
        key = (field, text)
        if key not in cache:
            if key in reader:
                m = reader.postings(field, text)
                ids, tfs = [], []
                while m.is_active():
                    ids.append(m.id())
                    tfs.append(m.weight())
                    m.next()
                cache[key] = (np.array(ids, dtype=np.int64), np.array(tfs, dtype=np.float64),
                              reader.doc_frequency(field, text))
            else:
                cache[key] = None
        return cache[key]

    def search(text: str, k1: float = BM25_K1, b: float = BM25_B):
        parsed = engine.parse(text)
        scores = np.zeros(n_docs)
        count = np.zeros(n_docs)
        nterms = 0
        for field, term in positive_terms(parsed.query):
            p = postings(field, term) if field in fields else None
            if p is None:
                continue
            ids, tf, df = p
            idf = np.log(n_docs / (df + 1)) + 1  # Whoosh's idf
            length = lens[field][ids]
            scores[ids] += fields[field] * idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg[field]))
            count[ids] += 1
            nterms += 1
        matched = np.flatnonzero(count)
        if nterms > 1 and OR_BONUS is not None:  # Whoosh's CoordMatcher ("SQR" bonus)
            s = OR_BONUS
            scores[matched] = (scores[matched] + (count[matched] - 1) / (nterms - s) ** 2) * (
                (nterms - 1) / nterms)
        top = matched[np.argsort(-scores[matched], kind="stable")[:10]]
        facets = np.bincount(source[matched], minlength=len(codes))
        return top, len(matched), facets

    for label in ("cold cache", "warm cache"):
        lat: dict = {}
        for q in qs:
            t = time.perf_counter()
            search(q["q"])
            lat.setdefault(q["kind"], []).append((time.perf_counter() - t) * 1000)
        summary = {k: f"p50 {sorted(v)[len(v) // 2]:.1f} / p95 {sorted(v)[int(len(v) * .95)]:.1f} ms"
                   for k, v in lat.items()}
        print(f"{label}: {summary} ({len(cache)} cached terms)")
    overlap = []
    for q in qs:
        if q["kind"] == "word1":
            continue
        top, _, _ = search(q["q"])
        mine = {searcher.stored_fields(int(i))["id"] for i in top}
        theirs = {h[0] for h in engine.ranked_ids(q["q"], 10)}
        overlap.append(len(mine & theirs) / max(len(theirs), 1))
    print(f"top-10 overlap with Engine.ranked_ids: {sum(overlap) / len(overlap):.3f} over {len(overlap)} queries")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
