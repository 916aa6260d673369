"""Ranked search over the live index: filters, sorting, facets, suggestions.

``Engine`` keeps one open Whoosh searcher per thread and reopens it when
``arshif index`` has published a new generation, so a running server answers
from the new index without a restart (and never pays to open a searcher per
request).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
from whoosh import query as wq, scoring, sorting
from whoosh.collectors import FilterCollector, TimeLimit, TimeLimitCollector

from indexer import store
from search import highlight, score
from search.arrays import IndexArrays
from search.facets import DocSets, count_facets
from search.query import MAX_QUERY_CHARS, Parsed, make_parser, parse, positive_terms

SORTS = ("relevance", "newest", "oldest")
#: The limits of a request, one set for every way in: the web page, the API
#: and ``arshif search`` all check these same values (web/params.py in Arabic
#: first).  MAX_QUERY_CHARS comes from search.query, whose parser reads no
#: more: a longer query is refused rather than silently cut.
MAX_PAGE = 100  # deepest page served: bounds the cost of a query
MAX_PER_PAGE = 100
TIME_LIMIT_S = 5.0  # per search; past it, the results collected so far are returned

#: BM25F parameters (see docs/quality.md for how they were chosen).
#: Low K1 (term frequency saturates fast: matching more of the query's words
#: beats repeating one) and full length normalization won on both test sets.
BM25_B = 1.0
BM25_K1 = 0.5


class SearchError(ValueError):
    """A request that cannot be answered (bad page, bad date...): a 400, exit 2."""


@dataclass
class Request:
    q: str = ""
    page: int = 1
    per_page: int = 10
    date_from: date | None = None
    date_to: date | None = None
    source: str | None = None
    sort: str = "relevance"
    highlight: bool = True
    facets: bool = True

    def check(self) -> None:
        if len(self.q) > MAX_QUERY_CHARS:
            raise SearchError(f"the query is too long: at most {MAX_QUERY_CHARS} characters")
        if self.sort not in SORTS:
            raise SearchError(f"sort must be one of {', '.join(SORTS)}")
        if not 1 <= self.page <= MAX_PAGE:
            raise SearchError(f"page must be between 1 and {MAX_PAGE}")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise SearchError(f"page size must be between 1 and {MAX_PER_PAGE}")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise SearchError("the start date is after the end date")


@dataclass
class Hit:
    id: str
    rank: int
    score: float
    headline: str
    headline_html: str
    snippet_html: str
    date: str | None
    source: str


@dataclass
class Result:
    query: str
    total: int
    page: int
    pages: int
    per_page: int
    took_ms: float
    hits: list[Hit] = field(default_factory=list)
    facets: dict = field(default_factory=dict)
    suggestion: str | None = None
    partial: bool = False  # the time limit cut the search short
    message: str | None = None  # e.g. why a query found nothing

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Article:
    """An article as the article page and ``/api/article`` show it."""

    id: str
    headline: str
    body: str
    date: str | None
    date_text: str
    source: str
    keywords: str
    related: list[str]
    parent: str
    body_html: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _iso(value) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    return None


def date_filter(date_from: date | None, date_to: date | None) -> wq.Query | None:
    if not date_from and not date_to:
        return None
    start = datetime.combine(date_from, datetime.min.time()) if date_from else None
    end = datetime.combine(date_to, datetime.max.time()) if date_to else None
    return wq.DateRange("date", start, end)


class Engine:
    """Search one index home; safe to share between threads."""

    def __init__(self, home: Path, field_boosts: dict | None = None, conjunctive: bool = False,
                 b: float = BM25_B, k1: float = BM25_K1):
        self.home = Path(home)
        self.field_boosts = field_boosts
        self.conjunctive = conjunctive
        self.k1, self.b = k1, b
        self.weighting = scoring.BM25F(B=b, K1=k1)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._live = ("", None, None, None)  # (generation, index, parser, arrays), swapped as one
        self._current = store.CurrentName(self.home)

    # -- the live index ------------------------------------------------------
    def _current_index(self):
        """(name, index, parser, arrays) of the live generation, reopened after a rebuild."""
        name = self._current.name()
        live = self._live
        if name != live[0] or live[1] is None:
            with self._lock:
                live = self._live
                if name != live[0] or live[1] is None:
                    # Open the generation we read the name of, so the label is right
                    # even if another rebuild publishes meanwhile.
                    ix = store.open_current(self.home, name or None)
                    live = (name, ix, make_parser(ix.schema, self.field_boosts, self.conjunctive), [])
                    self._live = live
        return live

    def view(self) -> _View:
        """This thread's view of the live generation (reopened after a rebuild).

        A request takes one view and uses only it, so a rebuild published
        meanwhile cannot mix two generations' document numbers.  The previous
        searcher is not closed here: a request in this thread may still hold
        it; it is released (and its files closed) with the last reference.
        """
        name, ix, parser, arrays = self._current_index()
        local = self._local
        current = getattr(local, "view", None)
        if current is None or current.name != name:
            searcher = ix.searcher(weighting=self.weighting)
            if not arrays:  # made once per generation, shared by all threads
                with self._lock:
                    if not arrays:
                        arrays.append(IndexArrays(searcher, self.k1, self.b))
            current = local.view = _View(name, searcher, parser, arrays[0],
                                         DocSets(searcher, arrays[0]))
        return current

    def searcher(self):
        return self.view().searcher

    @property
    def arrays(self) -> IndexArrays:
        return self.view().arrays

    @property
    def parser(self):
        return self.view().parser

    @property
    def analyzer(self):
        return self.view().analyzer

    def generation(self) -> str:
        return self._current_index()[0]

    # -- search ---------------------------------------------------------------
    def parse(self, text: str) -> Parsed:
        return parse(self.parser, text)

    def search(self, req: Request) -> Result:
        req.check()
        started = time.perf_counter()
        view = self.view()
        parsed = parse(view.parser, req.q)
        filter_q = _filter_query(req)
        result = Result(query=parsed.text, total=0, page=req.page, pages=0,
                        per_page=req.per_page, took_ms=0.0)
        if parsed.query is wq.NullQuery:
            result.message = "empty query" if not parsed.text else "only common words: nothing to search"
            result.took_ms = (time.perf_counter() - started) * 1000
            return result
        limit = req.page * req.per_page
        ranked = _ranked(view, parsed.query, limit, req.sort, filter_q, req.facets)
        result.total, result.partial = ranked.total, ranked.partial
        if req.facets:
            result.facets = count_facets(view.arrays, view.searcher, ranked.matched)
        result.pages = max(1, -(-result.total // req.per_page)) if result.total else 0
        start = (req.page - 1) * req.per_page
        terms = _highlight_terms(parsed)
        for rank, n in enumerate(range(start, len(ranked.docnums)), start + 1):
            result.hits.append(_hit(view, int(ranked.docnums[n]), ranked.scores[n], rank,
                                    terms, req.highlight))
        if result.total < 3 and not req.source and not req.date_from and not req.date_to:
            result.suggestion = _suggest(view, parsed)
        if not result.total:
            result.message = "no results"
        result.took_ms = round((time.perf_counter() - started) * 1000, 2)
        return result

    def ranked_ids(self, text: str, limit: int = 100) -> list[tuple[str, int, float]]:
        """(id, rank, score) of the top ``limit``: the search box's ranking, for
        batch runs and evaluation (no highlighting or facets to compute)."""
        view = self.view()
        parsed = parse(view.parser, text)
        if parsed.query is wq.NullQuery:
            return []
        ranked = _ranked(view, parsed.query, limit, "relevance", None, False)
        ids = view.arrays.ids(view.searcher)
        return [(ids[d], n + 1, round(float(s), 4))
                for n, (d, s) in enumerate(zip(ranked.docnums, ranked.scores))]

    def suggest(self, parsed: Parsed) -> str | None:
        """A respelling of the query from the index vocabulary, or None."""
        return _suggest(self.view(), parsed)

    # -- articles -------------------------------------------------------------
    def article(self, article_id: str, q: str = "") -> Article | None:
        """One article by id; with ``q``, its body with the query's matches marked."""
        view = self.view()
        doc = view.searcher.document(id=article_id)
        if doc is None:
            return None
        art = Article(id=doc["id"], headline=doc.get("headline", ""), body=doc.get("body", ""),
                      date=_iso(doc.get("date")), date_text=doc.get("date_text", ""),
                      source=doc.get("source", ""), keywords=doc.get("keywords", ""),
                      related=json.loads(doc.get("related") or "[]"), parent=doc.get("parent", ""))
        terms = _highlight_terms(parse(view.parser, q)) if q else {}
        art.body_html = highlight.highlight_text(art.body, terms.get("body", ()), view.analyzer,
                                                 whole=True)
        return art

    def more_like_this(self, article_id: str, limit: int = 5) -> list[Hit]:
        """Articles most similar to ``article_id`` (Whoosh's key-term query)."""
        view = self.view()
        docnum = view.searcher.document_number(id=article_id)
        if docnum is None:
            return []
        results = view.searcher.more_like(docnum, "body", top=limit, numterms=12)
        return [_hit(view, results.docnum(n), results.score(n), n + 1, {}, False)
                for n in range(results.scored_length())]


