"""An Atom feed per query (``/feed?q=…``): the newest matching articles, so a
feed reader can follow a topic.

Written by ``feedgen``.  Ids are the article pages' (and the feed's own)
absolute addresses, so a reader sees the same entry as the same entry on
every poll.  Atom requires an ``updated`` date on every entry: undated
articles are left out (they cannot be placed among the new ones), and the
feed's date is its newest entry's, never the clock, so an unchanged result
set gives an unchanged feed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, request, url_for

from indexer.decode import clean_text
from search.backend import Request
from web import context
from web.params import BadParam, parse_state

bp = Blueprint("feed", __name__)
ENTRIES = 50
#: A feed's date when it has no entry yet: fixed, so polls see no change.
NO_DATE = datetime(1970, 1, 1, tzinfo=UTC)
CONTENT_TYPE = "application/atom+xml; charset=utf-8"


def _when(value: str) -> datetime:
    """An article's date (the archive's wall-clock date) as an Atom date."""
    when = datetime.fromisoformat(value)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@bp.get("/feed")
def feed():
    state = parse_state(request.args)
    if not state.q:
        raise BadParam("المعامل q (نص البحث) مطلوب لخلاصة Atom.", "missing_query", "q")
    # The feed follows the query and its filters; its order is always newest first.
    args = state.args(sort=None, per_page=None)
    result = context.search(Request(q=state.q, per_page=ENTRIES, date_from=state.date_from,
                                    date_to=state.date_to, sources=state.sources,
                                    sort="newest", facets=False))
    hits = [h for h in result.hits if h.date]
    # XML cannot hold every character a URL can carry (NUL, other controls,
    # noncharacters): the query is shown as the index stores text.
    shown = clean_text(state.q)

    fg = FeedGenerator()
    fg.id(url_for("feed.feed", **args, _external=True))
    fg.title(f"أرشيف: {shown}")
    fg.subtitle(f"أحدث المقالات التي تطابق «{shown}» في أرشيف الأخبار")
    fg.author({"name": "أرشيف"})
    fg.language("ar")
    fg.generator("arshif")
    fg.link(href=url_for("feed.feed", **args, _external=True), rel="self",
            type="application/atom+xml")
    fg.link(href=url_for("pages.search", **state.args(sort="newest", per_page=None),
                         _external=True), rel="alternate", type="text/html")
    fg.updated(max((_when(h.date) for h in hits), default=NO_DATE))
    for h in hits:
        entry = fg.add_entry(order="append")
        link = url_for("pages.article", article_id=h.id, _external=True)
        entry.id(link)
        entry.title(h.headline or "بدون عنوان")
        entry.updated(_when(h.date))
        entry.published(_when(h.date))
        entry.link(href=link, rel="alternate", type="text/html")
        entry.summary(h.snippet_html, type="html")
        if h.source:
            entry.category(term=h.source)
    return Response(fg.atom_str(pretty=True), content_type=CONTENT_TYPE)
