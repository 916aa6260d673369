"""The app's one Engine, and the few calls the views make on it.

One Engine lives as long as the app: it keeps a searcher per thread and
reopens it when ``arshif index`` publishes a new generation, so a running
server follows rebuilds without a restart.  Creating an Engine per request
would reopen the index on every search.
"""

from __future__ import annotations

from flask import current_app
from whoosh.reading import ReaderClosed

from search.engine import Article, Engine, Hit, Request, Result

EXTENSION = "arshif.engine"


def engine() -> Engine:
    return current_app.extensions[EXTENSION]


#: A rebuild published while a request runs: ``Engine.searcher()``, called
#: again inside the same search, swaps this thread's searcher for one on the
#: new generation and closes the old one, which the request is still reading
#: (``ReaderClosed``: a 500 for requests in flight at every swap).  Until the
#: engine pins one searcher per call, such a request is answered again, from
#: the new generation.  See docs/reliability.md.
RETRIES = 2


def _again(call, *args, **kwargs):
    for attempt in range(RETRIES + 1):
        try:
            return call(*args, **kwargs)
        except ReaderClosed:
            if attempt == RETRIES:
                raise


def search(req: Request) -> Result:
    return _again(engine().search, req)


def article(article_id: str, q: str = "") -> Article | None:
    """``Engine.article`` with the query's matches highlighted."""
    return _again(engine().article, article_id, q=q)


def more_like_this(article_id: str, limit: int) -> list[Hit]:
    return _again(engine().more_like_this, article_id, limit)


def index_summary() -> dict:
    """Articles and generation of the live index (raises NoIndex without one)."""
    eng = engine()
    return _again(lambda: {"articles": eng.searcher().doc_count(), "generation": eng.generation()})
