"""The evaluator (search/matching.py) against Whoosh's own searcher.

Whoosh's searcher over the same index is the reference: for every query
shape the search box can produce, ``matching.evaluate`` must find the same
documents, rank them in the same order with the same scores, and count the
same total, on one segment and on several segments with deleted documents.
There is no Whoosh fallback: prefixes, wildcards, ranges, ``NOT`` alone,
``*``, fuzzy terms and phrases with any slop are all answered here.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import weakref
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from whoosh import index as whoosh_index, query as wq
from whoosh.scoring import BM25F
from whoosh.sorting import FieldFacet

from conftest import article_text
from indexer import completions, manifest, stories
from indexer.article import Article
from indexer.schema import build_schema, content_key, to_document
from indexer.segment import ArshifWriter
from indexer.settings import IndexSettings
from indexer.writer import build_index
from search import facets as facets_module, generation, matching, scratch
from search.backend import Request
from search.engine import Engine, date_filter
from search.generation import ENTRY_OVERHEAD, phrase_docs
from search.query import PrefixPhrase, walk

QUERIES = [
    "الاقتصاد",
    "النفط",
    "أسعار النفط",
    "النفط الغاز الذهب القمح",
    "ما هي أسعار النفط في قطر",
    "تركيا OR قطر",
    "الاقتصاد AND تركيا",
    "الاقتصاد -تركيا",
    "الاقتصاد NOT قطر",
    "العنوان:النفط",
    "الكلمات:تركيا",
    "المصدر:الجزيرة الاقتصاد",
    "التاريخ:[20230101 to 20231231] الاقتصاد",
    "(النفط OR الغاز) AND الاقتصاد -قطر",
    "كلمةغيرموجودةأبدا",
    "النفط كلمةغيرموجودةأبدا",
    '"أسعار النفط"',
    '"النفط ترتفع مع خفض"',
    '"ترتفع النفط"',
    '"أسعار ترتفع"~2',
    'العنوان:"أسعار النفط"',
    '"أثره على الاقتصاد" تركيا',
    '"صدارة الأخبار" -قطر',
    '"كلمةغيرموجودةأبدا النفط"',
]

#: Shapes Whoosh used to answer (the old scorer fell back to it): now the
#: evaluator's, with Whoosh's documents, order and scores.  On these small
#: indexes the expansion caps do not bind, so Whoosh's unbounded expansion
#: is the same set of terms.
EXPANDED = [
    "النف*",
    "ا*",  # tens of expansions a field: their union
    "ال* النفط",
    "العنوان:ا*",
    "ا*ات",
    "العنوان:النف*",
    "اقتص* تركيا",
    "*فط",
    "ن*ط",
    "المصدر:[ا TO ي] الاقتصاد",
    "المصدر:[الجزيرة TO الخليج] الاقتصاد",
    "المصدر:{الجزيرة TO العربية} النفط",
    "NOT قطر",
    "NOT (قطر OR تركيا)",
    "*",
    "العنوان:*",
    "* -الاقتصاد",
    "النفط^2 الغاز",
    "(النفط OR الغاز)^3 تركيا",
    "العنوان:النفط^0.5 الاقتصاد",
    "العنوان:النفط^0 الاقتصاد",
    '"أسعار ترتفع"~2',
    '"أسعار ترتفع"~5',
    '"الاقتصاد المنطقة"~3',
    '"أسعار ترتفع"~100000000',
    'العنوان:"النفط خفض"~4',
]


_REFERENCES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def reference(engine: Engine):
    """Whoosh's searcher over the engine's live generation, scoring with the
    engine's BM25F parameters (``Engine.searcher()`` scores with Whoosh's
    defaults: it serves stored fields, not rankings)."""
    view = engine.view()
    found = _REFERENCES.get(engine)
    if found is None or found[0] is not view.live:
        s = engine.settings
        found = (view.live, view.live.index.searcher(weighting=BM25F(B=s.b, K1=s.k1)))
        _REFERENCES[engine] = found
    return found[1]


def filter_query(req: Request) -> wq.Query | None:
    """The request's filters as the engine builds them: date range and source."""
    sources = wq.Or([wq.Term("source", s) for s in req.sources]) if req.sources else None
    filters = [f for f in (date_filter(req.date_from, req.date_to), sources) if f]
    return wq.And(filters) if len(filters) > 1 else (filters[0] if filters else None)


def _sort_facet(sort: str):
    return None if sort == "relevance" else FieldFacet("date", reverse=sort == "newest")


def whoosh_ranking(engine: Engine, req: Request):
    """Whoosh's own ranking, every match scored (limit=None: with a limit its
    collector skips blocks by an estimate that is sometimes too low).

    With a date sort, undated documents go last in both orders (arshif's
    rule; Whoosh's reversed column puts them first when newest)."""
    searcher = reference(engine)
    q = scored_expansions(engine.parse(req.q).query)
    filter_q = filter_query(req)
    results = searcher.search(q, limit=None, filter=filter_q, sortedby=_sort_facet(req.sort))
    ranked = [(results.docnum(i), results.score(i)) for i in range(results.scored_length())]
    docs = set(searcher.docs_for_query(q))
    if filter_q is not None:
        docs &= set(searcher.docs_for_query(filter_q))
    assert len(ranked) == len(docs), req
    if req.sort != "relevance":
        undated = {d for d, _ in ranked if searcher.stored_fields(d).get("date") is None}
        ranked = ([x for x in ranked if x[0] not in undated]
                  + [x for x in ranked if x[0] in undated])
    return ranked, len(docs)


def scored_expansions(q: wq.Query) -> wq.Query:
    """``q`` with each prefix, wildcard and fuzzy term of several
    expansions scored as the BM25F sum of its terms, as arshif ranks it
    (Whoosh's ``constantscore=False``; its default scores every expansion a
    document holds 1, whatever the word)."""
    if isinstance(q, wq.MultiTerm) and getattr(q, "constantscore", False):
        q = q.copy()
        q.constantscore = False
        return q
    return q.apply(scored_expansions)


def my_ranking(engine: Engine, req: Request):
    view = engine.view()
    q = engine.parse(req.q).query
    match = view.match(q)
    assert np.all(np.diff(match.docs) > 0), "docs must be sorted and unique"
    assert match.docs.dtype == np.int32 and len(match.scores) == len(match.docs)
    filter_q = filter_query(req)
    if filter_q is not None:
        match = matching.restrict(match, view.match(filter_q))
    order = None if req.sort == "relevance" else view.gen.date_order(req.sort == "newest")
    docnums, scores = matching.top(match, max(match.count, 1), order)
    return list(zip(docnums.tolist(), scores.tolist(), strict=True)), match.count


def assert_same(engine: Engine, req: Request):
    theirs, their_total = whoosh_ranking(engine, req)
    mine, my_total = my_ranking(engine, req)
    assert my_total == their_total, req
    if req.sort != "relevance":
        assert [d for d, _ in mine] == [d for d, _ in theirs], req
        return
    assert [s for _, s in mine] == pytest.approx([s for _, s in theirs], rel=1e-9), req
    # Equal scores may be summed in another order (the last bits differ),
    # so documents are compared per group of tied scores.
    assert _tie_groups(mine) == _tie_groups(theirs), req
    # Whoosh breaks exact ties by document number, as ``top`` does.
    assert len(mine) == len(theirs)


