"""Facet counts (source, year, month) of a whole result set.

Why not Whoosh's ``groupedby``: its FacetCollector visits every matching
document through the Python matcher tree and looks each facet value up per
document.  Facet values are read once per generation as a code per
document (search/generation.py), and a result set's counts are one
``np.bincount`` over its matching documents.
"""

from __future__ import annotations

import numpy as np

FACET_FIELDS = ("source", "year", "month")


def count_facets(gen, docnums: np.ndarray) -> dict[str, list[dict]]:
    """Counts of each source, year and month among ``docnums``."""
    out = {}
    for fieldname in FACET_FIELDS:
        if fieldname not in gen.schema:
            out[fieldname] = []
            continue
        codes, values = gen.texts(fieldname)
        counts = np.bincount(codes[docnums], minlength=len(values))
        items = [(values[i], int(counts[i])) for i in np.flatnonzero(counts) if values[i]]
        if fieldname == "source":
            items.sort(key=lambda kv: (-kv[1], kv[0]))
        else:
            items.sort()
        out[fieldname] = [{"value": k, "count": v} for k, v in items]
    return out
