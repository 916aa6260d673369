"""The app's one search backend, and the few calls the views make on it.

One backend lives as long as the app: the embedded one keeps the live
generation open and reopens it when ``arshif index`` publishes a new one, so
a running server follows rebuilds without a restart.  Creating one per
request would reopen the index on every search.
"""

from __future__ import annotations

from flask import current_app

from search.backend import Article, Backend, Hit, Request, Result, StoryPage

EXTENSION = "arshif.backend"
#: Similar articles (other stories) an article page and ``/api/article`` list.
MORE_LIKE_THIS = 5
#: The other articles of an article's own story they list, oldest first
#: (the story page lists them all).
SAME_STORY = 10


def engine() -> Backend:
    return current_app.extensions[EXTENSION]


def search(req: Request) -> Result:
    return engine().search(req)


def article(article_id: str, q: str = "") -> Article | None:
    """``Engine.article`` with the query's matches highlighted."""
    return engine().article(article_id, q=q)


def story(article_id: str, page: int) -> StoryPage | None:
    """A page of the whole story of an article (None: no such article)."""
    return engine().story(article_id, page)


def complete(text: str, limit: int) -> list[tuple[str, int]]:
    return engine().complete(text, limit)


def more_like_this(article_id: str) -> list[Hit]:
    return engine().more_like_this(article_id, MORE_LIKE_THIS)


def same_story(article_id: str) -> tuple[int, list[dict]]:
    """How many articles ``article_id``'s story holds, and its first other
    articles (``StoryPage.members``, up to SAME_STORY): the same news as
    other sources printed it, which "more like this" leaves out."""
    found = engine().story(article_id, 1, SAME_STORY + 1)
    if found is None:
        return 0, []
    return found.articles, [m for m in found.members if m["id"] != article_id][:SAME_STORY]


def index_stats() -> dict:
    """What the live index holds (``Backend.stats``): the home page."""
    return engine().stats()


def index_summary() -> dict:
    """Articles and generation of the live index (raises NoIndex without one)."""
    return engine().summary()