def _tie_groups(ranking) -> list[set]:
    groups: list[set] = []
    last = None
    for doc, value in ranking:
        if last is None or abs(value - last) > 1e-9 * abs(last):
            groups.append(set())
        groups[-1].add(doc)
        last = value
    return groups


@pytest.fixture(scope="module")
def news_engine(news_index):
    return Engine(news_index)


@pytest.mark.parametrize("text", QUERIES)
def test_same_ranking_as_whoosh(news_engine, text):
    assert_same(news_engine, Request(q=text))


@pytest.mark.parametrize("text", EXPANDED)
def test_expanded_shapes_ranked_as_whoosh(news_engine, text):
    assert_same(news_engine, Request(q=text))
    assert whoosh_ranking(news_engine, Request(q=text))[1] > 0, "a shape that matches nothing"


@pytest.mark.parametrize("q", [
    wq.FuzzyTerm("body", "نفظ"),
    wq.FuzzyTerm("headline", "تركي", maxdist=2, prefixlength=1),
    wq.FuzzyTerm("body", "اقتصاد", boost=2.0),
    wq.Regex("body", "^ن.ط$"),
    wq.Regex("keywords", "تركي"),
    wq.Wildcard("body", "*"),
    wq.Wildcard("body", "ن?ط"),
    wq.Wildcard("body_exact", "ال[نغ]*"),
    wq.Every("keywords"),
    wq.Prefix("body", ""),
    wq.Every(),
    wq.Every("source"),
    wq.Every("date"),
    wq.Every("id"),
    wq.Every("path"),
    wq.TermRange("year", "2021", "2022"),
    wq.TermRange("year", None, "2021", endexcl=True),
    wq.TermRange("month", "2023-02", None, startexcl=True),
    wq.DateRange("date", datetime(2022, 1, 1), datetime(2023, 2, 6)),
    wq.DateRange("date", datetime(2022, 1, 1), datetime(2023, 2, 6), startexcl=True,
                 endexcl=True),
    wq.AndMaybe(wq.Term("body", "اقتصاد"), wq.Term("body", "نفط")),
    wq.Require(wq.Term("body", "اقتصاد"), wq.Term("keywords", "تركيا")),
    wq.AndNot(wq.Every(), wq.Term("body", "نفط")),
    wq.Not(wq.Term("body", "نفط")),
    wq.Not(wq.Term("body", "نفط"), boost=2.5),
    wq.Or([wq.Term("body", "نفط")], boost=4.0),
    wq.Or([wq.Prefix("body", "نف", boost=3.0), wq.Term("body", "غاز")]),
    wq.Or([wq.Or([wq.Term("body", "نفط"), wq.Term("body", "اقتصاد")]),
           wq.Or([wq.Term("headline", "نفط"), wq.Term("keywords", "تركيا")])]),
    wq.And([wq.Term("body", "اقتصاد"), wq.Term("nosuchfield", "x")]),
    wq.Term("nosuchfield", "x"),
    wq.Phrase("body", ["اسعار"]),
    wq.Phrase("body", ["اسعار", "ترتفع"], slop=0),
])
def test_direct_queries_ranked_as_whoosh(news_engine, q):
    """Shapes the parser does not produce (fuzzy terms, regular expressions)
    or produces only inside others, given to both as they are."""
    searcher = reference(news_engine)
    results = searcher.search(q, limit=None)
    theirs = [(results.docnum(i), results.score(i)) for i in range(results.scored_length())]
    match = news_engine.view().match(q)
    docnums, scores = matching.top(match, max(match.count, 1))
    mine = list(zip(docnums.tolist(), scores.tolist(), strict=True))
    assert match.count == len(theirs) == len(set(searcher.docs_for_query(q))), q
    assert [s for _, s in mine] == pytest.approx([s for _, s in theirs], rel=1e-9), q
    assert _tie_groups(mine) == _tie_groups(theirs), q


@pytest.mark.parametrize("text", ['"أسعار النف*"', '"أسع* النفط"', '"أسع* النف*"',
                                  'العنوان:"أسعار النف*"', '"أسعار تر*"~2',
                                  '"أسعار النف*" -قطر'])
def test_phrases_with_prefix_words_as_whoosh_phrases_of_their_expansions(news_engine, text):
    """A quoted word typed with a final ``*`` matches as Whoosh's phrases of
    each of its expansions do; a document scores its words' BM25F scores,
    a prefix word's being those of the expansions it holds."""
    searcher = reference(news_engine)
    view = news_engine.view()
    phrases = [leaf for leaf in walk(news_engine.parse(text).query)
               if isinstance(leaf, PrefixPhrase)]
    assert phrases and any(p.prefixes[0] or p.prefixes[1] for p in phrases)
    found = 0
    for phrase in phrases:
        field = news_engine.view().gen.schema[phrase.fieldname]
        slots = [[word] if prefix is None else
                 [field.from_bytes(t) for t in searcher.reader().expand_prefix(phrase.fieldname,
                                                                               prefix)]
                 for word, prefix in zip(phrase.words, phrase.prefixes, strict=True)]
        combined = wq.Or([wq.Phrase(phrase.fieldname, list(words), slop=phrase.slop)
                          for words in itertools.product(*slots)])
        match = view.match(phrase)
        assert match.docs.tolist() == sorted(searcher.docs_for_query(combined)), phrase
        scores = {}
        for word in {w for slot in slots for w in slot}:
            hits = searcher.search(wq.Term(phrase.fieldname, word), limit=None)
            scores[word] = {hits.docnum(i): hits.score(i) for i in range(hits.scored_length())}
        expected = [phrase.boost * sum(scores[w].get(doc, 0.0) for slot in slots for w in slot)
                    for doc in match.docs.tolist()]
        assert match.scores.tolist() == pytest.approx(expected, rel=1e-9), phrase
        found += match.count
    assert found
    # The whole query (a phrase per field, a bonus, an exclusion) is counted
    # and paged as one match, as every query is.
    assert_pages_agree(news_engine, text)


def assert_pages_agree(engine: Engine, text: str) -> None:
    full = engine.search(Request(q=text, per_page=50))
    first = engine.search(Request(q=text, per_page=2, facets=False))
    assert full.total == first.total > 0
    assert [h.id for h in first.hits] == [h.id for h in full.hits[:2]]


