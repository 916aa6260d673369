"""The OpenSearch backend against a real node (tests/opensearch_node.py):
the same answers as the embedded backend on the same archive, and
rebuilds that publish atomically."""

from __future__ import annotations

import json
from datetime import date

import pytest

from indexer.sources import read_sources
from indexer.writer import build_index
from search import messages
from search.backend import MAX_PAGE, Request, open_backend
from search.cluster.backend import ClusterBackend
from search.cluster.build import REJECTED, build_cluster_index
from search.cluster.connection import ClusterConfig, ClusterError
from search.cluster.update import update_cluster_index
from web.app import create_app

pytestmark = pytest.mark.opensearch

#: Requests both backends answer: plain words, several words, a phrase, a
#: prefix, a phrase with a prefix word, an exclusion, a field, filters (dates,
#: one source, several, one typed in another spelling, one unknown), sorts, a
#: second page, a page past the last, nothing found, only common words.
REQUESTS = [
    Request(q="الاقتصاد"),
    Request(q="النفط"),
    Request(q="الحبوب القمح روسيا"),
    Request(q='"الطاقة الشمسية"'),
    Request(q="الانتخ*"),
    # A phrase with a prefix word: the same articles, newest first (the
    # cluster scores a span by its own formula).
    Request(q='"أسعار النف*"', sort="newest"),
    Request(q="الاقتصاد -تركيا"),
    # Exclusions alone: every article with none of the words.
    Request(q="-الاقتصاد -تركيا"),
    Request(q="العنوان:زلزال"),
    Request(q="الاقتصاد", date_from=date(2023, 1, 1), date_to=date(2023, 6, 30)),
    Request(q="الاقتصاد", sources=("العربية",)),
    Request(q="الاقتصاد", sources=("العربيه", "الجزيرة")),
    Request(q="الاقتصاد", sources=("الجزيرة",), date_from=date(2023, 1, 1)),
    Request(q="الاقتصاد", date_from=date(2023, 9, 1), date_to=date(2023, 9, 30)),
    # A filter wider than the archive: the timeline stays within its dates.
    Request(q="الاقتصاد", date_from=date(2000, 1, 1), date_to=date(2030, 12, 31)),
    Request(q="الاقتصاد", sources=("العربية", "الجزيرة الوثائقية")),
    Request(q="الاقتصاد", sort="newest"),
    Request(q="الاقتصاد", sort="oldest", per_page=5, page=2),
    Request(q="المصدر:الجزيرة تركيا"),
    # Named in the query, sources match as the filter matches them; two are either.
    Request(q='الاقتصاد المصدر:العربيه المصدر:"الجزيرة"'),
    Request(q="الاقتصاد المصدر:العربيا"),
    Request(q="التاريخ:2023-09"),
    Request(q="الاقتصاد التاريخ:2023-13"),
    Request(q="الاقتصاد", per_page=5, page=9),
    Request(q="كلمةلاتوجد"),
    Request(q="من هو"),
]
#: What the contract requests must say: each code at least once.
CODES = {messages.UNKNOWN_SOURCE, messages.PAST_LAST_PAGE, messages.NO_RESULTS,
         messages.ONLY_COMMON_WORDS, messages.BAD_DATE}


def _config(node, alias: str) -> ClusterConfig:
    return ClusterConfig(url=node.url, alias=alias)


@pytest.fixture(scope="module")
def news_cluster(opensearch_node, news_index) -> ClusterConfig:
    """The archive of the ``news_index`` fixture, indexed into the node."""
    config = _config(opensearch_node, "news")
    build_cluster_index([news_index.parent / "archive"], config)
    return config


@pytest.fixture(scope="module")
def both(news_index, news_cluster):
    """The two backends over the same archive."""
    return {"embedded": open_backend(news_index), "opensearch": ClusterBackend(news_cluster)}


def _comparable(result) -> dict:
    """A result without what may differ between backends: time, scores, and
    the order of hits the embedded backend ranks as ties (checked apart)."""
    data = result.as_dict()
    data.pop("took_ms")
    for hit in data["hits"]:
        hit.pop("score")
    data["hits"] = sorted(data["hits"], key=lambda h: h["id"])
    for rank, hit in enumerate(data["hits"]):
        hit["rank"] = rank
    return data


