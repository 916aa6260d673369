"""The search-backend seam: what the web app, the CLI and ``arshif eval`` ask of an index.

The requests and answers below are the whole contract: the JSON API and
``arshif search --json`` are these dataclasses as dicts.  The embedded Whoosh
index (search/engine.py) is one backend; another (a search cluster) only has
to answer the same calls with the same shapes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol

from search.query import MAX_QUERY_CHARS

SORTS = ("relevance", "newest", "oldest")
#: The limits of a request, one set for every way in: the web page, the API
#: and ``arshif search`` all check these same values (web/params.py in Arabic
#: first).  MAX_QUERY_CHARS is the query parser's: a longer query is refused
#: rather than silently cut.
MAX_PAGE = 100  # deepest page served: bounds the cost of a query
MAX_PER_PAGE = 100


class SearchError(ValueError):
    """A request that cannot be answered (bad page, bad date...): a 400, exit 2.

    ``code`` names the problem for programs (the JSON API's ``code``)."""

    def __init__(self, message: str, code: str = "bad_request"):
        super().__init__(message)
        self.code = code


@dataclass
class Request:
    q: str = ""
    page: int = 1
    per_page: int = 10
    date_from: date | None = None
    date_to: date | None = None
    #: Sources to search in (any of them), as typed: each matches an indexed
    #: source or its display name ignoring case and spelling (search/sources.py).
    sources: tuple[str, ...] = ()
    sort: str = "relevance"
    highlight: bool = True
    facets: bool = True

    def check(self) -> None:
        if len(self.q) > MAX_QUERY_CHARS:
            raise SearchError(f"the query is too long: at most {MAX_QUERY_CHARS} characters",
                              "query_too_long")
        if self.sort not in SORTS:
            raise SearchError(f"sort must be one of {', '.join(SORTS)}", "bad_sort")
        if not 1 <= self.page <= MAX_PAGE:
            raise SearchError(f"page must be between 1 and {MAX_PAGE}", "bad_page")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise SearchError(f"page size must be between 1 and {MAX_PER_PAGE}",
                              "bad_per_page")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise SearchError("the start date is after the end date", "date_order")


@dataclass
class Story:
    """The story a hit stands for (indexer/stories.py): the same news in
    other articles, near-copies from other sources or dates."""

    id: str  # the story's first article (the oldest; its id for ties)
    articles: int  # the story's articles in the index, the hit's included
    more: int  # the story's other articles: ``articles - 1``
    #: The first MAX_OTHERS of them, oldest first: {"id", "source",
    #: "source_name" (its display name), "date"}.
    others: list[dict] = field(default_factory=list)


#: The other articles of a story listed with a hit (the count says the rest).
MAX_OTHERS = 20
#: The articles of a page of a whole story (``Backend.story``).
STORY_PER_PAGE = 50


@dataclass
class StoryPage:
    """A page of a whole story: the story page and ``/api/story``."""

    id: str  # the story's first article (the oldest; its id for ties)
    articles: int  # the story's articles in the index
    page: int
    pages: int
    per_page: int
    #: This page's articles, oldest first: {"id", "headline", "source",
    #: "source_name", "date", "url"}.
    members: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def story_page(article_id: str, members: list, page: int, per_page: int, article) -> StoryPage:
    """The page ``page`` of a story of ``members`` (oldest first), each
    made a dict by ``article(member)``; raises SearchError for a page the
    story does not fill (its first page always exists)."""
    pages = max(1, -(-len(members) // per_page))
    if not 1 <= page <= pages:
        raise SearchError(f"page must be between 1 and {pages}", "bad_page")
    shown = members[(page - 1) * per_page:page * per_page]
    return StoryPage(id=article_id, articles=len(members), page=page, pages=pages,
                     per_page=per_page, members=[article(m) for m in shown])


@dataclass
class Hit:
    id: str
    rank: int
    score: float
    headline: str
    headline_html: str
    snippet_html: str
    date: str | None
    source: str  # the indexed value: what a source filter link carries
    source_name: str = ""  # its display name (the sources file), else the value
    story: Story | None = None  # None: not a search result (more like this)


@dataclass
class Result:
    """A page of a search: ``total`` matching articles in ``stories``
    stories; ``hits`` are stories, each shown by its best-ranked article."""

    query: str
    total: int
    stories: int
    page: int
    pages: int  # pages the hits fill
    last_page: int  # the deepest page that can be opened: pages, at most MAX_PAGE
    per_page: int
    took_ms: float
    hits: list[Hit] = field(default_factory=list)
    facets: dict = field(default_factory=dict)
    #: Matches per day, week, month or year (search/timeline.py), None
    #: without dated matches.
    timeline: dict | None = None
    suggestion: str | None = None
    partial: bool = False  # a limit cut the search short
    message: str | None = None  # why a query found nothing (Arabic: search/messages.py)
    code: str | None = None  # the message's stable name, for programs
    #: Typed sources that match no source: ``{"source": typed, "closest":
    #: display name or None}`` each.
    unknown_sources: list[dict] = field(default_factory=list)

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
    headline_html: str = ""  # the headline, escaped, the query's matches marked
    #: The date as the source printed it when that was a Hijri date (the
    #: page shows it beside the Gregorian ``date``), else "".
    date_hijri: str = ""
    source_name: str = ""
    source_url: str = ""  # the source's address from the sources file
    url: str = ""  # the original article's address, when the archive gave it
    author: str = ""  # the byline, when the archive gave it

    def as_dict(self) -> dict:
        return asdict(self)


class Backend(Protocol):
    """One index, searched.  Every method may raise ``indexer.store.StoreError``
    (no index yet, damaged index) and ``SearchError`` (a bad request)."""

    def search(self, req: Request) -> Result:
        """The search box: a page of stories (each its best-ranked article,
        with the story's others) with highlights, facets, suggestion."""

    def ranked_ids(self, query: str | Request, limit: int = 100) -> list[tuple[str, int, float]]:
        """(id, rank, score) of the top ``limit`` of a query text or of a
        request (its filters and sort), ranked as ``search`` ranks, every
        article (stories not merged): batch runs, evaluation, benchmarks."""

    def article(self, article_id: str, q: str = "") -> Article | None:
        """One article by id; with ``q``, its body with the query's matches marked."""

    def more_like_this(self, article_id: str, limit: int = 5) -> list[Hit]:
        """Articles most similar to ``article_id``."""

    def story(self, article_id: str, page: int = 1,
              per_page: int = STORY_PER_PAGE) -> StoryPage | None:
        """A page of the whole story an article belongs to (every article,
        not only a query's), oldest first; None for an unknown id."""

    def complete(self, text: str, limit: int = 8) -> list[tuple[str, int]]:
        """Completions of a search box's text as typed so far: (the text to
        search, how many headlines hold its completed words), most
        frequent first (indexer/completions.py)."""

    def summary(self) -> dict:
        """``{"articles": n, "generation": name}``, cheap: the health check."""

    def stats(self) -> dict:
        """What the index holds (``arshif stats``)."""


#: Where an index lives: ``embedded`` (a folder, the default) or ``opensearch``
#: (a cluster: search/cluster/).
BACKENDS = ("embedded", "opensearch")


@dataclass(frozen=True)
class Target:
    """Which backend a command uses and how to reach it: ``--backend``,
    ``--url`` (or ``$ARSHIF_BACKEND``, ``$ARSHIF_OPENSEARCH_URL``), and the
    config file's settings (search/config.py's ``Config``), which both beat."""

    kind: str = "embedded"
    url: str | None = None
    config: object = None  # search.config.Config, or None without a file

    def cluster(self, shards: int | None = None, replicas: int | None = None):
        """The cluster's connection settings (search/cluster/connection.py);
        ``shards`` and ``replicas`` as given on the command line."""
        from search.cluster.connection import ClusterConfig

        file = self.config.opensearch if self.config is not None else None
        return ClusterConfig.resolve(self.url, file=file, shards=shards, replicas=replicas)


def open_backend(home: Path | None = None, target: Target | None = None, **settings) -> Backend:
    """The backend for an index home (default ``$ARSHIF_INDEX`` or
    ``data/index``), or with an ``opensearch`` target, for a cluster."""
    if target is not None and target.kind == "opensearch":
        from search.cluster.backend import ClusterBackend

        return ClusterBackend(target.cluster(), **settings)
    from indexer import store
    from search.engine import Engine

    return Engine(Path(home) if home is not None else store.default_home(), **settings)