def test_nested_ors_are_summed_in_one_union(news_engine, monkeypatch):
    """A prefix in several fields (an OR of each field's expansions) is one
    sum of all the terms, not a union of unions, each a pass over the
    documents once dense; an OR with a boost stays apart (its boost scales
    its sum, as Whoosh's does)."""
    view = news_engine.view()
    calls = []
    union, summed = matching._union, matching._sum  # noqa: SLF001 (counting the evaluator's unions)
    monkeypatch.setattr(matching, "_union", lambda matches, size: calls.append(
        ("union", len(matches))) or union(matches, size))
    monkeypatch.setattr(matching, "_sum", lambda terms, gen: calls.append(
        ("sum", len(terms))) or summed(terms, gen))
    nested = wq.Or([wq.Or([wq.Term("body", "نفط"), wq.Term("body", "غاز")]),
                    wq.Or([wq.Term("headline", "نفط"), wq.Term("headline", "غاز")])])
    view.match(nested)
    assert calls == [("sum", 4)]
    calls.clear()
    q = wq.Or([wq.Or([wq.Term("body", "نفط"), wq.Term("body", "غاز")], boost=2.0),
               wq.Term("body", "قطر")])
    view.match(q)
    assert calls == [("sum", 2), ("union", 2)]  # the boosted OR's sum, then the whole


@pytest.mark.parametrize("dense_union", [0, 10**9])  # merged lists; one array over the documents
@pytest.mark.parametrize("batched", [0, 10**9])  # each list alone; all in one run
@pytest.mark.parametrize("boosts", [(0.0, 1.0), (0.5, 2.0), (1.0, 1.0)])
def test_a_sum_of_terms_is_the_union_of_their_matches(news_engine, monkeypatch, dense_union,
                                                      batched, boosts):
    """A sum of terms (one look-up, short lists added a run at a time) gives
    what the union of each term's match gives, to the last bit, a zero boost
    included: its documents still match, with a score of 0."""
    gen = news_engine.view().gen
    monkeypatch.setattr(matching, "DENSE_UNION", dense_union)
    monkeypatch.setattr(matching, "BATCHED_POSTINGS", batched)
    words = list(news_engine.searcher().reader().field_terms("body"))[::9]  # most not headlines'
    terms = [wq.Term(field, word, boost=boosts[i % 2])
             for i, (field, word) in enumerate((f, w) for w in words for f in ("body", "headline"))]
    summed = matching._sum(terms, gen)  # noqa: SLF001 (against the union it stands for)
    union = matching._union([matching._term(t, gen, None) for t in terms],  # noqa: SLF001
                            gen.doc_count_all)
    assert summed.count > 0
    assert (0.0 in union.scores.tolist()) == (boosts[0] == 0)
    assert summed.docs.tolist() == union.docs.tolist()
    assert summed.scores.tolist() == union.scores.tolist()
    # One term that matches (the other matches nothing): its match, boosted.
    alone = matching._sum([terms[1], wq.Term("body", "لاكلمةكهذه")], gen)  # noqa: SLF001
    term = matching._term(terms[1], gen, None)  # noqa: SLF001
    assert alone.docs.tolist() == term.docs.tolist()
    assert alone.scores.tolist() == term.scores.tolist()


@pytest.mark.parametrize("size", [4, 1000])  # dense (one array over the documents), sparse
def test_a_union_keeps_documents_whose_scores_sum_to_zero(size):
    """A zero boost gives scores of 0: such documents still match, with the
    same sums either way the union is taken."""
    zero = matching.Match(np.array([0, 2], np.int32), np.array([0.0, 0.0]))
    some = matching.Match(np.array([1, 2], np.int32), np.array([0.5, 0.25]))
    union = matching._union([zero, some], size)  # noqa: SLF001 (both of its ways)
    assert union.docs.tolist() == [0, 1, 2] and union.docs.dtype == np.int32
    assert union.scores.tolist() == [0.0, 0.5, 0.25]


def test_every_source_as_whoosh(news_engine):
    assert_same(news_engine, Request(q="المصدر:*"))


def test_unparsed_query_types_are_refused(news_engine):
    with pytest.raises(TypeError):
        news_engine.view().match(wq.Ordered([wq.Term("body", "نفط"), wq.Term("body", "غاز")]))
    assert news_engine.view().match(wq.NullQuery).count == 0


@pytest.mark.parametrize("sorted_range", [0, 10**9])  # every range one way, then the other
@pytest.mark.parametrize("q", [
    wq.DateRange("date", datetime(2022, 1, 1), datetime(2023, 2, 6)),
    wq.DateRange("date", datetime(2022, 1, 1), datetime(2023, 2, 6), startexcl=True,
                 endexcl=True),
    wq.DateRange("date", None, datetime(2021, 6, 1)),
    wq.DateRange("date", datetime(2023, 9, 26), None),
    wq.DateRange("date", datetime(2023, 9, 26), datetime(2023, 9, 26)),
    wq.DateRange("date", datetime(2023, 9, 26), datetime(2023, 9, 26), startexcl=True),
    wq.DateRange("date", datetime(2023, 9, 26), datetime(2023, 9, 26), endexcl=True),
    wq.DateRange("date", datetime(2030, 1, 1), datetime(2020, 1, 1)),
])
def test_date_ranges_as_whoosh_found_either_way(news_engine, monkeypatch, sorted_range, q):
    """A narrow range is a slice of the documents ordered by date, a wide
    one a pass over their dates: both find Whoosh's documents, bounds
    included or excluded."""
    monkeypatch.setattr(matching, "SORTED_RANGE", sorted_range)
    theirs = sorted(reference(news_engine).docs_for_query(q))
    assert news_engine.view().match(q).docs.tolist() == theirs, q
    if q.startexcl is False and q.start == datetime(2023, 9, 26) == q.end:
        assert theirs, "a document of that day, for the bounds to matter"


@pytest.mark.parametrize("kw", [
    {"date_from": date(2023, 1, 1), "date_to": date(2023, 9, 12)},
    {"date_from": date(2023, 9, 26)},
    {"date_to": date(2018, 3, 15)},
    {"sources": ("العربية",)},
    {"sources": ("العربية",), "date_from": date(2022, 1, 1)},
    {"sort": "newest"},
    {"sort": "oldest"},
    {"sort": "oldest", "sources": ("الجزيرة",)},
    {"sort": "newest", "date_from": date(2022, 1, 1)},
])
def test_filters_and_sorting_as_whoosh(news_engine, kw):
    assert_same(news_engine, Request(q="الاقتصاد", **kw))


@pytest.mark.parametrize("text", ["النف*", "*", "NOT قطر", "المصدر:[ا TO ي] الاقتصاد"])
@pytest.mark.parametrize("kw", [{"sort": "newest"}, {"sort": "oldest"},
                                {"sources": ("الجزيرة",)}, {"date_from": date(2023, 1, 1)}])
def test_expanded_shapes_filtered_and_sorted_as_whoosh(news_engine, text, kw):
    assert_same(news_engine, Request(q=text, **kw))


@pytest.mark.parametrize("text", ["الاقتصاد", "النف*", "اقتص*", "*", "NOT قطر", "ن*ط",
                                  "المصدر:[ا TO ي] الاقتصاد", '"أسعار ترتفع"~2'])