def _assert_same_ranking(cluster, embedded, ranked_by_score: bool) -> None:
    """The same order; ranked by score, hits the embedded backend scores
    alike may come in another order: Whoosh codes field lengths more
    coarsely than Lucene's norms, so it ties articles a word or two apart
    that Lucene tells apart (docs/scale-out.md)."""
    ids = [h.id for h in cluster]
    if not ranked_by_score:
        assert ids == [h.id for h in embedded]
        return
    score = {h.id: h.score for h in embedded}
    scores = [score[i] for i in ids]
    assert scores == sorted(scores, reverse=True), list(zip(ids, scores, strict=True))


def test_node_answers_on_loopback(opensearch_node):
    info = opensearch_node.request("/")
    assert info["version"]["number"].startswith("2.19.")
    assert opensearch_node.url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize("req", REQUESTS,
                         ids=lambda r: f"{r.q}|{r.sort}|{','.join(r.sources)}|{r.date_from}|"
                                       f"{r.date_to}|{r.page}")
def test_same_answers_as_the_embedded_backend(both, req):
    embedded = both["embedded"].search(req)
    cluster = both["opensearch"].search(req)
    if req.sort == "relevance" and req.page == 1:
        # Every hit on the page, so ties cannot straddle its end.
        req = Request(**{**req.__dict__, "per_page": 100})
        embedded, cluster = both["embedded"].search(req), both["opensearch"].search(req)
    assert _comparable(cluster) == _comparable(embedded)
    _assert_same_ranking(cluster.hits, embedded.hits, req.sort == "relevance")


def test_the_contract_requests_find_something(both):
    # The comparison above means little on empty answers, or without the
    # new parts of the answer (timelines of each step, codes, pages).
    answers = [both["embedded"].search(req) for req in REQUESTS]
    searched = [a for a in answers if a.code is None]
    assert all(a.total and a.timeline for a in searched)
    # Each step but years, which needs a span of more than ten years.
    assert {a.timeline["unit"] for a in searched} == {"day", "week", "month"}
    assert {a.code for a in answers} >= CODES
    assert any(a.unknown_sources and a.unknown_sources[0]["closest"] for a in answers)
    assert any(a.last_page for a in answers)


def test_the_deepest_page(both, monkeypatch):
    # last_page stops at MAX_PAGE: lowered here, since the test archive
    # fills only a few pages.
    import search.engine

    monkeypatch.setattr(search.engine, "MAX_PAGE", 2)
    req = Request(q="الاقتصاد", per_page=1)
    embedded, cluster = both["embedded"].search(req), both["opensearch"].search(req)
    assert embedded.pages > 2
    assert (cluster.pages, cluster.last_page) == (embedded.pages, embedded.last_page)
    assert cluster.last_page == 2 < MAX_PAGE


@pytest.fixture(scope="module")
def story_backends(opensearch_node, story_index):
    """Both backends over an archive of near-duplicates (conftest's STORY_NEWS)."""
    config = _config(opensearch_node, "stories")
    build_cluster_index([story_index.parent / "archive"], config)
    return {"embedded": open_backend(story_index), "opensearch": ClusterBackend(config)}


@pytest.mark.parametrize("req", [
    Request(q="وزير الخارجية"),
    Request(q="وزير الخارجية", per_page=1, page=2),
    Request(q="وزير الخارجية", sort="newest"),
    Request(q="الخارجية", sources=("واس",)),
], ids=lambda r: f"{r.q}|{r.sort}|{r.page}|{','.join(r.sources)}")
def test_stories(story_backends, req):
    embedded = story_backends["embedded"].search(req)
    cluster = story_backends["opensearch"].search(req)
    assert embedded.stories < embedded.total or req.sources  # some story of several
    assert (cluster.total, cluster.stories, cluster.pages) == (
        embedded.total, embedded.stories, embedded.pages)
    assert [(h.id, h.story) for h in cluster.hits] == [(h.id, h.story) for h in embedded.hits]


