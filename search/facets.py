"""Hit counts and facet counts (source, year, month) for a whole result set.

Why not Whoosh's ``groupedby``: its FacetCollector visits every matching
document through the Python matcher tree and looks each facet value up per
document, which was most of the search box's time at 58k articles.  Facet
values are read once per generation into code arrays (search/arrays.py) and
counted with one ``np.bincount`` over the matching documents.

Those documents come from the vectorized scorer (search/score.py); for the
query shapes only Whoosh runs (wildcards, prefixes, ranges on text fields),
``DocSets`` builds them with C-level set operations from the cached posting
arrays.
"""

from __future__ import annotations

import numpy as np
from whoosh import query as wq

FACET_FIELDS = ("source", "year", "month")


class DocSets:
    """The documents matching a query, unscored, over one searcher (one per thread)."""

    def __init__(self, searcher, arrays):
        self.searcher = searcher
        self.reader = searcher.reader()
        self.arrays = arrays

    # -- document sets -------------------------------------------------------
    def docset(self, q: wq.Query) -> set[int]:
        """The documents matching ``q`` (as Whoosh would match them, unscored)."""
        if isinstance(q, wq.Term):
            return self._term_docs(q.fieldname, q.text)
        if isinstance(q, wq.Or):
            docs: set[int] = set()
            for sub in q.subqueries:
                docs |= self.docset(sub)
            return docs
        if isinstance(q, wq.And):
            subs = sorted((self.docset(sub) for sub in q.subqueries), key=len)
            return set.intersection(*subs) if subs else set()
        if isinstance(q, wq.AndNot):
            return self.docset(q.a) - self.docset(q.b)
        if isinstance(q, wq.AndMaybe):
            return self.docset(q.a)
        if q is wq.NullQuery:
            return set()
        if isinstance(q, wq.MultiTerm):  # prefixes, wildcards (expansion capped in query.py)
            docs = set()
            for fieldname, btext in q.expanded_terms(self.reader):
                docs |= self._term_docs(fieldname, btext)
            return docs
        return set(q.docs(self.searcher))  # phrases, ranges, prefixes, Not...

    def _term_docs(self, fieldname: str, text) -> set[int]:
        return set(self.arrays.term(self.searcher, fieldname, text)[0].tolist())


def count_facets(arrays, searcher, docnums: np.ndarray) -> dict[str, list[dict]]:
    """Counts of each source, year and month among ``docnums``."""
    out = {}
    for fieldname in FACET_FIELDS:
        if fieldname not in arrays.schema:
            out[fieldname] = []
            continue
        codes, values = arrays.codes(searcher, fieldname)
        counts = np.bincount(codes[docnums], minlength=len(values))
        items = [(values[i], int(counts[i])) for i in np.flatnonzero(counts) if values[i]]
        if fieldname == "source":
            items.sort(key=lambda kv: (-kv[1], kv[0]))
        else:
            items.sort()
        out[fieldname] = [{"value": k, "count": v} for k, v in items]
    return out