def test_total_does_not_depend_on_page_facets_or_highlight(news_engine, text):
    """The same request counts the same matches whatever is asked beside it
    (a prefix query once counted 2 without facets and 15 with them)."""
    totals, facet_counts = set(), []
    for page in (1, 3):
        for facets in (True, False):
            for highlight in (True, False):
                result = news_engine.search(Request(q=text, page=page, per_page=2,
                                                    facets=facets, highlight=highlight))
                totals.add(result.total)
                if facets:
                    facet_counts.append(result.facets)
                else:
                    assert not result.facets
                assert result.pages == -(-result.total // 2)
                assert len(result.hits) == max(0, min(2, result.total - (page - 1) * 2))
    assert totals == {whoosh_ranking(news_engine, Request(q=text))[1]}, totals
    assert totals != {0}
    assert all(f == facet_counts[0] for f in facet_counts)
    # Every match with a source is counted (the embedded article has none).
    searcher = reference(news_engine)
    ranked, _ = whoosh_ranking(news_engine, Request(q=text))
    sourced = sum(1 for d, _ in ranked if searcher.stored_fields(d).get("source"))
    assert sum(f["count"] for f in facet_counts[0]["source"]) == sourced


@pytest.fixture(params=[False, True], ids=["filter-on-postings", "filter-on-sums"])
def filtered(request, monkeypatch) -> bool:
    """A filter applied to each term's postings first (each list cut to the
    filter's span of documents, however short), or (True) to the sums of
    every document, whatever share of the documents it keeps."""
    monkeypatch.setattr(matching, "FILTERED_SHARE", 10**9 if request.param else 0)
    monkeypatch.setattr(matching, "KEPT_POSTINGS", 0)
    monkeypatch.setattr(matching, "SPAN_CUT_FROM", 0)
    return request.param


@pytest.mark.parametrize("text", ["الاقتصاد", "النفط الغاز", "الاقت*", "النفط -الغاز"])
@pytest.mark.parametrize("kw", [
    {"sources": ("العربية",)},
    {"sources": ("العربية", "الجزيرة"), "date_from": date(2022, 1, 1)},
    {"sources": ("العربية", "الجزيرة"), "sort": "newest"},
])
def test_filtered_total_does_not_depend_on_facets(news_engine, filtered, text, kw):
    """With a source filter, the search box counts its matches among those
    of the source facet (counted without that filter, or read from the sums
    that a filter applied to them added up): the same total as without
    facets, and Whoosh's; and ranks them as without facets (a query scored
    in full is scored once for both)."""
    with_facets = news_engine.search(Request(q=text, **kw))
    without = news_engine.search(Request(q=text, facets=False, **kw))
    expected = whoosh_ranking(news_engine, Request(q=text, **kw))[1]
    assert with_facets.total == without.total == expected
    assert [(h.id, h.score) for h in with_facets.hits] == [(h.id, h.score)
                                                          for h in without.hits]
    everywhere = news_engine.search(Request(q=text, **{**kw, "sources": ()}))
    assert with_facets.facets["source"] == everywhere.facets["source"]
    assert with_facets.total < everywhere.total


def test_pages_follow_one_ranking(news_engine):
    whole = news_engine.search(Request(q="النف* OR الاقتصاد", per_page=100))
    paged = [h.id for page in range(1, 10)
             for h in news_engine.search(Request(q="النف* OR الاقتصاد", page=page,
                                                 per_page=2, facets=False)).hits]
    assert paged == [h.id for h in whole.hits] and len(paged) == whole.total == 15


def _article(n: int, headline: str, body: str, when: date | None, source: str = "مصدر") -> Article:
    return Article(id=f"a{n}", headline=headline, body=body, source=source,
                   date=datetime.combine(when, datetime.min.time()) if when else None,
                   path=f"/archive/{n}.txt")


def _publish(home, gen) -> None:
    """Make ``gen`` the live generation of ``home`` (with its completions,
    stories and manifest, as a build finishes one)."""
    completions.write_generation(gen)
    stories.write(gen)
    manifest.write(gen, IndexSettings(), {})
    (home / "CURRENT").write_text(f"{gen.name}\n")


def _add(writer, art: Article) -> None:
    writer.add_document(**to_document(art, "sig", content_key(art), IndexSettings()))


@pytest.fixture(scope="module")
def segmented_index(tmp_path_factory):
    """Three segments written by arshif's writer, deleted documents, an
    undated article: what --update leaves."""
    home = tmp_path_factory.mktemp("segmented")
    gen = home / "gen-000001"
    gen.mkdir()
    ix = whoosh_index.create_in(str(gen), build_schema(IndexSettings()))
    words = ["النفط", "الغاز", "الذهب", "القمح", "الاقتصاد", "تركيا", "قطر"]
    n = 0
    for seg in range(3):
        writer = ArshifWriter(ix)
        for _ in range(20):
            n += 1
            picked = [words[(n * k + seg) % len(words)] for k in (1, 2, 3)]
            body = " ".join(picked * (1 + n % 3)) + " تقرير عن الاقتصاد"
            when = None if n == 7 else date(2020 + n % 4, 1 + n % 12, 1 + n % 28)
            _add(writer, _article(n, f"خبر {picked[0]} رقم {n}", body, when,
                                  ("أ", "ب", "ج")[n % 3]))
        writer.commit(merge=False)
    writer = ArshifWriter(ix)
    for victim in ("a3", "a25", "a44"):
        writer.delete_by_term("id", victim)
    writer.commit(merge=False)
    assert len(ix.reader().leaf_readers()) == 3 and ix.reader().has_deletions()
    assert len(list(gen.glob("*.flat"))) == 3 and len(list(gen.glob("*.docs"))) == 3
    _publish(home, gen)
    return home


@pytest.fixture(scope="module")
def segmented_engine(segmented_index):
    return Engine(segmented_index)


@pytest.mark.parametrize("kw", [
    {"q": "النفط"}, {"q": "النفط الغاز"}, {"q": "الاقتصاد -قطر"}, {"q": "تقرير"},
    {"q": "الاقتصاد", "sources": ("ب",)}, {"q": "الاقتصاد", "date_from": date(2021, 1, 1)},
    {"q": "الاقتصاد", "sort": "oldest"}, {"q": "الاقتصاد", "sort": "newest"},
    {"q": '"النفط الغاز"'}, {"q": '"الاقتصاد تقرير"'}, {"q": '"تقرير الاقتصاد"'},
    {"q": '"النفط الاقتصاد"~3'}, {"q": '"النفط الاقتصاد"~100000000'},
    {"q": "الن*"}, {"q": "*"}, {"q": "NOT قطر"}, {"q": "*ط"}, {"q": "المصدر:[أ TO ب] تقرير"},
    {"q": "النفط^2 قطر"}, {"q": "*", "sort": "newest"}, {"q": "NOT النفط", "sort": "oldest"},
])
def test_several_segments_with_deletions(segmented_engine, kw):
    assert_same(segmented_engine, Request(**kw))


def test_stored_fields_are_whooshs(segmented_engine):
    """The generation reads each document's stored fields from its segment's
    file (several segments, deletions): what Whoosh's searcher reads."""
    view = segmented_engine.view()
    searcher, gen = view.searcher, view.gen
    live = list(searcher.reader().all_doc_ids())
    assert len(gen.leaves) > 1 and len(live) < searcher.doc_count_all()
    for docnum in live:
        assert gen.stored_fields(docnum) == searcher.stored_fields(docnum)


def test_deleted_documents_never_match(segmented_engine):
    ids = {h[0] for h in segmented_engine.ranked_ids("تقرير", 100)}
    assert len(ids) == 57 and not ids & {"a3", "a25", "a44"}
    for text in ("*", "NOT قطر", "الن*", "المصدر:[أ TO ج] تقرير"):
        found = {h[0] for h in segmented_engine.ranked_ids(text, 100)}
        assert found and not found & {"a3", "a25", "a44"}, text
    gen = segmented_engine.view().gen
    assert gen.live.sum() == 57 and len(gen.live_docs) == 57 and not gen.all_live


def test_undated_articles_sort_last(segmented_engine):
    for sort in ("newest", "oldest"):
        result = segmented_engine.search(Request(q="تقرير", sort=sort, per_page=100))
        dates = [h.date for h in result.hits]
        assert dates[-1] is None and None not in dates[:-1]
        assert dates[:-1] == sorted(dates[:-1], reverse=sort == "newest")


def test_facets_count_every_match(segmented_engine):
    result = segmented_engine.search(Request(q="تقرير"))
    assert result.total == 57
    assert sum(f["count"] for f in result.facets["source"]) == 57
    assert sum(f["count"] for f in result.facets["year"]) == 56  # one article is undated
    assert sum(f["count"] for f in result.facets["month"]) == 56


def _spelled_days(spelled_from: str, spelled_to: str) -> tuple[date, date]:
    """The first and last day of a timeline period's date filter values."""
    first = date.fromisoformat(spelled_from + {4: "-01-01", 7: "-01"}.get(len(spelled_from), ""))
    if len(spelled_to) == 4:
        return first, date(int(spelled_to), 12, 31)
    if len(spelled_to) == 7:
        following = date.fromisoformat(spelled_to + "-28") + timedelta(days=4)
        return first, following - timedelta(days=following.day)
    return first, date.fromisoformat(spelled_to)


@pytest.mark.parametrize("dense_share", [0, 10**9])
@pytest.mark.parametrize("text", ["تقرير", "النفط", "الن*", "NOT قطر", '"النفط الغاز"'])
def test_facets_and_timeline_are_the_matches_sources_and_days(segmented_engine, monkeypatch,
                                                               dense_share, text):
    """Counted from one gather of the matches' joint codes (over every
    source and day at once, or split first: ``DENSE_SHARE``), the facets and
    the timeline are what Whoosh's searcher finds the matching articles'
    stored sources and dates to be."""
    monkeypatch.setattr(facets_module, "DENSE_SHARE", dense_share)
    result = segmented_engine.search(Request(q=text))
    view = segmented_engine.view()
    stored = [hit.fields() for hit in view.searcher.search(view.parse(text).query, limit=None)]
    assert result.total == len(stored)
    days = [f["date"].date() for f in stored if f.get("date")]
    assert {f["value"]: f["count"] for f in result.facets["source"]} == collections.Counter(
        f["source"] for f in stored)
    assert {f["value"]: f["count"] for f in result.facets["month"]} == collections.Counter(
        f"{day:%Y-%m}" for day in days)
    assert {f["value"]: f["count"] for f in result.facets["year"]} == collections.Counter(
        f"{day:%Y}" for day in days)
    periods = result.timeline["periods"] if days else []
    assert (result.timeline is None) == (not days)
    for period in periods:
        first, last = _spelled_days(period["from"], period["to"])
        assert period["count"] == sum(first <= day <= last for day in days)
    assert sum(p["count"] for p in periods) == len(days)


def test_posting_cache_is_bounded(news_index):
    reference = Engine(news_index)
    engine = Engine(news_index)
    gen = engine.view().gen
    bound = 3 * ENTRY_OVERHEAD + 400
    gen.cache_bytes = bound
    for text in QUERIES + EXPANDED:
        assert engine.ranked_ids(text) == reference.ranked_ids(text), text
        assert 0 <= gen.cached_bytes <= bound
    assert gen.cached_bytes > 0  # small entries are still kept
    gen.cache_bytes = 200  # less than one entry: nothing is kept, answers are the same
    before = gen.cached_bytes
    engine.ranked_ids("كلمةجديدةتماما الاقتصاد")
    assert gen.cached_bytes == before
    docnums, scores = matching.top(engine.view().match(engine.parse("الاقتصاد").query), 100)
    assert len(docnums) == 15 and np.all(np.diff(scores) <= 0)


def test_expansions_are_found_once_per_generation(news_index, monkeypatch):
    """A prefix's, a wildcard's and a fuzzy term's terms are found once and
    kept (the generation's vocabulary is read again only past
    DERIVED_KEPT); the kept ones give the same answers."""
    def counted(engine: Engine) -> list:
        gen, scans = engine.view().gen, []
        for name in ("span", "span_frequent", "span_matching"):
            real = getattr(gen, name)
            monkeypatch.setattr(gen, name,
                                lambda *a, _real=real, **k: scans.append(a) or _real(*a, **k))
        return scans

    texts = ["الاقت*", "ال*ة", "الاقتصاد~"]
    engine = Engine(news_index)
    scans = counted(engine)
    first = [engine.ranked_ids(text) for text in texts]
    assert scans and all(first)
    read = len(scans)
    assert [engine.ranked_ids(text) for text in texts] == first
    assert len(scans) == read  # nothing read again

    monkeypatch.setattr(generation, "DERIVED_KEPT", 1)
    engine = Engine(news_index)
    scans = counted(engine)
    assert [engine.ranked_ids(text) for text in texts] == first
    read = len(scans)
    assert [engine.ranked_ids(text) for text in texts] == first
    assert len(scans) == 2 * read  # only the last expansion kept: each one read again


def test_long_posting_lists_read_like_whoosh(tmp_path):
    """Terms with many postings (more than Whoosh's blocks of 128), tf 1 to 5."""
    home = tmp_path / "long"
    gen = home / "gen-000001"
    gen.mkdir(parents=True)
    ix = whoosh_index.create_in(str(gen), build_schema(IndexSettings()))
    writer = ArshifWriter(ix)
    for n in range(700):
        body = " ".join(["النفط"] * (1 + n % 5) + (["الغاز"] if n % 3 else []) + ["تقرير"])
        _add(writer, _article(n, f"خبر رقم {n}", body, date(2020, 1, 1 + n % 28)))
    writer.commit()
    _publish(home, gen)
    engine = Engine(home)
    searcher = engine.searcher()
    for word in ("نفط", "غاز"):
        docnums, _ = engine.view().gen.term("body", word)
        m = searcher.reader().postings("body", word)
        expected = []
        while m.is_active():
            expected.append(m.id())
            m.next()
        assert docnums.tolist() == expected and len(expected) > 400
    for text in ("النفط", "النفط الغاز", '"النفط الغاز"', '"الغاز تقرير"', "ال*", "NOT الغاز",
                 '"النفط تقرير"~6'):
        assert_same(engine, Request(q=text))


# -- phrases --------------------------------------------------------------------

def _in_order(positions: list[list[int]], slop: int) -> bool:
    """Brute force: a chain p0 < p1 < ... with 1 <= p[i+1] - p[i] <= slop."""
    ends = set(positions[0])
    for word in positions[1:]:
        ends = {p for p in word if any(1 <= p - e <= slop for e in ends)}
        if not ends:
            return False
    return True


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.lists(st.integers(0, 40), max_size=6), min_size=2, max_size=4),
                min_size=1, max_size=6),
       st.one_of(st.integers(1, 6), st.sampled_from([10**8, 2**31, 2**40])))
