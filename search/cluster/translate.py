"""A parsed query (a Whoosh query tree, search/query.py) as OpenSearch's query DSL.

The query is parsed by the very parser the embedded backend uses, over the
same schema, so its terms are already arshif's (stems, views, widening);
this only maps each node to the clause that matches and scores the same
documents: a term to ``term``, Or to ``bool.should`` (scores add up, as
Whoosh's Or), And to ``bool.must``, AndNot and Not to ``must_not``, a phrase
to ``match_phrase`` (the same positions: search/cluster/mapping.py), a
phrase with prefix words to ``span_near``, date ranges to ``range``.
``None`` stands for a query that matches nothing.

Prefixes and wildcards are searched as their 100 best expansions
(``top_terms_100``), scored like terms, as the embedded backend searches
its 100 most frequent ones: the expansions chosen may differ.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from whoosh import query as wq
from whoosh.util.times import long_to_datetime

from search.query import PrefixPhrase

#: How many terms a prefix, wildcard or fuzzy term expands to (search/matching.py).
EXPANSIONS = 100


class Untranslatable(TypeError):
    """A query node the cluster backend has no clause for."""


def to_dsl(q: wq.Query) -> dict | None:
    handler = _HANDLERS.get(type(q))
    if handler is None:
        handler = next((h for cls, h in _HANDLERS.items() if isinstance(q, cls)), None)
    if handler is None:
        if q is wq.NullQuery:
            return None
        raise Untranslatable(f"no OpenSearch clause for {type(q).__name__} queries")
    return handler(q)


def _boosted(body: dict, boost: float) -> dict:
    """``body`` (a clause's parameters) with the query's boost, when it has one."""
    return {**body, "boost": boost} if boost != 1.0 else body


def _term(q: wq.Term) -> dict:
    return {"term": {q.fieldname: _boosted({"value": q.text}, q.boost)}}


def _or(q: wq.Or) -> dict | None:
    children = [c for c in (to_dsl(sub) for sub in q.subqueries) if c is not None]
    if not children:
        return None
    if len(children) == 1 and q.boost == 1.0:
        return children[0]
    return {"bool": _boosted({"should": children, "minimum_should_match": 1}, q.boost)}


def _and(q: wq.And) -> dict | None:
    children = [to_dsl(sub) for sub in q.subqueries]
    if any(c is None for c in children):
        return None
    return {"bool": _boosted({"must": children}, q.boost)}


def _and_not(q: wq.AndNot) -> dict | None:
    positive, negative = to_dsl(q.a), to_dsl(q.b)
    if positive is None or negative is None:
        return positive
    return {"bool": {"must": [positive], "must_not": [negative]}}


def _and_maybe(q: wq.AndMaybe) -> dict | None:
    required, optional = to_dsl(q.a), to_dsl(q.b)
    if required is None or optional is None:
        return required
    return {"bool": {"must": [required], "should": [optional]}}


def _require(q: wq.Require) -> dict | None:
    scored, required = to_dsl(q.a), to_dsl(q.b)
    if scored is None or required is None:
        return None
    return {"bool": {"must": [scored], "filter": [required]}}


def _not(q: wq.Not) -> dict:
    excluded = to_dsl(q.query)
    every = {"match_all": {}}
    return every if excluded is None else {"bool": {"must": [every], "must_not": [excluded]}}


def _every(q: wq.Every) -> dict:
    if q.fieldname in (None, "", "*"):
        return {"match_all": {}}
    return {"exists": {"field": q.fieldname}}


def _phrase(q: wq.Phrase) -> dict | None:
    if not q.words:
        return None
    if len(q.words) == 1:
        return _term(wq.Term(q.fieldname, q.words[0], boost=q.boost))
    # Whoosh's slop 1 is adjacent words; Lucene's is 0.
    body = {"query": " ".join(q.words), "slop": max(0, q.slop - 1)}
    return {"match_phrase": {q.fieldname: _boosted(body, q.boost)}}


def _prefix_phrase(q: PrefixPhrase) -> dict:
    """A span of the phrase's words in order, a prefix word as a span of its
    expansions (the same 100 best as a loose prefix's)."""
    clauses = [{"span_term": {q.fieldname: word}} if prefix is None else
               {"span_multi": {"match": {"prefix": {q.fieldname: {
                   "value": prefix, "rewrite": f"top_terms_{EXPANSIONS}"}}}}}
               for word, prefix in zip(q.words, q.prefixes, strict=True)]
    # Whoosh's slop 1 is adjacent words; a span's is 0.
    return {"span_near": _boosted({"clauses": clauses, "slop": max(0, q.slop - 1),
                                   "in_order": True}, q.boost)}


def _prefix(q: wq.Prefix) -> dict:
    if not q.text:
        return _every(wq.Every(q.fieldname))
    return {"prefix": {q.fieldname: _boosted(
        {"value": q.text, "rewrite": f"top_terms_{EXPANSIONS}"}, q.boost)}}


def _wildcard(q: wq.Wildcard) -> dict:
    if set(q.text) <= {"*"}:
        return _every(wq.Every(q.fieldname))
    return {"wildcard": {q.fieldname: _boosted(
        {"value": q.text, "rewrite": f"top_terms_{EXPANSIONS}"}, q.boost)}}


def _fuzzy(q: wq.FuzzyTerm) -> dict:
    return {"fuzzy": {q.fieldname: _boosted(
        {"value": q.text, "fuzziness": q.maxdist, "prefix_length": q.prefixlength,
         "max_expansions": EXPANSIONS}, q.boost)}}


def _range_value(value):
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    return value


#: Fields of dates: the parser gives their ranges as Whoosh's longs.
DATE_FIELDS = frozenset({"date"})


def _range(q) -> dict:
    bounds = {}
    start, end = q.start, q.end
    if q.fieldname in DATE_FIELDS and not isinstance(q, wq.DateRange):
        start, end = (None if v is None else long_to_datetime(v) for v in (start, end))
    if isinstance(q, wq.DateRange):
        start, end = q.startdate, q.enddate
    if isinstance(end, datetime) and not q.endexcl and end.second == 59 and (
            end.microsecond == 999999):
        # The end of a day or month (the date filter, ``date:2023-09``): the
        # next one, excluded (OpenSearch's dates are to the millisecond).
        bounds["lt"] = _range_value(end.replace(microsecond=0) + timedelta(seconds=1))
        end = None
    if start is not None:
        bounds["gt" if q.startexcl else "gte"] = _range_value(start)
    if end is not None:
        bounds["lt" if q.endexcl else "lte"] = _range_value(end)
    return {"range": {q.fieldname: bounds}}


def _constant(q) -> dict | None:
    inner = to_dsl(q.child)
    return None if inner is None else {"constant_score": {"filter": inner, "boost": q.score}}


_HANDLERS = {
    wq.Term: _term,
    wq.Or: _or,
    wq.And: _and,
    wq.AndNot: _and_not,
    wq.AndMaybe: _and_maybe,
    wq.Require: _require,
    wq.Not: _not,
    wq.Every: _every,
    PrefixPhrase: _prefix_phrase,
    wq.Phrase: _phrase,
    wq.Prefix: _prefix,
    wq.Wildcard: _wildcard,
    wq.FuzzyTerm: _fuzzy,
    wq.DateRange: _range,
    wq.NumericRange: _range,
    wq.TermRange: _range,
    wq.ConstantScoreQuery: _constant,
}