def test_a_story_of_several_is_shown_once(story_backends):
    found = story_backends["opensearch"].search(Request(q="وزير الخارجية"))
    several = [h.story for h in found.hits if h.story.more]
    assert several and all(len(s.others) == s.more for s in several)
    assert len({h.story.id for h in found.hits}) == len(found.hits)


def test_the_page_of_stories_in_the_api(story_backends):
    for kind in ("embedded", "opensearch"):
        client = create_app(backend=story_backends[kind]).test_client()
        page = client.get("/", query_string={"q": "وزير الخارجية"})
        assert page.status_code == 200 and "<details" in page.get_data(as_text=True), kind


def test_the_story_page(story_backends):
    embedded, cluster = story_backends["embedded"], story_backends["opensearch"]
    several = next(h for h in embedded.search(Request(q="وزير الخارجية")).hits if h.story.more)
    for article in (several.id, several.story.others[-1]["id"]):
        for per_page in (50, 1):
            want = embedded.story(article, per_page=per_page)
            got = cluster.story(article, per_page=per_page)
            assert want.articles == several.story.articles > 1
            assert got.as_dict() == want.as_dict()
    assert cluster.story("no such article") is None


@pytest.mark.parametrize("kind", ["embedded", "opensearch"])
def test_similar_articles_are_other_stories_each_once(story_backends, kind):
    """The other printings of an article's story are the same news, not
    similar news: "more like this" leaves them out and shows every other
    story once, on either backend."""
    backend = story_backends[kind]
    similar = [h.id for h in backend.more_like_this("spa/visit")]
    assert similar and not {"spa/visit", "riyadh/visit", "madina/visit"} & set(similar)
    assert "spa/again" in similar  # the same text a month later is another story
    again = [h.id for h in backend.more_like_this("spa/again", limit=10)]
    assert len({"spa/visit", "riyadh/visit", "madina/visit"} & set(again)) == 1


@pytest.mark.parametrize("q", ["الاقتصد", "النفظ", "الاقتصاد", "الطاقه الشمسيه"])
def test_did_you_mean(both, q):
    assert both["opensearch"].search(Request(q=q)).suggestion == \
        both["embedded"].search(Request(q=q)).suggestion


def test_did_you_mean_offers_something(both):
    assert both["opensearch"].search(Request(q="الاقتصد")).suggestion


def test_ranked_ids_agree(both):
    for q in ("الحبوب القمح روسيا", "السياحة السعودية الطاقة", "النفط أوبك الذهب"):
        ids = [i for i, _, _ in both["opensearch"].ranked_ids(q, 100)]
        assert ids == [i for i, _, _ in both["embedded"].ranked_ids(q, 100)], q


def test_article_and_more_like_this(both):
    embedded, cluster = both["embedded"], both["opensearch"]
    article_id = embedded.search(Request(q="النفط")).hits[0].id
    assert cluster.article(article_id, "النفط") == embedded.article(article_id, "النفط")
    assert "<mark>" in cluster.article(article_id, "النفط").body_html
    assert cluster.article("no such article") is None
    similar = cluster.more_like_this(article_id)
    assert similar and article_id not in [h.id for h in similar]


def test_summary_and_stats(both, news_cluster):
    embedded, cluster = both["embedded"], both["opensearch"]
    assert cluster.summary()["articles"] == embedded.summary()["articles"]
    assert cluster.summary()["generation"].startswith("news-")
    mine, theirs = cluster.stats(), embedded.stats()
    for key in ("articles", "undated", "date_min", "date_max", "sources", "fingerprint"):
        assert mine[key] == theirs[key], key


@pytest.mark.parametrize("kind", ["embedded", "opensearch"])
def test_api_search_shape(both, kind):
    client = create_app(backend=both[kind]).test_client()
    answer = client.get("/api/search", query_string={"q": "النفط", "sort": "newest"})
    assert answer.status_code == 200
    data = answer.get_json()
    assert list(data) == ["query", "total", "stories", "page", "pages", "last_page", "per_page",
                          "took_ms", "hits", "facets", "timeline", "suggestion", "partial",
                          "message", "code", "unknown_sources"]
    assert list(data["hits"][0]) == ["id", "rank", "score", "headline", "headline_html",
                                     "snippet_html", "date", "source", "source_name", "story"]
    assert data["timeline"]["periods"]
    assert "<mark>" in data["hits"][0]["headline_html"] + data["hits"][0]["snippet_html"]
    assert set(data["facets"]) == {"source", "year", "month"}
    page = client.get(f"/article/{data['hits'][0]['id']}", query_string={"q": "النفط"})
    assert page.status_code == 200