def test_phrase_check_equals_brute_force(docs, slop):
    """``phrase_docs`` (all documents at once, independent of the slop)
    against a per-document brute-force in-order check."""
    words = len(docs[0])
    docs = [(d + [[]] * words)[:words] for d in docs]
    pairs = []
    for w in range(words):
        owner = [i for i, d in enumerate(docs) for _ in sorted(set(d[w]))]
        pos = [p for d in docs for p in sorted(set(d[w]))]
        pairs.append((np.array(owner, dtype=np.int64), np.array(pos, dtype=np.int64)))
    # The search asks only about documents holding every word (see the next test).
    assume(len(pairs[0][0]) > 0)
    expected = [i for i, d in enumerate(docs)
                if all(d) and _in_order([sorted(set(p)) for p in d], slop)]
    assert phrase_docs(pairs, slop).tolist() == expected


def test_phrase_check_without_the_first_word():
    empty = np.zeros(0, dtype=np.int64)
    pairs = [(empty, empty), (np.array([0]), np.array([0]))]
    assert phrase_docs(pairs, 1).tolist() == []


def test_phrase_check_with_far_positions():
    """Positions past 65,535 and 2**31, document indexes past 2**16."""
    far = 2**31 + 5
    pairs = [(np.array([0, 70_000, 70_000]), np.array([3, 10, far])),
             (np.array([0, 70_000]), np.array([2, far + 1]))]
    assert phrase_docs(pairs, 1).tolist() == [70_000]
    assert phrase_docs(pairs, 10**8).tolist() == [70_000]
    assert phrase_docs(pairs, 2**40).tolist() == [70_000]


