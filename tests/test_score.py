"""The vectorized scorer (search/score.py) against Whoosh's own matchers.

For every query shape it claims, it must find the same documents, in the
same order, with the same scores as Whoosh's collector, on one segment and
on several segments with deleted documents.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest
from whoosh import index as whoosh_index

from indexer.article import Article
from indexer.schema import build_schema, content_key, to_document
from indexer.segment import ArshifWriter
from search import score
from search.engine import Engine, Request, _filter_query, _rank  # noqa: PLC2701 - its rewrites

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


def whoosh_ranking(engine: Engine, req: Request):
    """Whoosh's own ranking, every match scored.

    With a limit Whoosh's collector skips posting blocks whose best possible
    score (estimated from one-byte field lengths) cannot enter the top; on
    long posting lists that estimate is sometimes too low and it misses
    documents, so the reference scores all matches (limit=None).
    """
    searcher = engine.searcher()
    q = engine.parse(req.q).query
    results, _ = _rank(searcher, q, None if req.sort == "relevance" else 100, req.sort,
                       _filter_query(req))
    docs = set(searcher.docs_for_query(q))
    if _filter_query(req) is not None:
        docs &= set(searcher.docs_for_query(_filter_query(req)))
    ranked = [(results.docnum(i), results.score(i)) for i in range(results.scored_length())]
    return ranked[:100], len(docs)


def vector_ranking(engine: Engine, req: Request):
    searcher = engine.searcher()
    q = engine.parse(req.q).query
    match = score.evaluate(q, engine.arrays, searcher)
    assert match is not None, f"{req.q!r} fell back to Whoosh"
    if _filter_query(req) is not None:
        match = score.restrict(match, _filter_query(req), engine.arrays, searcher)
    order = (engine.arrays.date_order(searcher, req.sort == "newest")
             if req.sort != "relevance" else None)
    docnums, scores = score.top(match, 100, order)
    return list(zip(docnums.tolist(), scores.tolist(), strict=True)), match.count


def assert_same(engine: Engine, req: Request):
    theirs, their_total = whoosh_ranking(engine, req)
    mine, my_total = vector_ranking(engine, req)
    assert my_total == their_total, req
    if req.sort != "relevance":
        assert [d for d, _ in mine] == [d for d, _ in theirs], req
        return
    assert [s for _, s in mine] == pytest.approx([s for _, s in theirs], rel=1e-9), req
    # Equal scores may be summed in another order (last bits differ), so
    # documents are compared per group of tied scores; the last group is
    # where the top 100 cuts, and either side may keep other tied documents.
    mine_groups, their_groups = _tie_groups(mine), _tie_groups(theirs)
    assert mine_groups[:-1] == their_groups[:-1], req


def _tie_groups(ranking) -> list[set]:
    groups: list[set] = []
    last = None
    for doc, value in ranking:
        if last is None or abs(value - last) > 1e-9 * abs(last):
            groups.append(set())
        groups[-1].add(doc)
        last = value
    return groups


@pytest.mark.parametrize("text", QUERIES)
def test_same_ranking_as_whoosh(news_index, text):
    assert_same(Engine(news_index), Request(q=text))


@pytest.mark.parametrize("kw", [
    {"date_from": date(2023, 1, 1), "date_to": date(2023, 9, 12)},
    {"date_from": date(2023, 9, 26)},
    {"date_to": date(2018, 3, 15)},
    {"source": "العربية"},
    {"source": "العربية", "date_from": date(2022, 1, 1)},
    {"sort": "newest"},
    {"sort": "oldest"},
    {"sort": "oldest", "source": "الجزيرة"},
])
def test_filters_and_sorting_as_whoosh(news_index, kw):
    assert_same(Engine(news_index), Request(q="الاقتصاد", **kw))


@pytest.mark.parametrize("text", ["النف*", "المصدر:[ا TO ي] الاقتصاد"])
def test_other_shapes_fall_back_to_whoosh(news_index, text):
    engine = Engine(news_index)
    assert score.evaluate(engine.parse(text).query, engine.arrays, engine.searcher()) is None
    result = engine.search(Request(q=text))
    assert result.total >= 1 and result.hits


def _article(n: int, headline: str, body: str, when: date | None, source: str = "مصدر") -> Article:
    return Article(id=f"a{n}", headline=headline, body=body, source=source,
                   date=datetime.combine(when, datetime.min.time()) if when else None,
                   path=f"/archive/{n}.txt")


@pytest.fixture(scope="module", params=["flat", "whoosh"])
def segmented_index(tmp_path_factory, request):
    """Three segments, deleted documents, an undated article: what --update leaves.

    Written by arshif's writer (postings in flat files) and by Whoosh's own
    writer (postings decoded from its blocks: indexes of older versions)."""
    home = tmp_path_factory.mktemp("segmented")
    gen = home / "gen-000001"
    gen.mkdir()
    ix = whoosh_index.create_in(str(gen), build_schema())
    words = ["النفط", "الغاز", "الذهب", "القمح", "الاقتصاد", "تركيا", "قطر"]
    n = 0
    for seg in range(3):
        writer = ArshifWriter(ix) if request.param == "flat" else ix.writer()
        for _i in range(20):
            n += 1
            picked = [words[(n * k + seg) % len(words)] for k in (1, 2, 3)]
            body = " ".join(picked * (1 + n % 3)) + " تقرير عن الاقتصاد"
            when = None if n == 7 else date(2020 + n % 4, 1 + n % 12, 1 + n % 28)
            art = _article(n, f"خبر {picked[0]} رقم {n}", body, when, ("أ", "ب", "ج")[n % 3])
            writer.add_document(**to_document(art, "sig", content_key(art)))
        writer.commit(merge=False)
    writer = ix.writer()
    for victim in ("a3", "a25", "a44"):
        writer.delete_by_term("id", victim)
    writer.commit(merge=False)
    assert len(ix.reader().leaf_readers()) == 3 and ix.reader().has_deletions()
    assert len(list(gen.glob("*.flat"))) == (3 if request.param == "flat" else 0)
    (home / "CURRENT").write_text("gen-000001\n")
    return home


@pytest.mark.parametrize("kw", [
    {"q": "النفط"}, {"q": "النفط الغاز"}, {"q": "الاقتصاد -قطر"}, {"q": "تقرير"},
    {"q": "الاقتصاد", "source": "ب"}, {"q": "الاقتصاد", "date_from": date(2021, 1, 1)},
    {"q": "الاقتصاد", "sort": "oldest"},
    {"q": '"النفط الغاز"'}, {"q": '"الاقتصاد تقرير"'}, {"q": '"تقرير الاقتصاد"'},
])
def test_several_segments_with_deletions(segmented_index, kw):
    assert_same(Engine(segmented_index), Request(**kw))


def test_deleted_documents_never_match(segmented_index):
    engine = Engine(segmented_index)
    ids = {h[0] for h in engine.ranked_ids("تقرير", 100)}
    assert len(ids) == 57 and not ids & {"a3", "a25", "a44"}


def test_undated_articles_sort_last(segmented_index):
    engine = Engine(segmented_index)
    for sort in ("newest", "oldest"):
        result = engine.search(Request(q="تقرير", sort=sort, per_page=100))
        dates = [h.date for h in result.hits]
        assert dates[-1] is None and None not in dates[:-1]
        assert dates[:-1] == sorted(dates[:-1], reverse=sort == "newest")


def test_facets_count_every_match(segmented_index):
    engine = Engine(segmented_index)
    result = engine.search(Request(q="تقرير"))
    assert result.total == 57
    assert sum(f["count"] for f in result.facets["source"]) == 57
    assert sum(f["count"] for f in result.facets["year"]) == 56  # one article is undated


def test_posting_cache_is_bounded(news_index):
    engine = Engine(news_index)
    arrays = engine.arrays
    arrays.cache_bytes = 200
    for text in QUERIES:
        engine.ranked_ids(text)
    assert arrays._cached_bytes <= 200  # noqa: SLF001 - no public figure for the cache size
    assert np.all(np.diff(score.top(score.evaluate(engine.parse("الاقتصاد").query, arrays,
                                                    engine.searcher()), 100)[1]) <= 0)


def test_long_posting_lists_decode_like_whoosh(tmp_path):
    """Terms spanning many posting blocks (128 postings each), tf 1 to 5."""
    home = tmp_path / "long"
    gen = home / "gen-000001"
    gen.mkdir(parents=True)
    ix = whoosh_index.create_in(str(gen), build_schema())
    writer = ix.writer()
    for n in range(700):
        body = " ".join(["النفط"] * (1 + n % 5) + (["الغاز"] if n % 3 else []) + ["تقرير"])
        art = _article(n, f"خبر رقم {n}", body, date(2020, 1, 1 + n % 28))
        writer.add_document(**to_document(art, "sig", content_key(art)))
    writer.commit()
    (home / "CURRENT").write_text("gen-000001\n")
    engine = Engine(home)
    searcher = engine.searcher()
    for word in ("نفط", "غاز"):
        docnums, _ = engine.arrays.term(searcher, "body", word)
        m = searcher.reader().postings("body", word)
        expected = []
        while m.is_active():
            expected.append(m.id())
            m.next()
        assert docnums.tolist() == expected and len(expected) > 400
    for text in ("النفط", "النفط الغاز", '"النفط الغاز"', '"الغاز تقرير"'):
        assert_same(engine, Request(q=text))


def test_index_without_date_column_sorts_and_filters_through_whoosh(tmp_path):
    """An index whose date field is not sortable (built by an older version)."""
    from whoosh import fields

    home = tmp_path / "old"
    gen = home / "gen-000001"
    gen.mkdir(parents=True)
    schema = build_schema()
    schema.remove("date")
    schema.add("date", fields.DATETIME(stored=True))
    ix = whoosh_index.create_in(str(gen), schema)
    writer = ix.writer()
    for n, when in enumerate([date(2021, 5, 1), date(2023, 1, 1), date(2022, 3, 3)]):
        art = _article(n, f"خبر {n}", "تقرير عن النفط", when)
        writer.add_document(**to_document(art, "sig", content_key(art)))
    writer.commit()
    (home / "CURRENT").write_text("gen-000001\n")
    engine = Engine(home)
    assert not engine.arrays.has_column("date")
    newest = engine.search(Request(q="النفط", sort="newest"))
    assert [h.date for h in newest.hits] == ["2023-01-01", "2022-03-03", "2021-05-01"]
    since = engine.search(Request(q="النفط", date_from=date(2022, 1, 1)))
    assert since.total == 2