SOURCES_TSV = "aljazirah\tالجزيرة\thttps://www.al-jazirah.com\nOKAZ\tعكاظ\n"
RECORDS = [
    {"id": f"{source}-{n}", "title": f"خبر الاقتصاد {n} من {source}",
     "content": f"تقرير عن الاقتصاد رقم {n}.", "date": f"2015-07-2{n}", "source": source,
     "url": f"https://example.com/{source}/{n}", "author": f"كاتب {n}"}
    for source, count in (("aljazirah", 3), ("okaz", 2), ("3alyoum", 1))
    for n in range(1, count + 1)
] + [{"id": "hijri-1", "title": "خبر الاقتصاد بتاريخ هجري", "content": "تقرير عن الاقتصاد.",
      "date": "١٢ ربيع الأول ١٤٤٥هـ", "source": "okaz"}]


@pytest.fixture(scope="module")
def named(opensearch_node, tmp_path_factory):
    """Both backends over an archive whose sources have display names (a
    sources file), urls, authors and a Hijri date."""
    root = tmp_path_factory.mktemp("named")
    archive = root / "a.jsonl"
    archive.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in RECORDS), "utf-8")
    (root / "sources.tsv").write_text(SOURCES_TSV, "utf-8")
    names = read_sources(root / "sources.tsv")
    build_index([archive], root / "index", source_names=names)
    config = _config(opensearch_node, "named")
    build_cluster_index([archive], config, source_names=names)
    return {"embedded": open_backend(root / "index"), "opensearch": ClusterBackend(config)}


@pytest.mark.parametrize("req", [
    Request(q="الاقتصاد"),
    Request(q="الاقتصاد", sources=("الجزيره",)),  # a display name, another spelling
    Request(q="الاقتصاد", sources=("ALJAZIRAH", "عكاظ")),
    Request(q="الاقتصاد", sources=("الجزيرة نت",)),  # unknown: the closest is named
    Request(q="الاقتصاد", date_from=date(2015, 7, 22), date_to=date(2015, 7, 28)),
], ids=lambda r: ",".join(r.sources) or str(r.date_from))
def test_display_names_as_on_the_embedded_backend(named, req):
    embedded, cluster = named["embedded"].search(req), named["opensearch"].search(req)
    assert _comparable(cluster) == _comparable(embedded)
    assert embedded.total or embedded.unknown_sources


def test_display_names_are_used(named):
    found = named["opensearch"].search(Request(q="الاقتصاد", sources=("الجزيره",)))
    assert found.total == 3 and {h.source_name for h in found.hits} == {"الجزيرة"}
    assert {f["name"] for f in found.facets["source"]} == {"الجزيرة", "عكاظ", "3alyoum"}


def test_article_fields_as_on_the_embedded_backend(named):
    for article_id in ("aljazirah-1", "okaz-2", "hijri-1"):
        cluster = named["opensearch"].article(article_id, "الاقتصاد")
        assert cluster == named["embedded"].article(article_id, "الاقتصاد")
    first = named["opensearch"].article("aljazirah-1")
    assert (first.url, first.author) == ("https://example.com/aljazirah/1", "كاتب 1")
    assert (first.source_name, first.source_url) == ("الجزيرة", "https://www.al-jazirah.com")
    assert named["opensearch"].article("hijri-1").date_hijri == "١٢ ربيع الأول ١٤٤٥هـ"


@pytest.mark.parametrize("text", ["خب", "خبر ال", "الاقتصاد ", "تقر", "ا", "كلمةلاتوجد"])
def test_completions_as_on_the_embedded_backend(named, text):
    assert named["opensearch"].complete(text) == named["embedded"].complete(text)