def test_huge_slop_finds_the_right_documents(news_engine):
    text = '"أسعار ترتفع"~100000000'
    result = news_engine.search(Request(q=text))
    assert [h.id for h in result.hits] == ["gulf/oil"]
    assert_same(news_engine, Request(q=text))
    # In order only: the reverse is not a match, whatever the slop.
    assert news_engine.search(Request(q='"ترتفع أسعار"~100000000')).total == 0
    # Any distance within one document.
    wide = news_engine.search(Request(q='"تقرير المقبلة"~100000000', facets=False))
    assert wide.total == 15
    assert news_engine.search(Request(q='"تقرير المقبلة"~5')).total == 0


@pytest.mark.parametrize("text", [*QUERIES, "النف*", "ن*ط الغاز", "ا*", "ال* قطر", "NOT قطر", "*"])
def test_sparse_and_dense_unions_agree(news_index, monkeypatch, text):
    """An OR (a prefix's union of expansions too) is summed over all
    documents or by merging sorted arrays, depending on its size: both give
    the same documents and scores."""
    results = []
    for dense_union in (0, 10**9):  # never, always
        monkeypatch.setattr(matching, "DENSE_UNION", dense_union)
        monkeypatch.setattr(generation, "DENSE_UNION", dense_union)
        match = Engine(news_index).view().match(Engine(news_index).parse(text).query)
        results.append((match.docs.tolist(), match.scores.tolist()))
    assert results[0] == results[1]  # the same sums, to the last bit


@pytest.mark.parametrize("kw", [
    {"date_from": date(2023, 1, 1), "date_to": date(2023, 9, 12)},
    {"sources": ("العربية",)},
    {"sort": "newest"},
    {"sort": "oldest", "sources": ("الجزيرة",)},
])
def test_ranked_ids_of_a_request_are_its_hits(news_engine, kw):
    """The ranked ids of a request (filters, sort) are its search hits, in order."""
    req = Request(q="الاقتصاد", per_page=100, highlight=False, facets=False, **kw)
    hits = news_engine.search(req).hits
    ranked = news_engine.ranked_ids(req, 100)
    assert [(h.id, h.rank, h.score) for h in hits] == ranked and ranked


# -- pruned rankings: the top documents of a sum of terms ----------------------

@pytest.fixture(params=[(0, 2, False), (0, 4096, False), (10**9, 2, False),
                        (10**9, 4096, False), (0, 2, True), (10**9, 4096, True)],
                ids=["read-at-postings", "read-at-postings-lists-joined",
                     "read-over-documents-added-dense", "read-over-documents-lists-joined",
                     "blocks", "blocks-lists-joined"])
def pruning(request, monkeypatch) -> None:
    """Pruned rankings even in the tiny test indexes: every sum of terms is
    added up over the documents, with each term's two best documents as
    the seeds of its threshold; the candidates and matches read at the
    postings, or over every document's sum; the lists of fewer than two
    documents added together (lists of both kinds), or all of them; the
    others added at their postings or, read over every document, as a
    value per document (``dense_summand``).  Or (``blocks``) only the
    blocks of two documents that can reach the threshold are read,
    whatever share of the postings they hold."""
    sparse_sums, batched, blocks = request.param
    monkeypatch.setattr(generation, "DENSE_SUMMAND", 0 if sparse_sums == 0 else 10**9)
    monkeypatch.setattr(matching, "BLOCKED_LISTS", 10**9 if blocks else 0)
    monkeypatch.setattr(matching, "BLOCKED_DOCS", 0)
    monkeypatch.setattr(matching, "BLOCKED_SHARE", 0)
    monkeypatch.setattr(generation, "BLOCK_SHIFT", 1)
    monkeypatch.setattr(matching, "PRUNE_FROM", 0)
    monkeypatch.setattr(matching, "DENSE_UNION", 10**9)
    monkeypatch.setattr(matching, "SPARSE_SUMS", sparse_sums)
    monkeypatch.setattr(matching, "SPARSE_CANDIDATES", sparse_sums)
    monkeypatch.setattr(matching, "BATCHED_POSTINGS", batched)
    monkeypatch.setattr(generation, "TOP_DOCS", 4)


@pytest.mark.parametrize("text", [*QUERIES, *EXPANDED])
@pytest.mark.parametrize("limit", [1, 3, 10])
@pytest.mark.parametrize("every", [False, True])
def test_pruned_ranking_equals_the_full_one(news_index, pruning, text, limit, every):
    """``best`` keeps every document of the top ``limit``, with the very
    scores of the full evaluation: the same ranking, bit for bit (prefixes
    and wildcards expanded into their terms first, as the engine does),
    whether or not it lists every match on the way (and then reads the
    sums at them)."""
    engine = Engine(news_index)
    view = engine.view()
    q = engine.parse(text).query
    full_docs, full_scores = matching.top(view.match(q), limit)
    docs, scores = matching.top(view.best(view.expand_terms(q), limit, None, every), limit)
    assert docs.tolist() == full_docs.tolist()
    assert scores.tolist() == full_scores.tolist()