@dataclass
class _View:
    """One thread's handle on one generation: everything a request reads."""

    name: str
    searcher: object
    parser: object
    arrays: IndexArrays
    docsets: DocSets

    @property
    def analyzer(self):
        return self.searcher.schema["body"].analyzer


def _ranked(view: _View, q, limit: int, sort: str, filter_q, want_matched: bool) -> _Ranked:
    """The top ``limit`` of ``q`` (by score or date), the total, and, with
    ``want_matched``, every matching document (for the facets).

    Words, phrases, AND/OR/NOT and the filters are scored over the cached
    posting arrays (search/score.py); wildcards, ranges and other shapes go
    through Whoosh's own matchers and collectors.
    """
    arrays, searcher = view.arrays, view.searcher
    by_date = sort != "relevance"
    match = score.evaluate(q, arrays, searcher) if not by_date or arrays.has_column("date") else None
    if match is not None and filter_q is not None:
        match = score.restrict(match, filter_q, arrays, searcher)
    if match is not None:
        order = arrays.date_order(searcher, newest=sort == "newest") if by_date else None
        docnums, scores = score.top(match, limit, order)
        matched = np.flatnonzero(match.mask) if want_matched else None
        return _Ranked(docnums, scores, match.count, matched)
    results, partial = _rank(searcher, q, limit, sort, filter_q)
    n = results.scored_length()
    docnums = np.array([results.docnum(i) for i in range(n)], dtype=np.int64)
    scores = np.array([float(results.score(i) or 0) for i in range(n)])
    total, matched = n, None
    if want_matched:
        docs = view.docsets.docset(q)
        if filter_q is not None:
            docs &= view.docsets.docset(filter_q)
        matched = np.fromiter(docs, dtype=np.int64, count=len(docs))
        total = max(total, len(docs))
    return _Ranked(docnums, scores, total, matched, partial)


