"""Facet counts (source, year, month) of a whole result set.

Why not Whoosh's ``groupedby``: its FacetCollector visits every matching
document through the Python matcher tree and looks each facet value up per
document.  Facet values are read once per generation as a code per
document (search/generation.py), and a result set's counts are one
``np.bincount`` over its matching documents.  A year is its months' sum
(indexer/schema.py writes both from the same date), so the year column is
not read per query.
"""

from __future__ import annotations

import numpy as np

FACET_FIELDS = ("source", "year", "month")


def count_facets(gen, docnums: np.ndarray) -> dict[str, list[dict]]:
    """Counts of each source, year and month among ``docnums``: one gather
    and one ``np.bincount`` of the documents' joint (source, month) code."""
    fields = [f for f in ("source", "month") if f in gen.schema]
    if not fields:
        return {name: [] for name in FACET_FIELDS}
    codes, vocabs = gen.joint_texts(tuple(fields))
    joint = np.bincount(codes.take(docnums), minlength=int(np.prod([len(v) for v in vocabs])))
    joint = joint.reshape([len(v) for v in vocabs])
    found: dict[str, list[tuple[str, int]]] = {"source": [], "month": []}
    for axis, (name, vocab) in enumerate(zip(fields, vocabs, strict=True)):
        counts = joint.sum(axis=tuple(a for a in range(len(fields)) if a != axis))
        present = np.flatnonzero(counts)
        found[name] = [(vocab[i], count) for i, count in zip(present.tolist(),
                                                             counts.take(present).tolist(),
                                                             strict=True) if vocab[i]]
    return as_facets(found["source"], found["month"])


def as_facets(sources: list[tuple[str, int]], months: list[tuple[str, int]]
              ) -> dict[str, list[dict]]:
    """The facets of (value, count) pairs of sources and months, however
    counted (the cluster backend counts them with aggregations): sources by
    count, then name; years (their months' sum) and months in order; no
    empty value."""
    sources = sorted(((k, v) for k, v in sources if k), key=lambda kv: (-kv[1], kv[0]))
    months = sorted((k, v) for k, v in months if k)
    years: dict[str, int] = {}
    for month, count in months:
        years[month[:4]] = years.get(month[:4], 0) + count
    out = {"source": sources, "year": sorted(years.items()), "month": months}
    return {name: [{"value": k, "count": v} for k, v in out[name]] for name in FACET_FIELDS}