@pytest.fixture(scope="module")
def wheat_index(tmp_path_factory) -> Path:
    """Thirty articles that say «القمح» once to thirty times in bodies of one
    length: each scores its own, the one that says it most the best."""
    root = tmp_path_factory.mktemp("wheat")
    for k in range(1, 31):
        body = " ".join(["القمح"] * k + ["تقرير"] * (30 - k))
        path = root / "archive" / f"wheat{k}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(article_text(f"خبر رقم {k}", date(2023, 1, k), [body], "وكالة", "زراعة"),
                        "utf-8")
    build_index([root / "archive"], root / "index")
    return root / "index"


def added_postings(monkeypatch, view) -> list[int]:
    """A list that ``matching.add_at`` then extends, call after call, with
    how many postings it adds into sums over all of ``view``'s documents
    (every list is added at its postings, none as a value per document)."""
    monkeypatch.setattr(generation, "DENSE_SUMMAND", 0)
    added: list[int] = []
    add_at = matching.add_at
    monkeypatch.setattr(matching, "add_at", lambda target, docs, values: (
        len(target) == view.gen.doc_count_all and added.append(len(docs)),
        add_at(target, docs, values)))
    return added


@pytest.mark.parametrize(("batched", "shift"), [(2, 0), (2, 1), (4096, 0)])
@pytest.mark.parametrize("limit", [1, 3])
def test_blocks_read_only_the_postings_that_can_reach_the_top(wheat_index, monkeypatch,
                                                               batched, shift, limit):
    """A pruned ranking by blocks of 2**shift documents adds up fewer
    postings than the query has when some blocks cannot reach the
    threshold, and ranks its top as the full evaluation does, bit for bit:
    bounded by each list's best per block (lists of at least ``batched``
    postings), or by the sum of the block's postings (one document each
    here: the scores are too close for a looser bound to leave any out)."""
    monkeypatch.setattr(matching, "PRUNE_FROM", 0)
    monkeypatch.setattr(matching, "DENSE_UNION", 10**9)
    monkeypatch.setattr(matching, "BATCHED_POSTINGS", batched)
    monkeypatch.setattr(generation, "BLOCK_SHIFT", shift)
    monkeypatch.setattr(matching, "FIRST_BLOCKS", 1)
    monkeypatch.setattr(matching, "BLOCKED_DOCS", 0)
    engine = Engine(wheat_index)
    view = engine.view()
    added = added_postings(monkeypatch, view)
    q = view.expand_terms(engine.parse("القمح").query)
    postings = sum(len(docs) for docs, _ in view.gen.terms(sorted(q.all_terms())))
    docs, scores = matching.top(view.best(q, limit, None, False), limit)
    read = sum(added)
    full_docs, full_scores = matching.top(view.match(q), limit)
    assert (docs.tolist(), scores.tolist()) == (full_docs.tolist(), full_scores.tolist())
    assert 0 < read < postings / 2


@pytest.mark.parametrize("kw", [
    {"q": "النفط الغاز"}, {"q": "النفط الغاز الذهب القمح الاقتصاد تركيا قطر"},
    {"q": "الاقتصاد تقرير", "sources": ("ب",)}, {"q": "النفط قطر", "date_from": date(2021, 1, 1)},
    {"q": "النفط^2 قطر تقرير"}, {"q": "الذهب", "sources": ("أ",), "date_to": date(2022, 6, 1)},
    {"q": "النفط تقرير", "sort": "newest"}, {"q": "الن* قطر", "sort": "oldest", "sources": ("ب",)},
])
@pytest.mark.parametrize("limit", [1, 2, 5, 100])
def test_pruned_ranking_over_segments_and_filters(segmented_index, pruning, filtered, kw,
                                                  limit):
    """Several segments, deleted documents and filters: the ranked ids
    (which prune, or score only the page of a ranking by date) are the
    first ``limit`` of the full ranking, with its scores."""
    engine = Engine(segmented_index)
    req = Request(**kw)
    full, _ = my_ranking(engine, req)
    ids = engine.view().gen.ids([d for d, _ in full[:limit]])
    expected = [(i, n + 1, round(s, 4))
                for n, (i, (_, s)) in enumerate(zip(ids, full[:limit], strict=True))]
    assert engine.ranked_ids(req, limit) == expected


def test_pruned_matches_list_every_match_when_asked(segmented_index, pruning, filtered):
    """A pruned match keeps only the documents that can be in the top and,
    when asked, lists every match on the way (the count's and the facets'
    documents), filtered or not."""
    view = Engine(segmented_index).view()
    for text in ("رقم", "رقم 13"):
        q = view.expand_terms(view.parse(text).query)
        full = view.match(q)
        pruned = view.best(q, 1, None)
        assert not pruned.complete and pruned.matched is None
        assert 0 < pruned.count < full.count
        assert view.best(q, 1, None, every=True).matched.tolist() == full.docs.tolist()
        keep = view.filters(Request(q=text, date_from=date(2021, 1, 1)))
        expected = matching.restrict(full, keep)
        found = view.best(q, 1, keep, every=True)
        listed = found.docs if found.complete else found.matched
        assert listed.tolist() == expected.docs.tolist()


@pytest.mark.parametrize("kw", [{"sources": ("ب",)}, {"date_from": date(2021, 1, 1)},
                                {"sources": ("أ", "ج"), "date_to": date(2022, 6, 1)}])
def test_a_broad_filter_is_applied_to_the_sums(segmented_index, pruning, filtered, monkeypatch,
                                                kw):
    """Applied to the sums, a filter lets every posting of the query be
    added once, unlimited, into the sums over all the documents.  Applied
    there or to the postings, the ranking within the filter is the full
    one's, bit for bit, and every match within it is listed."""
    view = Engine(segmented_index).view()
    added = added_postings(monkeypatch, view)
    q = view.expand_terms(view.parse("النفط الغاز تقرير").query)
    keep = view.filters(Request(q="", **kw))
    postings = sum(len(docs) for docs, _ in view.gen.terms(sorted(q.all_terms())))
    added.clear()
    found = view.best(q, 3, keep, every=True)
    read = sum(added)
    full = matching.restrict(view.match(q), keep)
    assert 0 < full.count < view.match(q).count
    assert [a.tolist() for a in matching.top(found, 3)] == [
        a.tolist() for a in matching.top(full, 3)]
    listed = found.docs if found.complete else found.matched
    assert listed.tolist() == full.docs.tolist()
    if filtered:
        assert read == postings


@pytest.mark.parametrize("text", [*QUERIES, *EXPANDED])
def test_every_match_of_a_pruned_ranking_is_listed(news_index, pruning, text):
    """Every query shape: the matches a pruned ranking lists are the full
    evaluation's documents."""
    engine = Engine(news_index)
    view = engine.view()
    q = engine.parse(text).query
    found = view.best(view.expand_terms(q), 1, None, every=True)
    listed = found.docs if found.complete else found.matched
    if listed is not None:
        assert listed.tolist() == view.match(q).docs.tolist()