def _highlight_terms(parsed: Parsed) -> dict[str, frozenset[str]]:
    terms: dict[str, set[str]] = {}
    for fieldname, text in positive_terms(parsed.query):
        terms.setdefault(fieldname, set()).add(text)
    return {k: frozenset(v) for k, v in terms.items()}


def _hit(view: _View, docnum: int, score: float, rank: int, terms, with_highlight: bool) -> Hit:
    doc = view.searcher.stored_fields(docnum)
    headline = doc.get("headline", "")
    analyzer = view.analyzer
    if with_highlight:
        hl = highlight.highlight_text(headline, terms.get("headline", ()), analyzer, whole=True)
        snippet = highlight.highlight_text(doc.get("body", ""), terms.get("body", ()), analyzer)
    else:
        hl = highlight.lead(headline, 10_000)
        snippet = highlight.lead(doc.get("body", ""))
    return Hit(id=doc["id"], rank=rank, score=round(float(score or 0), 4), headline=headline,
               headline_html=hl, snippet_html=snippet, date=_iso(doc.get("date")),
               source=doc.get("source", ""))


# -- did you mean -----------------------------------------------------------------

def _suggest(view: _View, parsed: Parsed) -> str | None:
    """A respelling of the query from the index vocabulary, or None.

    Whoosh's corrector works on indexed terms, which are stems; we map the
    chosen stem back to a surface word found in a document so the
    suggestion reads like something a person would type.
    """
    searcher = view.searcher
    reader = searcher.reader()
    analyzer = view.analyzer
    changed = False
    out = []
    for word in parsed.text.split():
        norm, stem, stop = analyzer.analyze_word(word)
        plain = word.isalnum()  # leave operators, fields, phrases and wildcards alone
        if stop or not plain or len(stem) < 3 or any(
            reader.doc_frequency(f, stem) for f in ("headline", "body", "keywords")
        ):
            out.append(word)
            continue
        best = _closest_term(reader, stem)
        surface = best and _surface_form(searcher, analyzer, best)
        if surface:
            out.append(surface)
            changed = True
        else:
            out.append(word)
    return " ".join(out) if changed else None