def test_completions_in_the_api(named, both):
    assert named["opensearch"].complete("خب")
    assert both["opensearch"].complete("الاقت") == both["embedded"].complete("الاقت")
    client = create_app(backend=named["opensearch"]).test_client()
    answer = client.get("/api/suggest", query_string={"q": "خب"})
    assert answer.status_code == 200 and answer.get_json()["suggestions"]


def test_rebuild_moves_the_alias_and_drops_the_old_index(opensearch_node, tmp_path):
    from conftest import write_news

    config = _config(opensearch_node, "rebuilt")
    archive = write_news(tmp_path / "archive")
    first = build_cluster_index([archive], config)
    second = build_cluster_index([archive], config)
    client = config.client()
    assert sorted(client.indices.get_alias(name="rebuilt")) == [second.generation]
    assert not client.indices.exists(index=first.generation)
    assert second.indexed == first.indexed == client.count(index="rebuilt")["count"]


def test_failed_rebuild_leaves_the_alias_and_deletes_its_index(opensearch_node, tmp_path):
    from conftest import write_news

    config = _config(opensearch_node, "kept")
    archive = write_news(tmp_path / "archive")
    live = build_cluster_index([archive], config).generation
    client = config.client()

    class Indices:
        """The real index API, but moving the alias fails (the cluster went away)."""

        def __getattr__(self, name):
            return getattr(client.indices, name)

        def update_aliases(self, body):
            raise RuntimeError("the cluster went away")

    class Failing:
        indices = Indices()

        def __getattr__(self, name):
            return getattr(client, name)

    with pytest.raises(ClusterError, match="the cluster went away"):
        build_cluster_index([archive], config, client=Failing())
    assert sorted(client.indices.get_alias(name="kept")) == [live]
    assert sorted(client.indices.get(index="kept-*")) == [live]


def test_refused_articles_are_reported_with_the_clusters_reason(opensearch_node, tmp_path):
    from conftest import write_news

    config = _config(opensearch_node, "refusing")
    archive = write_news(tmp_path / "archive")
    client = config.client()

    class Refusing:
        """The real client, but the cluster refuses the first document of each batch."""

        def __getattr__(self, name):
            return getattr(client, name)

        def bulk(self, body, **params):
            body = list(body)
            body[1] = {**body[1], "no_such_field": 1}  # the mapping is strict
            return client.bulk(body=body, **params)

    summary = build_cluster_index([archive], config, client=Refusing(), batch=5)
    refused = [r for r in summary.report if r["reason"].startswith(REJECTED)]
    assert refused and summary.reasons[REJECTED] == len(refused)
    assert "strict_dynamic_mapping_exception" in refused[0]["reason"]
    assert refused[0]["path"].endswith(".txt")
    assert client.count(index="refusing")["count"] == summary.indexed


