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
    """Counts of each source, year and month among ``docnums``."""
    out = {"source": _counts(gen, "source", docnums), "month": _counts(gen, "month", docnums)}
    years: dict[str, int] = {}
    for month, count in out["month"]:
        years[month[:4]] = years.get(month[:4], 0) + count
    out["year"] = sorted(years.items())
    out["source"].sort(key=lambda kv: (-kv[1], kv[0]))
    out["month"].sort()
    return {name: [{"value": k, "count": v} for k, v in out[name]] for name in FACET_FIELDS}


def _counts(gen, fieldname: str, docnums: np.ndarray) -> list[tuple[str, int]]:
    if fieldname not in gen.schema:
        return []
    codes, values = gen.texts(fieldname)
    counts = np.bincount(codes[docnums], minlength=len(values))
    return [(values[i], int(counts[i])) for i in np.flatnonzero(counts) if values[i]]
