"""Score a parsed query over the whole index at once (term at a time).

The same scores and the same matches as Whoosh's matcher tree for the query
shapes the search box produces (words over several fields, OR / AND / NOT,
the widening views, source and date filters), computed with numpy over the
cached per-term arrays of search/arrays.py.  ``evaluate`` returns None for
any other shape (phrases, wildcards, ranges on other fields...), and the
engine then lets Whoosh run the query as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from whoosh import query as wq

from search.arrays import IndexArrays


@dataclass
class Match:
    """Scores of every document (0 where unmatched) and which ones match."""

    scores: np.ndarray
    mask: np.ndarray

    @property
    def count(self) -> int:
        return int(np.count_nonzero(self.mask))


class Unsupported(Exception):
    """A query node the vectorized path does not implement."""


def evaluate(q: wq.Query, arrays: IndexArrays, searcher) -> Match | None:
    """``q``'s matches and scores, or None when Whoosh must run it."""
    try:
        return _eval(q, arrays, searcher)
    except Unsupported:
        return None


def restrict(match: Match, q: wq.Query, arrays: IndexArrays, searcher) -> Match | None:
    """``match`` limited to the documents of the filter query ``q``."""
    try:
        keep = _eval(q, arrays, searcher).mask
    except Unsupported:
        return None
    mask = match.mask & keep
    return Match(np.where(mask, match.scores, 0.0), mask)


def top(match: Match, limit: int, order: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(docnums, scores) of the first ``limit`` matches.

    By score, ties by document number as Whoosh's collector breaks them; or,
    with ``order`` (a sort key per document, e.g. from
    ``IndexArrays.date_order``), by that key, ties again by document number.
    """
    docs = np.flatnonzero(match.mask)
    key = -match.scores[docs] if order is None else order[docs]
    if len(docs) > limit:
        # Partitioning finds the cut in linear time; keep everything tied with it.
        kth = np.partition(key, limit - 1)[limit - 1]
        keep = key <= kth
        docs, key = docs[keep], key[keep]
    chosen = docs[np.lexsort((docs, key))][:limit]
    return chosen, match.scores[chosen]


# -- the query tree ----------------------------------------------------------

def _eval(q: wq.Query, arrays: IndexArrays, searcher) -> Match:
    handler = _HANDLERS.get(type(q))
    if handler is None:
        if q is wq.NullQuery:
            return _empty(arrays)
        raise Unsupported(type(q).__name__)
    return handler(q, arrays, searcher)


def _empty(arrays: IndexArrays) -> Match:
    n = arrays.doc_count_all
    return Match(np.zeros(n), np.zeros(n, dtype=bool))


def _term(q: wq.Term, arrays: IndexArrays, searcher) -> Match:
    docnums, contrib = arrays.term(searcher, q.fieldname, q.text)
    m = _empty(arrays)
    m.scores[docnums] = contrib * q.boost if q.boost != 1.0 else contrib
    m.mask[docnums] = True
    return m


def _or(q: wq.Or, arrays: IndexArrays, searcher) -> Match:
    if getattr(q, "scale", None):
        # Whoosh's coordination bonus (CoordMatcher) recounts the query's
        # terms whenever its matcher tree drops an exhausted branch, so its
        # scores depend on document order; only Whoosh can reproduce them.
        raise Unsupported("Or with a coordination bonus")
    if len(q.subqueries) == 1:  # Whoosh then ignores the Or and its boost
        return _eval(q.subqueries[0], arrays, searcher)
    out = _empty(arrays)
    for sub in q.subqueries:
        if type(sub) is wq.Term:  # the common case, without a temporary array
            docnums, contrib = arrays.term(searcher, sub.fieldname, sub.text)
            out.scores[docnums] += contrib * sub.boost if sub.boost != 1.0 else contrib
            out.mask[docnums] = True
        else:
            m = _eval(sub, arrays, searcher)
            out.scores += m.scores
            out.mask |= m.mask
    return _boost(out, q.boost)


def _and(q: wq.And, arrays: IndexArrays, searcher) -> Match:
    if not q.subqueries:
        return _empty(arrays)
    if len(q.subqueries) == 1:
        return _eval(q.subqueries[0], arrays, searcher)
    subs = [_eval(sub, arrays, searcher) for sub in q.subqueries]
    mask = subs[0].mask.copy()
    for m in subs[1:]:
        mask &= m.mask
    return _boost(Match(np.where(mask, sum(m.scores for m in subs), 0.0), mask), q.boost)


def _and_not(q: wq.AndNot, arrays: IndexArrays, searcher) -> Match:
    a = _eval(q.a, arrays, searcher)
    mask = a.mask & ~_eval(q.b, arrays, searcher).mask
    return Match(np.where(mask, a.scores, 0.0), mask)


def _and_maybe(q: wq.AndMaybe, arrays: IndexArrays, searcher) -> Match:
    a = _eval(q.a, arrays, searcher)
    b = _eval(q.b, arrays, searcher)
    return Match(np.where(a.mask, a.scores + b.scores, 0.0), a.mask)


def _require(q: wq.Require, arrays: IndexArrays, searcher) -> Match:
    a = _eval(q.a, arrays, searcher)
    mask = a.mask & _eval(q.b, arrays, searcher).mask
    return Match(np.where(mask, a.scores, 0.0), mask)


def _phrase(q: wq.Phrase, arrays: IndexArrays, searcher) -> Match:
    """Scored as Whoosh scores it: the sum of its words' BM25F scores."""
    field = arrays.schema[q.fieldname] if q.fieldname in arrays.schema else None
    if field is None or not q.words:
        return _empty(arrays)
    if not field.format or not field.format.supports("positions") or q.slop < 1:
        raise Unsupported("phrase without positions")
    reader = searcher.reader()
    if any((q.fieldname, w) not in reader for w in q.words):
        return _empty(arrays)
    docs = arrays.phrase(searcher, q.fieldname, list(q.words), q.slop)
    m = _empty(arrays)
    for word in q.words:
        ids, contrib = arrays.term(searcher, q.fieldname, word)
        m.scores[docs] += contrib[np.searchsorted(ids, docs)]
    m.mask[docs] = True
    return _boost(m, q.boost)


def _numeric_range(q: wq.NumericRange, arrays: IndexArrays, searcher) -> Match:
    """A date range (the date filter, ``التاريخ:[...]``), scored as a constant."""
    if not arrays.has_column(q.fieldname) or not getattr(q, "constantscore", False):
        raise Unsupported("range without a column")
    field = arrays.schema[q.fieldname]
    values, present = arrays.raw_column(searcher, q.fieldname)
    mask = arrays.live & present
    start = field.prepare_number(q.start) if q.start is not None else None
    end = field.prepare_number(q.end) if q.end is not None else None
    if start is not None:
        mask &= values > start if q.startexcl else values >= start
    if end is not None:
        mask &= values < end if q.endexcl else values <= end
    return Match(np.where(mask, float(q.boost), 0.0), mask)


def _boost(m: Match, boost: float) -> Match:
    if boost != 1.0:
        m.scores *= boost
    return m


_HANDLERS = {
    wq.Term: _term,
    wq.Or: _or,
    wq.And: _and,
    wq.AndNot: _and_not,
    wq.AndMaybe: _and_maybe,
    wq.Require: _require,
    wq.Phrase: _phrase,
    wq.NumericRange: _numeric_range,
    wq.DateRange: _numeric_range,
}