def _busy_once(client, unavailable: set):
    """The real client, but the bulk items of ``unavailable`` article ids come
    back as a shard without its node (503) the first time they are sent."""
    sent: list[int] = []

    class BusyOnce:
        def __getattr__(self, name):
            return getattr(client, name)

        def bulk(self, body, **params):
            body = list(body)
            sent.append(len(body) // 2)
            taken = [part for i in range(0, len(body), 2)
                     if body[i]["index"]["_id"] not in unavailable for part in body[i:i + 2]]
            answer = (client.bulk(body=taken, **params) if taken
                      else {"errors": False, "items": []})
            items = iter(answer["items"])
            out = []
            for i in range(0, len(body), 2):
                _id = body[i]["index"]["_id"]
                if _id in unavailable:
                    unavailable.discard(_id)
                    out.append({"index": {"_id": _id, "status": 503, "error": {
                        "type": "unavailable_shards_exception", "reason": "node left"}}})
                else:
                    out.append(next(items))
            return {"errors": len(out) != len(answer["items"]) or answer["errors"],
                    "items": out}

    return BusyOnce(), sent


def test_items_the_cluster_could_not_take_are_sent_again(opensearch_node, tmp_path,
                                                          monkeypatch):
    """A 503 item (a node left) is the cluster's failure, not the article's:
    it is sent again, and nothing is reported or lost."""
    import search.cluster.build as build_module
    from conftest import write_news

    monkeypatch.setattr(build_module, "BACKOFF_S", 0)
    config = _config(opensearch_node, "busy")
    archive = write_news(tmp_path / "archive")
    client = config.client()
    first = sorted(build_cluster_index([archive], config).report, key=str)
    busy, sent = _busy_once(client, {"gulf/oil", "jazeera/cup"})
    summary = build_cluster_index([archive], config, client=busy, batch=5)
    assert sorted(summary.report, key=str) == first
    assert client.count(index="busy")["count"] == summary.indexed
    assert sum(sent) == summary.indexed + 2  # the two items, sent again


def test_items_that_keep_failing_stop_the_build_unpublished(opensearch_node, tmp_path,
                                                            monkeypatch):
    import search.cluster.build as build_module
    from conftest import write_news

    monkeypatch.setattr(build_module, "BACKOFF_S", 0)
    config = _config(opensearch_node, "failing")
    archive = write_news(tmp_path / "archive")
    live = build_cluster_index([archive], config).generation
    client = config.client()

    class Always(set):
        def discard(self, item):  # never taken: every attempt fails
            pass

    busy, _ = _busy_once(client, Always({"gulf/oil"}))
    with pytest.raises(ClusterError, match="did not take 1 articles"):
        build_cluster_index([archive], config, client=busy, batch=5)
    assert sorted(client.indices.get_alias(name="failing")) == [live]
    assert sorted(client.indices.get(index="failing-*")) == [live]


def test_an_index_short_of_the_counted_articles_is_not_published(opensearch_node, tmp_path):
    """The last check before the alias moves: the new index holds every
    article the build counted (whatever went missing on the way)."""
    from conftest import write_news

    config = _config(opensearch_node, "short")
    archive = write_news(tmp_path / "archive")
    live = build_cluster_index([archive], config).generation
    client = config.client()

    class Short:
        def __getattr__(self, name):
            return getattr(client, name)

        def bulk(self, body, **params):
            return client.bulk(body=list(body)[2:], **params)  # the first article silently lost

        def count(self, index):
            return client.count(index=index)

    with pytest.raises(ClusterError, match="nothing published"):
        build_cluster_index([archive], config, client=Short(), batch=5)
    assert sorted(client.indices.get_alias(name="short")) == [live]


def test_an_unreachable_cluster_is_a_clear_error(monkeypatch):
    import search.cluster.backend as backend_module

    monkeypatch.setattr(backend_module, "BACKOFF_S", 0)
    backend = ClusterBackend(ClusterConfig(url="http://127.0.0.1:9", alias="x"))
    with pytest.raises(ClusterError, match=r"cannot reach OpenSearch at http://127\.0\.0\.1:9"):
        backend.search(Request(q="النفط"))


def test_credentials_never_shown():
    config = ClusterConfig.resolve("https://reader:s3cret@search.example:9200",
                                   env={"ARSHIF_OPENSEARCH_INDEX": "news"})
    assert config.username == "reader" and config.password == "s3cret"
    assert "s3cret" not in config.display() + repr(config)
    assert config.display() == "https://search.example:9200 (index news)"


def test_the_commands_take_the_switch(news_cluster, news_index, monkeypatch):
    import json

    from click.testing import CliRunner

    from arshif.cli import main

    runner = CliRunner()
    embedded = runner.invoke(main, ["search", "--json", "النفط", "--index", str(news_index)])
    monkeypatch.setenv("ARSHIF_OPENSEARCH_INDEX", news_cluster.alias)
    by_option = runner.invoke(main, ["search", "--json", "النفط", "--backend", "opensearch",
                                     "--url", news_cluster.url])
    monkeypatch.setenv("ARSHIF_BACKEND", "opensearch")
    monkeypatch.setenv("ARSHIF_OPENSEARCH_URL", news_cluster.url)
    by_env = runner.invoke(main, ["search", "--json", "النفط"])
    assert embedded.exit_code == by_option.exit_code == by_env.exit_code == 0, by_env.output
    ids = [[h["id"] for h in json.loads(r.output)["hits"]] for r in (embedded, by_option, by_env)]
    assert ids[0] and ids[0] == ids[1] == ids[2]
    stats = runner.invoke(main, ["stats", "--json"])
    assert stats.exit_code == 0 and json.loads(stats.output)["articles"] > 0
    refused = runner.invoke(main, ["index", "--jobs", "2", str(news_index.parent / "archive")])
    assert refused.exit_code == 2 and "not supported with --backend opensearch" in refused.output
    updated = runner.invoke(main, ["index", "--update", str(news_index.parent / "archive")])
    assert updated.exit_code == 0 and "16 unchanged" in updated.output, updated.output
    assert "0 written by this update" in updated.output


def test_an_unreachable_cluster_exits_2_with_one_line(monkeypatch):
    from click.testing import CliRunner

    import search.cluster.backend as backend_module
    from arshif.cli import main

    monkeypatch.setattr(backend_module, "BACKOFF_S", 0)
    result = CliRunner().invoke(main, ["search", "النفط", "--backend", "opensearch",
                                       "--url", "http://reader:s3cret@127.0.0.1:9"])
    assert result.exit_code == 2
    assert "cannot reach OpenSearch at http://127.0.0.1:9" in result.output
    assert "s3cret" not in result.output and "Traceback" not in result.output


def _sending(client):
    """The real client, noting the ids of the articles each bulk request indexes."""
    sent: list[str] = []

    class Sending:
        def __getattr__(self, name):
            return getattr(client, name)

        def bulk(self, body, **kwargs):
            body = list(body)
            sent.extend(part["index"]["_id"] for part in body if "index" in part)
            return client.bulk(body=body, **kwargs)

    return Sending(), sent


def test_update_upserts_and_deletes_by_file_as_a_rebuild_gives(opensearch_node, tmp_path):
    from conftest import STORY_NEWS, write_story_news

    archive = tmp_path / "archive"
    # Without madina/visit, the edited copy of the story of spa/visit and riyadh/visit.
    write_story_news(archive, STORY_NEWS[:2] + STORY_NEWS[3:])
    config = _config(opensearch_node, "updated")
    build_cluster_index([archive], config)
    write_story_news(archive, [STORY_NEWS[2]])  # new: it joins that story
    japan = list(STORY_NEWS[3])
    japan[3] = "وزير الخارجية يستقبل سفير اليابان ويبحث معه التعاون"
    write_story_news(archive, [tuple(japan)])  # changed
    (archive / "madina" / "brief.txt").unlink()  # removed
    client, sent = _sending(config.client())
    summary = update_cluster_index([archive], config, client=client)
    assert (summary.files, summary.files_unchanged) == (6, 4)
    assert (summary.added, summary.removed, summary.indexed) == (2, 1, 6)
    # Unchanged files are not sent again (the new article twice: then with its story).
    assert set(sent) == {"madina/visit", "spa/japan"}

    rebuilt = _config(opensearch_node, "updated-rebuilt")
    build_cluster_index([archive], rebuilt)
    home = tmp_path / "index"
    build_index([archive], home)
    backends = [ClusterBackend(config), ClusterBackend(rebuilt), open_backend(home)]
    for q in ("وزير الخارجية", "اليابان", "الرياض"):
        updated, *others = [b.search(Request(q=q)) for b in backends]
        assert updated.total
        for other in others:
            assert _comparable(updated) == _comparable(other), q
    visit = backends[0].search(Request(q="اجتماعا وزاريا موسعا"))
    assert max(h.story.articles for h in visit.hits) == 3
    assert backends[0].complete("سفير") == backends[2].complete("سفير")

    again = update_cluster_index([archive], config, client=client)
    assert again.unchanged and (again.added, again.removed) == (0, 0)


def test_an_interrupted_update_is_refused(opensearch_node, tmp_path):
    from conftest import write_news
    from search.cluster.update import set_meta

    config = _config(opensearch_node, "interrupted")
    archive = write_news(tmp_path / "archive")
    name = build_cluster_index([archive], config).generation
    set_meta(config.client(), name, updating=True)
    with pytest.raises(ClusterError, match="interrupted"):
        update_cluster_index([archive], config)