def test_pruning_skips_documents_that_cannot_reach_the_top(segmented_index, pruning):
    """A frequent word's postings are not all scored for a top 1 that a
    rare word decides."""
    engine = Engine(segmented_index)
    view = engine.view()
    q = engine.parse("رقم 13").query  # "رقم" in every headline, "13" in one
    full = view.match(q)
    pruned = view.best(q, 1, None)
    assert pruned.count < full.count
    assert matching.top(pruned, 1)[0].tolist() == matching.top(full, 1)[0].tolist()


SEQUENCE = [
    {"q": "النفط الغاز"}, {"q": "الاقتصاد تقرير", "sources": ("ب",)},
    {"q": "النفط قطر", "date_from": date(2021, 1, 1)}, {"q": "النفط^2 قطر تقرير"},
    {"q": "النفط تقرير", "sort": "newest"}, {"q": "الن* قطر", "sort": "oldest", "sources": ("ب",)},
    {"q": "رقم -13"}, {"q": "رقم", "sources": ("أ",), "date_to": date(2022, 6, 1)},
]


@pytest.mark.parametrize("scatter_bytes", [0, 10**9], ids=["cleared-where-written",
                                                            "cleared-whole"])
def test_scratch_arrays_are_handed_back_all_zeros(segmented_index, pruning, filtered,
                                                 monkeypatch, scatter_bytes):
    """The arrays over the documents that sums, unions, masks and filters
    borrow (search/scratch.py) come back all zeros, cleared where they were
    written or whole: each query of a sequence then ranks as it does
    alone, in whatever order they come."""
    monkeypatch.setattr(scratch, "SCATTER_BYTES", scatter_bytes)
    engine = Engine(segmented_index)
    first = [engine.ranked_ids(Request(**kw), 5) for kw in SEQUENCE]
    for kw in SEQUENCE:
        engine.search(Request(**kw))
    assert scratch.pooled()
    assert all(not array.any() for array in scratch.pooled())
    again = [engine.ranked_ids(Request(**kw), 5) for kw in reversed(SEQUENCE)]
    assert again[::-1] == first
    alone = [Engine(segmented_index).ranked_ids(Request(**kw), 5) for kw in SEQUENCE]
    assert alone == first


def test_a_scratch_array_is_not_reused_after_an_exception():
    """An exception inside a borrow may leave the array dirty: it is
    dropped, and the next borrow gets zeros; nested borrows get distinct
    arrays."""
    written = [np.array([2, 5], dtype=np.int32)]
    with pytest.raises(RuntimeError), scratch.zeros(12, np.float64, written) as dirty:
        dirty[[2, 5]] = 1.0
        raise RuntimeError("a query failed")
    with scratch.zeros(12, np.float64, written) as outer:
        assert outer is not dirty and not outer.any()
        outer[[2, 5]] = 1.0
        with scratch.zeros(12, np.float64, []) as inner:
            assert inner is not outer
    with scratch.zeros(12, np.float64, []) as again:
        assert again is outer or again is inner
        assert not again.any()


@pytest.mark.parametrize("text", [*QUERIES, *EXPANDED])
def test_matching_docs_are_the_matches(news_index, text):
    """The count and facets of a pruned ranking read ``matching_docs``: the
    documents the full evaluation finds, filtered or not."""
    engine = Engine(news_index)
    view = engine.view()
    q = engine.parse(text).query
    expanded = view.expand_terms(q)
    assert view.matching_docs(expanded, None).tolist() == view.match(q).docs.tolist()
    keep = view.filters(Request(q=text, sources=("الجزيرة",)))
    expected = matching.restrict(view.match(q), keep).docs
    assert view.matching_docs(expanded, keep).tolist() == expected.tolist()


@pytest.mark.parametrize("top", [1, 2, 3, 5, 8, 1000])
@pytest.mark.parametrize("read_all", [0, generation.READ_ALL_TERMS])
def test_frequent_span_holds_the_spans_most_frequent_terms(segmented_engine, monkeypatch,
                                                           top, read_all):
    """A prefix keeps its most frequent expansions: the terms ``span_frequent``
    reads (over several segments) include them, with the same frequencies."""
    monkeypatch.setattr(generation, "READ_ALL_TERMS", read_all)  # 0: candidates only
    gen = segmented_engine.view().gen
    assert len(gen.leaves) > 1
    for fieldname in ("body", "headline"):
        for prefix in ("ا".encode(), "ال".encode(), "الن".encode(), "ت".encode(), b""):
            high = prefix[:-1] + bytes([prefix[-1] + 1]) if prefix else None
            every = gen.span(fieldname, prefix, high, matching.MAX_SCANNED_TERMS)
            found = gen.span_frequent(fieldname, prefix, high, matching.MAX_SCANNED_TERMS, top)
            best = heapq.nsmallest(top, every, key=lambda t: (-every[t], t))
            assert set(best) <= set(found)
            assert all(found[t] == every[t] for t in found)
            assert heapq.nsmallest(top, found, key=lambda t: (-found[t], t)) == best


@pytest.mark.parametrize("share", [0, 10**9])  # sort every match by date; walk the dates
@pytest.mark.parametrize("sort", ["newest", "oldest"])
@pytest.mark.parametrize("text", ["الاقتصاد", "النفط الغاز", "الن*", "تقرير", "قطر"])
def test_date_rankings_walked_or_sorted_as_whoosh(news_engine, segmented_engine, monkeypatch,
                                                  share, sort, text):
    """A ranking by date gives Whoosh's order and total whether it sorts
    every match by date or walks the documents in date order over a mask
    of the matches (deleted and undated documents included)."""
    monkeypatch.setattr(matching, "SEQUENCE_SHARE", share)
    for engine in (news_engine, segmented_engine):
        req = Request(q=text, sort=sort)
        theirs, total = whoosh_ranking(engine, req)
        searcher = reference(engine)
        expected = [searcher.stored_fields(d)["id"] for d, _ in theirs]
        for limit in (1, 3, 100):
            assert [i for i, _, _ in engine.ranked_ids(req, limit)] == expected[:limit], limit
        assert engine.search(req).total == total


@settings(max_examples=60, deadline=None)
@given(size=st.integers(0, 3 * generation.PADDED_FROM),
       share=st.sampled_from([0.0, 0.01, 1 / 32, 0.05, 0.099, 0.1, 0.101, 0.5, 1.0]),
       seed=st.integers(0, 2**32 - 1))
def test_true_at_lists_the_set_elements_as_flatnonzero_does(size, share, seed):
    """``true_at`` is ``np.flatnonzero`` for a boolean mask at any share
    set, on either side of numpy's switch between its two loops (a tenth)
    and of the share past which the mask is padded to cross it."""
    mask = np.random.default_rng(seed).random(size) < share
    found = generation.true_at(mask)
    np.testing.assert_array_equal(found, np.flatnonzero(mask))
    assert found.dtype == np.flatnonzero(mask).dtype
