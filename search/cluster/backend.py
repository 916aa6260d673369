"""``search.backend.Backend`` over an OpenSearch cluster.

A query is parsed by the embedded backend's parser over the same schema
(built from the analysis settings recorded in the index's ``_meta``),
translated (search/cluster/translate.py) and sent once: hits, exact total
and facet aggregations in one request.  Hits and articles are made and
highlighted by search/engine.py's own functions, from the original text the
index keeps, so ``/api/search`` has one shape and one highlighting whatever
the backend.  The answer's framing (messages and their codes, pages, source
filter matching, source names, the timeline's steps) is search/engine.py's
and search/timeline.py's own functions over what the cluster counted.

Stories, completions and "did you mean" are the embedded backend's too:
the build groups near-duplicates with indexer/stories.py and stores each
article's story (its leader's id), which a search collapses on; the
completion table is indexer/completions.py's file, kept beside the index
(search/cluster/files.py) and read with its own reader; search/respell.py's
rules count candidate terms with one ``filters`` aggregation.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from whoosh import query as wq

from indexer import completions
from indexer.arrayfile import ArrayFileError
from indexer.schema import build_schema
from indexer.settings import IndexSettings
from search import respell
from search.backend import (
    MAX_OTHERS,
    STORY_PER_PAGE,
    Article,
    Hit,
    Request,
    Result,
    SearchError,
    Story,
    StoryPage,
    story_page,
)
from search.cluster import files
from search.cluster.connection import PASSING_STATUSES, ClusterConfig, ClusterError, describe
from search.cluster.mapping import DocumentMaker, stored_fields
from search.cluster.translate import to_dsl
from search.engine import (
    MORE_LIKE_TERMS,
    answered_early,
    conclude,
    count_pages,
    elapsed_ms,
    filter_query,
    make_article,
    make_hits,
    name_sources,
    source_names,
)
from search.facets import as_facets
from search.highlight import WHOLE_CHARLIMIT, query_marks
from search.query import MAX_QUERY_CHARS, make_parser, parse
from search.settings import SearchSettings
from search.sources import SourceNames
from search.timeline import timeline_of_days

log = logging.getLogger("arshif.cluster")

#: Facet values counted per field; a terms aggregation counts exactly up to it.
FACET_VALUES = 10_000
_SHOWN = ["id", "text", "source", "date", "date_text", "related", "parent", "url", "author"]
#: Seconds between two looks at which index the alias points to: a rebuild
#: moves it, and its parser, source names and dates are read again then.
#: (The embedded backend sees a new generation at once; a server on the
#: cluster answers from the previous index for at most this long, which it
#: can still search until the rebuild deletes it.)
RECHECK_S = 5.0
#: A read the cluster could not answer for passing reasons is tried again
#: RETRIES times, BACKOFF_S seconds apart and doubling (at most 1.4 s in all).
RETRIES = 3
BACKOFF_S = 0.2
MS_A_DAY = 86_400_000
#: Stories in a result are counted exactly up to this many (OpenSearch's
#: ``cardinality`` counts distinct values exactly below its threshold, at
#: most 40,000, and estimates above it).
STORIES_EXACT = 40_000
#: The articles a story page can list: a search's most (OpenSearch's
#: default ``index.max_result_window``).
MAX_STORY_ARTICLES = 10_000
_NOTHING = {"match_none": {}}


@dataclass
class _Live:
    """What a search needs of the index behind the alias, read once per index."""

    name: str
    parser: object
    analyzer: object
    names: SourceNames
    bounds: tuple[int, int] | None  # the first and last days of the dated articles
    checked: float  # time.monotonic() of the last look at the alias
    derived: str  # the stamp of its stories and completions: an update changes it
    articles: int
    completions: completions.Completions
    exact: str | None  # the view of unstemmed forms (did you mean), if any


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
        self._live_state: _Live | None = None
        #: Requests sent again after a passing failure (``_call``), since start.
        self.retried = 0

    # -- the cluster ------------------------------------------------------------
    @property
    def client(self):
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self.config.client()
        return self._client

    def _call(self, method, **kwargs):
        """One read request; any failure to answer becomes a ClusterError
        (exit 2, 503).  A request the cluster could not answer for its own
        passing reasons (no node answered, a node left with the shards a
        search needed, a full queue: PASSING_STATUSES), or answered without
        some of its shards (a search whose fetch phase reached a node as it
        died: the cluster does not send that phase to another copy), is sent
        again, RETRIES times at most, BACKOFF_S apart and doubling: the client
        has already tried the other nodes, and the cluster needs a moment to
        promote replicas.  The last answer without some shards is returned
        as it is (a search marks it ``partial``)."""
        from opensearchpy import NotFoundError

        delay = BACKOFF_S
        for attempt in range(RETRIES + 1):
            last = attempt == RETRIES
            try:
                answer = method(**kwargs)
            except NotFoundError as exc:
                if getattr(exc, "error", "") == "index_not_found_exception":
                    raise ClusterError(
                        f"no index {self.config.alias} at {self.config.url} yet: build it "
                        "with `arshif index --backend opensearch`") from None
                raise ClusterError(describe(exc, self.config)) from None
            except Exception as exc:
                if last or not _passing(exc):
                    raise ClusterError(describe(exc, self.config)) from None
                why = describe(exc, self.config)
            else:
                failed = answer.get("_shards", {}).get("failed") if isinstance(
                    answer, dict) else None
                if not failed or last:
                    return answer
                why = f"OpenSearch at {self.config.url} answered without {failed} shard(s)"
            log.warning("%s; trying again in %.1f s", why, delay)
            with self._lock:
                self.retried += 1
            time.sleep(delay)
            delay *= 2

    def _meta(self) -> tuple[str, dict]:
        """The concrete index behind the alias and arshif's ``_meta`` of it."""
        found = self._call(self.client.indices.get_mapping, index=self.config.alias)
        name = sorted(found)[-1]
        return name, found[name]["mappings"].get("_meta", {}).get("arshif", {})

    def _live(self) -> _Live:
        """The parser, source names and date bounds of the index behind the
        alias, read again when a rebuild has moved it (looked at every
        RECHECK_S seconds)."""
        live = self._live_state
        if live is not None and time.monotonic() - live.checked < RECHECK_S:
            return live
        name, meta = self._meta()
        if live is not None and (live.name, live.derived) == (name, meta.get("derived")):
            live.checked = time.monotonic()
            return live
        if "settings" not in meta:
            raise ClusterError(f"{self.config.alias} at {self.config.url} was not built by "
                               "arshif: rebuild it with `arshif index --backend opensearch`")
        if "derived" not in meta:
            raise ClusterError(f"{self.config.alias} at {self.config.url} was built by an "
                               "older arshif (no stories, no completions): rebuild it with "
                               "`arshif index --backend opensearch`")
        settings = IndexSettings.from_dict(meta["settings"])
        schema = build_schema(settings)
        answer = self._call(self.client.search, index=name, body={
            "size": 0, "track_total_hits": True, "aggs": {
                "source": {"terms": {"field": "source", "size": FACET_VALUES}},
                "first": {"min": {"field": "date"}}, "last": {"max": {"field": "date"}}}})
        aggs = answer["aggregations"]
        values = [b["key"] for b in aggs["source"]["buckets"]]
        bounds = None
        if aggs["first"].get("value") is not None:
            bounds = (_day(aggs["first"]["value"]), _day(aggs["last"]["value"]))
        exact = next((view for view, stemmer in settings.views.items() if stemmer == "none"),
                     None)
        names = SourceNames(meta.get("source_names", {}), values)
        live = _Live(name, make_parser(schema, self.settings, names), schema["body"].analyzer,
                     names, bounds,
                     time.monotonic(), meta["derived"], answer["hits"]["total"]["value"],
                     self._completions(name, schema["headline"].analyzer), exact)
        self._live_state = live
        return live

    def _completions(self, name: str, analyzer) -> completions.Completions:
        """The index's completion table, copied from its side index and
        opened with the embedded reader (the mapped file outlives its folder)."""
        with tempfile.TemporaryDirectory(prefix="arshif-completions-") as folder:
            path = self._call(files.fetch, client=self.client, index=name,
                              name=completions.NAME, folder=Path(folder))
            if path is None:
                raise ClusterError(f"{name} at {self.config.url} has no completion table: "
                                   "rebuild it with `arshif index --backend opensearch`")
            try:
                return completions.Completions(folder, analyzer)
            except (OSError, ArrayFileError, KeyError, ValueError) as exc:
                raise ClusterError(f"{name}: {completions.NAME}: {exc}") from None

    def _search(self, body: dict) -> dict:
        return self._call(self.client.search, index=self.config.alias, body=body)

    @staticmethod
    def _clause(query: dict, filters: wq.Query | None) -> dict:
        """``query`` within the request's filters (search/engine.py's
        ``filter_query``); filters that can let nothing through (sources
        that match none) match nothing, as on the embedded backend."""
        clause = {"bool": {"must": [query]}}
        if filters is not None:
            clause["bool"]["filter"] = [to_dsl(filters) or _NOTHING]
        return clause

    def _body(self, req: Request, query: dict, size: int, offset: int,
              names: SourceNames) -> dict:
        if req.sort == "relevance":
            sort = [{"_score": "desc"}, {"seq": "asc"}]
        else:  # undated last, as the embedded backend orders them
            order = "desc" if req.sort == "newest" else "asc"
            sort = [{"date": {"order": order, "missing": "_last"}}, {"seq": "asc"}]
        return {"query": self._clause(query, filter_query(req, names)), "size": size,
                "from": offset, "sort": sort, "track_scores": True, "track_total_hits": True}

    def _aggregations(self, req: Request, query: dict, names: SourceNames) -> dict:
        """The facets' and the timeline's counts, over the whole result set.
        With a source filter, sources are also counted without it (as
        search/engine.py does: the facet offers the other sources)."""
        sources = {"terms": {"field": "source", "size": FACET_VALUES}}
        aggs = {"source": sources,
                "month": {"terms": {"field": "month", "size": FACET_VALUES}},
                # One bucket per day with articles (dates are UTC, as the
                # embedded index's day numbers count them).
                "days": {"date_histogram": {"field": "date", "calendar_interval": "day",
                                            "min_doc_count": 1}}}
        if req.sources:
            everywhere = self._clause(query, filter_query(replace(req, sources=()), names))
            aggs["everywhere"] = {"global": {}, "aggs": {"matched": {
                "filter": everywhere, "aggs": {"source": sources}}}}
        return aggs

    # -- the Backend protocol -----------------------------------------------------
    def search(self, req: Request) -> Result:
        req.check()
        started = time.perf_counter()
        live = self._live()
        parsed = parse(live.parser, req.q)
        result = Result(query=parsed.text, total=0, stories=0, page=req.page, pages=0,
                        last_page=0, per_page=req.per_page, took_ms=0.0)
        if answered_early(result, parsed, req, live.names):
            result.took_ms = elapsed_ms(started)
            return result
        query = to_dsl(parsed.query)
        if query is None:  # a query that can match nothing: counts of nothing
            if req.facets:
                result.facets = as_facets([], [])
            return conclude(result, req, started)
        start = (req.page - 1) * req.per_page
        body = self._body(req, query, req.per_page, start, live.names)
        # A page of stories: each story once, as its best-ranked article.
        body["collapse"] = {"field": "story"}
        body["_source"] = _SHOWN
        body["aggs"] = {"stories": {"cardinality": {
            "field": "story", "precision_threshold": STORIES_EXACT}}}
        if req.facets:
            body["aggs"].update(self._aggregations(req, query, live.names))
        answer = self._search(body)
        result.total = answer["hits"]["total"]["value"]
        result.stories = int(answer["aggregations"]["stories"]["value"])
        result.partial = bool(answer.get("timed_out")) or bool(
            answer.get("_shards", {}).get("failed"))
        if req.facets:
            aggs = answer["aggregations"]
            result.facets = as_facets(_counts(aggs["source"]), _counts(aggs["month"]))
            if req.sources:
                everywhere = aggs["everywhere"]["matched"]["source"]
                result.facets["source"] = as_facets(_counts(everywhere), [])["source"]
            name_sources(result.facets, live.names)
            days = aggs["days"]["buckets"]
            result.timeline = timeline_of_days(
                np.array([_day(b["key"]) for b in days], dtype=np.int64), live.bounds,
                req.date_from, req.date_to,
                weights=np.array([b["doc_count"] for b in days], dtype=np.int64))
        count_pages(result, req)
        terms = query_marks(parsed.query)
        found = answer["hits"]["hits"]
        stories = self._stories([hit["fields"]["story"][0] for hit in found], live.names)
        result.hits = make_hits([stored_fields(hit["_source"]) for hit in found],
                                [hit.get("_score") for hit in found], start + 1, terms,
                                req.highlight, live.analyzer, live.names)
        for shown, hit in zip(result.hits, found, strict=True):
            size, members = stories[hit["fields"]["story"][0]]
            others = [m for m in members if m["id"] != shown.id][:MAX_OTHERS]
            shown.story = Story(id=members[0]["id"], articles=size, more=size - 1,
                                others=others)
        result.suggestion = self._suggest(live, parsed.text)
        return conclude(result, req, started)

    def _stories(self, names: list[str], sources: SourceNames
                 ) -> dict[str, tuple[int, list[dict]]]:
        """The size of each story in ``names`` and its first MAX_OTHERS + 1
        members (the hit may be one of them) in the embedded index's order
        (by day, undated last, then id): ``{"id", "source", "source_name",
        "date"}`` each."""
        if not names:
            return {}
        answer = self._search({"size": 0, "query": {"terms": {"story": names}}, "aggs": {
            "story": {"terms": {"field": "story", "size": len(names)}, "aggs": {
                "first": {"top_hits": {
                    "size": MAX_OTHERS + 1, "_source": ["id", "source", "date"],
                    "sort": [{"day": {"order": "asc", "missing": "_last"}},
                             {"id": "asc"}]}}}}}})
        out = {}
        for bucket in answer["aggregations"]["story"]["buckets"]:
            members = [{"id": m["_source"]["id"], "source": m["_source"].get("source", ""),
                        "source_name": sources.name(m["_source"].get("source", "")),
                        "date": (m["_source"].get("date") or "")[:10] or None}
                       for m in bucket["first"]["hits"]["hits"]]
            out[bucket["key"]] = (bucket["doc_count"], members)
        return out

    def _suggest(self, live: _Live, text: str) -> str | None:
        """Did you mean (search/respell.py), its candidates counted in the cluster."""
        def counts(field: str):
            return lambda terms: self._doc_frequencies(field, terms)

        return respell.suggest(text, live.analyzer, live.articles, counts(respell.FIELD),
                               lambda lookups: None, live.completions.spelling,
                               live.exact and counts(live.exact), live.completions.headlines)

    def _doc_frequencies(self, field: str, terms: list[str]) -> list[int]:
        """The articles holding each of ``terms`` in ``field``: one request."""
        if not terms:
            return []
        filters = {str(n): {"term": {field: term}} for n, term in enumerate(terms)}
        answer = self._search({"size": 0, "track_total_hits": False,
                               "aggs": {"terms": {"filters": {"filters": filters}}}})
        buckets = answer["aggregations"]["terms"]["buckets"]
        return [buckets[str(n)]["doc_count"] for n in range(len(terms))]

    def ranked_ids(self, query: str | Request, limit: int = 100) -> list[tuple[str, int, float]]:
        req = query if isinstance(query, Request) else Request(q=query)
        live = self._live()
        parsed = parse(live.parser, req.q)
        dsl = None if parsed.query is wq.NullQuery else to_dsl(parsed.query)
        if dsl is None:
            return []
        body = self._body(req, dsl, limit, 0, live.names)
        body.update(_source=["id"], track_total_hits=False)
        hits = self._search(body)["hits"]["hits"]
        return [(hit["_source"]["id"], n + 1, round(float(hit.get("_score") or 0), 4))
                for n, hit in enumerate(hits)]

    def _source_of(self, article_id: str, fields: list[str]) -> dict | None:
        """``fields`` of the ``_source`` of ``article_id``; None: no such article."""
        hits = self._search({"query": {"term": {"id": article_id}}, "size": 1,
                             "_source": fields})["hits"]["hits"]
        return hits[0]["_source"] if hits else None

    def _document(self, article_id: str) -> dict | None:
        source = self._source_of(article_id, _SHOWN)
        return stored_fields(source) if source is not None else None

    def article(self, article_id: str, q: str = "") -> Article | None:
        live = self._live()
        doc = self._document(article_id)
        if doc is None:
            return None
        terms = query_marks(parse(live.parser, q).query) if q else {}
        return make_article(doc, terms, live.analyzer, live.names)

    def more_like_this(self, article_id: str, limit: int = 5) -> list[Hit]:
        """OpenSearch's more-like-this over the article's analyzed body: its
        most distinctive terms (tf-idf), OR-ed; one article per story (a
        collapse) and none of the article's own story, as the embedded
        backend has it."""
        live = self._live()
        source = self._source_of(article_id, [*_SHOWN, "story"])
        doc = stored_fields(source) if source is not None else None
        if doc is None or not doc["body"]:
            return []
        story = source.get("story") or article_id
        # The body's first WHOLE_CHARLIMIT characters, as the embedded
        # backend: a huge record is not analyzed (and sent) whole.
        terms = DocumentMaker.body_terms(live.analyzer, doc["body"][:WHOLE_CHARLIMIT])
        if not terms:
            return []
        body = {"query": {"bool": {
            "must": [{"more_like_this": {"fields": ["body"], "like": terms,
                                         "max_query_terms": MORE_LIKE_TERMS, "min_term_freq": 1,
                                         "min_doc_freq": 1}}],
            "must_not": [{"term": {"id": article_id}}, {"term": {"story": story}}]}},
            "collapse": {"field": "story"},
            "size": limit, "sort": [{"_score": "desc"}, {"seq": "asc"}], "_source": _SHOWN}
        hits = self._search(body)["hits"]["hits"]
        return make_hits([stored_fields(h["_source"]) for h in hits],
                         [h.get("_score") for h in hits], 1, {}, False, live.analyzer, live.names)

    def story(self, article_id: str, page: int = 1,
              per_page: int = STORY_PER_PAGE) -> StoryPage | None:
        """A page of the story of ``article_id``: the articles whose ``story``
        is its story's, in the embedded index's order (by day, undated last,
        then id)."""
        live = self._live()
        found = self._source_of(article_id, ["story"])
        if found is None:
            return None
        leader = found.get("story") or article_id
        members = [stored_fields(h["_source"]) for h in self._search({
            "query": {"term": {"story": leader}}, "size": MAX_STORY_ARTICLES,
            "_source": ["id", "text.headline", "source", "date", "url"],
            "sort": [{"day": {"order": "asc", "missing": "_last"}}, {"id": "asc"}],
        })["hits"]["hits"]]

        def member(doc: dict) -> dict:
            source = doc.get("source", "")
            return {"id": doc["id"], "headline": doc.get("headline", ""), "source": source,
                    "source_name": live.names.name(source),
                    "date": doc["date"].date().isoformat() if doc.get("date") else None,
                    "url": doc.get("url", "")}

        return story_page(members[0]["id"] if members else article_id, members, page,
                          per_page, member)

    def complete(self, text: str, limit: int = 8) -> list[tuple[str, int]]:
        if len(text) > MAX_QUERY_CHARS:
            raise SearchError(f"the query is too long: at most {MAX_QUERY_CHARS} characters")
        return self._live().completions.complete(text, limit)

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
            "source_names": source_names(sources, self._live().names),
            "size_bytes": size["_all"]["total"]["store"]["size_in_bytes"],
            "fingerprint": meta.get("fingerprint"),
            "built_at": meta.get("built_at"),
        }


def _passing(exc: Exception) -> bool:
    """Whether a failed request may succeed if sent again in a moment."""
    from opensearchpy import exceptions as os_exc

    if isinstance(exc, os_exc.ConnectionError):  # no node answered (timeouts included)
        return True
    return isinstance(exc, os_exc.TransportError) and exc.status_code in PASSING_STATUSES


def _counts(aggregation: dict) -> list[tuple[str, int]]:
    """A terms aggregation's (value, count) pairs."""
    return [(b["key"], b["doc_count"]) for b in aggregation["buckets"]]


def _day(epoch_ms: float) -> int:
    """A date aggregation's value (milliseconds since 1970, UTC) as a day number."""
    return int(epoch_ms // MS_A_DAY)
