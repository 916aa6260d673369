"""``search.backend.Backend`` over an OpenSearch cluster.

A query is parsed by the embedded backend's parser over the same schema
(built from the analysis settings recorded in the index's ``_meta``),
translated (search/cluster/translate.py) and sent once: hits, exact total
and facet aggregations in one request.  Hits and articles are made and
highlighted by search/engine.py's own functions, from the original text the
index keeps, so ``/api/search`` has one shape and one highlighting whatever
the backend.
"""

from __future__ import annotations

import threading
import time

from whoosh import query as wq

from indexer.schema import build_schema
from indexer.settings import IndexSettings
from search.backend import Article, Hit, Request, Result
from search.cluster.connection import ClusterConfig, ClusterError, describe
from search.cluster.mapping import DocumentMaker, stored_fields
from search.cluster.translate import to_dsl
from search.engine import (
    MORE_LIKE_TERMS,
    empty_message,
    filter_query,
    highlight_terms,
    make_article,
    make_hit,
)
from search.facets import FACET_FIELDS
from search.query import make_parser, parse
from search.settings import SearchSettings

#: Facet values counted per field; a terms aggregation counts exactly up to it.
FACET_VALUES = 10_000
_SHOWN = ["id", "text", "source", "date", "date_text", "related", "parent"]


