"""The OpenSearch backend against a real node (tests/opensearch_node.py):
the same answers as the embedded backend on the same archive, and
rebuilds that publish atomically."""

from __future__ import annotations

from datetime import date

import pytest

from search.backend import Request, open_backend
from search.cluster.backend import ClusterBackend
from search.cluster.build import REJECTED, build_cluster_index
from search.cluster.connection import ClusterConfig, ClusterError
from web.app import create_app

pytestmark = pytest.mark.opensearch

#: Requests both backends answer: plain words, several words, a phrase, a
#: prefix, an exclusion, a field, filters, sorts, a second page.
REQUESTS = [
    Request(q="الاقتصاد"),
    Request(q="النفط"),
    Request(q="الحبوب القمح روسيا"),
    Request(q='"الطاقة الشمسية"'),
    Request(q="الانتخ*"),
    Request(q="الاقتصاد -تركيا"),
    Request(q="العنوان:زلزال"),
    Request(q="الاقتصاد", date_from=date(2023, 1, 1), date_to=date(2023, 6, 30)),
    Request(q="الاقتصاد", source="العربية"),
    Request(q="الاقتصاد", sort="newest"),
    Request(q="الاقتصاد", sort="oldest", per_page=5, page=2),
    Request(q="المصدر:الجزيرة تركيا"),
    Request(q="التاريخ:2023-09"),
    Request(q="من هو"),
]


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


@pytest.mark.parametrize("req", REQUESTS, ids=lambda r: f"{r.q}|{r.sort}|{r.source}|{r.page}")
def test_same_answers_as_the_embedded_backend(both, req):
    embedded = both["embedded"].search(req)
    cluster = both["opensearch"].search(req)
    if req.sort == "relevance":  # every hit on the page, so ties cannot straddle its end
        req = Request(**{**req.__dict__, "per_page": 100})
        embedded, cluster = both["embedded"].search(req), both["opensearch"].search(req)
    assert _comparable(cluster) == _comparable(embedded)
    _assert_same_ranking(cluster.hits, embedded.hits, req.sort == "relevance")


def test_the_contract_requests_find_something(both):
    # The comparison above means little on empty answers.
    found = [both["embedded"].search(req).total for req in REQUESTS[:-1]]
    assert all(found), found


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
    assert list(data) == ["query", "total", "page", "pages", "per_page", "took_ms", "hits",
                          "facets", "suggestion", "partial", "message"]
    assert list(data["hits"][0]) == ["id", "rank", "score", "headline", "headline_html",
                                     "snippet_html", "date", "source"]
    assert "<mark>" in data["hits"][0]["headline_html"] + data["hits"][0]["snippet_html"]
    assert set(data["facets"]) == {"source", "year", "month"}
    page = client.get(f"/article/{data['hits'][0]['id']}", query_string={"q": "النفط"})
    assert page.status_code == 200


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

        def __init__(self):
            self.indices = client.indices
            self.count = client.count

        def bulk(self, body):
            body = list(body)
            body[1] = {**body[1], "no_such_field": 1}  # the mapping is strict
            return client.bulk(body=body)

    summary = build_cluster_index([archive], config, client=Refusing(), batch=5)
    refused = [r for r in summary.report if r["reason"].startswith(REJECTED)]
    assert refused and summary.reasons[REJECTED] == len(refused)
    assert "strict_dynamic_mapping_exception" in refused[0]["reason"]
    assert refused[0]["path"].endswith(".txt")
    assert client.count(index="refusing")["count"] == summary.indexed


def test_an_unreachable_cluster_is_a_clear_error():
    backend = ClusterBackend(ClusterConfig(url="http://127.0.0.1:9", alias="x"))
    with pytest.raises(ClusterError, match=r"cannot reach OpenSearch at http://127\.0\.0\.1:9"):
        backend.search(Request(q="النفط"))


def test_credentials_never_shown():
    config = ClusterConfig.from_env("https://reader:s3cret@search.example:9200",
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
    refused = runner.invoke(main, ["index", "--update", str(news_index.parent / "archive")])
    assert refused.exit_code == 2 and "not supported with --backend opensearch" in refused.output


def test_an_unreachable_cluster_exits_2_with_one_line(monkeypatch):
    from click.testing import CliRunner

    from arshif.cli import main

    result = CliRunner().invoke(main, ["search", "النفط", "--backend", "opensearch",
                                       "--url", "http://reader:s3cret@127.0.0.1:9"])
    assert result.exit_code == 2
    assert "cannot reach OpenSearch at http://127.0.0.1:9" in result.output
    assert "s3cret" not in result.output and "Traceback" not in result.output