def _closest_term(reader, stem: str) -> str | None:
    candidates = {}
    for fieldname in ("headline", "body"):
        for maxdist in (1, 2):
            for term in reader.terms_within(fieldname, stem, maxdist, prefix=1):
                if term != stem:
                    candidates[term] = max(candidates.get(term, 0),
                                           reader.doc_frequency(fieldname, term) / maxdist)
            if candidates:
                break
    return max(candidates, key=lambda t: (candidates[t], t)) if candidates else None


def _surface_form(searcher, analyzer, stem: str) -> str | None:
    for fieldname in ("headline", "body"):
        for docnum in searcher.docs_for_query(wq.Term(fieldname, stem)):
            text = searcher.stored_fields(docnum).get(fieldname, "")
            for start, end, _ in analyzer.spans(text, {stem}):
                return analyzer.analyze_word(text[start:end])[0]
            break
    return None


@dataclass
class _Ranked:
    docnums: np.ndarray  # the top documents, best (or by date) first
    scores: np.ndarray
    total: int  # matching documents
    matched: np.ndarray | None = None  # all of them, when asked for
    partial: bool = False  # Whoosh's time limit cut the search short


def _filter_query(req: Request) -> wq.Query | None:
    filters = [f for f in (date_filter(req.date_from, req.date_to),
                           wq.Term("source", req.source) if req.source else None) if f]
    return wq.And(filters) if len(filters) > 1 else (filters[0] if filters else None)


def _rank(searcher, q, limit: int, sort: str, filter_q):
    """The ranked (or date-sorted) top ``limit`` of ``q``: (results, partial)."""
    sortedby = sorting.FieldFacet("date", reverse=sort == "newest") if sort != "relevance" else None
    return _run(searcher, q, searcher.collector(limit=limit, sortedby=sortedby), filter_q)


def _run(searcher, q, collector, filter_q):
    """Run ``collector`` under the time limit; returns (results, partial)."""
    # The filter must wrap the time limit, not the other way round: a
    # TimeLimitCollector feeds its child directly and would bypass it.
    # use_alarm=False: SIGALRM only works in the main thread, and the web
    # server searches from worker threads; Whoosh then uses a timer thread.
    collector = TimeLimitCollector(collector, TIME_LIMIT_S, use_alarm=False)
    if filter_q is not None:
        collector = FilterCollector(collector, filter_q)
    partial = False
    try:
        searcher.search_with_collector(q, collector)
    except TimeLimit:
        partial = True
    return collector.results(), partial