class ClusterBackend:
    """Search the index behind ``config.alias``; safe to share between threads
    (the client is thread-safe; one per process, made on first use)."""

    def __init__(self, config: ClusterConfig, settings: SearchSettings | None = None,
                 client=None):
        self.config = config
        self.home = config.display()  # what the web app and messages show
        self.settings = settings or SearchSettings()
        self._client = client
        self._lock = threading.Lock()
        self._parser = None
        self._analyzer = None

    # -- the cluster ------------------------------------------------------------
    @property
    def client(self):
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self.config.client()
        return self._client

    def _call(self, method, **kwargs):
        """One request; any failure to answer becomes a ClusterError (exit 2, 503)."""
        from opensearchpy import NotFoundError

        try:
            return method(**kwargs)
        except NotFoundError as exc:
            if getattr(exc, "error", "") == "index_not_found_exception":
                raise ClusterError(
                    f"no index {self.config.alias} at {self.config.url} yet: build it with "
                    "`arshif index --backend opensearch`") from None
            raise ClusterError(describe(exc, self.config)) from None
        except Exception as exc:
            raise ClusterError(describe(exc, self.config)) from None

    def _meta(self) -> tuple[str, dict]:
        """The concrete index behind the alias and arshif's ``_meta`` of it."""
        found = self._call(self.client.indices.get_mapping, index=self.config.alias)
        name = sorted(found)[-1]
        return name, found[name]["mappings"].get("_meta", {}).get("arshif", {})

    def _setup(self) -> None:
        if self._parser is None:
            _, meta = self._meta()
            if "settings" not in meta:
                raise ClusterError(f"{self.config.alias} at {self.config.url} was not built by "
                                   "arshif: rebuild it with `arshif index --backend opensearch`")
            schema = build_schema(IndexSettings.from_dict(meta["settings"]))
            self._analyzer = schema["body"].analyzer
            self._parser = make_parser(schema, self.settings)

    def _search(self, body: dict) -> dict:
        return self._call(self.client.search, index=self.config.alias, body=body)

    def _body(self, req: Request, query: dict, size: int, offset: int) -> dict:
        filters = filter_query(req)
        clause = {"bool": {"must": [query]}}
        if filters is not None:
            clause["bool"]["filter"] = [to_dsl(filters)]
        if req.sort == "relevance":
            sort = [{"_score": "desc"}, {"seq": "asc"}]
        else:  # undated last, as the embedded backend orders them
            order = "desc" if req.sort == "newest" else "asc"
            sort = [{"date": {"order": order, "missing": "_last"}}, {"seq": "asc"}]
        return {"query": clause, "size": size, "from": offset, "sort": sort,
                "track_scores": True, "track_total_hits": True}

    # -- the Backend protocol -----------------------------------------------------
    def search(self, req: Request) -> Result:
        req.check()
        started = time.perf_counter()
        self._setup()
        parsed = parse(self._parser, req.q)
        result = Result(query=parsed.text, total=0, page=req.page, pages=0,
                        per_page=req.per_page, took_ms=0.0)
        query = None if parsed.query is wq.NullQuery else to_dsl(parsed.query)
        if parsed.query is wq.NullQuery:
            result.message = empty_message(parsed)
        elif query is not None:
            start = (req.page - 1) * req.per_page
            body = self._body(req, query, req.per_page, start)
            body["_source"] = _SHOWN
            if req.facets:
                body["aggs"] = {name: {"terms": {"field": name, "size": FACET_VALUES}}
                                for name in ("source", "month")}
            answer = self._search(body)
            result.total = answer["hits"]["total"]["value"]
            result.partial = bool(answer.get("timed_out")) or bool(
                answer.get("_shards", {}).get("failed"))
            if req.facets:
                result.facets = _facets(answer["aggregations"])
            result.pages = -(-result.total // req.per_page) if result.total else 0
            terms = highlight_terms(parsed)
            for rank, hit in enumerate(answer["hits"]["hits"], start + 1):
                result.hits.append(make_hit(stored_fields(hit["_source"]), hit.get("_score"),
                                            rank, terms, req.highlight, self._analyzer))
        elif req.facets:  # a query that can match nothing: counts of nothing
            result.facets = {name: [] for name in FACET_FIELDS}
        if parsed.query is not wq.NullQuery and not result.total:
            result.message = "no results"
        result.took_ms = round((time.perf_counter() - started) * 1000, 2)
        return result

    def ranked_ids(self, query: str | Request, limit: int = 100) -> list[tuple[str, int, float]]:
        req = query if isinstance(query, Request) else Request(q=query)
        self._setup()
        parsed = parse(self._parser, req.q)
        dsl = None if parsed.query is wq.NullQuery else to_dsl(parsed.query)
        if dsl is None:
            return []
        body = self._body(req, dsl, limit, 0)
        body.update(_source=["id"], track_total_hits=False)
        hits = self._search(body)["hits"]["hits"]
        return [(hit["_source"]["id"], n + 1, round(float(hit.get("_score") or 0), 4))
                for n, hit in enumerate(hits)]

    def _document(self, article_id: str) -> dict | None:
        hits = self._search({"query": {"term": {"id": article_id}}, "size": 1,
                             "_source": _SHOWN})["hits"]["hits"]
        return stored_fields(hits[0]["_source"]) if hits else None

    def article(self, article_id: str, q: str = "") -> Article | None:
        self._setup()
        doc = self._document(article_id)
        if doc is None:
            return None
        terms = highlight_terms(parse(self._parser, q)) if q else {}
        return make_article(doc, terms, self._analyzer)

    def more_like_this(self, article_id: str, limit: int = 5) -> list[Hit]:
        """OpenSearch's more-like-this over the article's analyzed body: its
        most distinctive terms (tf-idf), OR-ed."""
        self._setup()
        doc = self._document(article_id)
        if doc is None or not doc["body"]:
            return []
        terms = DocumentMaker.body_terms(self._analyzer, doc["body"])
        if not terms:
            return []
        body = {"query": {"bool": {
            "must": [{"more_like_this": {"fields": ["body"], "like": terms,
                                         "max_query_terms": MORE_LIKE_TERMS, "min_term_freq": 1,
                                         "min_doc_freq": 1}}],
            "must_not": [{"term": {"id": article_id}}]}},
            "size": limit, "sort": [{"_score": "desc"}, {"seq": "asc"}], "_source": _SHOWN}
        hits = self._search(body)["hits"]["hits"]
        return [make_hit(stored_fields(h["_source"]), h.get("_score"), n + 1, {}, False,
                         self._analyzer) for n, h in enumerate(hits)]

    def summary(self) -> dict:
        name, _ = self._meta()
        count = self._call(self.client.count, index=self.config.alias)["count"]
        return {"articles": count, "generation": name}

    def stats(self) -> dict:
        name, meta = self._meta()
        body = {"size": 0, "track_total_hits": True, "aggs": {
            "sources": {"terms": {"field": "source", "size": FACET_VALUES}},
            "dated": {"value_count": {"field": "date"}},
            "date_min": {"min": {"field": "date", "format": "yyyy-MM"}},
            "date_max": {"max": {"field": "date", "format": "yyyy-MM"}}}}
        answer = self._search(body)
        aggs = answer["aggregations"]
        total = answer["hits"]["total"]["value"]
        sources = sorted(((b["key"], b["doc_count"]) for b in aggs["sources"]["buckets"]),
                         key=lambda kv: (-kv[1], kv[0]))
        size = self._call(self.client.indices.stats, index=self.config.alias, metric="store")
        return {
            "path": self.config.display(),
            "generation": name,
            "articles": total,
            "undated": total - int(aggs["dated"]["value"]),
            "date_min": aggs["date_min"].get("value_as_string"),
            "date_max": aggs["date_max"].get("value_as_string"),
            "sources": sources,
            "size_bytes": size["_all"]["total"]["store"]["size_in_bytes"],
            "fingerprint": meta.get("fingerprint"),
            "built_at": meta.get("built_at"),
        }


def _facets(aggs: dict) -> dict[str, list[dict]]:
    """The aggregations as search/facets.py's counts: sources by count, then
    name; years (their months' sum) and months in order; no empty value."""
    sources = sorted(((b["key"], b["doc_count"]) for b in aggs["source"]["buckets"] if b["key"]),
                     key=lambda kv: (-kv[1], kv[0]))
    months = sorted((b["key"], b["doc_count"]) for b in aggs["month"]["buckets"] if b["key"])
    years: dict[str, int] = {}
    for month, count in months:
        years[month[:4]] = years.get(month[:4], 0) + count
    out = {"source": sources, "year": sorted(years.items()), "month": months}
    return {name: [{"value": k, "count": v} for k, v in out[name]] for name in FACET_FIELDS}
